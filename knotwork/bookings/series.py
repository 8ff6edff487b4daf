"""Recurring appointments: plan a series, book it all or nothing, and cancel or move "this and following".

A series repeats every N weeks at the same **wall-clock** time in the clinic's zone, so a 10:00
appointment stays at 10:00 when the clocks change (each occurrence is converted to UTC on its own
date, as :mod:`knotwork.bookings.slots` does for working hours).

:func:`series_plan` writes nothing: it checks every occurrence against the guards a single staff
booking meets (the therapist free, a room free when the service needs one, inside the working
hours, not in the past) and, for each one that fails, says why in words and offers the nearest free
times that day from the slot engine. :func:`series_create` takes the desk's choice for each
conflict (skip, another time, or — for a time outside the working hours only — book anyway with a
reason) and books the whole series in one transaction. It plans again under the therapist's lock
before writing, and the database's overlap guard still has the last word: if anything changed
since the desk saw the plan, nothing is booked and :class:`SeriesChanged` carries the fresh plan.
Nothing is ever double-booked: a taken time can be skipped or replaced, never overridden.

The client double-booking themselves (two therapists at once) is not checked, exactly as for a
single booking: the rule everywhere is one therapist, one room, one time.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext
from django_tasks import task

from knotwork.accounts.models import Capability, Clinic, Membership, User
from knotwork.accounts.permissions import membership_for, require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.bookings import slots as slotlib
from knotwork.bookings import tasks
from knotwork.bookings.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentSeries,
    AppointmentStatus,
    BookingPolicy,
    Room,
    Service,
)
from knotwork.bookings.selectors import working_hours
from knotwork.bookings.services import (
    MAX_YEAR,
    MIN_YEAR,
    Actor,
    BookingError,
    SlotTaken,
    _is_overlap,
    _new_appointment,
    _to_minute,
    claim,
    client_may_change,
    guarded_write,
    holds_expire,
    therapist_lock,
)
from knotwork.clients.models import Client

MAX_OCCURRENCES = AppointmentSeries.MAX_OCCURRENCES
MAX_INTERVAL_WEEKS = AppointmentSeries.MAX_INTERVAL_WEEKS
ALTERNATIVES_PER_OCCURRENCE = 5

# Why an occurrence cannot be booked as planned.
TAKEN = "taken"
ROOM_TAKEN = "room_taken"
OUTSIDE_HOURS = "outside_hours"
PAST = "past"

# What the desk may do with an occurrence.
SKIP = "skip"
ALTERNATIVE = "alternative"
OVERRIDE = "override"
CHOICE_ACTIONS = (SKIP, ALTERNATIVE, OVERRIDE)


class SeriesChanged(BookingError):
    """The plan the desk chose from no longer holds (or a conflict has no choice): nothing was
    written. ``plan`` is the fresh plan to choose from again."""

    status = 409
    code = "series_conflict"

    def __init__(self, message: str, *, plan: SeriesPlan | MovePlan) -> None:
        super().__init__(message)
        self.plan = plan


@dataclass(frozen=True)
class SeriesSpec:
    """What the desk asked for. ``at`` is a wall-clock time in the clinic's zone; exactly one of
    ``until`` (a local date, inclusive) and ``count`` ends the series."""

    clinic: Clinic
    therapist: User
    service: Service
    client: Client
    first_day: date
    at: time
    interval_weeks: int = 1
    until: date | None = None
    count: int | None = None

    def days(self) -> list[date]:
        step = timedelta(weeks=self.interval_weeks)
        if self.count is not None:
            return [self.first_day + i * step for i in range(self.count)]
        assert self.until is not None
        out: list[date] = []
        day = self.first_day
        while day <= self.until and len(out) <= MAX_OCCURRENCES:
            out.append(day)
            day += step
        return out

    def starts(self) -> list[datetime]:
        """Each occurrence's start in UTC, the same wall-clock time on each date (a time the clocks
        skip is read with the offset before the change, as everywhere in bookings)."""
        tz = self.clinic.tz
        return [datetime.combine(day, self.at, tzinfo=tz).astimezone(UTC) for day in self.days()]


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str


@dataclass
class Occurrence:
    index: int  # 1 = the first occurrence of the series
    start: datetime
    end: datetime
    problems: list[Problem] = field(default_factory=list)
    alternatives: list[slotlib.Slot] = field(default_factory=list)
    appointment_id: int | None = None  # moves: the appointment this occurrence is

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def status(self) -> str:
        return "ok" if self.ok else "conflict"

    @property
    def can_override(self) -> bool:
        """Only a time outside the working hours may be booked anyway; a taken time never."""
        return bool(self.problems) and all(p.kind == OUTSIDE_HOURS for p in self.problems)

    @property
    def reason(self) -> str:
        return " ".join(p.message for p in self.problems)


@dataclass
class SeriesPlan:
    spec: SeriesSpec
    occurrences: list[Occurrence]

    @property
    def conflicts(self) -> list[Occurrence]:
        return [o for o in self.occurrences if o.problems]


@dataclass
class MovePlan:
    """Where "this and following" would land: each occurrence at its new time, checked."""

    anchor: Appointment
    occurrences: list[Occurrence]

    @property
    def conflicts(self) -> list[Occurrence]:
        return [o for o in self.occurrences if o.problems]


@dataclass(frozen=True)
class Choice:
    action: str  # SKIP, ALTERNATIVE or OVERRIDE
    start: datetime | None = None  # ALTERNATIVE: the other time
    reason: str = ""  # OVERRIDE: why it is booked outside the working hours


# --- Checking times ----------------------------------------------------------------------------


def _name(therapist: User) -> str:
    return str(getattr(therapist, "display_name", "") or "The therapist")


@dataclass
class _Diary:
    """Everything the checks need for a span of dates, loaded in a fixed handful of queries."""

    clinic: Clinic
    therapist: User
    service: Service
    now: datetime
    weekly: list[slotlib.WeeklyHours]
    exceptions: list[slotlib.DayException]
    busy: slotlib.BusyIndex
    busy_list: list[slotlib.Interval]
    rooms: list[Room]
    room_busy: dict[int, slotlib.BusyIndex]
    step: timedelta

    @classmethod
    def load(
        cls,
        *,
        clinic: Clinic,
        therapist: User,
        service: Service,
        first: date,
        last: date,
        now: datetime,
        exclude_ids: Collection[int] = (),
    ) -> _Diary:
        tz = clinic.tz
        span_start = datetime.combine(first - timedelta(days=1), time.min, tzinfo=tz)
        span_end = datetime.combine(last + timedelta(days=2), time.min, tzinfo=tz)
        weekly, exceptions = working_hours(clinic, therapist, first, last)
        taken = Appointment.objects.blocking(now=now).overlapping(span_start, span_end).exclude(pk__in=list(exclude_ids))
        # One person, one body: the therapist's time in any clinic counts.
        busy = [slotlib.Interval(b, e) for b, e in taken.filter(therapist=therapist).values_list("block_start", "block_end")]
        rooms: list[Room] = []
        room_busy: dict[int, list[slotlib.Interval]] = {}
        if service.needs_room:
            rooms = list(Room.objects.filter(clinic=clinic, is_active=True).order_by("name"))
            for room_id, b, e in taken.filter(room__in=rooms).values_list("room_id", "block_start", "block_end"):
                room_busy.setdefault(room_id, []).append(slotlib.Interval(b, e))
        return cls(
            clinic=clinic,
            therapist=therapist,
            service=service,
            now=now,
            weekly=weekly,
            exceptions=exceptions,
            busy=slotlib.BusyIndex(busy),
            busy_list=busy,
            rooms=rooms,
            room_busy={pk: slotlib.BusyIndex(v) for pk, v in room_busy.items()},
            step=timedelta(minutes=BookingPolicy.for_clinic(clinic).slot_step_minutes),
        )

    def rules(self, minutes: int) -> slotlib.SlotRules:
        return slotlib.SlotRules(
            duration=timedelta(minutes=minutes),
            buffer_before=timedelta(minutes=self.service.buffer_before_minutes),
            buffer_after=timedelta(minutes=self.service.buffer_after_minutes),
            step=self.step,
        )

    def room_free(self, block: slotlib.Interval, room_id: int | None = None) -> bool:
        """Whether ``room_id`` (or, without one, any active room) is free; no rooms means no room is needed."""
        if room_id is not None:
            index = self.room_busy.get(room_id)
            return index is None or not index.overlaps(block)
        if not self.rooms:
            return True
        return any(r.pk not in self.room_busy or not self.room_busy[r.pk].overlaps(block) for r in self.rooms)

    def problems(self, start: datetime, minutes: int, *, room_id: int | None = None) -> list[Problem]:
        tz = self.clinic.tz
        end = start + timedelta(minutes=minutes)
        block = self.rules(minutes).block(start)
        name = _name(self.therapist)
        found: list[Problem] = []
        if start < self.now:
            found.append(Problem(PAST, "That time has already passed."))
        if self.busy.overlaps(block):
            found.append(Problem(TAKEN, f"{name} already has an appointment at that time."))
        if (room_id is not None or self.service.needs_room) and not self.room_free(block, room_id):
            found.append(Problem(ROOM_TAKEN, "The room is booked at that time." if room_id else "Every room is booked at that time."))
        if not slotlib.within_hours(start, end, tz=tz, weekly=self.weekly, exceptions=self.exceptions):
            day = start.astimezone(tz).date()
            off = any(e.day == day and e.kind == "off" and e.start is None for e in self.exceptions)
            if off or not slotlib.day_windows(day, tz=tz, weekly=self.weekly, exceptions=self.exceptions):
                found.append(Problem(OUTSIDE_HOURS, f"{name} is not working on {day:%A %-d %B}."))
            else:
                found.append(Problem(OUTSIDE_HOURS, f"That time is outside {name}'s working hours."))
        return found

    def alternatives(self, around: datetime, minutes: int) -> list[slotlib.Slot]:
        """The free starts nearest ``around`` on its local day (working hours, busy time with buffers, rooms)."""
        day = around.astimezone(self.clinic.tz).date()
        rules = self.rules(minutes)
        found = slotlib.free_slots(
            tz=self.clinic.tz,
            weekly=self.weekly,
            exceptions=self.exceptions,
            busy=self.busy_list,
            rules=rules,
            first_day=day,
            last_day=day,
            not_before=self.now,
            not_after=self.now + timedelta(days=3650),
        )
        found = [s for s in found if s.start.astimezone(self.clinic.tz).date() == day and self.room_free(rules.block(s.start))]
        return slotlib.nearest(found, around, ALTERNATIVES_PER_OCCURRENCE)


# --- Planning --------------------------------------------------------------------------------


def _check_spec(spec: SeriesSpec, now: datetime) -> None:
    clinic, service, therapist = spec.clinic, spec.service, spec.therapist
    if spec.client.clinic_id != clinic.pk or spec.client.archived_at is not None:
        raise BookingError("That client is not a client of this clinic.")
    if service.clinic_id != clinic.pk or (service.therapist_id and service.therapist_id != therapist.pk) or not service.is_active:
        raise BookingError("This therapist does not offer that service.")
    if not 1 <= spec.interval_weeks <= MAX_INTERVAL_WEEKS:
        raise BookingError(f"A series repeats every 1 to {MAX_INTERVAL_WEEKS} weeks.")
    if (spec.until is None) == (spec.count is None):
        raise BookingError("End the series on a date or after a number of appointments (one of the two).")
    if spec.count is not None and not 1 <= spec.count <= MAX_OCCURRENCES:
        raise BookingError(f"A series has between 1 and {MAX_OCCURRENCES} appointments.")
    if not MIN_YEAR <= spec.first_day.year <= MAX_YEAR or (spec.until and not MIN_YEAR <= spec.until.year <= MAX_YEAR):
        raise BookingError("That date is out of range.")
    if spec.until is not None:
        if spec.until < spec.first_day:
            raise BookingError("The series must end on or after its first date.")
        if len(spec.days()) > MAX_OCCURRENCES:
            raise BookingError(f"That is more than {MAX_OCCURRENCES} appointments. Choose an earlier end date or a number.")
    if datetime.combine(spec.first_day, spec.at, tzinfo=clinic.tz) < now:
        raise BookingError("The first appointment of a series cannot be in the past.")


def series_plan(*, spec: SeriesSpec, now: datetime | None = None) -> SeriesPlan:
    """Every occurrence of the series, checked, with reasons and alternatives for conflicts. Writes nothing."""
    now = now or timezone.now()
    _check_spec(spec, now)
    starts = spec.starts()
    tz = spec.clinic.tz
    diary = _Diary.load(
        clinic=spec.clinic,
        therapist=spec.therapist,
        service=spec.service,
        first=starts[0].astimezone(tz).date(),
        last=starts[-1].astimezone(tz).date(),
        now=now,
    )
    minutes = spec.service.duration_minutes
    occurrences = []
    for i, start in enumerate(starts, start=1):
        occ = Occurrence(index=i, start=start, end=start + timedelta(minutes=minutes), problems=diary.problems(start, minutes))
        if occ.problems:
            occ.alternatives = diary.alternatives(start, minutes)
        occurrences.append(occ)
    return SeriesPlan(spec=spec, occurrences=occurrences)


def _when(moment: datetime, clinic: Clinic) -> str:
    return f"{moment.astimezone(clinic.tz):%a %-d %b %Y, %H:%M}"


def _clean_reason(text: str) -> str:
    return " ".join((text or "").split())[:200]


# --- Booking a series --------------------------------------------------------------------------


def _resolve(fresh: SeriesPlan, before: SeriesPlan, choices: Mapping[int, Choice], now: datetime) -> list[tuple[int, datetime, str]]:
    """(index, start, override reason) for each occurrence to book, from the fresh plan and the desk's choices."""
    spec, clinic = fresh.spec, fresh.spec.clinic
    known = {o.index for o in fresh.occurrences}
    if set(choices) - known:
        raise BookingError(f"There is no appointment {min(set(choices) - known)} in this series.")
    earlier = {o.index: o for o in before.occurrences}
    out: list[tuple[int, datetime, str]] = []
    for occ in fresh.occurrences:
        choice = choices.get(occ.index)
        label = f"Appointment {occ.index} ({_when(occ.start, clinic)})"
        was = earlier.get(occ.index)
        if choice is None:
            if occ.problems:
                if was is not None and was.ok:
                    raise SeriesChanged(
                        f"{label} is no longer free: {occ.reason} Nothing was booked; choose what to do with it.", plan=fresh
                    )
                raise SeriesChanged(f"{label} needs a choice: {occ.reason}", plan=fresh)
            out.append((occ.index, occ.start, ""))
        elif choice.action == SKIP:
            continue
        elif choice.action == ALTERNATIVE:
            if choice.start is None:
                raise BookingError(f"{label}: choose the other time.")
            start = _to_minute(choice.start)
            day = start.astimezone(clinic.tz).date()
            diary = _Diary.load(clinic=clinic, therapist=spec.therapist, service=spec.service, first=day, last=day, now=now)
            problems = diary.problems(start, spec.service.duration_minutes)
            if problems:
                why = " ".join(p.message for p in problems)
                raise SeriesChanged(f"The other time chosen for {label.lower()} ({_when(start, clinic)}) is not free: {why}", plan=fresh)
            out.append((occ.index, start, ""))
        elif choice.action == OVERRIDE:
            if occ.problems and not occ.can_override:
                if was is not None and was.can_override:
                    raise SeriesChanged(f"{label} can no longer be booked anyway: {occ.reason}", plan=fresh)
                raise BookingError(f"{label} cannot be booked anyway: {occ.reason} Skip it or choose another time.")
            reason = _clean_reason(choice.reason)
            if occ.problems and not reason:
                raise BookingError(f"{label}: say why it is booked outside the working hours.")
            out.append((occ.index, occ.start, reason if occ.problems else ""))
        else:
            raise BookingError(f"{label}: unknown choice “{choice.action}”.")
    if not out:
        raise BookingError("Every appointment of the series is skipped: there is nothing to book.")
    return out


