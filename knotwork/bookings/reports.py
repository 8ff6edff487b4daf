"""Practice reports for the clinic owner: how full the diary was, who did not come, who came back.

Every figure is computed by the database (``values()`` + ``annotate()``) or from the weekly hours,
so one report costs the same handful of queries however many appointments the clinic has: the
therapists, their weekly hours, their exceptions, the rooms, and one grouped query per section.

Definitions (docs/bookings.md, "Practice reports", says the same for owners):

- **Period**: local dates in the clinic's time zone, both included. An appointment belongs to the
  period its start falls in.
- **Booked time**: appointments that are confirmed or completed (attended). Requests awaiting the
  clinic, lapsed holds, cancellations and no-shows are not booked time.
- **Therapist utilisation**: booked minutes ÷ working minutes, where working minutes come from the
  weekly hours, plus extra hours, minus time off (the same windows the booking page offers).
  A booking made outside the hours still counts, so a figure above 100 % is possible and honest.
- **Room utilisation**: the room's booked minutes ÷ the clinic's open minutes, the minutes in which
  at least one therapist (of those reported on) is working. A room cannot be used twice at once,
  so the union of everyone's hours, not their sum, is what the room could have held.
- **Expected appointments**: confirmed, completed, no-show and late-cancelled appointments: the
  client was expected. Cancellations with notice freed the time and are left out.
- **No-show rate**: no-shows ÷ expected appointments. **Late-cancel rate**: late cancellations ÷
  expected appointments. An appointment is a late cancellation when it was recorded so: a client
  cancelling inside the clinic's notice period (``BookingPolicy.cancel_notice_hours``, 24 h by
  default) is recorded late automatically, and staff decide when they cancel for a client.
- **Visit**: a completed appointment, or a confirmed one that has already started (nobody marked
  it yet; a no-show is marked as such). Clients whose records are restricted after an erasure
  request are left out of the client figures.
- **Rebooking rate**: the share of visits in the period for which the same client has a later
  appointment that was booked no later than N weeks after the visit started (booked before the
  visit counts too). Lapsed holds and appointments cancelled with notice are not bookings.
  Visits in the last N weeks before today may still be rebooked.
- **New and returning clients**: per week or month, the clients with a visit; new if their first
  visit at the clinic falls in that week or month, returning if it was earlier.
- **Retention cohorts**: clients grouped by the month of their first visit (in the period); for
  each of the following six months, the share of the cohort with a visit in that month.
- **Referral sources**: the new clients of the period (as above) counted by the client record's
  "how they heard about the clinic" (`Client.referral_source`); "Not recorded" when it is empty.

With a therapist chosen, the figures are that therapist's: their hours and bookings, the visits
with them, and the clients they saw (new still means new to the clinic). A cohort is then the
clients whose first visit at the clinic was with that therapist; their returns count with anyone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, DateTimeField, DurationField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

from knotwork.accounts.models import Clinic, Membership, User
from knotwork.bookings import slots as slotlib
from knotwork.bookings.calendar import Hours
from knotwork.bookings.models import Appointment, AppointmentStatus, Room
from knotwork.bookings.selectors import THERAPIST_ROLES
from knotwork.bookings.services import MAX_YEAR, MIN_YEAR
from knotwork.clients.models import Client

S = AppointmentStatus
BOOKED = (S.CONFIRMED, S.COMPLETED)
EXPECTED = (S.CONFIRMED, S.COMPLETED, S.NO_SHOW, S.LATE_CANCELLED)
NOT_A_BOOKING = (S.HELD, S.EXPIRED, S.CANCELLED)

DEFAULT_WEEKS = 12
MAX_DAYS = 731  # two years, both ends included (a leap year's worth of slack)
REBOOK_WEEKS_DEFAULT, REBOOK_WEEKS_MIN, REBOOK_WEEKS_MAX = 4, 1, 12
RETENTION_MONTHS = 6
WEEKLY_UP_TO_DAYS = 26 * 7  # longer periods group clients by month unless asked otherwise
REFERRAL_NOTE = (
    "New clients of the period by how they heard about the clinic, as recorded on their client record "
    "(the desk fills it in on the client form)."
)
NOT_RECORDED = "Not recorded"


class ReportError(ValueError):
    """A period or option the report cannot use; ``field`` names the parameter at fault."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """Local midnight at the start of ``first`` and after ``last``, as aware datetimes."""
        return datetime.combine(self.first, time(), tzinfo=tz), datetime.combine(self.last + timedelta(days=1), time(), tzinfo=tz)


def report_period(first: date | None, last: date | None, *, today: date) -> Period:
    """The period asked for; by default the 12 weeks up to today. Raises ReportError."""
    for name, value in (("from", first), ("to", last)):
        if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ReportError(f"Dates must fall between the years {MIN_YEAR} and {MAX_YEAR}.", name)
    last = last or (max(today, first) if first else today)
    first = first or last - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1)
    if first > last:
        raise ReportError("The start of the period must be on or before its end.", "to")
    if (last - first).days + 1 > MAX_DAYS:
        raise ReportError("A report covers at most two years: choose a shorter period.", "from")
    return Period(first, last)


def rebook_weeks_or_error(value: int | None) -> int:
    if value is None:
        return REBOOK_WEEKS_DEFAULT
    if not REBOOK_WEEKS_MIN <= value <= REBOOK_WEEKS_MAX:
        raise ReportError(f"Choose between {REBOOK_WEEKS_MIN} and {REBOOK_WEEKS_MAX} weeks.", "rebook_weeks")
    return value


def percent(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


# --- Result rows ---------------------------------------------------------------------------------


@dataclass
class UtilisationRow:
    id: int
    name: str
    booked_minutes: int
    available_minutes: int

    @property
    def percent(self) -> float | None:
        return percent(self.booked_minutes, self.available_minutes)

    @property
    def booked_hours(self) -> float:
        return round(self.booked_minutes / 60, 1)

    @property
    def available_hours(self) -> float:
        return round(self.available_minutes / 60, 1)


@dataclass
class AttendanceRow:
    id: int | None  # None: the whole clinic
    name: str
    expected: int = 0
    no_shows: int = 0
    late_cancels: int = 0

    @property
    def no_show_percent(self) -> float | None:
        return percent(self.no_shows, self.expected)

    @property
    def late_cancel_percent(self) -> float | None:
        return percent(self.late_cancels, self.expected)


@dataclass
class RebookingRow:
    id: int | None
    name: str
    visits: int = 0
    rebooked: int = 0

    @property
    def percent(self) -> float | None:
        return percent(self.rebooked, self.visits)


@dataclass
class ClientMixRow:
    start: date  # the first day of the week or month
    label: str
    clients: int = 0
    new: int = 0

    @property
    def returning(self) -> int:
        return self.clients - self.new


@dataclass
class Cohort:
    month: date
    size: int
    # Clients of the cohort with a visit 1..6 months after their first; None while that month is to come.
    returned: list[int | None] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.month:%b %Y}"

    @property
    def shares(self) -> list[float | None]:
        return [None if n is None else percent(n, self.size) for n in self.returned]


@dataclass
class PracticeReport:
    clinic: Clinic
    period: Period
    therapist: User | None
    rebook_weeks: int
    group_by: str  # "week" or "month"
    therapists: list[UtilisationRow]
    rooms: list[UtilisationRow]
    open_minutes: int
    attendance: list[AttendanceRow]
    attendance_total: AttendanceRow
    rebooking: list[RebookingRow]
    rebooking_total: RebookingRow
    client_mix: list[ClientMixRow]
    clients_seen: int
    new_clients: int
    cohorts: list[Cohort]
    retention_average: list[float | None]
    referral_sources: list[tuple[str, int]] = field(default_factory=list)
    referral_note: str = REFERRAL_NOTE

    @property
    def utilisation_total(self) -> UtilisationRow:
        return UtilisationRow(
            0, "All therapists", sum(r.booked_minutes for r in self.therapists), sum(r.available_minutes for r in self.therapists)
        )

    @property
    def open_hours(self) -> float:
        return round(self.open_minutes / 60, 1)

    @property
    def returning_clients(self) -> int:
        return self.clients_seen - self.new_clients


# --- The report ----------------------------------------------------------------------------------


def practice_report(
    *,
    clinic: Clinic,
    period: Period,
    therapist: User | None = None,
    rebook_weeks: int = REBOOK_WEEKS_DEFAULT,
    group_by: str = "",
    now: datetime | None = None,
) -> PracticeReport:
    """Every section of the practice report for ``clinic`` over ``period``, in a constant number of queries."""
    now = now or timezone.now()
    tz = clinic.tz
    start, end = period.bounds(tz)
    group_by = group_by if group_by in ("week", "month") else ("week" if period.days <= WEEKLY_UP_TO_DAYS else "month")
    in_period = Appointment.objects.filter(clinic=clinic, starts_at__gte=start, starts_at__lt=end)
    if therapist is not None:
        in_period = in_period.filter(therapist=therapist)

    per_therapist = _per_therapist(in_period)
    people = _therapists(clinic, therapist, per_therapist.keys())
    hours = Hours.load(clinic, people.keys(), period.first, period.last)
    working, open_minutes = _working_minutes(hours, people.keys(), period, tz)

    therapists = [
        UtilisationRow(pk, name, per_therapist.get(pk, {}).get("booked", 0), working.get(pk, 0))
        for pk, name in people.items()
        if working.get(pk) or per_therapist.get(pk, {}).get("booked")
    ]
    attendance = [
        AttendanceRow(pk, name, row["expected"], row["no_shows"], row["late_cancels"])
        for pk, name in people.items()
        if (row := per_therapist.get(pk)) and row["expected"]
    ]
    total = AttendanceRow(
        None,
        "Whole clinic" if therapist is None else "Total",
        sum(a.expected for a in attendance),
        sum(a.no_shows for a in attendance),
        sum(a.late_cancels for a in attendance),
    )

    visits = _visits(clinic, now)
    period_visits = visits.filter(starts_at__gte=start, starts_at__lt=end)
    if therapist is not None:
        period_visits = period_visits.filter(therapist=therapist)
    rebooking = _rebooking(period_visits, people, rebook_weeks)
    rebook_total = RebookingRow(
        None, "Whole clinic" if therapist is None else "Total", sum(r.visits for r in rebooking), sum(r.rebooked for r in rebooking)
    )

    mix, seen, new = _client_mix(visits, period_visits, period, group_by, tz, start)
    cohorts = _cohorts(visits, period, therapist, tz, now)
    sources = _referral_sources(visits, period_visits, start)
    return PracticeReport(
        clinic=clinic, period=period, therapist=therapist, rebook_weeks=rebook_weeks, group_by=group_by,
        therapists=therapists, rooms=_rooms(clinic, in_period, open_minutes), open_minutes=open_minutes,
        attendance=attendance, attendance_total=total, rebooking=rebooking, rebooking_total=rebook_total,
        client_mix=mix, clients_seen=seen, new_clients=new, cohorts=cohorts, retention_average=_average(cohorts),
        referral_sources=sources,
    )  # fmt: skip


def _minutes(value: timedelta | None) -> int:
    return int(value.total_seconds() // 60) if value else 0


DURATION = ExpressionWrapper(F("ends_at") - F("starts_at"), output_field=DurationField())


def _per_therapist(in_period: QuerySet[Appointment]) -> dict[int, dict[str, int]]:
    """Booked minutes and attendance counts per therapist: one grouped query."""
    rows = in_period.values("therapist").annotate(
        booked=Sum(DURATION, filter=Q(status__in=BOOKED)),
        expected=Count("pk", filter=Q(status__in=EXPECTED)),
        no_shows=Count("pk", filter=Q(status=S.NO_SHOW)),
        late_cancels=Count("pk", filter=Q(status=S.LATE_CANCELLED)),
    )
    return {r.pop("therapist"): {**r, "booked": _minutes(r["booked"])} for r in rows.order_by()}


def _therapists(clinic: Clinic, therapist: User | None, with_bookings: Iterable[int]) -> dict[int, str]:
    """Who the report is about, by name: the chosen therapist, or the clinic's therapists and anyone
    with appointments in the period (a therapist who has since left still had that time)."""
    if therapist is not None:
        return {therapist.pk: therapist.display_name}
    members = Membership.objects.active().filter(clinic=clinic, role__in=THERAPIST_ROLES, user=OuterRef("pk"))
    people = User.objects.filter(Q(Exists(members)) | Q(pk__in=list(with_bookings))).order_by("full_name", "email")
    return {u.pk: u.display_name for u in people}


def _working_minutes(hours: Hours, ids: Iterable[int], period: Period, tz: ZoneInfo) -> tuple[dict[int, int], int]:
    """Each therapist's working minutes in the period, and the minutes at least one of them works."""
    ids = list(ids)
    exceptions: dict[tuple[int, date], list[slotlib.DayException]] = defaultdict(list)
    for pk in ids:
        for e in hours.exceptions.get(pk, []):
            exceptions[(pk, e.day)].append(e)
    working: dict[int, int] = defaultdict(int)
    open_minutes = 0
    day = period.first
    while day <= period.last:
        everyone: list[slotlib.Interval] = []
        for pk in ids:
            weekly = hours.weekly.get(pk, [])
            if not weekly and (pk, day) not in exceptions:
                continue
            windows = slotlib.day_windows(day, tz=tz, weekly=weekly, exceptions=exceptions.get((pk, day), []))
            working[pk] += sum(_minutes(w.end - w.start) for w in windows)
            everyone.extend(windows)
        open_minutes += sum(_minutes(w.end - w.start) for w in _union(everyone))
        day += timedelta(days=1)
    return dict(working), open_minutes


