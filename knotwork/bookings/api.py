"""Bookings API: free slots (public), holds, bookings, cancellation and moves.

Staff act for their clinic (token scope ``clients:write`` to change, ``clients:read`` to read);
a signed-in client acts for their own record. A refused overlap is a 409 whose body carries the
nearest free slots next to the usual error object.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from ninja import Field, Header, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import model_validator

from knotwork.accounts.models import ApiToken, Capability, Clinic
from knotwork.accounts.permissions import membership_for, require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.bookings import classes as classlib
from knotwork.bookings import reports as practice
from knotwork.bookings import series as serieslib
from knotwork.bookings import services
from knotwork.bookings import waitlist as wl
from knotwork.bookings.calendar import MAX_DAYS as CALENDAR_MAX_DAYS
from knotwork.bookings.calendar import calendar_window as calendar_rows
from knotwork.bookings.idempotency import run_idempotent
from knotwork.bookings.models import Appointment, ClassSeat, ClassSession, Room, Service, WaitlistEntry, WaitlistStatus
from knotwork.bookings.selectors import free_slots, get_appointment_for_user, portal_client_at, therapist_in_clinic
from knotwork.bookings.services import MAX_YEAR, MIN_YEAR, Actor, BookingError, SlotTaken
from knotwork.bookings.slots import Slot
from knotwork.clients.models import Client
from knotwork.lib.api import PageParams, api_membership, clinic_time, error_body, page_of

router = Router(tags=["bookings"])

READ, WRITE = ApiToken.Scope.CLIENTS_READ, ApiToken.Scope.CLIENTS_WRITE
MAX_RANGE_DAYS = 31


class SlotsQuery(Schema):
    therapist: int = Field(..., ge=1)
    service: int = Field(..., ge=1)
    start: date = Field(..., description="First local date (the clinic's time zone)")
    end: date = Field(..., description="Last local date, at most 31 days after start")


class SlotOut(Schema):
    start: datetime
    end: datetime
    local_start: str = Field(..., description="Wall-clock start in the clinic's time zone")


class SlotsOut(Schema):
    therapist: int
    service: int
    time_zone: str
    slots: list[SlotOut]


class HoldIn(Schema):
    model_config = {"extra": "forbid"}
    therapist: int
    service: int
    start: datetime


class HoldOut(Schema):
    id: int
    token: str = Field(..., description="Send it back with the hold id to confirm; shown once")
    start: datetime
    end: datetime
    expires_at: datetime


class BookIn(Schema):
    model_config = {"extra": "forbid"}
    hold: int | None = None
    hold_token: str | None = Field(None, max_length=64)
    therapist: int | None = None
    service: int | None = None
    start: datetime | None = None
    client: int | None = Field(None, description="Staff only: the client the booking is for")
    outside_hours_reason: str | None = Field(
        None,
        max_length=200,
        description="Staff only: why a time outside the therapist's working hours is booked. Without it such a time is "
        "refused (422 `outside_hours`); with it the override and the reason are audited.",
    )


class CancelIn(Schema):
    model_config = {"extra": "forbid"}
    late: bool | None = Field(None, description="Staff only: record as a late cancellation (default: by the clinic's notice period)")


class RescheduleIn(Schema):
    model_config = {"extra": "forbid"}
    start: datetime


class AppointmentOut(Schema):
    id: int
    status: str
    therapist: int
    service: int
    client: int | None
    room: int | None
    start: datetime
    end: datetime
    local_start: str
    time_zone: str
    price: str
    currency: str


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, str]


class ConflictOut(Schema):
    error: ErrorDetail
    nearest: list[SlotOut] = []


def _slot_out(slot: Slot, clinic: Clinic) -> dict[str, Any]:
    return {"start": slot.start.isoformat(), "end": slot.end.isoformat(), "local_start": slot.start.astimezone(clinic.tz).isoformat()}


def appointment_out(a: Appointment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "status": a.status,
        "therapist": a.therapist_id,
        "service": a.service_id,
        "client": a.client_id,
        "room": a.room_id,
        "start": a.starts_at.isoformat(),
        "end": a.ends_at.isoformat(),
        "local_start": a.local_start.isoformat(),
        "time_zone": a.clinic.time_zone,
        "price": str(a.price),
        "currency": a.currency,
    }


def _refusal(exc: BookingError) -> tuple[int, dict[str, Any]]:
    body = error_body(exc.status, exc.message, code=exc.code)
    if isinstance(exc, SlotTaken):
        body["nearest"] = [_slot_out(s, exc.clinic) for s in exc.nearest()]
    return exc.status, body


def _actor(request: HttpRequest, clinic_id: int, scope: str) -> Actor:
    """Staff of the clinic (through a token's clinic or the session), else the signed-in person as a client."""
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is not None:
        if scope not in token.scopes:
            raise HttpError(403, f"This token lacks the “{scope}” scope.")
        if token.clinic_id != clinic_id:
            raise Http404("Not found")
    membership = membership_for(request.user, clinic_id)
    if membership is not None:
        require(membership, Capability.EDIT_DEMOGRAPHICS if scope == WRITE else Capability.VIEW_DEMOGRAPHICS)
    elif token is not None:
        raise Http404("Not found")
    return Actor(user=request.user, membership=membership)  # type: ignore[arg-type]


def _service_and_therapist(service_id: int, therapist_id: int, *, public: bool) -> tuple[Service, Any]:
    qs = Service.objects.active().select_related("clinic")
    if public:
        qs = qs.exclude(online_booking=Service.OnlineBooking.STAFF)
    service = qs.filter(pk=service_id).first()
    if service is None or (service.therapist_id and service.therapist_id != therapist_id):
        raise Http404("Not found")
    return service, therapist_in_clinic(service.clinic, therapist_id)


def _respond(result: tuple[int, dict[str, Any]]) -> JsonResponse:
    status, body = result
    return JsonResponse(body, status=status)


@router.get(
    "/bookings/slots", auth=None, response=SlotsOut, url_name="booking_slots", summary="Free slots of a therapist for a service (public)"
)
def list_slots(request: HttpRequest, params: Query[SlotsQuery]):  # type: ignore[no-untyped-def]
    therapist, service, start, end = params.therapist, params.service, params.start, params.end
    if end < start or (end - start).days >= MAX_RANGE_DAYS:
        raise HttpError(400, f"`end` must be on or after `start`, and the range at most {MAX_RANGE_DAYS} days.")
    svc, person = _service_and_therapist(service, therapist, public=True)
    found = free_slots(clinic=svc.clinic, therapist=person, service=svc, first_day=start, last_day=end)
    return {
        "therapist": person.pk,
        "service": svc.pk,
        "time_zone": svc.clinic.time_zone,
        "slots": [_slot_out(s, svc.clinic) for s in found],
    }


@router.post(
    "/bookings/holds",
    response={201: HoldOut, 409: ConflictOut, 422: ConflictOut},
    url_name="booking_holds",
    summary="Hold a slot for a few minutes",
)
def create_hold(request: HttpRequest, payload: HoldIn):  # type: ignore[no-untyped-def]
    svc, person = _service_and_therapist(payload.service, payload.therapist, public=True)
    actor = _actor(request, svc.clinic_id, WRITE)
    # A client's own record lets them hold an "existing clients only" service after a past visit.
    own = None if actor.is_staff else portal_client_at(svc.clinic, request.user)
    try:
        hold, token = services.hold_create(clinic=svc.clinic, therapist=person, service=svc, start=payload.start, actor=actor, client=own)
    except BookingError as exc:
        return _respond(_refusal(exc))
    body = {
        "id": hold.pk,
        "token": token,
        "start": hold.starts_at.isoformat(),
        "end": hold.ends_at.isoformat(),
        "expires_at": hold.hold_expires_at.isoformat(),  # type: ignore[union-attr]
    }
    return JsonResponse(body, status=201)


def _client_for(actor: Actor, clinic: Clinic, client_id: int | None) -> Client:
    if actor.is_staff:
        client = Client.objects.filter(clinic=clinic, pk=client_id or 0, archived_at__isnull=True).first()
        if client is None:
            raise HttpError(404, "No such client in this clinic.")
        return client
    client = Client.objects.filter(clinic=clinic, portal_user=actor.user, archived_at__isnull=True).first()
    if client_id is not None or client is None:
        raise HttpError(422, "Book your first visit through the clinic's booking page, which creates your record.")
    return client


@router.post(
    "/bookings",
    response={201: AppointmentOut, 409: ConflictOut, 422: ConflictOut},
    url_name="booking_create",
    summary="Confirm a hold, or book directly; honours Idempotency-Key",
)
def create_booking(request: HttpRequest, payload: BookIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):  # type: ignore[no-untyped-def]
    hold: Appointment | None = None
    if payload.hold is not None:
        hold = Appointment.objects.select_related("clinic", "therapist", "service").filter(pk=payload.hold).first()
        if hold is None or not payload.hold_token:
            raise Http404("Not found")
        clinic = hold.clinic
    else:
        if payload.therapist is None or payload.service is None or payload.start is None:
            raise HttpError(400, "Send a hold and its token, or a therapist, service and start.")
        svc, person = _service_and_therapist(payload.service, payload.therapist, public=False)
        clinic = svc.clinic
    actor = _actor(request, clinic.pk, WRITE)
    client = _client_for(actor, clinic, payload.client)
    if not actor.is_staff and _paid_when_booking(hold.service if hold is not None else svc):
        raise HttpError(422, "This service takes a deposit or prepayment when booking: book it on the clinic's booking page.")

    def run() -> tuple[int, dict[str, Any]]:
        try:
            if hold is not None:
                appointment = services.hold_confirm(hold=hold, token=payload.hold_token or "", client=client, actor=actor)
            else:
                assert payload.start is not None  # checked before the clinic was resolved
                appointment = services.appointment_book(
                    clinic=clinic,
                    therapist=person,
                    service=svc,
                    start=payload.start,
                    client=client,
                    actor=actor,
                    outside_hours_reason=(payload.outside_hours_reason or "") if actor.is_staff else "",
                )
        except BookingError as exc:
            return _refusal(exc)
        return 201, appointment_out(appointment)

    return _respond(
        run_idempotent(
            user=request.user, clinic=clinic, key=idempotency_key, method="POST", path=request.path, payload=payload.dict(), run=run
        )
    )


def _paid_when_booking(service: Service) -> bool:
    """A client's own booking of this service goes through the pages' payment step (docs/money.md,
    "Deposits and prepayment"); the API has none, so it refuses rather than book it unpaid."""
    from knotwork.billing.providers import online_payments_configured

    return service.takes_payment_when_booking and online_payments_configured()


class ErrorOut(Schema):
    error: ErrorDetail


# The series routes come before /bookings/{appointment_id}: Django takes the first path that matches,
# and `series` would otherwise be read as an appointment id (405 for the POST).
# --- Recurring appointments --------------------------------------------------------------------
# See knotwork/bookings/series.py and docs/bookings.md.


class SeriesChoiceIn(Schema):
    model_config = {"extra": "forbid"}
    index: int = Field(..., ge=1, le=serieslib.MAX_OCCURRENCES, description="The occurrence (1 = the first)")
    action: Literal["skip", "alternative", "override"]
    start: datetime | None = Field(None, description="`alternative`: the other start (with an offset, or the clinic's local time)")
    reason: str | None = Field(None, max_length=200, description="`override`: why it is booked outside the working hours (audited)")


class SeriesIn(Schema):
    model_config = {"extra": "forbid"}
    therapist: int = Field(..., ge=1)
    service: int = Field(..., ge=1)
    client: int = Field(..., ge=1)
    start: datetime = Field(..., description="The first appointment; its wall-clock time in the clinic's zone is kept every week")
    interval_weeks: int = Field(1, ge=1, le=serieslib.MAX_INTERVAL_WEEKS)
    until: date | None = Field(None, description="Last local date an appointment may fall on (or give `count`)")
    count: int | None = Field(None, ge=1, le=serieslib.MAX_OCCURRENCES, description="Number of appointments (or give `until`)")
    dry_run: bool = Field(False, description="Only plan: check every occurrence and write nothing")
    choices: list[SeriesChoiceIn] = Field(default_factory=list, max_length=serieslib.MAX_OCCURRENCES)

    @model_validator(mode="after")
    def _one_end(self) -> SeriesIn:
        if (self.until is None) == (self.count is None):
            raise ValueError("Give exactly one of `until` and `count`.")
        if len({c.index for c in self.choices}) != len(self.choices):
            raise ValueError("One choice per occurrence.")
        return self


class OccurrenceOut(Schema):
    index: int
    status: str = Field(..., description="ok or conflict")
    start: datetime
    end: datetime
    local_start: str
    problems: list[dict[str, str]] = Field(..., description="Each `{kind, message}`: taken, room_taken, outside_hours or past")
    reason: str = Field(..., description="The problems in words")
    can_override: bool = Field(..., description="Outside the working hours only: may be booked anyway with a reason")
    alternatives: list[SlotOut] = Field(..., description="Nearest free starts that day (conflicts only)")


class SeriesPlanOut(Schema):
    time_zone: str
    occurrences: list[OccurrenceOut]
    conflicts: int


class SeriesOut(Schema):
    id: int
    therapist: int
    service: int
    client: int
    room: int | None
    interval_weeks: int
    start_day: date
    start_time: str
    until: date | None
    count: int | None
    time_zone: str
    appointments: list[AppointmentOut]


class SeriesConflictOut(Schema):
    error: ErrorDetail
    plan: SeriesPlanOut


def plan_out(plan: serieslib.SeriesPlan | serieslib.MovePlan, clinic: Clinic) -> dict[str, Any]:
    return {
        "time_zone": clinic.time_zone,
        "conflicts": len(plan.conflicts),
        "occurrences": [
            {
                "index": o.index,
                "status": o.status,
                "start": o.start.isoformat(),
                "end": o.end.isoformat(),
                "local_start": o.start.astimezone(clinic.tz).isoformat(),
                "problems": [{"kind": p.kind, "message": p.message} for p in o.problems],
                "reason": o.reason,
                "can_override": o.can_override,
                "alternatives": [_slot_out(s, clinic) for s in o.alternatives],
            }
            for o in plan.occurrences
        ],
    }


def series_out(series: Any, appointments: list[Appointment]) -> dict[str, Any]:
    return {
        "id": series.pk,
        "therapist": series.therapist_id,
        "service": series.service_id,
        "client": series.client_id,
        "room": series.room_id,
        "interval_weeks": series.interval_weeks,
        "start_day": series.start_day.isoformat(),
        "start_time": series.start_time.strftime("%H:%M"),
        "until": series.until.isoformat() if series.until else None,
        "count": series.count,
        "time_zone": series.clinic.time_zone,
        "appointments": [appointment_out(a) for a in appointments],
    }


def _series_refusal(exc: BookingError, clinic: Clinic) -> tuple[int, dict[str, Any]]:
    body = error_body(exc.status, exc.message, code=exc.code)
    if isinstance(exc, serieslib.SeriesChanged):
        body["plan"] = plan_out(exc.plan, clinic)
    return exc.status, body


@router.post(
    "/bookings/series",
    response={200: SeriesPlanOut, 201: SeriesOut, 409: SeriesConflictOut, 422: ErrorOut},
    url_name="booking_series",
    summary="Plan (dry_run) or book a recurring series; honours Idempotency-Key",
    description=f"Staff only (`{WRITE}`). With `dry_run: true` every occurrence is checked and nothing is written: 200 with the "
    "plan (each occurrence ok or conflict, the reason in words and the nearest free starts that day). Without it the series "
    "is booked all or nothing: 201 with the appointments. Each conflicting occurrence needs a choice — `skip`, `alternative` "
    "with a `start`, or `override` with a `reason` (outside working hours only; a taken time is never double-booked). "
    "A conflict without a choice, or a time taken since the plan, is a 409 carrying the fresh `plan`; nothing is booked. "
    "A choice that can never work (overriding a taken time, no reason) or a first start in the past is a 422. "
    "Both or neither of `until`/`count` is a 400; another clinic's therapist, service or client is a 404.",
)
def create_series(request: HttpRequest, payload: SeriesIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):  # type: ignore[no-untyped-def]
    membership = api_membership(request, WRITE)
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    clinic = membership.clinic
    therapist = therapist_in_clinic(clinic, payload.therapist)
    service = Service.objects.active().for_therapist(therapist.pk).filter(clinic=clinic, pk=payload.service).first()
    client = Client.objects.for_clinic(clinic).active().filter(pk=payload.client, restricted_at__isnull=True).first()
    if service is None or client is None:
        raise Http404("Not found")
    first = clinic_time(payload.start, clinic).astimezone(clinic.tz)
    if not MIN_YEAR <= first.year <= MAX_YEAR:
        raise HttpError(422, "That date is out of range.")
    spec = serieslib.SeriesSpec(
        clinic=clinic,
        therapist=therapist,
        service=service,
        client=client,
        first_day=first.date(),
        at=first.time().replace(second=0, microsecond=0),
        interval_weeks=payload.interval_weeks,
        until=payload.until,
        count=payload.count,
    )
    choices = {
        c.index: serieslib.Choice(action=c.action, start=clinic_time(c.start, clinic) if c.start else None, reason=c.reason or "")
        for c in payload.choices
    }
    actor = Actor(user=request.user, membership=membership)  # type: ignore[arg-type]

    def run() -> tuple[int, dict[str, Any]]:
        try:
            plan = serieslib.series_plan(spec=spec)
            if payload.dry_run:
                return 200, plan_out(plan, clinic)
            series, created = serieslib.series_create(plan=plan, choices=choices, actor=actor)
        except BookingError as exc:
            return _series_refusal(exc, clinic)
        return 201, series_out(series, created)

    if payload.dry_run:
        return _respond(run())
    return _respond(
        run_idempotent(
            user=request.user, clinic=clinic, key=idempotency_key, method="POST", path=request.path, payload=payload.dict(), run=run
        )
    )


@router.get(
    "/bookings/series/{series_id}",
    response={200: SeriesOut, 404: ErrorOut},
    url_name="booking_series_detail",
    summary="One recurring series and its appointments",
    description=f"Staff only (`{READ}`). Another clinic's series is a 404. Cancelled appointments are listed with their status.",
)
def get_series(request: HttpRequest, series_id: int):  # type: ignore[no-untyped-def]
    membership = api_membership(request, READ)
    if not serieslib.AppointmentSeries.objects.filter(pk=series_id, clinic=membership.clinic).exists():
        raise Http404("Not found")  # the token's (or the session's current) clinic only
    series, _ = serieslib.get_series_for_user(request.user, series_id)
    return JsonResponse(series_out(series, list(serieslib.series_appointments(series))))


def _appointment_for_write(request: HttpRequest, appointment_id: int) -> tuple[Appointment, Actor]:
    appointment = Appointment.objects.filter(pk=appointment_id).only("clinic_id").first()
    if appointment is None:
        raise Http404("Not found")
    actor = _actor(request, appointment.clinic_id, WRITE)
    found, _ = get_appointment_for_user(request.user, appointment_id, write=True)
    return found, actor


@router.get("/bookings/{appointment_id}", response=AppointmentOut, url_name="booking_detail", summary="One appointment")
def get_booking(request: HttpRequest, appointment_id: int):  # type: ignore[no-untyped-def]
    appointment = Appointment.objects.filter(pk=appointment_id).only("clinic_id").first()
    if appointment is None:
        raise Http404("Not found")
    _actor(request, appointment.clinic_id, READ)
    found, _ = get_appointment_for_user(request.user, appointment_id)
    return JsonResponse(appointment_out(found))


@router.post(
    "/bookings/{appointment_id}/cancel",
    response={200: AppointmentOut, 422: ConflictOut},
    url_name="booking_cancel",
    summary="Cancel; honours Idempotency-Key",
)
def cancel_booking(
    request: HttpRequest,
    appointment_id: int,
    payload: CancelIn | None = None,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):  # type: ignore[no-untyped-def]
    appointment, actor = _appointment_for_write(request, appointment_id)
    late = payload.late if payload else None

    def run() -> tuple[int, dict[str, Any]]:
        try:
            return 200, appointment_out(services.appointment_cancel(appointment=appointment, actor=actor, late=late))
        except BookingError as exc:
            return _refusal(exc)

    body = payload.dict() if payload else {}
    return _respond(
        run_idempotent(
            user=request.user, clinic=appointment.clinic, key=idempotency_key, method="POST", path=request.path, payload=body, run=run
        )
    )


@router.post(
    "/bookings/{appointment_id}/reschedule",
    response={200: AppointmentOut, 409: ConflictOut, 422: ConflictOut},
    url_name="booking_reschedule",
    summary="Move to another start; honours Idempotency-Key",
)
def reschedule_booking(
    request: HttpRequest, appointment_id: int, payload: RescheduleIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
):  # type: ignore[no-untyped-def]
    appointment, actor = _appointment_for_write(request, appointment_id)

    def run() -> tuple[int, dict[str, Any]]:
        try:
            return 200, appointment_out(services.appointment_reschedule(appointment=appointment, start=payload.start, actor=actor))
        except BookingError as exc:
            return _refusal(exc)

    return _respond(
        run_idempotent(
            user=request.user,
            clinic=appointment.clinic,
            key=idempotency_key,
            method="POST",
            path=request.path,
            payload=payload.dict(),
            run=run,
        )
    )


# --- The calendar: appointments and blocked time in a window ---------------------------------------


class CalendarQuery(Schema):
    start: date = Field(..., description="First local date (the clinic's time zone)")
    end: date = Field(..., description=f"Last local date, inclusive; at most {CALENDAR_MAX_DAYS} days from start")
    therapist: int | None = Field(None, ge=1, description="Only this therapist of the clinic")
    room: int | None = Field(None, ge=1, description="Only appointments in this room of the clinic")


class CalendarAppointmentOut(Schema):
    id: int
    status: str
    status_label: str = Field(..., description="The status in words")
    therapist: int
    therapist_name: str
    room: int | None
    room_name: str | None
    client: int | None
    client_name: str | None = Field(..., description="Empty while a visitor is still booking online")
    service: int
    service_name: str
    start: datetime
    end: datetime
    local_start: str
    local_end: str


class BlockedOut(Schema):
    therapist: int
    therapist_name: str
    kind: str = Field(..., description="day_off, time_off, break or outside_hours")
    label: str = Field(..., description="The kind in words")
    start: datetime
    end: datetime


class CalendarOut(Schema):
    time_zone: str
    start: date
    end: date
    appointments: list[CalendarAppointmentOut]
    blocked: list[BlockedOut]


@router.get(
    "/calendar",
    response={200: CalendarOut, 404: ErrorOut, 422: ErrorOut},
    url_name="calendar_window",
    summary="The clinic's appointments and therapists' blocked time between two dates",
    description=f"Staff only (`{READ}`). A window longer than {CALENDAR_MAX_DAYS} days, or ending before it starts, is a 422; "
    "a therapist or room of another clinic is a 404. Cancelled appointments and lapsed holds are left out.",
)
def calendar_window(request: HttpRequest, params: Query[CalendarQuery]):  # type: ignore[no-untyped-def]
    membership = api_membership(request, READ)
    require(membership, Capability.VIEW_DEMOGRAPHICS)
    clinic = membership.clinic
    if params.end < params.start or (params.end - params.start).days >= CALENDAR_MAX_DAYS:
        raise HttpError(422, f"`end` must be on or after `start`, and the window at most {CALENDAR_MAX_DAYS} days.")
    if not (MIN_YEAR <= params.start.year <= MAX_YEAR and MIN_YEAR <= params.end.year <= MAX_YEAR):
        raise HttpError(422, f"Dates must fall between the years {MIN_YEAR} and {MAX_YEAR}.")
    if params.therapist is not None:
        therapist_in_clinic(clinic, params.therapist)
    if params.room is not None and not Room.objects.filter(clinic=clinic, pk=params.room).exists():
        raise Http404("Not found")
    rows, blocked = calendar_rows(clinic=clinic, first=params.start, last=params.end, therapist_id=params.therapist, room_id=params.room)
    audit_many(action=Action.LIST, objects=rows, clinic=clinic, role=membership.role)
    return {
        "time_zone": clinic.time_zone,
        "start": params.start,
        "end": params.end,
        "appointments": [
            {
                "id": a.pk,
                "status": a.status,
                "status_label": a.get_status_display(),
                "therapist": a.therapist_id,
                "therapist_name": a.therapist.display_name,
                "room": a.room_id,
                "room_name": a.room.name if a.room else None,
                "client": a.client_id,
                "client_name": a.client.full_name if a.client else None,
                "service": a.service_id,
                "service_name": a.service.name,
                "start": a.starts_at,
                "end": a.ends_at,
                "local_start": a.local_start.isoformat(),
                "local_end": a.local_end.isoformat(),
            }
            for a in rows
        ],
        "blocked": [
            {
                "therapist": b.therapist.pk,
                "therapist_name": b.therapist.display_name,
                "kind": b.kind,
                "label": b.label,
                "start": b.start,
                "end": b.end,
            }
            for b in blocked
        ],
    }


# --- Practice reports (owner) --------------------------------------------------------------------


class PracticeQuery(Schema):
    model_config = {"populate_by_name": True}
    first: date | None = Field(None, alias="from", description="First local date; default: 12 weeks before `to`")
    last: date | None = Field(None, alias="to", description="Last local date, included; default: today. At most two years after `from`")
    therapist: int | None = Field(None, ge=1, le=2**31 - 1, description="Only this therapist's figures")
    rebook_weeks: int = Field(practice.REBOOK_WEEKS_DEFAULT, ge=practice.REBOOK_WEEKS_MIN, le=practice.REBOOK_WEEKS_MAX)
    by: str | None = Field(
        None, pattern="^(week|month)$", description="Group new and returning clients by week or month (default: by length)"
    )


class UtilisationOut(Schema):
    id: int
    name: str
    booked_minutes: int
    available_minutes: int
    percent: float | None


class AttendanceOut(Schema):
    therapist: int | None = Field(..., description="Empty on the clinic's total")
    name: str
    expected: int = Field(..., description="Confirmed, completed, no-show and late-cancelled appointments")
    no_shows: int
    late_cancels: int
    no_show_percent: float | None
    late_cancel_percent: float | None


class RebookingOut(Schema):
    therapist: int | None
    name: str
    visits: int
    rebooked: int
    percent: float | None


class ClientMixOut(Schema):
    start: date = Field(..., description="First day of the week or month")
    clients: int
    new: int
    returning: int


class CohortOut(Schema):
    month: date
    clients: int
    returned: list[int | None] = Field(..., description="Clients with a visit 1..6 months after their first; null: not yet")
    percent: list[float | None]


class PracticeOut(Schema):
    time_zone: str
    start: date
    end: date
    therapist: int | None
    rebook_weeks: int
    group_by: str
    utilisation: dict[str, Any] = Field(..., description="`therapists`, `rooms`, `total` and `open_minutes` (the rooms' denominator)")
    attendance: dict[str, Any] = Field(..., description="`therapists` and `total`")
    rebooking: dict[str, Any] = Field(..., description="`therapists` and `total`")
    clients: dict[str, Any] = Field(..., description="`seen`, `new`, `returning` and per-week/month `buckets`")
    retention: dict[str, Any] = Field(..., description="`cohorts` and the weighted `average` per month")
    referral_sources: list[dict[str, Any]] = Field(
        ..., description="New clients of the period by how they heard about the clinic: `{source, clients}`, commonest first"
    )
    notes: list[str]


def _util(row: practice.UtilisationRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "booked_minutes": row.booked_minutes, "available_minutes": row.available_minutes,
            "percent": row.percent}  # fmt: skip


def _attendance(row: practice.AttendanceRow) -> dict[str, Any]:
    return {"therapist": row.id, "name": row.name, "expected": row.expected, "no_shows": row.no_shows, "late_cancels": row.late_cancels,
            "no_show_percent": row.no_show_percent, "late_cancel_percent": row.late_cancel_percent}  # fmt: skip


def _rebook(row: practice.RebookingRow) -> dict[str, Any]:
    return {"therapist": row.id, "name": row.name, "visits": row.visits, "rebooked": row.rebooked, "percent": row.percent}


@router.get(
    "/reports/practice",
    response={200: PracticeOut, 404: ErrorOut, 422: ErrorOut},
    url_name="practice_report",
    summary="Practice report: utilisation, no-shows and late cancellations, rebooking, new and returning clients, retention",
    description=f"Clinic owners only (`manage_clinic`; a token needs `{READ}`): a therapist or front-desk caller is a 403. "
    "Dates are local to the clinic and both included; an impossible date is a 400, a period ending before it starts, "
    "longer than two years or outside the years 1900–2999 a 422; a therapist of another clinic a 404. Percentages are 0–100, "
    "rounded to one decimal, null when there is nothing to divide by. Definitions: docs/bookings.md, “Practice reports”.",
)
def practice_report(request: HttpRequest, params: Query[PracticeQuery]):  # type: ignore[no-untyped-def]
    membership = require(api_membership(request, READ), Capability.MANAGE_CLINIC)
    clinic = membership.clinic
    try:
        period = practice.report_period(params.first, params.last, today=timezone.localdate(timezone=clinic.tz))
    except practice.ReportError as exc:
        return Status(422, error_body(422, exc.message, {exc.field: exc.message} if exc.field else None))
    therapist = therapist_in_clinic(clinic, params.therapist) if params.therapist else None
    r = practice.practice_report(
        clinic=clinic, period=period, therapist=therapist, rebook_weeks=params.rebook_weeks, group_by=params.by or ""
    )
    detail = {"from": period.first.isoformat(), "to": period.last.isoformat(), "therapist": params.therapist, "api": True}
    audit_record(action=Action.VIEW, object_type="bookings.practice_report", clinic=clinic, role=membership.role, detail=detail)
    return Status(200, {
        "time_zone": clinic.time_zone, "start": period.first, "end": period.last, "therapist": params.therapist,
        "rebook_weeks": r.rebook_weeks, "group_by": r.group_by,
        "utilisation": {"therapists": [_util(t) for t in r.therapists], "rooms": [_util(x) for x in r.rooms],
                        "total": _util(r.utilisation_total), "open_minutes": r.open_minutes},
        "attendance": {"therapists": [_attendance(a) for a in r.attendance], "total": _attendance(r.attendance_total)},
        "rebooking": {"therapists": [_rebook(b) for b in r.rebooking], "total": _rebook(r.rebooking_total)},
        "clients": {"seen": r.clients_seen, "new": r.new_clients, "returning": r.returning_clients,
                    "buckets": [{"start": m.start, "clients": m.clients, "new": m.new, "returning": m.returning} for m in r.client_mix]},
        "retention": {"cohorts": [{"month": c.month, "clients": c.size, "returned": c.returned, "percent": c.shares} for c in r.cohorts],
                      "average": r.retention_average},
        "referral_sources": [{"source": name, "clients": n} for name, n in r.referral_sources],
        "notes": [r.referral_note],
    })  # fmt: skip


# --- Waitlist ----------------------------------------------------------------------------------------
# See knotwork/bookings/waitlist.py and docs/bookings.md, "Waitlist".


class WaitlistIn(Schema):
    model_config = {"extra": "forbid"}
    service: int = Field(..., ge=1, le=2**31 - 1)
    therapist: int | None = Field(None, ge=1, le=2**31 - 1, description="Empty: any therapist who offers the service")
    client: int | None = Field(None, ge=1, le=2**31 - 1, description="Staff: the client who waits (required). Clients leave it out")
    earliest_date: date = Field(..., description="First local date the client could come (today or later)")
    latest_date: date = Field(..., description="Last local date, within the clinic's booking horizon")
    weekdays: list[int] = Field(default_factory=list, max_length=7, description="0 = Monday … 6 = Sunday; empty: any day")
    day_start: time = Field(..., description="Earliest start, wall-clock time in the clinic's zone")
    day_end: time = Field(..., description="The appointment must end by this wall-clock time")


class WaitlistOut(Schema):
    id: int
    clinic: int
    client: int
    service: int
    therapist: int | None
    earliest_date: date
    latest_date: date
    weekdays: list[int]
    day_start: str
    day_end: str
    time_zone: str
    status: str = Field(..., description="active, offered, booked, withdrawn or expired")
    created_at: datetime


class WaitlistPageOut(Schema):
    count: int
    page: int
    page_size: int
    items: list[WaitlistOut]


class WaitlistQuery(PageParams):
    status: WaitlistStatus | None = Field(None, description="Staff: only this status (default: active and offered)")
    service: int | None = Field(None, ge=1, le=2**31 - 1)
    therapist: int | None = Field(None, ge=1, le=2**31 - 1)


def waitlist_out(e: WaitlistEntry) -> dict[str, Any]:
    return {
        "id": e.pk, "clinic": e.clinic_id, "client": e.client_id, "service": e.service_id, "therapist": e.therapist_id,
        "earliest_date": e.earliest_date.isoformat(), "latest_date": e.latest_date.isoformat(),
        "weekdays": e.weekdays if isinstance(e.weekdays, list) else [], "day_start": e.day_start.strftime("%H:%M"),
        "day_end": e.day_end.strftime("%H:%M"), "time_zone": e.clinic.time_zone, "status": e.status, "created_at": e.created_at.isoformat(),
    }  # fmt: skip


def _waitlist_refusal(exc: BookingError) -> tuple[int, dict[str, Any]]:
    field = getattr(exc, "field", "")
    return exc.status, error_body(exc.status, exc.message, {field: exc.message} if field else None, code=exc.code)


def _staff_membership(request: HttpRequest, scope: str) -> Any:
    """The membership a staff caller acts through, or None for a client (a token always acts for staff)."""
    if getattr(request, "api_token", None) is not None or getattr(request, "membership", None) is not None:
        return api_membership(request, scope)
    return None


@router.get(
    "/waitlist",
    response={200: WaitlistPageOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    url_name="waitlist_list",
    summary="The waitlist: the clinic's (staff) or your own (client)",
    description=f"Staff (`{READ}`) see their clinic's entries, first come first, filtered by `status`, `service` and `therapist`; "
    "a client sees their own entries at every clinic, newest first. A bad filter is a 400; a token without the scope a 403.",
)
def waitlist_list(request: HttpRequest, params: Query[WaitlistQuery]):  # type: ignore[no-untyped-def]
    membership = _staff_membership(request, READ)
    if membership is not None:
        require(membership, Capability.VIEW_DEMOGRAPHICS)
        qs = wl.clinic_waitlist(membership.clinic, status=params.status or "", service_id=params.service, therapist_id=params.therapist)
    else:
        qs = wl.own_waitlist(request.user)
        qs = qs.filter(status=params.status) if params.status else qs
    rows, counts = page_of(qs, params)
    if rows:
        audit_many(action=Action.LIST, objects=rows, clinic=rows[0].clinic, role=membership.role if membership else "client")
    return JsonResponse({**counts, "items": [waitlist_out(e) for e in rows]})


@router.post(
    "/waitlist",
    response={201: WaitlistOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    url_name="waitlist_join",
    summary="Join the waitlist; honours Idempotency-Key",
    description=f"A client joins for themselves (their record at the service's clinic); staff (`{WRITE}`) add a `client` of their "
    "clinic. 400: a missing or malformed value (staff without `client`). 403: a client naming a `client`, or a token "
    "without the scope. 404: a service, therapist or client the caller cannot see (another clinic's). 409: the client is "
    "already waiting for that service and therapist. 422: a rule refuses it (dates past or beyond the booking horizon, a "
    "window shorter than the service, a service booked only by the clinic, too many open entries, no record at the clinic).",
)
def waitlist_join(request: HttpRequest, payload: WaitlistIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):  # type: ignore[no-untyped-def]
    service = Service.objects.select_related("clinic").filter(pk=payload.service).first()
    if service is None:
        raise Http404("Not found")
    clinic = service.clinic
    membership = _staff_membership(request, WRITE)
    if membership is not None and membership.clinic_id != clinic.pk:
        raise Http404("Not found")  # staff act for their (token's or session's) clinic only
    actor = _actor(request, clinic.pk, WRITE)
    if actor.is_staff:
        if payload.client is None:
            raise HttpError(400, "Name the client who waits (`client`).")
        client = Client.objects.for_clinic(clinic).active().filter(pk=payload.client, restricted_at__isnull=True).first()
        if client is None:
            raise Http404("Not found")
    else:
        if payload.client is not None:
            raise HttpError(403, "Only clinic staff may add someone else to the waitlist.")
        own = portal_client_at(clinic, request.user)
        if own is None:
            return _respond((422, error_body(422, "Book your first visit through the clinic's booking page, which creates your record.")))
        client = own
    therapist = therapist_in_clinic(clinic, payload.therapist) if payload.therapist else None
    window = wl.Window(payload.earliest_date, payload.latest_date, tuple(payload.weekdays), payload.day_start, payload.day_end)

    def run() -> tuple[int, dict[str, Any]]:
        try:
            entry = wl.waitlist_join(clinic=clinic, client=client, service=service, therapist=therapist, window=window, actor=actor)
        except BookingError as exc:
            return _waitlist_refusal(exc)
        return 201, waitlist_out(entry)

    return _respond(
        run_idempotent(
            user=request.user, clinic=clinic, key=idempotency_key, method="POST", path=request.path, payload=payload.dict(), run=run
        )
    )


def _entry_for(request: HttpRequest, entry_id: int, *, write: bool) -> tuple[WaitlistEntry, Any]:
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is not None and (WRITE if write else READ) not in token.scopes:
        raise HttpError(403, f"This token lacks the “{WRITE if write else READ}” scope.")
    if not 1 <= entry_id <= 2**63 - 1:
        raise Http404("Not found")  # no such row, and no database integer overflows
    return wl.get_waitlist_entry_for_user(request.user, entry_id, write=write, clinic_id=token.clinic_id if token else None)


@router.get(
    "/waitlist/{entry_id}",
    response={200: WaitlistOut, 403: ErrorOut, 404: ErrorOut},
    url_name="waitlist_detail",
    summary="One waitlist entry",
    description=f"Staff of its clinic (`{READ}`) or its own client. Another clinic's entry, or someone else's, is a 404.",
)
def waitlist_detail(request: HttpRequest, entry_id: int):  # type: ignore[no-untyped-def]
    entry, _ = _entry_for(request, entry_id, write=False)
    return JsonResponse(waitlist_out(entry))


@router.delete(
    "/waitlist/{entry_id}",
    response={200: WaitlistOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    url_name="waitlist_withdraw",
    summary="Withdraw from the waitlist",
    description=f"Staff of its clinic (`{WRITE}`) or its own client. The entry stays, marked withdrawn, and an offer it holds "
    "stops working. 409: it was already booked, withdrawn or expired. Another clinic's entry is a 404.",
)
def waitlist_withdraw(request: HttpRequest, entry_id: int):  # type: ignore[no-untyped-def]
    entry, membership = _entry_for(request, entry_id, write=True)
    try:
        entry = wl.waitlist_withdraw(entry=entry, actor=Actor(user=request.user, membership=membership))  # type: ignore[arg-type]
    except BookingError as exc:
        return _respond(_waitlist_refusal(exc))
    return JsonResponse(waitlist_out(entry))


# --- Group sessions (classes) -----------------------------------------------------------------------
# See knotwork/bookings/classes.py and docs/bookings.md, "Group sessions".

ID = Field(..., ge=1, le=2**31 - 1)


class ClassIn(Schema):
    model_config = {"extra": "forbid"}
    therapist: int = ID
    service: int = ID
    start: datetime = Field(..., description="With an offset; without one, the clinic's local time")
    duration_minutes: int = Field(..., ge=5, le=Service.MAX_DURATION_MINUTES)
    capacity: int = Field(..., ge=ClassSession.MIN_CAPACITY, le=ClassSession.MAX_CAPACITY)
    name: str = Field("", max_length=80, description="Empty: the service's name")
    room: int | None = Field(None, ge=1, le=2**31 - 1)
    price: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=2, description="Per seat; empty: the service's price")


class SeatIn(Schema):
    model_config = {"extra": "forbid"}
    client: int | None = Field(None, ge=1, le=2**31 - 1, description="Staff: the client the seat is for (required). Clients leave it out")


class SeatOut(Schema):
    id: int
    class_id: int
    client: int
    status: str = Field(..., description="booked or cancelled")
    booked_at: datetime


class ClassOut(Schema):
    id: int
    clinic: int
    name: str
    therapist: int
    service: int
    room: int | None
    start: datetime
    end: datetime
    local_start: str
    time_zone: str
    capacity: int
    seats_taken: int
    seats_free: int
    price: str
    currency: str
    status: str = Field(..., description="scheduled or cancelled")
    seats: list[SeatOut] = Field(default_factory=list, description="Staff: every seat; a client: their own")


class ClassPageOut(Schema):
    count: int
    page: int
    page_size: int
    items: list[ClassOut]


def seat_out(seat: ClassSeat) -> dict[str, Any]:
    return {
        "id": seat.pk, "class_id": seat.class_session_id, "client": seat.client_id, "status": seat.status,
        "booked_at": seat.booked_at.isoformat(),
    }  # fmt: skip


def class_out(c: ClassSession, seats: list[ClassSeat] | None = None) -> dict[str, Any]:
    return {
        "id": c.pk, "clinic": c.clinic_id, "name": c.name, "therapist": c.therapist_id, "service": c.service_id, "room": c.room_id,
        "start": c.starts_at.isoformat(), "end": c.ends_at.isoformat(), "local_start": c.local_start.isoformat(),
        "time_zone": c.clinic.time_zone, "capacity": c.capacity, "seats_taken": c.seats_taken, "seats_free": c.seats_free,
        "price": str(c.price), "currency": c.currency, "status": c.status, "seats": [seat_out(s) for s in seats or []],
    }  # fmt: skip


def _class_for(request: HttpRequest, class_id: int, *, write: bool) -> tuple[ClassSession, Any]:
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is not None and (WRITE if write else READ) not in token.scopes:
        raise HttpError(403, f"This token lacks the “{WRITE if write else READ}” scope.")
    return classlib.get_class_for_user(request.user, class_id, write=write, clinic_id=token.clinic_id if token else None)


@router.get(
    "/classes",
    response={200: ClassPageOut, 400: ErrorOut, 403: ErrorOut},
    url_name="class_list",
    summary="Upcoming group classes: the clinic's (staff) or those of your clinics (client)",
    description=f"Staff (`{READ}`) see every upcoming class of their clinic, cancelled ones included; a client sees the "
    "scheduled upcoming classes of the clinics they are a client of. Soonest first.",
)
def class_list(request: HttpRequest, params: Query[PageParams]):  # type: ignore[no-untyped-def]
    membership = _staff_membership(request, READ)
    if membership is not None:
        require(membership, Capability.VIEW_DEMOGRAPHICS)
        qs = classlib.clinic_classes(membership.clinic)
    else:
        clinics = Client.objects.filter(portal_user=request.user.pk, archived_at__isnull=True, restricted_at__isnull=True)
        qs = ClassSession.objects.select_related("clinic").filter(
            clinic_id__in=clinics.values("clinic_id"), status="scheduled", ends_at__gt=timezone.now()
        )
    rows, counts = page_of(qs, params)
    if rows and membership is not None:
        audit_many(action=Action.LIST, objects=rows, clinic=membership.clinic, role=membership.role)
    return JsonResponse({**counts, "items": [class_out(c) for c in rows]})


@router.post(
    "/classes",
    response={201: ClassOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    url_name="class_create",
    summary="Schedule a group class (staff); honours Idempotency-Key",
    description=f"Staff (`{WRITE}`, edit_demographics). The class takes its therapist's (and room's) time: 409 `time_taken` "
    "when either is booked then. 404: a therapist, service or room of another clinic. 422: a time in the past.",
)
def class_create(request: HttpRequest, payload: ClassIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):  # type: ignore[no-untyped-def]
    membership = _staff_membership(request, WRITE)
    if membership is None:
        raise HttpError(403, "Only clinic staff can schedule a class.")
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    clinic = membership.clinic
    therapist = therapist_in_clinic(clinic, payload.therapist)
    service = Service.objects.filter(clinic=clinic, pk=payload.service, is_active=True).first()
    room = Room.objects.filter(clinic=clinic, pk=payload.room, is_active=True).first() if payload.room else None
    if service is None or (payload.room and room is None):
        raise Http404("Not found")
    actor = Actor(user=request.user, membership=membership)  # type: ignore[arg-type]

    def run() -> tuple[int, dict[str, Any]]:
        try:
            session = classlib.class_create(
                clinic=clinic, therapist=therapist, service=service, start=clinic_time(payload.start, clinic),
                duration_minutes=payload.duration_minutes, capacity=payload.capacity, name=payload.name, room=room,
                price=payload.price, actor=actor,
            )  # fmt: skip
        except BookingError as exc:
            return _waitlist_refusal(exc)
        return 201, class_out(session)

    return _respond(
        run_idempotent(
            user=request.user, clinic=clinic, key=idempotency_key, method="POST", path=request.path, payload=payload.dict(), run=run
        )
    )


@router.get(
    "/classes/{class_id}",
    response={200: ClassOut, 403: ErrorOut, 404: ErrorOut},
    url_name="class_detail",
    summary="One group class with its seats",
    description=f"Staff of its clinic (`{READ}`) see every seat; a client of the clinic sees the class and their own seat. "
    "Anyone else, another clinic's staff included, gets a 404.",
)
def class_detail(request: HttpRequest, class_id: int):  # type: ignore[no-untyped-def]
    session, membership = _class_for(request, class_id, write=False)
    if membership is not None:
        seats = list(classlib.class_seats(session))
        audit_record(action=Action.VIEW, obj=session, clinic=session.clinic, role=membership.role)
    else:
        seats = list(session.seats.filter(client__portal_user_id=request.user.pk))
    return JsonResponse(class_out(session, seats))


@router.post(
    "/classes/{class_id}/seats",
    response={201: SeatOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    url_name="class_seat_book",
    summary="Book one seat in a class; honours Idempotency-Key",
    description=f"A client books their own seat (no `client`); staff (`{WRITE}`) name a `client` of their clinic. "
    "409 `class_full` when every seat is taken, `already_booked` when the client has a seat, `conflict` when the class "
    "was cancelled. 422: the class has started. 403: a client naming a `client`. 404: another clinic's class or client.",
)
def class_seat_book(request: HttpRequest, class_id: int, payload: SeatIn, idem_key: str | None = Header(None, alias="Idempotency-Key")):  # type: ignore[no-untyped-def]
    session, membership = _class_for(request, class_id, write=False)
    if membership is not None:
        actor = _actor(request, session.clinic_id, WRITE)
        if payload.client is None:
            raise HttpError(400, "Name the client the seat is for (`client`).")
        client = Client.objects.for_clinic(session.clinic).active().filter(pk=payload.client, restricted_at__isnull=True).first()
        if client is None:
            raise Http404("Not found")
    else:
        if payload.client is not None:
            raise HttpError(403, "Only clinic staff may book a seat for someone else.")
        own = portal_client_at(session.clinic, request.user)
        if own is None:
            raise Http404("Not found")
        client, actor = own, Actor(user=request.user)  # type: ignore[arg-type]

    def run() -> tuple[int, dict[str, Any]]:
        try:
            seat = classlib.seat_book(class_session=session, client=client, actor=actor)
        except BookingError as exc:
            return _waitlist_refusal(exc)
        return 201, seat_out(seat)

    return _respond(
        run_idempotent(
            user=request.user, clinic=session.clinic, key=idem_key, method="POST", path=request.path, payload=payload.dict(), run=run
        )
    )


@router.delete(
    "/classes/{class_id}/seats/{seat_id}",
    response={200: SeatOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    url_name="class_seat_cancel",
    summary="Cancel a seat",
    description=f"Staff of the clinic (`{WRITE}`) or the seat's own client (until the class starts: 422 after). "
    "409: the seat was already cancelled. Another clinic's seat, or someone else's, is a 404.",
)
def class_seat_cancel(request: HttpRequest, class_id: int, seat_id: int):  # type: ignore[no-untyped-def]
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is not None and WRITE not in token.scopes:
        raise HttpError(403, f"This token lacks the “{WRITE}” scope.")
    seat, membership = classlib.get_seat_for_user(request.user, class_id, seat_id, clinic_id=token.clinic_id if token else None)
    try:
        seat = classlib.seat_cancel(seat=seat, actor=Actor(user=request.user, membership=membership))  # type: ignore[arg-type]
    except BookingError as exc:
        return _respond(_waitlist_refusal(exc))
    return JsonResponse(seat_out(seat))