@transaction.atomic
def _series_write(*, plan: SeriesPlan, choices: Mapping[int, Choice], actor: Actor) -> tuple[AppointmentSeries, list[Appointment]]:
    spec = plan.spec
    now = timezone.now()
    therapist_lock(spec.therapist.pk)
    holds_expire(now=now, therapist_id=spec.therapist.pk)
    fresh = series_plan(spec=spec, now=now)
    bookings = _resolve(fresh, plan, choices, now)
    first_for_client = (
        not Appointment.objects.filter(client=spec.client).exclude(status__in=[AppointmentStatus.EXPIRED, AppointmentStatus.HELD]).exists()
    )
    series = AppointmentSeries.objects.create(
        clinic=spec.clinic,
        client=spec.client,
        therapist=spec.therapist,
        service=spec.service,
        interval_weeks=spec.interval_weeks,
        start_day=spec.first_day,
        start_time=spec.at,
        until=spec.until,
        count=spec.count,
        created_by=actor.user,
    )
    planned = {o.index: o.start for o in fresh.occurrences}
    room: Room | None = None
    created: list[Appointment] = []
    for index, start, reason in bookings:
        appointment = _new_appointment(
            clinic=spec.clinic,
            therapist=spec.therapist,
            service=spec.service,
            start=start,
            client=spec.client,
            status=AppointmentStatus.CONFIRMED,
            created_by=actor.user,
            confirmed_at=now,
            series=series,
            series_index=index,
        )
        appointment = claim(appointment, service=spec.service, actor=actor, prefer=room)
        room = room or appointment.room
        detail: dict[str, Any] = {"status": appointment.status, "service": spec.service.pk, "series": series.pk, "series_index": index}
        if start != planned[index]:
            detail["alternative_to"] = planned[index].isoformat()
        if reason:
            detail.update(outside_hours=True, reason=reason)
        audit_record(action=Action.CREATE, obj=appointment, actor=actor.user, role=actor.role, detail=detail)
        created.append(appointment)
    if room is not None:
        AppointmentSeries.objects.filter(pk=series.pk).update(room=room)
        series.room = room
    booked = {i for i, _, _ in bookings}
    audit_record(
        action=Action.CREATE,
        obj=series,
        actor=actor.user,
        role=actor.role,
        detail={
            "appointments": [a.pk for a in created],
            "skipped": sorted(set(planned) - booked),
            "interval_weeks": spec.interval_weeks,
            **({"count": spec.count} if spec.count is not None else {"until": spec.until.isoformat() if spec.until else None}),
        },
    )
    ids = [a.pk for a in created]
    transaction.on_commit(lambda: send_series_notice.enqueue(series.pk, "booked", ids))
    if first_for_client:
        from knotwork.bookings.services import _intake_invite

        client = spec.client
        transaction.on_commit(lambda: _intake_invite(client))
    return series, created


