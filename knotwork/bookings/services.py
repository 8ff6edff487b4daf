"""Every write to bookings: holds, bookings, moves, cancellations, outcomes, calendar feeds.

Overlap is never checked here and then trusted: the insert or update itself is guarded by the
database (exclusion constraint / trigger), and a refused write becomes :class:`SlotTaken`.
Every state change is a compare-and-swap on the row's current status, so two people acting on
one appointment at once cannot both win.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from knotwork.accounts.models import Clinic, Membership, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.bookings import slots as slotlib
from knotwork.bookings.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    BookingPolicy,
    CalendarFeed,
    Room,
    Service,
)
from knotwork.bookings.selectors import THERAPIST_ROLES, is_returning_client, rules_for, working_hours
from knotwork.clients.models import Client

log = logging.getLogger(__name__)
T = TypeVar("T")
DEADLOCK_RETRIES = 3
# The years a booking may name. Anything outside is refused as out of range before any arithmetic.
MIN_YEAR, MAX_YEAR = 1900, 2999


class BookingError(Exception):
    """A booking request that cannot be honoured; ``str()`` is a sentence for the person asking."""

    status = 422
    code = "unprocessable"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SlotTaken(BookingError):
    status = 409
    code = "slot_taken"

    def __init__(
        self,
        *,
        clinic: Clinic,
        therapist: User,
        service: Service,
        start: datetime,
        exclude_id: int | None = None,
        staff: bool = False,
    ) -> None:
        super().__init__("That time was just taken by someone else. Here are the nearest free times.")
        self.clinic, self.therapist, self.service, self.start, self.exclude_id = clinic, therapist, service, start, exclude_id
        self.staff = staff

    def nearest(self) -> list[slotlib.Slot]:
        """The nearest free starts the person asking could book (staff: inside the working hours, from now on)."""
        from knotwork.bookings.selectors import nearest_free_slots

        return list(
            nearest_free_slots(
                clinic=self.clinic,
                therapist=self.therapist,
                service=self.service,
                around=self.start,
                exclude_id=self.exclude_id,
                staff=self.staff,
            )
        )


class HoldGone(BookingError):
    status = 409
    code = "hold_expired"


class ExistingClientsOnly(BookingError):
    """An "existing clients only" service asked for by someone without a past visit at the clinic.
    ``signed_in`` tells the page whether to offer signing in (a returning client may just not be)."""

    code = "existing_clients_only"

    def __init__(self, message: str, *, signed_in: bool) -> None:
        super().__init__(message)
        self.signed_in = signed_in


class OutsideHours(BookingError):
    """Staff booking outside the therapist's working hours without an override and its reason."""

    code = "outside_hours"


@dataclass
class Actor:
    """Who is acting: a staff membership, a client's portal user, or an anonymous visitor."""

    user: User | None = None
    membership: Membership | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_staff(self) -> bool:
        return self.membership is not None

    @property
    def role(self) -> str:
        return self.membership.role if self.membership else ("client" if self.user else "visitor")


def _is_overlap(exc: IntegrityError) -> bool:
    # PostgreSQL names the exclusion constraint; SQLite's trigger aborts with its name.
    return "overlap" in str(exc)


def _to_minute(value: datetime) -> datetime:
    if timezone.is_naive(value):
        raise BookingError("Times must include a time zone (for example 2026-03-02T09:00:00+00:00).")
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        # Both are valid datetimes, but arithmetic on year 1 or 9999 overflows.
        raise BookingError("That date is out of range.")
    return value.astimezone(UTC).replace(second=0, microsecond=0)


def _duration_words(minutes: int) -> str:
    if minutes % 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return "1 hour" if hours == 1 else f"{hours} hours"


ADVISORY_LOCK_CLASS = 0x4B57  # "KW": keeps these keys apart from any other advisory locks