def _union(windows: list[slotlib.Interval]) -> list[slotlib.Interval]:
    merged: list[slotlib.Interval] = []
    for w in sorted(windows, key=lambda i: i.start):
        if merged and w.start <= merged[-1].end:
            merged[-1] = slotlib.Interval(merged[-1].start, max(merged[-1].end, w.end))
        else:
            merged.append(w)
    return merged


def _rooms(clinic: Clinic, in_period: QuerySet[Appointment], open_minutes: int) -> list[UtilisationRow]:
    booked = {
        r["room"]: _minutes(r["booked"])
        for r in in_period.filter(room__isnull=False, status__in=BOOKED).values("room").annotate(booked=Sum(DURATION)).order_by()
    }
    return [
        UtilisationRow(room.pk, room.name, booked.get(room.pk, 0), open_minutes)
        for room in Room.objects.filter(clinic=clinic).order_by("name")
        if room.is_active or booked.get(room.pk)
    ]


def _visits(clinic: Clinic, now: datetime) -> QuerySet[Appointment]:
    return Appointment.objects.filter(
        Q(status=S.COMPLETED) | Q(status=S.CONFIRMED, starts_at__lte=now),
        clinic=clinic,
        client__isnull=False,
        client__restricted_at__isnull=True,
    )


def _rebooking(period_visits: QuerySet[Appointment], people: dict[int, str], weeks: int) -> list[RebookingRow]:
    deadline = ExpressionWrapper(OuterRef("starts_at") + timedelta(weeks=weeks), output_field=DateTimeField())
    later = Appointment.objects.filter(client=OuterRef("client"), starts_at__gt=OuterRef("starts_at"), created_at__lte=deadline)
    rows = (
        period_visits.annotate(has_next=Exists(later.exclude(status__in=NOT_A_BOOKING)))
        .values("therapist")
        .annotate(visits=Count("pk"), rebooked=Count("pk", filter=Q(has_next=True)))
        .order_by()
    )
    found = {r["therapist"]: r for r in rows}
    return [RebookingRow(pk, name, found[pk]["visits"], found[pk]["rebooked"]) for pk, name in people.items() if pk in found]