def series_create(*, plan: SeriesPlan, choices: Mapping[int, Choice], actor: Actor) -> tuple[AppointmentSeries, list[Appointment]]:
    """Book the series the desk saw in ``plan`` with its ``choices`` (by occurrence index), all or nothing.

    Staff only. Raises :class:`SeriesChanged` (409, carrying the fresh plan) when an occurrence is
    no longer as the desk saw it, a conflict has no choice, or the database refuses one write — in
    every case the transaction is rolled back and nothing is booked. Raises :class:`BookingError`
    (422) for a choice that can never work (overriding a taken time, an override without a reason).
    """
    if not actor.is_staff:
        raise BookingError("A series is booked by the clinic.")
    try:
        return _series_write(plan=plan, choices=choices, actor=actor)
    except SlotTaken:
        # Raised out of the atomic block: every occurrence already written was rolled back with it.
        fresh = series_plan(spec=plan.spec)
        raise SeriesChanged("One of the times was taken while the series was being booked. Nothing was booked.", plan=fresh) from None


# --- Reading -----------------------------------------------------------------------------------


def get_series_for_user(user: Any, series_id: int, *, write: bool = False) -> tuple[AppointmentSeries, Membership]:
    """The series if ``user`` is staff of its clinic (front desk included). Anyone else: 404."""
    series = AppointmentSeries.objects.select_related("clinic", "client", "therapist", "service", "room").filter(pk=series_id).first()
    if series is None:
        raise Http404("No such series")
    membership = membership_for(user, series.clinic_id)
    if membership is None:
        raise Http404("No such series")
    require(membership, Capability.EDIT_DEMOGRAPHICS if write else Capability.VIEW_DEMOGRAPHICS)
    if not write:
        audit_record(action=Action.VIEW, obj=series, role=membership.role)
    return series, membership