def therapist_lock(therapist_id: int) -> None:
    """Queue concurrent claims on one therapist's time (PostgreSQL; SQLite writers queue already).

    Not what prevents double booking — the exclusion constraint does that on its own — but two
    transactions inserting rows that overlap each other can each wait for the other inside the
    constraint check, and PostgreSQL then aborts one as a deadlock after a second's wait. Taking
    this lock first turns that into an orderly queue: the later claim sees the earlier one's
    committed row and is refused at once.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ADVISORY_LOCK_CLASS, therapist_id])


def holds_expire(*, now: datetime | None = None, therapist_id: int | None = None) -> int:
    """Turn lapsed holds into ``expired`` so they stop blocking (a constraint cannot compare with now())."""
    qs = Appointment.objects.filter(status=AppointmentStatus.HELD, hold_expires_at__lte=now or timezone.now())
    if therapist_id is not None:
        qs = qs.filter(therapist_id=therapist_id)
    return qs.update(status=AppointmentStatus.EXPIRED)


def _check_existing_client(*, clinic: Clinic, actor: Actor, client: Client | None, now: datetime) -> None:
    if client is not None and client.clinic_id == clinic.pk and is_returning_client(client, now=now):
        return
    if actor.user is None:
        raise ExistingClientsOnly(
            f"This service is for clients who have visited {clinic.name} before. If you have, please sign in and "
            "choose your time again; if not, please book a consultation first.",
            signed_in=False,
        )
    raise ExistingClientsOnly(
        f"This service is for clients who have visited {clinic.name} before. Please book a consultation first.", signed_in=True
    )


def _check_bookable(
    *,
    clinic: Clinic,
    therapist: User,
    service: Service,
    start: datetime,
    actor: Actor,
    client: Client | None,
    now: datetime,
    moving: bool = False,
) -> None:
    """Rules a visitor or client must meet; staff may book any free time (outside the working
    hours only with an override, see :func:`appointment_book`). ``moving``: an appointment the
    client already has is being moved, so the limit on upcoming bookings does not apply."""
    if service.clinic_id != clinic.pk or (service.therapist_id and service.therapist_id != therapist.pk) or not service.is_active:
        raise BookingError("This therapist does not offer that service.")
    if start < now:
        raise BookingError("That time has already passed.")
    if actor.is_staff:
        return
    policy = BookingPolicy.for_clinic(clinic)
    if service.online_booking == Service.OnlineBooking.STAFF:
        raise BookingError("This service is booked by the clinic. Please call or message them.")
    if service.online_booking == Service.OnlineBooking.EXISTING:
        _check_existing_client(clinic=clinic, actor=actor, client=client, now=now)
    if start < now + timedelta(minutes=policy.min_notice_minutes):
        raise BookingError(f"Online bookings need at least {_duration_words(policy.min_notice_minutes)} notice.")
    if start > now + timedelta(days=policy.horizon_days):
        raise BookingError(f"Bookings open {policy.horizon_days} days ahead.")
    weekly, exceptions = working_hours(clinic, therapist, start.date() - timedelta(days=1), start.date() + timedelta(days=1))
    if not slotlib.offered(start, tz=clinic.tz, weekly=weekly, exceptions=exceptions, rules=rules_for(service, policy)):
        raise BookingError("That time is outside the therapist's bookable hours.")
    if client is not None and not moving:
        pending = Appointment.objects.filter(client=client).filter(status__in=ACTIVE_STATUSES, starts_at__gt=now).count()
        if pending >= policy.max_pending_per_client:
            raise BookingError(f"You already have {pending} upcoming appointments here; that is the most this clinic takes online.")


def _is_deadlock(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "40P01"


def guarded_write(write: Callable[[], T]) -> T:
    """Run one guarded INSERT/UPDATE in a savepoint.

    On PostgreSQL two transactions inserting rows that overlap each other can each find the
    other's row in the exclusion index and wait for it: the server breaks that cycle by aborting
    one with a deadlock error. The aborted attempt is simply retried, and then meets the
    winner's committed row as an ordinary exclusion violation.
    """
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            with transaction.atomic():
                return write()
        except OperationalError as exc:
            if not _is_deadlock(exc) or attempt == DEADLOCK_RETRIES:
                raise
    raise AssertionError("unreachable")


def claim(appointment: Appointment, *, service: Service, actor: Actor, prefer: Room | None = None) -> Appointment:
    """Insert the appointment; the database refuses an overlap. Picks a free room when the service
    needs one, trying ``prefer`` first (a series keeps to one room when it can)."""
    rooms: list[Room | None] = [None]
    if service.needs_room:
        found: list[Room | None] = list(Room.objects.filter(clinic_id=appointment.clinic_id, is_active=True).order_by("name"))
        if prefer in found:
            found.remove(prefer)
            found.insert(0, prefer)
        rooms = found or [None]
    for room in rooms:
        appointment.room = room
        try:
            appointment.pk = None
            guarded_write(lambda: appointment.save(force_insert=True))
            return appointment
        except IntegrityError as exc:
            if not _is_overlap(exc):
                raise
            appointment.pk = None
            if "therapist" in str(exc):
                break
    raise SlotTaken(
        clinic=appointment.clinic, therapist=appointment.therapist, service=service, start=appointment.starts_at, staff=actor.is_staff
    )


def _new_appointment(*, clinic: Clinic, therapist: User, service: Service, start: datetime, **fields: Any) -> Appointment:
    rules = rules_for(service, BookingPolicy.for_clinic(clinic))
    block = rules.block(start)
    return Appointment(
        clinic=clinic,
        therapist=therapist,
        service=service,
        starts_at=start,
        ends_at=start + service.duration,
        block_start=block.start,
        block_end=block.end,
        price=service.price,
        currency=service.currency,
        **fields,
    )


@transaction.atomic
def hold_create(
    *, clinic: Clinic, therapist: User, service: Service, start: datetime, actor: Actor, client: Client | None = None
) -> tuple[Appointment, str]:
    """Hold a slot for a few minutes while the visitor signs in. Returns the hold and its secret token.

    ``client`` is the signed-in person's record at this clinic, when they have one: it lets a
    returning client hold an "existing clients only" service. The hold itself stays anonymous
    until it is confirmed (for whichever record confirms it, checked again then)."""
    now = timezone.now()
    start = _to_minute(start)
    if client is not None and client.clinic_id != clinic.pk:
        raise BookingError("That client is not a client of this clinic.")
    _check_bookable(clinic=clinic, therapist=therapist, service=service, start=start, actor=actor, client=client, now=now)
    therapist_lock(therapist.pk)
    holds_expire(now=now, therapist_id=therapist.pk)
    raw, hashed = Appointment.new_hold_token()
    policy = BookingPolicy.for_clinic(clinic)
    hold = _new_appointment(
        clinic=clinic,
        therapist=therapist,
        service=service,
        start=start,
        status=AppointmentStatus.HELD,
        hold_expires_at=now + timedelta(minutes=policy.hold_minutes),
        hold_token_hash=hashed,
        created_by=actor.user,
    )
    return claim(hold, service=service, actor=actor), raw


def _after_booking(appointment: Appointment, *, first_for_client: bool) -> None:
    from knotwork.bookings import tasks

    appointment_id = appointment.pk
    transaction.on_commit(lambda: tasks.send_booking_confirmation.enqueue(appointment_id))
    if first_for_client and appointment.client is not None:
        client = appointment.client
        transaction.on_commit(lambda: _intake_invite(client))


def _intake_invite(client: Client) -> None:
    """Ask the intake feature to invite a new client, when that feature is installed."""
    module = importlib.import_module("knotwork.clients.services")
    invite = getattr(module, "intake_invite_on_first_booking", None)
    if invite is not None:
        invite(client)


def _is_first_booking(client: Client, exclude_id: int) -> bool:
    return (
        not Appointment.objects.filter(client=client)
        .exclude(pk=exclude_id)
        .exclude(status__in=[AppointmentStatus.EXPIRED, AppointmentStatus.HELD])
        .exists()
    )


def _initial_status(service: Service, actor: Actor) -> str:
    if service.online_booking == Service.OnlineBooking.APPROVAL and not actor.is_staff:
        return AppointmentStatus.REQUESTED
    return AppointmentStatus.CONFIRMED


def outside_working_hours(*, clinic: Clinic, therapist: User, service: Service, start: datetime) -> bool:
    """Whether the appointment would not fit inside one of the therapist's working windows that day."""
    local_day = start.astimezone(clinic.tz).date()
    weekly, exceptions = working_hours(clinic, therapist, local_day - timedelta(days=1), local_day + timedelta(days=1))
    return not slotlib.within_hours(start, start + service.duration, tz=clinic.tz, weekly=weekly, exceptions=exceptions)


