"""Reads: who may be booked, free slots, one appointment for a user, the schedule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from knotwork.accounts.models import Capability, Clinic, Membership, Role, User
from knotwork.accounts.permissions import membership_for, require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.bookings import slots as slotlib
from knotwork.bookings.models import (
    LONGEST_BLOCK,
    Appointment,
    AppointmentStatus,
    Availability,
    AvailabilityException,
    BookingPolicy,
    Service,
)
from knotwork.clients.models import Client

THERAPIST_ROLES = (Role.THERAPIST, Role.OWNER)


def bookable_therapists(clinic: Clinic) -> QuerySet[User]:
    """Therapists (and treating owners) of the clinic with weekly hours set."""
    hours = Availability.objects.filter(clinic=clinic, therapist=OuterRef("pk"))
    members = Membership.objects.active().filter(clinic=clinic, role__in=THERAPIST_ROLES, user=OuterRef("pk"))
    return User.objects.filter(Exists(members), Exists(hours)).order_by("full_name", "email")


def clinic_therapists(clinic: Clinic) -> QuerySet[User]:
    members = Membership.objects.active().filter(clinic=clinic, role__in=THERAPIST_ROLES, user=OuterRef("pk"))
    return User.objects.filter(Exists(members)).order_by("full_name", "email")


def therapist_in_clinic(clinic: Clinic, therapist_id: int) -> User:
    therapist = clinic_therapists(clinic).filter(pk=therapist_id).first()
    if therapist is None:
        raise Http404("No such therapist")
    return therapist


def service_in_clinic(clinic: Clinic, service_id: int, therapist: User) -> Service:
    service = Service.objects.active().for_therapist(therapist.pk).filter(clinic=clinic, pk=service_id).first()
    if service is None:
        raise Http404("No such service")
    return service


def rules_for(service: Service, policy: BookingPolicy) -> slotlib.SlotRules:
    return slotlib.SlotRules(
        duration=service.duration,
        buffer_before=timedelta(minutes=service.buffer_before_minutes),
        buffer_after=timedelta(minutes=service.buffer_after_minutes),
        step=timedelta(minutes=policy.slot_step_minutes),
    )


def working_hours(
    clinic: Clinic, therapist: User, first_day: date, last_day: date
) -> tuple[list[slotlib.WeeklyHours], list[slotlib.DayException]]:
    weekly = [
        slotlib.WeeklyHours(a.weekday, a.start_time, a.end_time) for a in Availability.objects.filter(clinic=clinic, therapist=therapist)
    ]
    exceptions = [
        slotlib.DayException(e.day, e.kind, e.start_time, e.end_time)
        for e in AvailabilityException.objects.filter(
            clinic=clinic, therapist=therapist, day__gte=first_day - timedelta(days=1), day__lte=last_day + timedelta(days=1)
        )
    ]
    return weekly, exceptions


def busy_intervals(therapist: User, start: datetime, end: datetime, *, exclude_id: int | None = None) -> list[slotlib.Interval]:
    """Time the therapist is taken between two instants, in any clinic (one person, one body)."""
    qs = Appointment.objects.blocking().filter(therapist=therapist).overlapping(start, end)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return [slotlib.Interval(b, e) for b, e in qs.values_list("block_start", "block_end")]


def free_slots(
    *,
    clinic: Clinic,
    therapist: User,
    service: Service,
    first_day: date,
    last_day: date,
    now: datetime | None = None,
    exclude_id: int | None = None,
    staff: bool = False,
) -> list[slotlib.Slot]:
    """Free starts between two local dates. Visitors see only starts inside the clinic's notice and
    horizon; staff may book any free start from now on."""
    now = now or timezone.now()
    policy = BookingPolicy.for_clinic(clinic)
    rules = rules_for(service, policy)
    tz = clinic.tz
    not_before = now if staff else now + timedelta(minutes=policy.min_notice_minutes)
    not_after = now + timedelta(days=3650 if staff else policy.horizon_days)
    # Only dates that can hold an offered start are looked at: this keeps the work bounded, and a
    # far date (year 1 or 9999, both valid dates) never reaches the arithmetic that would overflow.
    first_day = max(first_day, not_before.astimezone(tz).date() - timedelta(days=1))
    last_day = min(last_day, not_after.astimezone(tz).date() + timedelta(days=1))
    if last_day < first_day:
        return []
    weekly, exceptions = working_hours(clinic, therapist, first_day, last_day)
    span_start = datetime.combine(first_day - timedelta(days=1), datetime.min.time(), tzinfo=tz)
    span_end = datetime.combine(last_day + timedelta(days=2), datetime.min.time(), tzinfo=tz)
    busy = busy_intervals(therapist, span_start, span_end, exclude_id=exclude_id)
    return slotlib.free_slots(
        tz=tz,
        weekly=weekly,
        exceptions=exceptions,
        busy=busy,
        rules=rules,
        first_day=first_day,
        last_day=last_day,
        not_before=not_before,
        not_after=not_after,
    )


def nearest_free_slots(
    *,
    clinic: Clinic,
    therapist: User,
    service: Service,
    around: datetime,
    count: int = 5,
    exclude_id: int | None = None,
    staff: bool = False,
) -> Sequence[slotlib.Slot]:
    """The free starts closest to ``around`` (inside the working hours; for visitors also inside
    the notice and horizon), in time order."""
    day = around.astimezone(clinic.tz).date()
    found = free_slots(
        clinic=clinic,
        therapist=therapist,
        service=service,
        first_day=day - timedelta(days=3),
        last_day=day + timedelta(days=7),
        exclude_id=exclude_id,
        staff=staff,
    )
    return slotlib.nearest(found, around, count)


def get_appointment_for_user(
    user: Any, appointment_id: int, *, write: bool = False, audit: bool = True
) -> tuple[Appointment, Membership | None]:
    """The appointment if ``user`` may reach it: staff of its clinic, or the client it is for.

    Anyone else gets a 404, another clinic's staff included. Front desk may book, move and
    cancel (demographic capabilities); reads are audited.
    """
    appointment = (
        Appointment.objects.select_related("clinic", "client", "service", "therapist", "room")
        .filter(pk=appointment_id)
        .exclude(status__in=[AppointmentStatus.HELD, AppointmentStatus.EXPIRED])
        .first()
    )
    if appointment is None:
        raise Http404("No such appointment")
    membership = membership_for(user, appointment.clinic_id)
    if membership is None:
        client = appointment.client
        if client is None or not getattr(user, "is_authenticated", False) or client.portal_user_id != user.pk:
            raise Http404("No such appointment")
        if audit and not write:
            audit_record(action=Action.VIEW, obj=appointment, role="client")
        return appointment, None
    require(membership, Capability.EDIT_DEMOGRAPHICS if write else Capability.VIEW_DEMOGRAPHICS)
    if audit and not write:
        audit_record(action=Action.VIEW, obj=appointment, role=membership.role)
    return appointment, membership


def schedule(*, clinic: Clinic, start: datetime, end: datetime, therapist_id: int | None = None) -> QuerySet[Appointment]:
    qs = (
        Appointment.objects.for_clinic(clinic)
        # starts_at's lower bound changes no answer (see LONGEST_BLOCK) but keeps the index scan to the window.
        .filter(starts_at__lt=end, starts_at__gt=start - LONGEST_BLOCK, ends_at__gt=start)
        .exclude(status__in=[AppointmentStatus.EXPIRED])
        .exclude(Q(status=AppointmentStatus.HELD) & Q(hold_expires_at__lte=timezone.now()))
        # class_session: a group class's block row (a client-less hold) is shown as the class.
        .select_related("clinic", "client", "service", "therapist", "room", "visit", "class_session")
        .order_by("starts_at", "id")
    )
    if therapist_id:
        qs = qs.filter(therapist_id=therapist_id)
    return qs


def client_appointments(user: Any) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(client__portal_user=user, client__archived_at__isnull=True)
        .exclude(status__in=[AppointmentStatus.HELD, AppointmentStatus.EXPIRED])
        .select_related("clinic", "service", "therapist", "room")
        .order_by("-starts_at")
    )


# A visit that happened, or that the clinic still expects to record: completed, a past confirmed
# appointment whose outcome is not recorded yet, or a past no-show (the person is known to the
# clinic). Cancelled, requested-but-never-confirmed, held and expired rows are not visits.
PAST_VISIT_STATUSES = (AppointmentStatus.COMPLETED, AppointmentStatus.CONFIRMED, AppointmentStatus.NO_SHOW)


def past_visits(*, now: datetime | None = None) -> QuerySet[Appointment]:
    return Appointment.objects.filter(status__in=PAST_VISIT_STATUSES, starts_at__lte=now or timezone.now())


def is_returning_client(client: Client, *, now: datetime | None = None) -> bool:
    """Whether the client has a past visit at their clinic: who "existing clients only" services are for."""
    return past_visits(now=now).filter(client=client, clinic_id=client.clinic_id).exists()


def portal_client_at(clinic: Clinic | int, user: Any) -> Client | None:
    """The signed-in person's own record at this clinic, if they have one."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Client.objects.filter(clinic=clinic, portal_user=user, archived_at__isnull=True, restricted_at__isnull=True).first()