def _first_visit(visits: QuerySet[Appointment], column: str) -> Subquery:
    return Subquery(visits.filter(client=OuterRef("client")).order_by("starts_at", "pk").values(column)[:1])


def _client_mix(
    visits: QuerySet[Appointment], period_visits: QuerySet[Appointment], period: Period, group_by: str, tz: ZoneInfo, start: datetime
) -> tuple[list[ClientMixRow], int, int]:
    trunc: Any = TruncWeek if group_by == "week" else TruncMonth
    annotated = period_visits.annotate(first=_first_visit(visits, "starts_at"))
    new_here = Q(first__gte=start)
    rows = (
        annotated.annotate(bucket=trunc("starts_at", tzinfo=tz), first_bucket=trunc("first", tzinfo=tz))
        .values("bucket")
        .annotate(clients=Count("client", distinct=True), new=Count("client", distinct=True, filter=new_here & Q(first_bucket=F("bucket"))))
        .order_by()
    )
    counts = {timezone.localtime(r["bucket"], tz).date(): r for r in rows}
    totals = annotated.aggregate(clients=Count("client", distinct=True), new=Count("client", distinct=True, filter=new_here))
    out = []
    for bucket in _buckets(period, group_by):
        row = counts.get(bucket, {})
        label = f"{bucket:%d %b}" if group_by == "week" else f"{bucket:%b %Y}"
        out.append(ClientMixRow(bucket, label, row.get("clients", 0), row.get("new", 0)))
    return out, totals["clients"] or 0, totals["new"] or 0