@transaction.atomic
def appointment_book(
    *,
    clinic: Clinic,
    therapist: User,
    service: Service,
    start: datetime,
    client: Client,
    actor: Actor,
    outside_hours_reason: str = "",
) -> Appointment:
    """Book directly (staff, or a signed-in client through the API) — no hold first.

    Staff may book outside the therapist's working hours only by giving ``outside_hours_reason``;
    the override and its reason are audited with the booking. (Visitors and clients never can.)"""
    if client.clinic_id != clinic.pk:
        raise BookingError("That client is not a client of this clinic.")
    now = timezone.now()
    start = _to_minute(start)
    _check_bookable(clinic=clinic, therapist=therapist, service=service, start=start, actor=actor, client=client, now=now)
    reason = " ".join(outside_hours_reason.split())[:200]
    override = actor.is_staff and outside_working_hours(clinic=clinic, therapist=therapist, service=service, start=start)
    if override and not reason:
        name = getattr(therapist, "display_name", "the therapist")
        raise OutsideHours(f"That time is outside {name}'s working hours. Booking it needs an override with a reason.")
    therapist_lock(therapist.pk)
    holds_expire(now=now, therapist_id=therapist.pk)
    status = _initial_status(service, actor)
    appointment = _new_appointment(
        clinic=clinic,
        therapist=therapist,
        service=service,
        start=start,
        client=client,
        status=status,
        created_by=actor.user,
        confirmed_at=now if status == AppointmentStatus.CONFIRMED else None,
    )
    appointment = claim(appointment, service=service, actor=actor)
    detail: dict[str, Any] = {"status": status, "service": service.pk}
    if override:
        detail.update(outside_hours=True, reason=reason)
    audit_record(action=Action.CREATE, obj=appointment, actor=actor.user, role=actor.role, detail=detail)
    _after_booking(appointment, first_for_client=_is_first_booking(client, appointment.pk))
    return appointment