@dataclass(frozen=True)
class Rebooking:
    """A client's last visit and, when the same therapist and service can still be booked online, where."""

    last: Appointment | None
    book_again: tuple[int, int] | None  # (therapist id, service id) for the public booking page


def rebooking_for(clients: Sequence[Client], *, now: datetime | None = None) -> dict[int, Rebooking]:
    """Each client's last visit and whether it can be booked again online, in a constant number of queries."""
    if not clients:
        return {}
    now = now or timezone.now()
    latest = past_visits(now=now).filter(client=OuterRef("pk")).order_by("-starts_at", "-pk").values("pk")[:1]
    last_ids = dict(Client.objects.filter(pk__in=[c.pk for c in clients]).annotate(last=Subquery(latest)).values_list("pk", "last"))
    visits = {
        a.client_id: a
        for a in Appointment.objects.filter(pk__in=[i for i in last_ids.values() if i]).select_related("therapist", "service", "clinic")
    }
    clinic_ids = {a.clinic_id for a in visits.values()}
    therapist_ids = {a.therapist_id for a in visits.values()}
    working = set(
        Availability.objects.filter(clinic_id__in=clinic_ids, therapist_id__in=therapist_ids).values_list("clinic_id", "therapist_id")
    )
    members = set(
        Membership.objects.active()
        .filter(clinic_id__in=clinic_ids, user_id__in=therapist_ids, role__in=THERAPIST_ROLES)
        .values_list("clinic_id", "user_id")
    )
    out: dict[int, Rebooking] = {}
    for client in clients:
        visit = visits.get(client.pk)
        again = None
        if visit is not None:
            service = visit.service
            offered = service.is_active and service.online_booking != Service.OnlineBooking.STAFF
            same = service.therapist_id in (None, visit.therapist_id)
            key = (visit.clinic_id, visit.therapist_id)
            if offered and same and key in working and key in members:
                again = (visit.therapist_id, service.pk)
        out[client.pk] = Rebooking(last=visit, book_again=again)
    return out
