"""The desk's calendar: appointments and blocked time laid out as a time grid, in Python.

Every page of the grid costs the same handful of queries however full the diary is (therapists,
rooms, weekly hours, exceptions, appointments, the audit row): everything below works on lists
already in memory. The template only prints what :func:`calendar_grid` decided — which grid row
an appointment starts on, how many rows it spans, which lane it takes when two overlap, and which
stretches of a therapist's day are shaded as a break, time off or outside their hours.

Grid rows are five wall-clock minutes in the clinic's zone. Rows are numbered from 1, as CSS grid
lines are; the stylesheet has one class per start line and per span (``cal-r<n>``, ``cal-h<n>``),
so the page needs no inline style (the CSP forbids it) and no script to be laid out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from knotwork.accounts.models import Clinic, Membership, Role, User
from knotwork.bookings import slots as slotlib
from knotwork.bookings.models import (
    Appointment,
    AppointmentStatus,
    Availability,
    AvailabilityException,
    BookingPolicy,
    Room,
    Service,
)
from knotwork.bookings.selectors import busy_intervals, clinic_therapists, working_hours
from knotwork.bookings.selectors import schedule as schedule_rows

ROW_MINUTES = 5
ROWS_PER_HOUR = 60 // ROW_MINUTES
OPENING_MINUTES = 30  # an empty slot to click is half an hour of free working time
MAX_LANES = 4
DEFAULT_HOURS = (8, 18)  # shown even on an empty day; widened to fit hours and appointments
MAX_DAYS = 42  # the longest window the API answers for
# Cancelled and lapsed rows free their time: the grid leaves them out (the list schedule keeps them).
HIDDEN_STATUSES = (AppointmentStatus.CANCELLED, AppointmentStatus.LATE_CANCELLED, AppointmentStatus.EXPIRED)


class Blocked:
    """Kinds of time a therapist cannot be booked, as the API names them."""

    DAY_OFF = "day_off"
    TIME_OFF = "time_off"
    BREAK = "break"
    OUTSIDE = "outside_hours"

    LABELS = {DAY_OFF: "Day off", TIME_OFF: "Time off", BREAK: "Break", OUTSIDE: "Not working"}


@dataclass(frozen=True)
class Segment:
    """Part of one local day in wall-clock minutes from midnight, half-open."""

    start: int
    end: int
    kind: str = ""

    @property
    def label(self) -> str:
        return Blocked.LABELS.get(self.kind, "")


@dataclass
class Placed:
    """An appointment as drawn: grid line, rows spanned, lane (0: the whole column width)."""

    appointment: Appointment
    local_start: datetime
    local_end: datetime
    row: int
    span: int
    lane: int = 0

    @property
    def minutes(self) -> int:
        return int((self.appointment.ends_at - self.appointment.starts_at).total_seconds() // 60)

    @property
    def short(self) -> bool:
        """Too short for a second line of text."""
        return self.span < 6


@dataclass
class Shade:
    row: int
    span: int
    kind: str
    label: str


@dataclass
class Opening:
    """Free working time that links to the booking page with the therapist, date and time filled in."""

    row: int
    span: int
    at: time


@dataclass
class Column:
    key: str
    title: str
    day: date
    therapist: User | None = None
    room: Room | None = None
    items: list[Placed] = field(default_factory=list)
    shades: list[Shade] = field(default_factory=list)
    openings: list[Opening] = field(default_factory=list)
    lanes: int = 1
    note: str = ""
    body: str = ""
    """The column's HTML, set by :func:`knotwork.bookings.calendar_html.render_columns`."""


@dataclass
class Day:
    day: date
    columns: list[Column]
    is_today: bool


@dataclass
class Grid:
    first_hour: int
    last_hour: int
    days: list[Day]
    by_room: bool
    therapists: list[User]
    rooms: list[Room]
    appointments: list[Appointment]

    @property
    def rows(self) -> int:
        return (self.last_hour - self.first_hour) * ROWS_PER_HOUR

    @property
    def hours(self) -> list[tuple[str, int]]:
        return [(f"{h:02d}:00", 1 + (h - self.first_hour) * ROWS_PER_HOUR) for h in range(self.first_hour, self.last_hour)]

    @property
    def column_count(self) -> int:
        return sum(len(d.columns) for d in self.days)