@transaction.atomic
def hold_confirm(*, hold: Appointment, token: str, client: Client, actor: Actor) -> Appointment:
    """Turn a hold into a booking for ``client``. A lapsed hold is re-claimed if the time is still free."""
    if hold.status not in (AppointmentStatus.HELD, AppointmentStatus.EXPIRED) or not hold.hold_token_matches(token):
        raise HoldGone("This hold is no longer available. Please pick a time again.")
    return _confirm_hold(hold=hold, client=client, actor=actor)


def hold_keep_for_payment(*, hold: Appointment, token: str, client: Client, minutes: int) -> Appointment:
    """Keep a hold for ``client`` while they pay what booking it costs (a deposit or prepayment):
    the hold is theirs and lasts ``minutes`` more. The booking is made by :func:`hold_confirm_paid`."""
    if hold.status != AppointmentStatus.HELD or not hold.hold_token_matches(token):
        raise HoldGone("This hold is no longer available. Please pick a time again.")
    if client.clinic_id != hold.clinic_id:
        raise BookingError("That client is not a client of this clinic.")
    now = timezone.now()
    until = max(now + timedelta(minutes=minutes), hold.hold_expires_at or now)
    kept = Appointment.objects.filter(pk=hold.pk, status=AppointmentStatus.HELD, hold_expires_at__gt=now).update(
        client=client, hold_expires_at=until
    )
    if not kept:
        raise HoldGone("The hold on this time has lapsed. Please pick a time again.")
    hold.refresh_from_db()
    return hold


@transaction.atomic
def hold_confirm_paid(*, hold: Appointment, actor: Actor) -> Appointment:
    """Book a hold whose deposit or prepayment has been received (billing calls this): as
    :func:`hold_confirm`, for the client the hold was kept for, without the browser's token."""
    client = hold.client
    if hold.status not in (AppointmentStatus.HELD, AppointmentStatus.EXPIRED) or client is None:
        raise HoldGone("This hold is no longer available.")
    return _confirm_hold(hold=hold, client=client, actor=actor)


