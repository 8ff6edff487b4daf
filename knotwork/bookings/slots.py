"""Free slots from weekly hours, exceptions and busy time. Pure: no Django, no database.

Weekly hours are wall-clock times in the clinic's zone. Each day's windows are turned into UTC
instants on that day (so a 09:00 start is 09:00 on both sides of a daylight-saving change), and
slots are stepped in real minutes from the start of each window. A wall-clock time that does not
exist (the hour skipped in spring) is read with the offset before the change, and an ambiguous
one (the hour repeated in autumn) as its first occurrence — zoneinfo's ``fold=0``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class WeeklyHours:
    weekday: int  # Monday = 0
    start: time
    end: time


@dataclass(frozen=True)
class DayException:
    day: date
    kind: str  # "off" or "extra"
    start: time | None = None
    end: time | None = None


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class SlotRules:
    duration: timedelta
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    step: timedelta = timedelta(minutes=15)

    def block(self, start: datetime) -> Interval:
        return Interval(start - self.buffer_before, start + self.duration + self.buffer_after)


def _utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for iv in sorted(intervals, key=lambda i: i.start):
        if merged and iv.start <= merged[-1].end:
            merged[-1] = Interval(merged[-1].start, max(merged[-1].end, iv.end))
        else:
            merged.append(iv)
    return merged


def _subtract(windows: list[Interval], cut: Interval) -> list[Interval]:
    out: list[Interval] = []
    for w in windows:
        if not w.overlaps(cut):
            out.append(w)
            continue
        if w.start < cut.start:
            out.append(Interval(w.start, cut.start))
        if cut.end < w.end:
            out.append(Interval(cut.end, w.end))
    return out


def day_windows(day: date, *, tz: ZoneInfo, weekly: Sequence[WeeklyHours], exceptions: Sequence[DayException]) -> list[Interval]:
    """The therapist's working intervals on one local date, in UTC, merged and sorted."""
    todays = [e for e in exceptions if e.day == day]
    if any(e.kind == "off" and e.start is None for e in todays):
        windows: list[Interval] = []
    else:
        windows = [Interval(_utc(day, w.start, tz), _utc(day, w.end, tz)) for w in weekly if w.weekday == day.weekday()]
    for e in todays:
        if e.kind == "extra" and e.start is not None and e.end is not None:
            windows.append(Interval(_utc(day, e.start, tz), _utc(day, e.end, tz)))
    windows = _merge(w for w in windows if w.end > w.start)
    for e in todays:
        if e.kind == "off" and e.start is not None and e.end is not None:
            windows = _subtract(windows, Interval(_utc(day, e.start, tz), _utc(day, e.end, tz)))
    return windows


class BusyIndex:
    """Busy intervals sorted by start, for fast "does this block overlap anything?" questions."""

    def __init__(self, busy: Iterable[Interval]) -> None:
        self._items = _merge(busy)
        self._starts = [i.start for i in self._items]

    def overlaps(self, block: Interval) -> bool:
        # Merged intervals do not overlap each other, so only the one starting just before the
        # block's end can reach into it.
        i = bisect.bisect_left(self._starts, block.end) - 1
        return i >= 0 and self._items[i].end > block.start


def candidate_starts(windows: Sequence[Interval], rules: SlotRules) -> list[datetime]:
    starts = []
    for w in windows:
        at = w.start
        while at + rules.duration <= w.end:
            starts.append(at)
            at += rules.step
    return starts


def free_slots(
    *,
    tz: ZoneInfo,
    weekly: Sequence[WeeklyHours],
    exceptions: Sequence[DayException],
    busy: Iterable[Interval],
    rules: SlotRules,
    first_day: date,
    last_day: date,
    not_before: datetime,
    not_after: datetime,
) -> list[Slot]:
    """Every start between the two local dates (inclusive) where the appointment fits the working
    hours and its block (with buffers) overlaps nothing busy, within [not_before, not_after]."""
    index = busy if isinstance(busy, BusyIndex) else BusyIndex(busy)
    slots: list[Slot] = []
    day = first_day
    while day <= last_day:
        for start in candidate_starts(day_windows(day, tz=tz, weekly=weekly, exceptions=exceptions), rules):
            if not_before <= start <= not_after and not index.overlaps(rules.block(start)):
                slots.append(Slot(start, start + rules.duration))
        day += timedelta(days=1)
    return slots


def offered(start: datetime, *, tz: ZoneInfo, weekly: Sequence[WeeklyHours], exceptions: Sequence[DayException], rules: SlotRules) -> bool:
    """Whether ``start`` is one of the starts the working hours offer (busy time not considered)."""
    day = start.astimezone(tz).date()
    # A window can start the evening before in UTC terms; look at the neighbouring dates too.
    for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
        if start in candidate_starts(day_windows(d, tz=tz, weekly=weekly, exceptions=exceptions), rules):
            return True
    return False


def within_hours(
    start: datetime, end: datetime, *, tz: ZoneInfo, weekly: Sequence[WeeklyHours], exceptions: Sequence[DayException]
) -> bool:
    """Whether ``[start, end)`` lies inside one working window (any minute, not only a slot step).

    Buffers are not counted, as for the starts :func:`free_slots` offers: an appointment may end as
    the working day ends."""
    day = start.astimezone(tz).date()
    for d in (day - timedelta(days=1), day, day + timedelta(days=1)):
        if any(w.start <= start and end <= w.end for w in day_windows(d, tz=tz, weekly=weekly, exceptions=exceptions)):
            return True
    return False


def nearest(slots: Sequence[Slot], target: datetime, count: int = 5) -> list[Slot]:
    """The ``count`` slots closest in time to ``target``, in time order."""
    picked = sorted(slots, key=lambda s: (abs((s.start - target).total_seconds()), s.start))[:count]
    return sorted(picked, key=lambda s: s.start)
