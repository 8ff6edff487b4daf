"""The desk's calendar: a day or week time grid, and moving an appointment on it.

A drag in the browser and the "Move" form post to the same view, which calls the same
:func:`services.appointment_reschedule` as every other move: the database guards decide, and a
refusal comes back with the reason and the nearest free times. The script asks for JSON
(``Accept: application/json``); the form gets a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from knotwork.accounts.models import Capability, Clinic, Membership, Role, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.bookings import services
from knotwork.bookings.calendar import calendar_grid, move_alternatives
from knotwork.bookings.calendar_html import render_columns
from knotwork.bookings.desk_views import _with_picked_time
from knotwork.bookings.forms import LocalTimeForm
from knotwork.bookings.models import ACTIVE_STATUSES, Appointment, Room, Service
from knotwork.bookings.selectors import clinic_therapists, get_appointment_for_user
from knotwork.bookings.services import BookingError, OutsideHours, SlotTaken
from knotwork.bookings.slots import Slot
from knotwork.bookings.views import _actor, _day, _id
from knotwork.lib.views import staff_view


@dataclass(frozen=True)
class CalendarQuery:
    day: date
    week: bool
    therapist_id: int | None
    by_room: bool

    @property
    def first(self) -> date:
        return self.day - timedelta(days=self.day.weekday()) if self.week else self.day

    @property
    def last(self) -> date:
        return self.first + timedelta(days=6 if self.week else 0)

    def url(self, **changes: Any) -> str:
        values = {"view": "week" if self.week else "day", "date": self.day.isoformat()}
        values["therapist"] = "" if self.therapist_id is None else str(self.therapist_id)
        if self.by_room:
            values["by"] = "room"
        values.update({k: str(v) for k, v in changes.items()})
        return f"{reverse('calendar')}?{urlencode(values)}"


def _bad_request(request: HttpRequest, text: str) -> HttpResponse:
    return render(request, "error.html", {"status": 400, "title": "That calendar address is not valid", "text": text}, status=400)


def _query(request: HttpRequest, membership: Membership, staff: list[User], has_rooms: bool) -> CalendarQuery | HttpResponse:
    """What to show, from the address. An impossible date sends the desk to today's page with a
    note; a malformed therapist is a 400; another clinic's therapist a 404."""
    clinic = membership.clinic
    raw_day = request.GET.get("date", "")
    day = _day(raw_day) if raw_day else timezone.localdate(timezone=clinic.tz)
    if day is None:
        messages.warning(request, f"There is no date “{raw_day[:20]}”, so the calendar shows today.")
        params = request.GET.copy()
        params.pop("date", None)
        return redirect(f"{reverse('calendar')}?{params.urlencode()}" if params else reverse("calendar"))
    therapist_id: int | None
    if "therapist" not in request.GET:  # a therapist starts on their own column, everyone else on all
        own = membership.role == Role.THERAPIST and any(t.pk == membership.user_id for t in staff)
        therapist_id = membership.user_id if own else None
    elif request.GET["therapist"] == "":
        therapist_id = None
    else:
        therapist_id = _id(request.GET["therapist"])
        if therapist_id is None:
            return _bad_request(request, "Choose a therapist from the list, or everyone.")
        if not any(t.pk == therapist_id for t in staff):
            raise Http404("No such therapist")
    by_room = has_rooms and request.GET.get("by") == "room"
    return CalendarQuery(day=day, week=request.GET.get("view") == "week", therapist_id=therapist_id, by_room=by_room)


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def calendar(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    clinic = membership.clinic
    staff = list(clinic_therapists(clinic))
    has_rooms = Room.objects.filter(clinic=clinic).exists()
    query = _query(request, membership, staff, has_rooms)
    if isinstance(query, HttpResponse):
        return query
    can_book = membership.can(Capability.EDIT_DEMOGRAPHICS)
    grid = calendar_grid(
        clinic=clinic,
        first=query.first,
        last=query.last,
        therapist_id=query.therapist_id,
        by_room=query.by_room,
        bookable=can_book,
        staff=staff,
    )
    audit_many(action=Action.LIST, objects=grid.appointments, clinic=clinic, role=membership.role)
    render_columns(grid, can_move=can_book, active_statuses=ACTIVE_STATUSES, here=query.url())
    step = timedelta(days=7 if query.week else 1)
    context = {
        "grid": grid,
        "q": query,
        "staff": staff,
        "has_rooms": has_rooms,
        "can_move": can_book,
        "prev_url": query.url(date=(query.day - step).isoformat()),
        "next_url": query.url(date=(query.day + step).isoformat()),
        "today_url": query.url(date=timezone.localdate(timezone=clinic.tz).isoformat()),
        "here": query.url(),
        "active_statuses": ACTIVE_STATUSES,
        "today": timezone.localdate(timezone=clinic.tz),
    }
    template = "bookings/_calendar_grid.html" if request.htmx else "bookings/calendar.html"  # type: ignore[attr-defined]
    return render(request, template, context)


# --- Moving one appointment ----------------------------------------------------------------------


class MoveForm(LocalTimeForm):
    """Where and how long: the form a drag fills in, and the one a keyboard or a phone uses."""

    therapist = forms.ModelChoiceField(queryset=User.objects.none(), empty_label=None)
    duration = forms.IntegerField(label="Length (minutes)", min_value=5, max_value=Service.MAX_DURATION_MINUTES)
    outside_hours = forms.BooleanField(label="Move outside the therapist's working hours", required=False)
    outside_hours_reason = forms.CharField(
        label="Reason for moving outside working hours", required=False, max_length=200, help_text="Kept in the audit log with the move."
    )
    field_order = ["day", "at", "therapist", "duration", "outside_hours", "outside_hours_reason"]

    def __init__(self, *args: Any, appointment: Appointment, **kwargs: Any) -> None:
        super().__init__(*args, clinic=appointment.clinic, **kwargs)
        # The appointment's own therapist stays a choice even after leaving the clinic.
        choices = clinic_therapists(appointment.clinic) | User.objects.filter(pk=appointment.therapist_id)
        self.fields["therapist"].queryset = choices.distinct().order_by("full_name", "email")  # type: ignore[attr-defined]
        self.fields["therapist"].label_from_instance = lambda u: u.display_name  # type: ignore[attr-defined]
        self.fields["duration"].widget.attrs.update(step=5, inputmode="numeric")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["outside_hours_reason"] = " ".join(str(data.get("outside_hours_reason", "")).split())
        if data.get("outside_hours") and not data["outside_hours_reason"]:
            self.add_error("outside_hours_reason", "Say why this appointment moves outside the working hours.")
        return data

    def override_reason(self) -> str:
        return self.cleaned_data["outside_hours_reason"] if self.cleaned_data.get("outside_hours") else ""


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


def _back(request: HttpRequest, clinic: Clinic, moved_to: date | None = None) -> str:
    """The calendar page the person came from (``next``), on the day the appointment went to."""
    raw = request.POST.get("next") or request.GET.get("next") or ""
    if not raw or not url_has_allowed_host_and_scheme(raw, allowed_hosts={request.get_host()}) or not raw.startswith("/"):
        raw = reverse("calendar")
    parts = urlsplit(raw)
    if parts.path != reverse("calendar"):
        return raw
    params = dict(parse_qsl(parts.query))
    if moved_to is not None:
        params["date"] = moved_to.isoformat()
    return f"{parts.path}?{urlencode(params)}" if params else parts.path


def _slot_choices(found: list[Slot], clinic: Clinic) -> list[dict[str, str]]:
    out = []
    for slot in found:
        local = slot.start.astimezone(clinic.tz)
        out.append(
            {
                "start": slot.start.isoformat(),
                "day": local.date().isoformat(),
                "at": local.strftime("%H:%M"),
                "label": f"{local:%a} {local.day} {local:%b}, {local:%H:%M}",
            }
        )
    return out


def _initial(appointment: Appointment) -> dict[str, Any]:
    local = appointment.local_start
    minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    return {"day": local.date(), "at": local.time().replace(second=0), "therapist": appointment.therapist_id, "duration": minutes}


def _move(request: HttpRequest, form: MoveForm, appointment: Appointment, membership: Membership) -> tuple[int, str, list[Slot]]:
    """Run the move; returns the HTTP status, a sentence, and the nearest free times on a refusal about the time."""
    data = form.cleaned_data
    start = form.start()
    try:
        services.appointment_reschedule(
            appointment=appointment,
            start=start,
            actor=_actor(request, membership),
            therapist=data["therapist"],
            duration_minutes=data["duration"],
            outside_hours_reason=form.override_reason(),
        )
    except (SlotTaken, OutsideHours) as exc:
        found = move_alternatives(appointment=appointment, therapist=data["therapist"], around=start, minutes=data["duration"])
        hint = " Tick the override and give a reason, or choose one of the nearest free times." if isinstance(exc, OutsideHours) else ""
        return exc.status, exc.message + hint, found
    except BookingError as exc:
        return exc.status, exc.message, []
    local = start.astimezone(appointment.clinic.tz)
    return 200, f"Moved to {local:%A} {local.day} {local:%B} at {local:%H:%M} with {data['therapist'].display_name}.", []


@staff_view(Capability.EDIT_DEMOGRAPHICS)
def calendar_move(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    appointment, member = get_appointment_for_user(request.user, pk, write=True)
    if member is None or appointment.clinic_id != membership.clinic_id:
        raise Http404("No such appointment")
    clinic = appointment.clinic
    data: QueryDict | None = _with_picked_time(request.POST, clinic) if request.method == "POST" else None
    form = MoveForm(data, appointment=appointment, initial=_initial(appointment))
    status, message, nearest = 200, "", list[Slot]()
    if request.method == "POST":
        if not form.is_valid():
            status, message = 400, "Some values are missing or invalid."
        else:
            status, message, nearest = _move(request, form, appointment, membership)
            if status == 200:
                if _wants_json(request):
                    return JsonResponse({"ok": True, "message": message})
                messages.success(request, message)
                return redirect(_back(request, clinic, form.cleaned_data["day"]))
            form.add_error(None, message)
        if _wants_json(request):
            fields = {k: " ".join(str(e) for e in v) for k, v in form.errors.items() if k != "__all__"}
            body = {"ok": False, "message": message, "fields": fields, "alternatives": _slot_choices(nearest, clinic)}
            return JsonResponse(body, status=status)
    context = {
        "a": appointment,
        "form": form,
        "movable": appointment.status in ACTIVE_STATUSES,
        "nearest": _slot_choices(nearest, clinic),
        "back": _back(request, clinic),
        "next": request.POST.get("next") or request.GET.get("next") or "",
    }
    return render(request, "bookings/calendar_move.html", context, status=status)