def _confirm_hold(*, hold: Appointment, client: Client, actor: Actor) -> Appointment:
    if client.clinic_id != hold.clinic_id:
        raise BookingError("That client is not a client of this clinic.")
    now = timezone.now()
    _check_bookable(
        clinic=hold.clinic, therapist=hold.therapist, service=hold.service, start=hold.starts_at, actor=actor, client=client, now=now
    )
    status = _initial_status(hold.service, actor)
    confirmed_at = now if status == AppointmentStatus.CONFIRMED else None
    therapist_lock(hold.therapist_id)
    swapped = Appointment.objects.filter(pk=hold.pk, status=AppointmentStatus.HELD, hold_expires_at__gt=now).update(
        status=status, client=client, hold_expires_at=None, hold_token_hash="", confirmed_at=confirmed_at
    )
    if swapped:
        appointment = Appointment.objects.select_related("clinic", "client", "service", "therapist").get(pk=hold.pk)
    else:
        holds_expire(now=now, therapist_id=hold.therapist_id)
        Appointment.objects.filter(pk=hold.pk).update(hold_token_hash="")
        appointment = claim(
            _new_appointment(
                clinic=hold.clinic,
                therapist=hold.therapist,
                service=hold.service,
                start=hold.starts_at,
                client=client,
                status=status,
                created_by=actor.user,
                confirmed_at=confirmed_at,
            ),
            service=hold.service,
            actor=actor,
        )
    audit_record(action=Action.CREATE, obj=appointment, actor=actor.user, role=actor.role, detail={"status": status, "from_hold": hold.pk})
    _after_booking(appointment, first_for_client=_is_first_booking(client, appointment.pk))
    return appointment


def client_may_change(appointment: Appointment, *, now: datetime | None = None) -> bool:
    """Whether the client is still inside the clinic's notice period for moving or cancelling."""
    policy = BookingPolicy.for_clinic(appointment.clinic)
    return appointment.starts_at - (now or timezone.now()) >= timedelta(hours=policy.cancel_notice_hours)


@transaction.atomic
def appointment_cancel(*, appointment: Appointment, actor: Actor, late: bool | None = None) -> Appointment:
    """Cancel. A client cancelling inside the notice period is recorded as a late cancellation;
    staff say whether it was late (default: decided by the same notice period)."""
    now = timezone.now()
    if appointment.starts_at <= now and not actor.is_staff:
        raise BookingError("This appointment has already started. Please contact the clinic.")
    if late is None or not actor.is_staff:
        late = not client_may_change(appointment, now=now)
    status = AppointmentStatus.LATE_CANCELLED if late else AppointmentStatus.CANCELLED
    done = Appointment.objects.filter(pk=appointment.pk, status__in=ACTIVE_STATUSES).update(
        status=status, cancelled_at=now, cancelled_by=actor.user
    )
    if not done:
        raise BookingError("This appointment is not active any more.")
    appointment.refresh_from_db()
    audit_record(action=Action.UPDATE, obj=appointment, actor=actor.user, role=actor.role, detail={"status": status})
    from knotwork.bookings import tasks

    transaction.on_commit(lambda: tasks.send_booking_change.enqueue(appointment.pk, "cancelled"))
    transaction.on_commit(lambda: tasks.offer_freed_time.enqueue(appointment.pk))  # the waitlist (bookings/waitlist.py)
    if late:
        from knotwork.billing import fees  # a late cancellation may cost a fee (docs/money.md, "Card on file and fees")

        fees.on_missed(appointment)
    return appointment


def _hours_refusal(*, clinic: Clinic, therapist: User, start: datetime, end: datetime) -> OutsideHours | None:
    """The refusal for ``[start, end)`` when it does not fit one of the therapist's working windows."""
    local_day = start.astimezone(clinic.tz).date()
    weekly, exceptions = working_hours(clinic, therapist, local_day - timedelta(days=1), local_day + timedelta(days=1))
    if slotlib.within_hours(start, end, tz=clinic.tz, weekly=weekly, exceptions=exceptions):
        return None
    name = getattr(therapist, "display_name", "the therapist")
    return OutsideHours(f"That time is outside {name}'s working hours. Moving it there needs an override with a reason.")


