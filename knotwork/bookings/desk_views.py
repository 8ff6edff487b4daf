"""The desk's "new appointment" page: client search as you type (name, e-mail, phone, date of
birth; also a small JSON endpoint), times outside the therapist's working hours only with an
override and a reason, and the nearest free times offered as choices when a time is refused."""

from __future__ import annotations

from datetime import time
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render

from knotwork.accounts.models import Capability, Clinic, Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.bookings import services
from knotwork.bookings.forms import RepeatForm, StaffBookingForm
from knotwork.bookings.models import Appointment
from knotwork.bookings.selectors import nearest_free_slots
from knotwork.bookings.series_views import start_plan
from knotwork.bookings.services import BookingError, OutsideHours, SlotTaken
from knotwork.bookings.slots import Slot
from knotwork.bookings.views import _actor, _by_day, _day_param, _id, _moment
from knotwork.clients.models import Client
from knotwork.clients.selectors import SEARCH_MIN_CHARS, client_search
from knotwork.lib.views import staff_view


def _with_picked_time(data: QueryDict, clinic: Clinic) -> QueryDict:
    """A nearest-free-time button posts the whole form plus ``pick`` (an ISO start): book that time."""
    picked = _moment(data.get("pick", ""))
    if picked is None:
        return data
    local = picked.astimezone(clinic.tz)
    data = data.copy()
    data["day"], data["at"] = local.date().isoformat(), local.strftime("%H:%M")
    return data


def _prefill(request: HttpRequest) -> dict[str, Any]:
    """Starting values from a link (the calendar's empty slots): ``therapist`` id and ``at`` as HH:MM."""
    out: dict[str, Any] = {}
    therapist = _id(request.GET.get("therapist", ""))
    if therapist is not None:
        out["therapist"] = therapist
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
    chosen = _chosen_client(clinic, params.get("client", ""))
    context = {
        "form": form,
        "repeat": repeat,
        "nearest_days": _by_day(nearest, clinic),
        **_client_results(membership, request.GET.get("client_q", ""), chosen),
    }
    return render(request, "bookings/new.html", context)


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