# --- Time arithmetic -----------------------------------------------------------------------------


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def day_bounds(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a run of local dates starts and ends (the end is the midnight after ``last``)."""
    return local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)


def minute_of(moment: datetime, day: date, tz: ZoneInfo) -> int:
    """Wall-clock minutes from the start of local ``day`` (1440 and more for the next day)."""
    local = moment.astimezone(tz)
    return (local.date() - day).days * 1440 + local.hour * 60 + local.minute


def at_minute(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The instant of a wall-clock minute of ``day`` (1440 is the next midnight)."""
    extra, minute = divmod(minute, 1440)
    return datetime.combine(day + timedelta(days=extra), time(minute // 60, minute % 60), tzinfo=tz)


# --- Blocked time --------------------------------------------------------------------------------


def blocked_segments(
    day: date,
    *,
    tz: ZoneInfo,
    weekly: Sequence[slotlib.WeeklyHours],
    exceptions: Sequence[slotlib.DayException],
    lo: int = 0,
    hi: int = 1440,
) -> list[Segment]:
    """The parts of ``[lo, hi)`` of one day a therapist does not work, each named: a whole day
    off, time off (an exception), a break (a gap between two working windows) or outside hours."""
    todays = [e for e in exceptions if e.day == day]
    windows = [
        Segment(max(lo, minute_of(w.start, day, tz)), min(hi, minute_of(w.end, day, tz)))
        for w in slotlib.day_windows(day, tz=tz, weekly=weekly, exceptions=exceptions)
    ]
    windows = [w for w in windows if w.end > w.start]
    if any(e.kind == "off" and e.start is None for e in todays):
        return [Segment(lo, hi, Blocked.DAY_OFF)]
    off = [(e.start.hour * 60 + e.start.minute, e.end.hour * 60 + e.end.minute) for e in todays if e.kind == "off" and e.start and e.end]
    gaps: list[Segment] = []
    at = lo
    for i, w in enumerate(windows):
        if w.start > at:
            gaps.append(Segment(at, w.start, Blocked.OUTSIDE if i == 0 else Blocked.BREAK))
        at = max(at, w.end)
    if at < hi:
        gaps.append(Segment(at, hi, Blocked.OUTSIDE))
    return [
        Segment(g.start, g.end, Blocked.TIME_OFF) if any(s < g.end and g.start < e for s, e in off) else g for g in gaps if g.end > g.start
    ]


@dataclass
class Hours:
    """Every therapist's weekly hours and the exceptions in a window, from two queries."""

    weekly: dict[int, list[slotlib.WeeklyHours]]
    exceptions: dict[int, list[slotlib.DayException]]

    @classmethod
    def load(cls, clinic: Clinic, therapist_ids: Iterable[int], first: date, last: date) -> Hours:
        ids = list(therapist_ids)
        weekly: dict[int, list[slotlib.WeeklyHours]] = defaultdict(list)
        for a in Availability.objects.filter(clinic=clinic, therapist_id__in=ids):
            weekly[a.therapist_id].append(slotlib.WeeklyHours(a.weekday, a.start_time, a.end_time))
        exceptions: dict[int, list[slotlib.DayException]] = defaultdict(list)
        for e in AvailabilityException.objects.filter(
            clinic=clinic, therapist_id__in=ids, day__gte=first - timedelta(days=1), day__lte=last + timedelta(days=1)
        ):
            exceptions[e.therapist_id].append(slotlib.DayException(e.day, e.kind, e.start_time, e.end_time))
        return cls(weekly=weekly, exceptions=exceptions)

    def windows(self, therapist_id: int, day: date, tz: ZoneInfo) -> list[slotlib.Interval]:
        return slotlib.day_windows(day, tz=tz, weekly=self.weekly.get(therapist_id, []), exceptions=self.exceptions.get(therapist_id, []))

    def blocked(self, therapist_id: int, day: date, tz: ZoneInfo, lo: int = 0, hi: int = 1440) -> list[Segment]:
        return blocked_segments(
            day, tz=tz, weekly=self.weekly.get(therapist_id, []), exceptions=self.exceptions.get(therapist_id, []), lo=lo, hi=hi
        )


# --- The grid ------------------------------------------------------------------------------------


def _row(minute: int, first_hour: int) -> int:
    return 1 + (minute - first_hour * 60) // ROW_MINUTES


def _span(start: int, end: int) -> int:
    return max(1, math.ceil((end - start) / ROW_MINUTES))


def _hour_range(clinic: Clinic, days: list[date], therapist_ids: list[int], hours: Hours, rows: list[Appointment]) -> tuple[int, int]:
    """The hours shown: the default day, widened to every working window and appointment on show."""
    lo, hi = DEFAULT_HOURS[0] * 60, DEFAULT_HOURS[1] * 60
    tz = clinic.tz
    for day in days:
        for tid in therapist_ids:
            for w in hours.windows(tid, day, tz):
                lo, hi = min(lo, minute_of(w.start, day, tz)), max(hi, minute_of(w.end, day, tz))
    for a in rows:
        day = a.starts_at.astimezone(tz).date()
        lo, hi = min(lo, minute_of(a.starts_at, day, tz)), max(hi, minute_of(a.ends_at, day, tz))
    return max(0, lo // 60), min(24, math.ceil(hi / 60))


def _assign_lanes(items: list[Placed]) -> int:
    """Side by side lanes for appointments that overlap in one column; returns the lanes needed."""
    items.sort(key=lambda p: (p.row, -p.span, p.appointment.pk))
    widest = 1
    cluster: list[Placed] = []
    cluster_end = 0

    def close() -> None:
        nonlocal widest
        if len(cluster) < 2:
            return
        ends: list[int] = []
        for p in cluster:
            free = next((i for i, end in enumerate(ends) if end <= p.row), None)
            if free is None:
                ends.append(p.row + p.span)
                free = len(ends) - 1
            else:
                ends[free] = p.row + p.span
            p.lane = min(free + 1, MAX_LANES)
        widest = max(widest, min(len(ends), MAX_LANES))

    for p in items:
        if cluster and p.row >= cluster_end:
            close()
            cluster, cluster_end = [], 0
        cluster.append(p)
        cluster_end = max(cluster_end, p.row + p.span)
    close()
    return widest


def _openings(column: Column, windows: list[slotlib.Interval], tz: ZoneInfo, first_hour: int, last_hour: int, now: datetime) -> None:
    """Half hours of working time that nothing on the grid touches and that have not started yet."""
    taken = [(p.row, p.row + p.span) for p in column.items]
    step = OPENING_MINUTES // ROW_MINUTES
    for w in windows:
        begin, end = minute_of(w.start, column.day, tz), minute_of(w.end, column.day, tz)
        at = max(begin, first_hour * 60)
        at += (-at) % OPENING_MINUTES  # whole and half hours only
        while at + OPENING_MINUTES <= min(end, last_hour * 60):
            row = _row(at, first_hour)
            if at_minute(column.day, at, tz) >= now and not any(s < row + step and row < e for s, e in taken):
                column.openings.append(Opening(row=row, span=step, at=time(at // 60 % 24, at % 60)))
            at += OPENING_MINUTES


def calendar_grid(
    *,
    clinic: Clinic,
    first: date,
    last: date,
    therapist_id: int | None = None,
    by_room: bool = False,
    bookable: bool = True,
    staff: list[User] | None = None,
    now: datetime | None = None,
) -> Grid:
    """The grid for local dates ``first``..``last``: a column per therapist (or per room) per day.

    ``staff`` is the clinic's therapists when the caller has them already (saves a query);
    ``bookable`` adds the free half hours that link to the booking page."""
    now = now or timezone.now()
    tz = clinic.tz
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    start, end = day_bounds(first, last, tz)
    rows = [
        a
        for a in schedule_rows(clinic=clinic, start=start, end=end, therapist_id=therapist_id).exclude(status__in=HIDDEN_STATUSES)
        if first <= a.local_start.date() <= last
    ]
    staff = list(clinic_therapists(clinic)) if staff is None else staff
    therapists = [t for t in staff if therapist_id is None or t.pk == therapist_id]
    # Someone who has left the clinic keeps a column while their appointments are on show.
    known = {t.pk for t in therapists}
    for a in rows:
        if a.therapist_id not in known:
            therapists.append(a.therapist)
            known.add(a.therapist_id)
    rooms = list(Room.objects.filter(clinic=clinic).order_by("name"))
    hours = Hours.load(clinic, known, first, last)
    if therapist_id is None:
        # An owner who does not treat (no hours, nothing booked) would only be an empty column.
        owners = set(Membership.objects.active().filter(clinic=clinic, role=Role.OWNER).values_list("user_id", flat=True))
        busy = {a.therapist_id for a in rows}
        therapists = [t for t in therapists if t.pk not in owners or t.pk in busy or hours.weekly.get(t.pk) or hours.exceptions.get(t.pk)]
    first_hour, last_hour = _hour_range(clinic, days, [t.pk for t in therapists] if not by_room else [], hours, rows)
    lo, hi = first_hour * 60, last_hour * 60

    by_day: dict[date, list[Appointment]] = defaultdict(list)
    for a in rows:
        by_day[a.local_start.date()].append(a)

    grid_days: list[Day] = []
    for day in days:
        columns = _room_columns(day, rooms, by_day[day]) if by_room else _therapist_columns(day, therapists)
        index = {c.key: c for c in columns}
        for a in by_day[day]:
            key = f"r{a.room_id or 0}" if by_room else f"t{a.therapist_id}"
            begin = max(lo, minute_of(a.starts_at, day, tz))
            finish = min(hi, minute_of(a.ends_at, day, tz))
            row = _row(begin, first_hour)
            span = max(1, math.ceil((finish - lo) / ROW_MINUTES) + 1 - row)
            index[key].items.append(Placed(a, a.local_start, a.local_end, row=row, span=span))
        for column in columns:
            column.lanes = _assign_lanes(column.items)
            if column.therapist is None:
                continue
            tid = column.therapist.pk
            for seg in hours.blocked(tid, day, tz, lo, hi):
                column.shades.append(Shade(_row(seg.start, first_hour), _span(seg.start, seg.end), seg.kind, seg.label))
            if any(s.kind == Blocked.DAY_OFF for s in column.shades):
                column.note = "Day off"
            elif not hours.weekly.get(tid) and not hours.exceptions.get(tid):
                column.note = "No working hours set"
            if bookable:
                _openings(column, hours.windows(tid, day, tz), tz, first_hour, last_hour, now)
        grid_days.append(Day(day=day, columns=columns, is_today=day == now.astimezone(tz).date()))
    return Grid(first_hour, last_hour, grid_days, by_room, therapists, rooms, rows)


def _therapist_columns(day: date, therapists: list[User]) -> list[Column]:
    return [Column(key=f"t{t.pk}", title=t.display_name, day=day, therapist=t) for t in therapists]


def _room_columns(day: date, rooms: list[Room], rows: list[Appointment]) -> list[Column]:
    used = {a.room_id for a in rows}
    columns = [Column(key=f"r{r.pk}", title=r.name, day=day, room=r) for r in rooms if r.is_active or r.pk in used]
    columns.append(Column(key="r0", title="No room", day=day))
    return columns


# --- The API's window: appointments and blocked periods ------------------------------------------


@dataclass(frozen=True)
class BlockedPeriod:
    therapist: User
    kind: str
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return Blocked.LABELS[self.kind]


def calendar_window(
    *, clinic: Clinic, first: date, last: date, therapist_id: int | None = None, room_id: int | None = None
) -> tuple[list[Appointment], list[BlockedPeriod]]:
    """Appointments starting on local dates ``first``..``last`` and every therapist's blocked time
    on those dates (whole local days: outside hours runs from midnight to the first window)."""
    tz = clinic.tz
    start, end = day_bounds(first, last, tz)
    qs = schedule_rows(clinic=clinic, start=start, end=end, therapist_id=therapist_id).exclude(status__in=HIDDEN_STATUSES)
    if room_id is not None:
        qs = qs.filter(room_id=room_id)
    rows = [a for a in qs if first <= a.local_start.date() <= last]
    therapists = [t for t in clinic_therapists(clinic) if therapist_id is None or t.pk == therapist_id]
    hours = Hours.load(clinic, [t.pk for t in therapists], first, last)
    blocked: list[BlockedPeriod] = []
    day = first
    while day <= last:
        for t in therapists:
            blocked.extend(
                BlockedPeriod(t, seg.kind, at_minute(day, seg.start, tz).astimezone(UTC), at_minute(day, seg.end, tz).astimezone(UTC))
                for seg in hours.blocked(t.pk, day, tz)
            )
        day += timedelta(days=1)
    return rows, blocked


# --- Alternatives for a refused move -------------------------------------------------------------


def move_alternatives(*, appointment: Appointment, therapist: User, around: datetime, minutes: int, count: int = 6) -> list[slotlib.Slot]:
    """The free starts nearest ``around`` for this appointment with ``therapist`` at its new length:
    the same slot engine as booking (working hours, busy time with buffers, the clinic's step),
    from now on as for any staff booking, the appointment's own time counted as free."""
    clinic, service = appointment.clinic, appointment.service
    policy = BookingPolicy.for_clinic(clinic)
    minutes = max(5, min(minutes, Service.MAX_DURATION_MINUTES))
    rules = slotlib.SlotRules(
        duration=timedelta(minutes=minutes),
        buffer_before=timedelta(minutes=service.buffer_before_minutes),
        buffer_after=timedelta(minutes=service.buffer_after_minutes),
        step=timedelta(minutes=policy.slot_step_minutes),
    )
    now = timezone.now()
    day = around.astimezone(clinic.tz).date()
    first, last = max(day - timedelta(days=3), now.astimezone(clinic.tz).date()), day + timedelta(days=7)
    weekly, exceptions = working_hours(clinic, therapist, first, last)
    span_start, span_end = day_bounds(first - timedelta(days=1), last + timedelta(days=1), clinic.tz)
    found = slotlib.free_slots(
        tz=clinic.tz,
        weekly=weekly,
        exceptions=exceptions,
        busy=busy_intervals(therapist, span_start, span_end, exclude_id=appointment.pk),
        rules=rules,
        first_day=first,
        last_day=last,
        not_before=now,
        not_after=now + timedelta(days=3650),
    )
    return slotlib.nearest(found, around, count)