@transaction.atomic
def appointment_reschedule(
    *,
    appointment: Appointment,
    start: datetime,
    actor: Actor,
    therapist: User | None = None,
    duration_minutes: int | None = None,
    outside_hours_reason: str | None = None,
) -> Appointment:
    """Move an active appointment. The move is one guarded UPDATE: it lands on free time or not at all.

    Staff may also hand it to another ``therapist`` of the clinic or change its length
    (``duration_minutes``, else it keeps its length; the service's buffers still apply). ``outside_hours_reason`` asks for the
    working-hours rule of :func:`appointment_book`: given (even empty), a staff move outside the
    therapist's hours is refused with :class:`OutsideHours` unless it carries a reason, which is
    audited. Left out (the older move page and the API), staff may move to any free time."""
    now = timezone.now()
    start = _to_minute(start)
    if appointment.status not in ACTIVE_STATUSES:
        raise BookingError("Only an upcoming appointment can be moved.")
    if not actor.is_staff and not client_may_change(appointment, now=now):
        policy = BookingPolicy.for_clinic(appointment.clinic)
        raise BookingError(f"Appointments can be moved online up to {policy.cancel_notice_hours} hours before. Please contact the clinic.")
    target = therapist or appointment.therapist
    current_minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    minutes = current_minutes if duration_minutes is None else duration_minutes
    if (target.pk != appointment.therapist_id or minutes != current_minutes) and not actor.is_staff:
        raise BookingError("Only the clinic can change the therapist or the length of an appointment.")
    if not 5 <= minutes <= Service.MAX_DURATION_MINUTES:
        raise BookingError(f"An appointment lasts between 5 minutes and {_duration_words(Service.MAX_DURATION_MINUTES)}.")
    members = Membership.objects.active().filter(clinic_id=appointment.clinic_id, user_id=target.pk, role__in=THERAPIST_ROLES)
    if target.pk != appointment.therapist_id and not members.exists():
        raise BookingError("That person is not a therapist at this clinic.")
    _check_bookable(
        clinic=appointment.clinic,
        therapist=target,
        service=appointment.service,
        start=start,
        actor=Actor(user=actor.user, membership=actor.membership),
        client=appointment.client,
        now=now,
        moving=True,
    )
    end = start + timedelta(minutes=minutes)
    reason = " ".join((outside_hours_reason or "").split())[:200]
    override = False
    if actor.is_staff and outside_hours_reason is not None:
        refusal = _hours_refusal(clinic=appointment.clinic, therapist=target, start=start, end=end)
        if refusal is not None and not reason:
            raise refusal
        override = refusal is not None
    for therapist_id in sorted({appointment.therapist_id, target.pk}):
        therapist_lock(therapist_id)
    holds_expire(now=now, therapist_id=target.pk)
    service = appointment.service
    block_start = start - timedelta(minutes=service.buffer_before_minutes)
    block_end = end + timedelta(minutes=service.buffer_after_minutes)
    try:
        moved = guarded_write(
            lambda: Appointment.objects.filter(
                pk=appointment.pk,
                status=appointment.status,
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
                therapist_id=appointment.therapist_id,
            ).update(
                therapist=target,
                starts_at=start,
                ends_at=end,
                block_start=block_start,
                block_end=block_end,
                reschedule_count=appointment.reschedule_count + 1,
                confirmed_at=now,
            )
        )
    except IntegrityError as exc:
        if not _is_overlap(exc):
            raise
        raise SlotTaken(
            clinic=appointment.clinic,
            therapist=target,
            service=service,
            start=start,
            exclude_id=appointment.pk,
            staff=actor.is_staff,
        ) from None
    if not moved:
        raise BookingError("This appointment changed while you were moving it. Reload and try again.")
    before, before_therapist = appointment.starts_at, appointment.therapist_id
    appointment.refresh_from_db()
    detail: dict[str, Any] = {"fields": ["starts_at"], "from": before.isoformat(), "to": start.isoformat()}
    if target.pk != before_therapist:
        detail["fields"].append("therapist")
        detail.update(from_therapist=before_therapist, to_therapist=target.pk)
    if minutes != current_minutes:
        detail["fields"].append("ends_at")
        detail["minutes"] = minutes
    if override:
        detail.update(outside_hours=True, reason=reason)
    audit_record(action=Action.UPDATE, obj=appointment, actor=actor.user, role=actor.role, detail=detail)
    from knotwork.bookings import tasks

    transaction.on_commit(lambda: tasks.send_booking_change.enqueue(appointment.pk, "moved"))
    return appointment


