"""The desk's "new appointment" page: client search as you type (name, e-mail, phone, date of
birth; also a small JSON endpoint), a new client added in place, the chosen client's balance and
flags at a glance, a week of free times from the online booking's slot engine, times outside the
therapist's working hours only with an override and a reason, and the nearest free times offered
as choices when a time is refused.

Every panel works without script: its buttons submit the booking form with a step name (``slots``,
``week``, ``fill``, ``new_client``, ``use_client``) and the page comes back as typed, with the step
done. With htmx the same panels load in place from the small endpoints at the end of this module."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone

from knotwork.accounts.models import Capability, Clinic, Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.billing.money import format_money
from knotwork.billing.selectors import client_accounts
from knotwork.bookings import services
from knotwork.bookings.forms import DeskClientForm, RepeatForm, StaffBookingForm
from knotwork.bookings.models import Appointment, Service
from knotwork.bookings.selectors import free_slots, nearest_free_slots, therapist_in_clinic
from knotwork.bookings.series_views import start_plan
from knotwork.bookings.services import BookingError, OutsideHours, SlotTaken
from knotwork.bookings.slots import Slot
from knotwork.bookings.views import _actor, _by_day, _day, _day_param, _id, _moment
from knotwork.clients.forms import PHONE_CHARS
from knotwork.clients.intake.selectors import consents_due, open_flags
from knotwork.clients.models import Client, ScreeningFlag
from knotwork.clients.selectors import SEARCH_MIN_CHARS, client_search, get_client_for_user
from knotwork.clients.services import client_create
from knotwork.lib.views import staff_view


def _with_picked_time(data: QueryDict, clinic: Clinic, key: str = "pick") -> QueryDict:
    """A free-time button posts the whole form plus ``pick`` (book that time) or ``fill`` (only
    put it in the date and time fields): an ISO start, read in the clinic's zone."""
    picked = _moment(data.get(key, ""))
    if picked is None:
        return data
    local = picked.astimezone(clinic.tz)
    data = data.copy()
    data["day"], data["at"] = local.date().isoformat(), local.strftime("%H:%M")
    return data


def _prefill(request: HttpRequest) -> dict[str, Any]:
    """Starting values from a link (the calendar's empty slots): ``therapist`` and ``service`` ids and ``at`` as HH:MM."""
    out: dict[str, Any] = {}
    for name in ("therapist", "service"):
        pk = _id(request.GET.get(name, ""))
        if pk is not None:
            out[name] = pk
    raw = request.GET.get("at", "")
    if len(raw) == 5 and raw[2] == ":" and raw.replace(":", "").isdigit() and int(raw[:2]) < 24 and int(raw[3:]) < 60:
        out["at"] = time(int(raw[:2]), int(raw[3:]))
    return out


def _chosen_client(clinic: Clinic, raw: str) -> Client | None:
    pk = _id(raw)
    return Client.objects.for_clinic(clinic).active().filter(restricted_at__isnull=True, pk=pk).first() if pk else None


def _client_results(membership: Membership, query: str, chosen: Client | None) -> dict[str, Any]:
    """Search results for the client picker, audited as one list read (the chosen client included)."""
    results, more = client_search(membership=membership, text=query)
    shown = results + [chosen] if chosen is not None and chosen not in results else results
    audit_many(action=Action.LIST, objects=shown, clinic=membership.clinic, role=membership.role)
    return {"results": results, "more": more, "client_q": query.strip()[:100], "chosen": chosen, "min_chars": SEARCH_MIN_CHARS}