def series_appointments(series: AppointmentSeries | int) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(series=series)
        .exclude(status__in=[AppointmentStatus.HELD, AppointmentStatus.EXPIRED])
        .select_related("clinic", "client", "service", "therapist", "room")
        .order_by("starts_at", "id")
    )


@dataclass(frozen=True)
class SeriesPlace:
    """Where an appointment sits in its series, for "Part of a series (3 of 6)"."""

    series: AppointmentSeries
    position: int
    total: int
    appointments: list[Appointment]
    following: int  # active, not started, this one included: what "this and following" would touch


def series_place(appointment: Appointment, *, now: datetime | None = None) -> SeriesPlace | None:
    if appointment.series_id is None:
        return None
    now = now or timezone.now()
    rows = list(series_appointments(appointment.series_id).select_related("series"))
    position = next((i for i, a in enumerate(rows, start=1) if a.pk == appointment.pk), 0)
    following = sum(1 for a in rows if a.starts_at >= appointment.starts_at and a.is_active and a.starts_at > now)
    series = rows[0].series if rows and rows[0].series else AppointmentSeries.objects.get(pk=appointment.series_id)
    return SeriesPlace(series=series, position=position, total=len(rows), appointments=rows, following=following)


def _following(appointment: Appointment, now: datetime) -> list[Appointment]:
    """This appointment and the later ones of its series that are still ahead and active, in time order."""
    if appointment.series_id is None:
        raise BookingError("This appointment is not part of a series.")
    if appointment.status not in ACTIVE_STATUSES:
        raise BookingError("This appointment is not active any more.")
    rows = list(
        Appointment.objects.filter(series_id=appointment.series_id, starts_at__gte=appointment.starts_at, starts_at__gt=now)
        .filter(status__in=ACTIVE_STATUSES)
        .select_related("clinic", "client", "service", "therapist", "room")
        .order_by("starts_at", "id")
    )
    if not rows:
        raise BookingError("This appointment has started; only later ones could change, and there are none.")
    return rows