@transaction.atomic
def appointment_record_outcome(*, appointment: Appointment, status: str, actor: Actor) -> Appointment:
    """Staff record what happened: attended (completed) or did not attend (no-show), or approve a request."""
    allowed: dict[str, list[str]] = {
        AppointmentStatus.COMPLETED: [AppointmentStatus.CONFIRMED],
        AppointmentStatus.NO_SHOW: [AppointmentStatus.CONFIRMED],
        AppointmentStatus.CONFIRMED: [AppointmentStatus.REQUESTED],
    }
    if not actor.is_staff or status not in allowed:
        raise BookingError("That change is not possible.")
    if status in (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW) and appointment.starts_at > timezone.now():
        raise BookingError("Attendance can be recorded once the appointment has started.")
    extra = {"confirmed_at": timezone.now()} if status == AppointmentStatus.CONFIRMED else {}
    if not Appointment.objects.filter(pk=appointment.pk, status__in=allowed[status]).update(status=status, **extra):
        raise BookingError("This appointment changed in the meantime. Reload and try again.")
    appointment.refresh_from_db()
    audit_record(action=Action.UPDATE, obj=appointment, actor=actor.user, role=actor.role, detail={"status": status})
    if status == AppointmentStatus.CONFIRMED:
        from knotwork.bookings import tasks

        transaction.on_commit(lambda: tasks.send_booking_confirmation.enqueue(appointment.pk))
    if status == AppointmentStatus.NO_SHOW:
        from knotwork.billing import fees  # a no-show may cost a fee (docs/money.md, "Card on file and fees")

        fees.on_missed(appointment)
    return appointment


@transaction.atomic
def client_for_booking(*, clinic: Clinic, user: User, first_name: str = "", last_name: str = "", phone: str = "") -> tuple[Client, bool]:
    """The signed-in person's record at this clinic, created (and linked to them) on their first booking."""
    existing = Client.objects.filter(clinic=clinic, portal_user=user, archived_at__isnull=True).first()
    if existing is not None:
        return existing, False
    if not first_name.strip() or not last_name.strip():
        raise BookingError("Please give your first and last name.")
    client = Client(
        clinic=clinic,
        portal_user=user,
        first_name=first_name.strip()[:80],
        last_name=last_name.strip()[:80],
        phone=phone.strip()[:40],
        email=user.email,
    )
    client.full_clean()
    client.save()
    audit_record(
        action=Action.CREATE, obj=client, actor=user, role="client", detail={"fields": ["first_name", "last_name", "phone", "email"]}
    )
    return client, True


@transaction.atomic
def calendar_feed_create(*, membership: Membership) -> str:
    """A new private feed address for the member; any earlier one stops working. Returns the raw token once."""
    now = timezone.now()
    CalendarFeed.objects.usable().filter(clinic=membership.clinic, therapist=membership.user).update(revoked_at=now)
    raw, hashed = CalendarFeed.new_token()
    feed = CalendarFeed.objects.create(clinic=membership.clinic, therapist=membership.user, token_hash=hashed)
    audit_record(action=Action.CREATE, obj=feed, clinic=membership.clinic, role=membership.role, detail={"feed": feed.pk})
    return raw


@transaction.atomic
def calendar_feed_revoke(*, membership: Membership) -> int:
    count = CalendarFeed.objects.usable().filter(clinic=membership.clinic, therapist=membership.user).update(revoked_at=timezone.now())
    if count:
        audit_record(action=Action.REVOKE, object_type="bookings.calendarfeed", clinic=membership.clinic, role=membership.role)
    return count


def stale_idempotency_cleanup(*, now: datetime | None = None) -> int:
    from knotwork.bookings.models import IdempotencyRecord

    cutoff = (now or timezone.now()) - IdempotencyRecord.KEEP_FOR
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