def _book_from_form(request: HttpRequest, form: StaffBookingForm, membership: Membership) -> tuple[Appointment | None, list[Slot]]:
    """Book what the form says; a refusal becomes a form error, with the nearest free times when it is about the time."""
    data = form.cleaned_data
    clinic, therapist, service, start = membership.clinic, data["therapist"], data["service"], form.start()
    actor = _actor(request, membership)
    try:
        return services.appointment_book(
            clinic=clinic,
            therapist=therapist,
            service=service,
            start=start,
            client=data["client"],
            actor=actor,
            outside_hours_reason=form.override_reason(),
        ), []
    except SlotTaken as exc:
        form.add_error(None, exc.message)
        return None, exc.nearest()
    except OutsideHours as exc:
        form.add_error("outside_hours", f"{exc.message} Tick the box and give a reason, or choose one of the nearest free times.")
        return None, list(nearest_free_slots(clinic=clinic, therapist=therapist, service=service, around=start, staff=True))
    except BookingError as exc:
        form.add_error(None, exc.message)
        return None, []


@staff_view(Capability.EDIT_DEMOGRAPHICS)
def appointment_new(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    clinic = membership.clinic
    if request.method == "POST" and any(step in request.POST for step in DESK_STEPS):
        return _desk_step(request, membership)
    params = request.POST if request.method == "POST" else request.GET
    initial = {"day": _day_param(request, clinic), **_prefill(request)}
    form = StaffBookingForm(_with_picked_time(request.POST, clinic) if request.method == "POST" else None, clinic=clinic, initial=initial)
    nearest: list[Slot] = []
    # "Repeat" shows the series plan instead of booking; "edit" comes back from that plan to change the details.
    repeat = RepeatForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and "edit" not in request.POST and form.is_valid() and repeat.is_valid():
        if repeat.cleaned_data.get("repeat"):
            plan_page = start_plan(request, membership=membership, form=form, repeat=repeat)
            if plan_page is not None:
                return plan_page
        else:
            appointment, nearest = _book_from_form(request, form, membership)
            if appointment is not None:
                messages.success(request, "Booked.")
                return redirect("appointment_detail", appointment.pk)
    values = params if request.method == "POST" else {**{k: str(v) for k, v in initial.items()}, **params.dict()}
    return _render_new(request, membership, form=form, repeat=repeat, values=values, nearest=nearest)


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def booking_client_search(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    """Clients of the member's clinic matching ``q`` (name, e-mail, phone, date of birth): the
    client picker's rows for htmx, JSON otherwise. At most ten, and whether there are more."""
    query = request.GET.get("q") or request.GET.get("client_q", "")
    context = _client_results(membership, query, _chosen_client(membership.clinic, request.GET.get("client", "")))
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "bookings/_client_results.html", context)
    rows = [
        {
            "id": c.pk,
            "name": c.full_name,
            "preferred_name": c.preferred_name,
            "date_of_birth": c.date_of_birth.isoformat() if c.date_of_birth else None,
            "phone": c.phone,
            "email": c.email,
        }
        for c in context["results"]
    ]
    return JsonResponse({"query": context["client_q"], "results": rows, "more": context["more"]})


# --- The page's panels: free times, a new client, the chosen client at a glance ------------------

DESK_STEPS = ("slots", "week", "fill", "new_client", "new-anyway", "use_client")


def _render_new(
    request: HttpRequest,
    membership: Membership,
    *,
    form: StaffBookingForm,
    repeat: RepeatForm,
    values: Any,
    nearest: list[Slot] | None = None,
    new_client: NewClientStep | None = None,
) -> HttpResponse:
    """The booking page with its panels drawn from ``values`` (what the form holds or was sent)."""
    clinic = membership.clinic
    chosen = new_client.chosen if new_client and new_client.chosen else _chosen_client(clinic, values.get("client", ""))
    try:
        slot_panel = _slot_panel(clinic, values)
    except Http404:  # a stale or altered choice: the form itself says what is wrong with it
        slot_panel = SlotPanel(state="choose")
    context = {
        "form": form,
        "repeat": repeat,
        "nearest_days": _by_day(nearest or [], clinic),
        "panel": slot_panel,
        "new_client": new_client or NewClientStep(),
        **_client_results(membership, request.GET.get("client_q", ""), chosen),
        **_glance(membership, chosen),
    }
    return render(request, "bookings/new.html", context)


def _desk_step(request: HttpRequest, membership: Membership) -> HttpResponse:
    """A panel's button pressed without script: do that step and show the page again as typed."""
    clinic = membership.clinic
    data = _with_picked_time(request.POST, clinic, key="fill")
    new_client = _new_client_step(membership, data, allow_create=True) if {"new_client", "new-anyway", "use_client"} & set(data) else None
    if new_client is not None and new_client.chosen is not None:
        data = data.copy()
        data["client"] = str(new_client.chosen.pk)
    form = StaffBookingForm(clinic=clinic, initial={k: data.get(k) for k in StaffBookingForm.base_fields if k in data})
    repeat = RepeatForm(initial={k: data.get(k) for k in RepeatForm.base_fields if k in data})
    return _render_new(request, membership, form=form, repeat=repeat, values=data, new_client=new_client)


@dataclass
class SlotPanel:
    """What the free-times panel shows: ``choose`` (therapist or service missing), ``not_offered``
    (the service is another therapist's), or ``week`` (the free starts of one week, by day)."""

    state: str
    therapist: Any = None
    service: Service | None = None
    week: date | None = None
    prev_week: date | None = None
    next_week: date | None = None
    days: list[tuple[date, list[dict[str, Any]]]] = field(default_factory=list)
    count: int = 0
    problem: str = ""
    chosen: str = ""  # the ISO start the form's date and time already name
    open_day: date | None = None  # the day shown unfolded: the chosen time's, else the first with free times


def _panel_week(clinic: Clinic, values: Any) -> tuple[date, str]:
    """Monday of the week to show: from ``week`` (the panel's own buttons), else from the form's date,
    else this week; a value that is no usable date is named in a message and this week shown."""
    today = timezone.localdate(timezone=clinic.tz)
    for key in ("week", "day"):
        raw = str(values.get(key) or "").strip()
        if raw:
            asked = _day(raw)
            if asked is None:
                return today - timedelta(days=today.weekday()), f"“{raw[:20]}” is not a date that can be shown. Showing this week."
            return asked - timedelta(days=asked.weekday()), ""
    return today - timedelta(days=today.weekday()), ""


def _slot_panel(clinic: Clinic, values: Any) -> SlotPanel:
    """A week of free starts for the chosen therapist and service, from the same slot engine as
    online booking (staff rules: any free start from now on). Another clinic's therapist or
    service is a 404."""
    therapist_id, service_id = _id(str(values.get("therapist") or "")), _id(str(values.get("service") or ""))
    if therapist_id is None or service_id is None:
        return SlotPanel(state="choose")
    therapist = therapist_in_clinic(clinic, therapist_id)
    service = Service.objects.active().filter(clinic=clinic, pk=service_id).first()
    if service is None:
        raise Http404("No such service")
    if service.therapist_id not in (None, therapist.pk):
        return SlotPanel(state="not_offered", therapist=therapist, service=service)
    week, problem = _panel_week(clinic, values)
    found = free_slots(clinic=clinic, therapist=therapist, service=service, first_day=week, last_day=week + timedelta(days=6), staff=True)
    by_day = dict(_by_day(found, clinic))
    today = timezone.localdate(timezone=clinic.tz)
    shown = [week + timedelta(days=n) for n in range(7) if week + timedelta(days=n) >= today]
    picked = _moment(str(values.get("fill") or "")) or _form_start(clinic, values)
    chosen = picked.astimezone(UTC).isoformat() if picked else ""
    days = [(d, by_day.get(d, [])) for d in shown]
    # Unfold the chosen time's day, else the form's date, else the first day with free times.
    asked = _day(str(values.get("day") or ""))
    open_day = next((d for d, slots in days if any(s["iso"] == chosen for s in slots)), None) or next(
        (d for d, slots in days if slots and d == asked), None
    )
    return SlotPanel(
        state="week",
        therapist=therapist,
        service=service,
        week=week,
        prev_week=week - timedelta(days=7) if week > today else None,
        next_week=week + timedelta(days=7),
        days=days,
        count=len(found),
        problem=problem,
        chosen=chosen,
        open_day=open_day or next((d for d, slots in days if slots), None),
    )


def _form_start(clinic: Clinic, values: Any) -> datetime | None:
    """The start the form's date and time fields name, if both read as such (to mark it in the panel)."""
    day, at = _day(str(values.get("day") or "")), str(values.get("at") or "")[:5]
    if day is None or len(at) != 5 or at[2] != ":" or not at.replace(":", "").isdigit() or int(at[:2]) > 23 or int(at[3:]) > 59:
        return None
    return datetime.combine(day, time(int(at[:2]), int(at[3:])), tzinfo=clinic.tz)


@dataclass
class NewClientStep:
    """The "new client" panel: closed (no form), open (a form, perhaps with errors or with
    ``matches`` — existing clients with the same e-mail or phone), or done (``chosen``)."""

    form: DeskClientForm | None = None
    matches: list[Client] = field(default_factory=list)
    chosen: Client | None = None
    created: bool = False


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _same_phone(a: str, b: str) -> bool:
    """Phone numbers as people write them: the same digits, or the same last nine when both are
    that long (07700 900123 and +44 7700 900123)."""
    da, db = _digits(a), _digits(b)
    if len(da) >= 9 and len(db) >= 9:
        return da[-9:] == db[-9:]
    return bool(da) and da == db


def _possible_duplicates(membership: Membership, data: dict[str, Any]) -> list[Client]:
    """Open clients of the clinic with the same e-mail or phone, found through the desk's client
    search and audited as one list read, like the search itself."""
    found: dict[int, Client] = {}
    if data.get("email"):
        rows, _ = client_search(membership=membership, text=data["email"])
        found.update((c.pk, c) for c in rows if c.email.lower() == data["email"].lower())
    if data.get("phone"):
        rows, _ = client_search(membership=membership, text=_digits(data["phone"])[-9:])
        found.update((c.pk, c) for c in rows if _same_phone(c.phone, data["phone"]))
    matches = sorted(found.values(), key=lambda c: (c.last_name, c.first_name, c.pk))
    audit_many(action=Action.LIST, objects=matches, clinic=membership.clinic, role=membership.role)
    return matches


def _guess_from_search(text: str) -> dict[str, str]:
    """Start the new client's form from what the desk searched for: an e-mail, a phone, or a name
    (one word is taken as the last name, as the desk mostly searches by surname)."""
    text = " ".join(text.split())[:100]
    if "@" in text:
        return {"email": text}
    if PHONE_CHARS.match(text) and len(_digits(text)) >= 6:
        return {"phone": text}
    words = [w for w in text.split() if not any(ch.isdigit() for ch in w)]
    if len(words) == 1:
        return {"last_name": words[0]}
    return {"first_name": words[0], "last_name": " ".join(words[1:])} if words else {}


def _focused(form: DeskClientForm) -> DeskClientForm:
    """Autofocus the first field with an error, else the first name (browsers and htmx both honour it)."""
    name = next((n for n in form.fields if n in form.errors), "first_name") if form.is_bound else "first_name"
    form.fields[name].widget.attrs["autofocus"] = True
    return form


def _new_client_step(membership: Membership, data: Any, *, allow_create: bool) -> NewClientStep:
    """Open, cancel, add (through the clients' own create service, audited) or pick an existing
    client from the matches. Another clinic's client is a 404."""
    if data.get("use_client"):
        used = _chosen_client(membership.clinic, str(data["use_client"]))
        if used is None:
            raise Http404("No such client")
        return NewClientStep(chosen=used)
    action = "add" if data.get("new-anyway") else data.get("new_client")
    if action == "cancel":
        return NewClientStep()
    if action != "add" or not allow_create:
        return NewClientStep(form=_focused(DeskClientForm(prefix="new", initial=_guess_from_search(str(data.get("client_q", ""))))))
    form = DeskClientForm(data, prefix="new")
    if not form.is_valid():
        return NewClientStep(form=_focused(form))
    if not data.get("new-anyway"):
        matches = _possible_duplicates(membership, form.cleaned_data)
        if matches:
            return NewClientStep(form=form, matches=matches)
    client = client_create(membership=membership, data=form.cleaned_data)
    return NewClientStep(chosen=client, created=True)


@dataclass(frozen=True)
class Glance:
    """What the desk sees of the chosen client beside the booking form."""

    client: Client
    balances: list[dict[str, Any]] | None  # None: this role does not see client accounts
    clinical: bool  # the viewer may read clinical detail
    flags: list[ScreeningFlag]
    alerts: str  # the clinical alerts text, only for clinical viewers
    has_alert: bool  # for everyone else: only that something is on file
    consents_due: list[Any]


def _glance(membership: Membership, client: Client | None) -> dict[str, Any]:
    """The chosen client's balance (roles that take payments, as on the client's account page) and
    flags (the text for clinical roles; for the desk only that there is something to ask the
    therapist about). One audited read, naming what was shown."""
    if client is None:
        return {"glance": None}
    clinical = membership.can(Capability.VIEW_CLINICAL)
    billing = membership.can(Capability.TAKE_PAYMENTS)
    flags = open_flags(client) if clinical else []
    # For the desk only whether something is on file: no count, class or text.
    has_alert = bool(client.clinical_alerts) or (bool(flags) if clinical else ScreeningFlag.objects.open().filter(client=client).exists())
    balances = None
    if billing:
        balances = [
            {"owes": a.balance > 0, "credit": a.balance < 0, "text": format_money(abs(a.balance), a.currency)}
            for a in client_accounts(client)
        ]
    detail: dict[str, Any] = {"clinical": clinical, "via": "desk booking"}
    if billing:
        detail["billing"] = "balance"
    audit_record(action=Action.VIEW, obj=client, role=membership.role, detail=detail)
    glance = Glance(
        client=client,
        balances=balances,
        clinical=clinical,
        flags=flags,
        alerts=client.clinical_alerts if clinical else "",
        has_alert=has_alert,
        consents_due=consents_due(client),
    )
    return {"glance": glance}


# --- The panels' own endpoints (htmx) ------------------------------------------------------------


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def desk_slots(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    """The free-times panel for ``therapist``, ``service`` and ``week`` (or the form's ``day``)."""
    panel = _slot_panel(membership.clinic, request.GET)
    return render(request, "bookings/_desk_slots.html", {"panel": panel, "oob": True})


@staff_view(Capability.EDIT_DEMOGRAPHICS)
def desk_client_new(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    """The "new client" panel: GET opens (or with ``new_client=cancel`` closes) it, POST adds the
    client or picks a match. Once a client is chosen, the results and the glance follow out of band."""
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect("appointment_new")
    data = request.POST if request.method == "POST" else request.GET
    step = _new_client_step(membership, data, allow_create=request.method == "POST")
    if step.form is not None:  # static/bookings/desk.js places the focus once the panel has settled
        for field in step.form.fields.values():
            field.widget.attrs.pop("autofocus", None)
    context: dict[str, Any] = {"new_client": step, "oob": True}
    if step.chosen is not None:
        context |= _client_results(membership, "", step.chosen) | _glance(membership, step.chosen)
    return render(request, "bookings/_desk_client_new.html", context)


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def desk_client_glance(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    """The chosen ``client`` at a glance; nothing when none is chosen, a 404 for another clinic's."""
    pk = _id(request.GET.get("client", ""))
    client = None
    if pk is not None:
        client, _ = get_client_for_user(request.user, pk, audit=False, clinic_id=membership.clinic.pk)
    return render(request, "bookings/_desk_client_glance.html", _glance(membership, client))
