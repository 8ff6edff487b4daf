"""Reads: who may be booked, free slots, one appointment for a user, the schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
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
    weekly, exceptions = working_hours(clinic, therapist, first_day, last_day)
    tz = clinic.tz
    span_start = datetime.combine(first_day - timedelta(days=1), datetime.min.time(), tzinfo=tz)
    span_end = datetime.combine(last_day + timedelta(days=2), datetime.min.time(), tzinfo=tz)
    busy = busy_intervals(therapist, span_start, span_end, exclude_id=exclude_id)
    not_before = now if staff else now + timedelta(minutes=policy.min_notice_minutes)
    not_after = now + timedelta(days=3650 if staff else policy.horizon_days)
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
    *, clinic: Clinic, therapist: User, service: Service, around: datetime, count: int = 5, exclude_id: int | None = None
) -> Sequence[slotlib.Slot]:
    day = around.astimezone(clinic.tz).date()
    found = free_slots(
        clinic=clinic,
        therapist=therapist,
        service=service,
        first_day=day - timedelta(days=3),
        last_day=day + timedelta(days=7),
        exclude_id=exclude_id,
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
        .select_related("clinic", "client", "service", "therapist", "room", "visit")
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