def _referral_sources(visits: QuerySet[Appointment], period_visits: QuerySet[Appointment], start: datetime) -> list[tuple[str, int]]:
    """New clients of the period (first visit inside it) by referral source, commonest first."""
    rows = (
        period_visits.annotate(first=_first_visit(visits, "starts_at"))
        .filter(first__gte=start)
        .values("client__referral_source")
        .annotate(clients=Count("client", distinct=True))
        .order_by()
    )
    labels = dict(Client.ReferralSource.choices)
    found = [(labels.get(r["client__referral_source"], NOT_RECORDED), r["clients"]) for r in rows]
    return sorted(found, key=lambda row: (row[0] == NOT_RECORDED, -row[1], row[0]))


def _buckets(period: Period, group_by: str) -> list[date]:
    if group_by == "week":
        day = period.first - timedelta(days=period.first.weekday())
        out = []
        while day <= period.last:
            out.append(day)
            day += timedelta(weeks=1)
        return out
    return _months(period.first.replace(day=1), period.last)


def _months(first: date, last: date) -> list[date]:
    out, month = [], first
    while month <= last:
        out.append(month)
        month = _add_months(month, 1)
    return out


def _add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _cohorts(visits: QuerySet[Appointment], period: Period, therapist: User | None, tz: ZoneInfo, now: datetime) -> list[Cohort]:
    start, end = period.bounds(tz)
    first_month = period.first.replace(day=1)
    horizon = datetime.combine(_add_months(period.last.replace(day=1), RETENTION_MONTHS + 1), time(), tzinfo=tz)
    qs = visits.filter(starts_at__gte=start, starts_at__lt=horizon).annotate(
        first=_first_visit(visits, "starts_at"), first_with=_first_visit(visits, "therapist")
    )
    qs = qs.filter(first__gte=start, first__lt=end)
    if therapist is not None:
        qs = qs.filter(first_with=therapist.pk)
    rows = (
        qs.annotate(cohort=TruncMonth("first", tzinfo=tz), month=TruncMonth("starts_at", tzinfo=tz))
        .values("cohort", "month")
        .annotate(clients=Count("client", distinct=True))
        .order_by()
    )
    counts: dict[date, dict[int, int]] = defaultdict(dict)
    for r in rows:
        cohort, month = timezone.localtime(r["cohort"], tz).date(), timezone.localtime(r["month"], tz).date()
        offset = (month.year - cohort.year) * 12 + month.month - cohort.month
        if 0 <= offset <= RETENTION_MONTHS:
            counts[cohort][offset] = r["clients"]
    this_month = timezone.localtime(now, tz).date().replace(day=1)
    out = []
    for month in _months(first_month, period.last):
        size = counts.get(month, {}).get(0, 0)
        if not size:
            continue
        returned = [None if _add_months(month, k) > this_month else counts[month].get(k, 0) for k in range(1, RETENTION_MONTHS + 1)]
        out.append(Cohort(month, size, returned))
    return out