# --- Cancelling "this and following" -----------------------------------------------------------


@transaction.atomic
def series_cancel_following(*, appointment: Appointment, actor: Actor, late: bool | None = None) -> list[Appointment]:
    """Cancel this appointment and every later one of its series that has not started (staff only).

    ``late`` records this appointment as a late cancellation (default: by the clinic's notice
    period); the later ones are judged by the notice period each. One audit row per appointment
    and one for the series; the client and therapist get one message listing them all.
    """
    if not actor.is_staff:
        raise BookingError("Only the clinic can cancel the rest of a series.")
    now = timezone.now()
    rows = _following(appointment, now)
    done: list[Appointment] = []
    for row in rows:
        is_late = late if (late is not None and row.pk == appointment.pk) else not client_may_change(row, now=now)
        status = AppointmentStatus.LATE_CANCELLED if is_late else AppointmentStatus.CANCELLED
        if not Appointment.objects.filter(pk=row.pk, status__in=ACTIVE_STATUSES).update(
            status=status, cancelled_at=now, cancelled_by=actor.user
        ):
            raise BookingError("An appointment of this series changed while you were cancelling. Reload and try again.")
        row.status, row.cancelled_at, row.cancelled_by = status, now, actor.user
        audit_record(
            action=Action.UPDATE,
            obj=row,
            actor=actor.user,
            role=actor.role,
            detail={"status": status, "series": row.series_id, "scope": "following"},
        )
        done.append(row)
    ids = [a.pk for a in done]
    series_id = appointment.series_id
    assert series_id is not None
    audit_record(
        action=Action.UPDATE,
        object_type="bookings.appointmentseries",
        object_id=series_id,
        clinic=appointment.clinic,
        actor=actor.user,
        role=actor.role,
        detail={"cancelled": ids, "from": appointment.pk},
    )
    transaction.on_commit(lambda: send_series_notice.enqueue(series_id, "cancelled", ids))
    for pk in ids:  # each freed time goes to the waitlist, as a single cancellation's does
        transaction.on_commit(partial(tasks.offer_freed_time.enqueue, pk))
    return done


