"""The desk's recurring appointments: the plan page (every occurrence, a choice for each conflict),
booking the series, and moving "this and following". The rules are in series.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Clinic, Membership
from knotwork.bookings import series as serieslib
from knotwork.bookings.forms import LocalTimeForm, RepeatForm, StaffBookingForm
from knotwork.bookings.selectors import get_appointment_for_user
from knotwork.bookings.services import Actor, BookingError
from knotwork.bookings.views import _id, _moment
from knotwork.lib.views import staff_view

# The desk form's fields carried through the plan page unchanged, so nothing typed is lost.
CARRIED = ("client", "therapist", "service", "day", "at", "repeat", "interval_weeks", "ends", "count", "until")


def spec_from(form: StaffBookingForm, repeat: RepeatForm, clinic: Clinic) -> serieslib.SeriesSpec:
    data, again = form.cleaned_data, repeat.cleaned_data
    return serieslib.SeriesSpec(
        clinic=clinic,
        therapist=data["therapist"],
        service=data["service"],
        client=data["client"],
        first_day=data["day"],
        at=data["at"].replace(second=0, microsecond=0),
        interval_weeks=again["interval_weeks"],
        until=again.get("until"),
        count=again.get("count"),
    )


def choices_from(data: QueryDict, plan: serieslib.SeriesPlan) -> dict[int, serieslib.Choice]:
    """``choice-<n>``: skip, override (with ``reason-<n>``) or ``alt:<ISO start>``; missing means "as planned"."""
    out: dict[int, serieslib.Choice] = {}
    for occ in plan.occurrences:
        raw = data.get(f"choice-{occ.index}", "")
        if raw == serieslib.SKIP:
            out[occ.index] = serieslib.Choice(serieslib.SKIP)
        elif raw == serieslib.OVERRIDE:
            out[occ.index] = serieslib.Choice(serieslib.OVERRIDE, reason=data.get(f"reason-{occ.index}", ""))
        elif raw.startswith("alt:") and (start := _moment(raw[4:])) is not None:
            out[occ.index] = serieslib.Choice(serieslib.ALTERNATIVE, start=start)
    return out


def _rows(plan: serieslib.SeriesPlan | serieslib.MovePlan, clinic: Clinic, data: QueryDict | None) -> list[dict[str, Any]]:
    tz = clinic.tz
    rows = []
    for occ in plan.occurrences:
        chosen = data.get(f"choice-{occ.index}", "") if data is not None else ""
        alternatives = [{"local": s.start.astimezone(tz), "value": f"alt:{s.start.isoformat()}"} for s in occ.alternatives]
        if chosen.startswith("alt:") and chosen not in {a["value"] for a in alternatives}:
            chosen = ""  # the time offered before is gone: the desk chooses again
        rows.append(
            {
                "occ": occ,
                "local_start": occ.start.astimezone(tz),
                "local_end": occ.end.astimezone(tz),
                "alternatives": alternatives,
                "chosen": chosen,
                "reason": data.get(f"reason-{occ.index}", "") if data is not None else "",
                "skipped": data is not None and str(occ.appointment_id) in data.getlist("skip"),
            }
        )
    return rows


def plan_page(
    request: HttpRequest, *, membership: Membership, plan: serieslib.SeriesPlan, error: str = "", status: int = 200
) -> HttpResponse:
    clinic = membership.clinic
    carried = [(name, value) for name in CARRIED for value in request.POST.getlist(name)]
    context = {
        "plan": plan,
        "rows": _rows(plan, clinic, request.POST if "confirm" in request.POST else None),
        "carried": carried,
        "error": error,
        "spec": plan.spec,
        "clinic": clinic,
    }
    return render(request, "bookings/series_plan.html", context, status=status)


def start_plan(request: HttpRequest, *, membership: Membership, form: StaffBookingForm, repeat: RepeatForm) -> HttpResponse | None:
    """The desk asked for a repeat: show the plan, or put the refusal on the form (None) for the desk page."""
    try:
        plan = serieslib.series_plan(spec=spec_from(form, repeat, membership.clinic))
    except BookingError as exc:
        form.add_error(None, exc.message)
        return None
    return plan_page(request, membership=membership, plan=plan)


@staff_view(Capability.EDIT_DEMOGRAPHICS)
@require_POST
def series_confirm(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    """Book the series shown on the plan page with the desk's choices; any change since shows the fresh plan."""
    clinic = membership.clinic
    form, repeat = StaffBookingForm(request.POST, clinic=clinic), RepeatForm(request.POST)
    if not (form.is_valid() and repeat.is_valid() and repeat.cleaned_data.get("repeat")):
        messages.error(request, "Some details of the series are missing or invalid. Please check them.")
        return redirect("appointment_new")
    try:
        plan = serieslib.series_plan(spec=spec_from(form, repeat, clinic))
    except BookingError as exc:
        messages.error(request, exc.message)
        return redirect("appointment_new")
    # What the desk saw: the occurrences it was shown as free (any of them taken since is a change to report).
    seen_ok = {n for n in (_id(v) for v in request.POST.getlist("ok")) if n is not None}
    seen = replace(plan, occurrences=[replace(o, problems=[]) if o.index in seen_ok else o for o in plan.occurrences])
    actor = Actor(user=request.user, membership=membership)  # type: ignore[arg-type]
    try:
        _, created = serieslib.series_create(plan=seen, choices=choices_from(request.POST, plan), actor=actor)
    except serieslib.SeriesChanged as exc:
        return plan_page(request, membership=membership, plan=exc.plan, error=exc.message, status=exc.status)  # type: ignore[arg-type]
    except BookingError as exc:
        return plan_page(request, membership=membership, plan=plan, error=exc.message, status=exc.status)
    skipped = len(plan.occurrences) - len(created)
    messages.success(request, f"Booked {len(created)} appointments." + (f" {skipped} skipped." if skipped else ""))
    return redirect("appointment_detail", created[0].pk)


@login_required
def series_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move this appointment and shift the later ones of its series by the same difference (staff)."""
    appointment, membership = get_appointment_for_user(request.user, pk, write=True)
    if membership is None:
        raise Http404("No such appointment")
    if appointment.series_id is None:
        return redirect("appointment_reschedule", pk)  # a single appointment moves on its own page
    clinic = appointment.clinic
    local = appointment.local_start
    form = LocalTimeForm(request.POST or None, clinic=clinic, initial={"day": local.date(), "at": local.time()})
    plan: serieslib.MovePlan | None = None
    error = ""
    if request.method == "POST" and form.is_valid():
        start: datetime = form.start()
        skip = {n for n in (_id(v) for v in request.POST.getlist("skip")) if n is not None}
        actor = Actor(user=request.user, membership=membership)  # type: ignore[arg-type]
        try:
            if "confirm" in request.POST:
                moved = serieslib.series_move_following(appointment=appointment, start=start, actor=actor, skip=skip)
                messages.success(request, f"Moved {len(moved)} appointment{'s' if len(moved) != 1 else ''}.")
                return redirect("appointment_detail", pk)
            plan = serieslib.series_move_plan(appointment=appointment, start=start)
        except serieslib.SeriesChanged as exc:
            plan, error = exc.plan, exc.message  # type: ignore[assignment]
        except BookingError as exc:
            error = exc.message
    context = {
        "a": appointment,
        "form": form,
        "plan": plan,
        "rows": _rows(plan, clinic, request.POST) if plan is not None else [],
        "error": error,
        "place": serieslib.series_place(appointment),
    }
    return render(request, "bookings/series_move.html", context, status=409 if error and plan is not None else 200)