def _average(cohorts: list[Cohort]) -> list[float | None]:
    """Each month's share over every cohort that has reached it (weighted by cohort size)."""
    out = []
    for k in range(RETENTION_MONTHS):
        reached = [c for c in cohorts if c.returned[k] is not None]
        out.append(percent(sum(c.returned[k] or 0 for c in reached), sum(c.size for c in reached)))
    return out


# --- CSV -----------------------------------------------------------------------------------------

SECTIONS = ("utilisation", "attendance", "rebooking", "clients", "retention", "referrals")


def _blank(value: float | None) -> Any:
    return "" if value is None else value


def csv_table(report: PracticeReport, section: str) -> tuple[list[str], list[list[Any]]]:
    """One section as a header and rows (raw values; knotwork.lib.csv neutralises them)."""
    if section == "utilisation":
        header = ["kind", "name", "booked minutes", "available minutes", "utilisation %"]
        rows = [["therapist", r.name, r.booked_minutes, r.available_minutes, _blank(r.percent)] for r in report.therapists]
        rows += [["room", r.name, r.booked_minutes, r.available_minutes, _blank(r.percent)] for r in report.rooms]
        return header, rows
    if section == "attendance":
        header = ["therapist", "expected appointments", "no-shows", "late cancellations", "no-show %", "late-cancel %"]
        return header, [
            [r.name, r.expected, r.no_shows, r.late_cancels, _blank(r.no_show_percent), _blank(r.late_cancel_percent)]
            for r in [*report.attendance, report.attendance_total]
        ]
    if section == "rebooking":
        header = ["therapist", "visits", f"rebooked within {report.rebook_weeks} weeks", "rebooking %"]
        return header, [[r.name, r.visits, r.rebooked, _blank(r.percent)] for r in [*report.rebooking, report.rebooking_total]]
    if section == "clients":
        header = [f"{report.group_by} starting", "clients seen", "new clients", "returning clients"]
        return header, [[r.start.isoformat(), r.clients, r.new, r.returning] for r in report.client_mix]
    if section == "retention":
        header = ["first visit month", "clients", *[f"month {k} %" for k in range(1, RETENTION_MONTHS + 1)]]
        return header, [[c.month.strftime("%Y-%m"), c.size, *[_blank(s) for s in c.shares]] for c in report.cohorts]
    if section == "referrals":
        return ["how they heard about the clinic", "new clients"], [[name, n] for name, n in report.referral_sources]
    raise ReportError(f"Unknown section: choose one of {', '.join(SECTIONS)}.", "section")