# --- Moving "this and following" ---------------------------------------------------------------


def _shifted(row: Appointment, delta: timedelta, tz: Any) -> datetime:
    """``row``'s start moved by ``delta`` of wall-clock time: 10:00 → 11:00 stays 11:00 across a clock change."""
    local = row.starts_at.astimezone(tz).replace(tzinfo=None)
    return (local + delta).replace(tzinfo=tz).astimezone(UTC)


def series_move_plan(*, appointment: Appointment, start: datetime, now: datetime | None = None, staying: Collection[int] = ()) -> MovePlan:
    """Where this appointment and the later ones of its series land if this one moves to ``start``:
    each shifted by the same wall-clock difference, keeping its length and room, and checked.
    ``staying``: ids of occurrences that will not move (their present time stays taken)."""
    now = now or timezone.now()
    start = _to_minute(start)
    rows = _following(appointment, now)
    clinic = appointment.clinic
    tz = clinic.tz
    delta = start.astimezone(tz).replace(tzinfo=None) - appointment.starts_at.astimezone(tz).replace(tzinfo=None)
    moved = [(row, _shifted(row, delta, tz)) for row in rows]
    days = [s.astimezone(tz).date() for _, s in moved]
    diary = _Diary.load(
        clinic=clinic,
        therapist=appointment.therapist,
        service=appointment.service,
        first=min(days),
        last=max(days),
        now=now,
        exclude_ids=[r.pk for r in rows if r.pk not in staying],
    )
    occurrences = []
    for row, new_start in moved:
        minutes = int((row.ends_at - row.starts_at).total_seconds() // 60)
        occurrences.append(
            Occurrence(
                index=row.series_index or 0,
                start=new_start,
                end=new_start + timedelta(minutes=minutes),
                problems=diary.problems(new_start, minutes, room_id=row.room_id),
                appointment_id=row.pk,
            )
        )
    return MovePlan(anchor=appointment, occurrences=occurrences)


def _move_row(row: Appointment, occ: Occurrence, service: Service) -> int:
    """One guarded UPDATE, a compare-and-swap on the row as it was read."""
    return Appointment.objects.filter(pk=row.pk, status=row.status, starts_at=row.starts_at, ends_at=row.ends_at).update(
        starts_at=occ.start,
        ends_at=occ.end,
        block_start=occ.start - timedelta(minutes=service.buffer_before_minutes),
        block_end=occ.end + timedelta(minutes=service.buffer_after_minutes),
        reschedule_count=row.reschedule_count + 1,
    )


@transaction.atomic
def _move_write(*, appointment: Appointment, start: datetime, actor: Actor, skip: Collection[int]) -> list[Appointment]:
    now = timezone.now()
    therapist_lock(appointment.therapist_id)
    holds_expire(now=now, therapist_id=appointment.therapist_id)
    plan = series_move_plan(appointment=appointment, start=start, now=now, staying=skip)
    moving = [o for o in plan.occurrences if o.appointment_id not in skip]
    blocked = [o for o in moving if o.problems]
    if blocked:
        listing = "; ".join(f"{_when(o.start, appointment.clinic)}: {o.reason}" for o in blocked)
        raise SeriesChanged(
            f"{len(blocked)} of the new times conflict, so nothing was moved ({listing}). Skip those or choose another time.", plan=plan
        )
    if not moving:
        raise BookingError("Every appointment is skipped: there is nothing to move.")
    rows = {a.pk: a for a in Appointment.objects.filter(pk__in=[o.appointment_id for o in moving]).select_related("service")}
    forward = moving[0].start > appointment.starts_at
    # Moving later, the last goes first (and earlier, the first) so no row lands on a sibling still in place.
    done: list[Appointment] = []
    for occ in sorted(moving, key=lambda o: o.start, reverse=forward):
        row = rows[occ.appointment_id or 0]
        service = row.service
        before = row.starts_at
        try:
            updated = guarded_write(partial(_move_row, row, occ, service))
        except IntegrityError as exc:
            if not _is_overlap(exc):
                raise
            raise SlotTaken(
                clinic=appointment.clinic, therapist=appointment.therapist, service=service, start=occ.start, staff=True
            ) from None
        if not updated:
            raise BookingError("An appointment of this series changed while you were moving it. Reload and try again.")
        row.starts_at, row.ends_at = occ.start, occ.end
        audit_record(
            action=Action.UPDATE,
            obj=row,
            actor=actor.user,
            role=actor.role,
            detail={
                "fields": ["starts_at"],
                "from": before.isoformat(),
                "to": occ.start.isoformat(),
                "series": row.series_id,
                "scope": "following",
            },
        )
        done.append(row)
    done.sort(key=lambda a: a.starts_at)
    ids = [a.pk for a in done]
    series_id = appointment.series_id
    assert series_id is not None
    audit_record(
        action=Action.UPDATE,
        object_type="bookings.appointmentseries",
        object_id=series_id,
        clinic=appointment.clinic,
        actor=actor.user,
        role=actor.role,
        detail={"moved": ids, "skipped": sorted(skip), "from": appointment.pk},
    )
    transaction.on_commit(lambda: send_series_notice.enqueue(series_id, "moved", ids))
    return done


def series_move_following(*, appointment: Appointment, start: datetime, actor: Actor, skip: Collection[int] = ()) -> list[Appointment]:
    """Move this appointment to ``start`` and shift every later one of its series by the same
    wall-clock difference (staff only). Each new time is checked like a booking; if any conflicts
    and is not in ``skip`` (appointment ids left where they are), nothing moves and
    :class:`SeriesChanged` carries the plan. Outside-hours overrides are not offered for moves: move
    such an occurrence on its own."""
    if not actor.is_staff:
        raise BookingError("Only the clinic can move the rest of a series.")
    skip = frozenset(skip)
    try:
        return _move_write(appointment=appointment, start=start, actor=actor, skip=skip)
    except SlotTaken:
        fresh = series_move_plan(appointment=appointment, start=start, staying=skip)
        raise SeriesChanged("One of the new times was taken meanwhile. Nothing was moved.", plan=fresh) from None


# --- Telling people, once ----------------------------------------------------------------------


def _client_subject(change: str, n: int, when: str) -> str:
    """The subject of a series e-mail in the active language (SUBJECTS' wording)."""
    values = {"n": n, "when": when}
    if change == "booked":
        return ngettext("%(n)d appointment booked, from %(when)s", "%(n)d appointments booked, from %(when)s", n) % values
    if change == "cancelled":
        return ngettext("%(n)d appointment cancelled, from %(when)s", "%(n)d appointments cancelled, from %(when)s", n) % values
    return ngettext("%(n)d appointment moved, from %(when)s", "%(n)d appointments moved, from %(when)s", n) % values


SUBJECTS = {
    "booked": "{n} appointments booked, from {when}",
    "cancelled": "{n} appointments cancelled, from {when}",
    "moved": "{n} appointments moved, from {when}",
}


@task()
def send_series_notice(series_id: int, change: str, appointment_ids: list[int]) -> None:
    """One message to the client and one to the therapist for a whole series change, with every
    appointment in the attached calendar file (cancelled ones as cancellations)."""
    from knotwork.bookings.ics import calendar_bytes
    from knotwork.bookings.tasks import _client_email
    from knotwork.clients.language import client_translation, short_when
    from knotwork.lib.mail import send_email
    from knotwork.lib.urls import absolute_url

    rows: Sequence[Appointment] = list(
        Appointment.objects.filter(pk__in=appointment_ids, series_id=series_id)
        .select_related("clinic", "client", "client__portal_user", "service", "therapist")
        .order_by("starts_at")
    )
    if not rows or change not in SUBJECTS:
        return
    first = rows[0]
    subject = SUBJECTS[change].format(n=len(rows), when=f"{first.local_start:%a %-d %b, %H:%M}")
    if len(rows) == 1:
        subject = subject.replace("appointments", "appointment")
    context = {
        "change": change,
        "rows": rows,
        "clinic": first.clinic,
        "zone": first.clinic.time_zone,
        "service": first.service,
        "subject": subject,
        "link": absolute_url(reverse("appointment_detail", args=[first.pk])),
    }
    for to, audience in ((_client_email(first), "client"), (first.therapist.email, "therapist")):
        if not to:
            continue
        # The client's copy in their language; the therapist's in the clinic's (English).
        with client_translation(first.client if audience == "client" else None):
            if audience == "client":
                subject = _client_subject(change, len(rows), short_when(first.local_start))
            text = render_to_string("bookings/series_email.txt", {**context, "audience": audience, "subject": subject})
            html = render_to_string("bookings/series_email.html", {**context, "audience": audience, "subject": subject})
            ics = calendar_bytes(rows, audience=audience, method="CANCEL" if change == "cancelled" else "REQUEST")
        send_email(
            to=to, subject=subject, text=text, html=html, clinic=first.clinic, attachments=[("appointments.ics", ics, "text/calendar")]
        )
