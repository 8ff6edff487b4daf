"""The pure slot calculator: working hours, exceptions, buffers, busy time and daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from knotwork.bookings.slots import (
    BusyIndex,
    DayException,
    Interval,
    Slot,
    SlotRules,
    WeeklyHours,
    day_windows,
    free_slots,
    nearest,
    offered,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
FAR_PAST = datetime(2000, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def _slots(day: date, *, tz=LONDON, weekly=None, exceptions=(), busy=(), rules=None):
    weekly = weekly if weekly is not None else [WeeklyHours(day.weekday(), time(9), time(12))]
    return free_slots(
        tz=tz,
        weekly=weekly,
        exceptions=list(exceptions),
        busy=list(busy),
        rules=rules or SlotRules(duration=timedelta(minutes=60)),
        first_day=day,
        last_day=day,
        not_before=FAR_PAST,
        not_after=FAR_FUTURE,
    )


def _utc(y, m, d, h, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=UTC)


class SlotTests:
    def test_it_steps_through_the_working_hours_leaving_room_for_the_whole_appointment(self):
        slots = _slots(date(2026, 1, 12))  # a Monday in winter: London is on UTC
        assert [s.start for s in slots] == [_utc(2026, 1, 12, h, m) for h in (9, 10) for m in (0, 15, 30, 45)] + [_utc(2026, 1, 12, 11)]
        assert slots[-1].end == _utc(2026, 1, 12, 12)

    def test_busy_time_and_buffers_remove_every_start_whose_block_would_overlap(self):
        rules = SlotRules(duration=timedelta(minutes=60), buffer_after=timedelta(minutes=15))
        busy = [Interval(_utc(2026, 1, 12, 10, 30), _utc(2026, 1, 12, 11))]
        starts = [s.start for s in _slots(date(2026, 1, 12), busy=busy, rules=rules)]
        # 09:15 + 60 min + 15 min buffer = 10:30, which touches but does not overlap the busy half hour.
        assert starts == [_utc(2026, 1, 12, 9), _utc(2026, 1, 12, 9, 15), _utc(2026, 1, 12, 11)]

    def test_a_day_off_removes_the_day_and_extra_hours_add_to_it(self):
        day = date(2026, 1, 12)
        assert _slots(day, exceptions=[DayException(day, "off")]) == []
        extra = _slots(day, weekly=[], exceptions=[DayException(day, "extra", time(18), time(19))])
        assert [s.start for s in extra] == [_utc(2026, 1, 12, 18)]

    def test_a_partial_day_off_cuts_a_hole_in_the_hours(self):
        day = date(2026, 1, 12)
        slots = _slots(day, exceptions=[DayException(day, "off", time(10), time(11))])
        assert [s.start for s in slots] == [_utc(2026, 1, 12, 9), _utc(2026, 1, 12, 11)]

    def test_nine_oclock_is_nine_oclock_on_both_sides_of_the_spring_change(self):
        # Europe/London moves to BST on Sunday 29 March 2026.
        before = _slots(date(2026, 3, 27), weekly=[WeeklyHours(4, time(9), time(10))])
        after = _slots(date(2026, 3, 30), weekly=[WeeklyHours(0, time(9), time(10))])
        assert before[0].start == _utc(2026, 3, 27, 9)
        assert after[0].start == _utc(2026, 3, 30, 8)
        assert after[0].start.astimezone(LONDON).hour == 9

    def test_hours_spanning_the_skipped_spring_hour_are_an_hour_shorter_in_real_time(self):
        day = date(2026, 3, 29)  # 01:00 → 02:00 does not exist
        windows = day_windows(day, tz=LONDON, weekly=[WeeklyHours(6, time(0), time(4))], exceptions=[])
        assert windows == [Interval(_utc(2026, 3, 29, 0), _utc(2026, 3, 29, 3))]
        slots = _slots(
            day, weekly=[WeeklyHours(6, time(0), time(4))], rules=SlotRules(duration=timedelta(minutes=60), step=timedelta(minutes=60))
        )
        assert [s.start.astimezone(LONDON).strftime("%H:%M") for s in slots] == ["00:00", "02:00", "03:00"]

    def test_hours_spanning_the_repeated_autumn_hour_are_an_hour_longer_in_real_time(self):
        day = date(2026, 10, 25)  # 01:00 → 02:00 happens twice
        windows = day_windows(day, tz=LONDON, weekly=[WeeklyHours(6, time(0), time(4))], exceptions=[])
        assert windows == [Interval(_utc(2026, 10, 24, 23), _utc(2026, 10, 25, 4))]
        assert windows[0].end - windows[0].start == timedelta(hours=5)
        after = _slots(date(2026, 10, 26), weekly=[WeeklyHours(0, time(9), time(10))])
        assert after[0].start == _utc(2026, 10, 26, 9)

    def test_the_new_york_change_falls_on_its_own_date(self):
        # The US moves clocks on 8 March 2026, three weeks before Europe.
        slots = _slots(date(2026, 3, 9), tz=NEW_YORK, weekly=[WeeklyHours(0, time(9), time(10))])
        assert slots[0].start == _utc(2026, 3, 9, 13)

    def test_notice_and_horizon_limit_what_is_offered(self):
        day = date(2026, 1, 12)
        slots = free_slots(
            tz=LONDON,
            weekly=[WeeklyHours(0, time(9), time(12))],
            exceptions=[],
            busy=[],
            rules=SlotRules(duration=timedelta(minutes=60)),
            first_day=day,
            last_day=day,
            not_before=_utc(2026, 1, 12, 10),
            not_after=_utc(2026, 1, 12, 10, 30),
        )
        assert [s.start for s in slots] == [_utc(2026, 1, 12, 10), _utc(2026, 1, 12, 10, 15), _utc(2026, 1, 12, 10, 30)]

    def test_offered_accepts_only_starts_on_the_grid_inside_the_hours(self):
        weekly = [WeeklyHours(0, time(9), time(12))]
        rules = SlotRules(duration=timedelta(minutes=60))
        assert offered(_utc(2026, 1, 12, 9, 15), tz=LONDON, weekly=weekly, exceptions=[], rules=rules)
        assert not offered(_utc(2026, 1, 12, 9, 10), tz=LONDON, weekly=weekly, exceptions=[], rules=rules)
        assert not offered(_utc(2026, 1, 12, 11, 15), tz=LONDON, weekly=weekly, exceptions=[], rules=rules)

    def test_nearest_returns_the_closest_slots_in_time_order(self):
        slots = [Slot(_utc(2026, 1, 12, h), _utc(2026, 1, 12, h + 1)) for h in range(8, 18)]
        picked = nearest(slots, _utc(2026, 1, 12, 12, 10), count=3)
        assert [s.start.hour for s in picked] == [11, 12, 13]

    def test_the_busy_index_sees_overlaps_across_merged_intervals(self):
        index = BusyIndex([Interval(_utc(2026, 1, 1, 9), _utc(2026, 1, 1, 10)), Interval(_utc(2026, 1, 1, 9, 30), _utc(2026, 1, 1, 11))])
        assert index.overlaps(Interval(_utc(2026, 1, 1, 10, 30), _utc(2026, 1, 1, 12)))
        assert not index.overlaps(Interval(_utc(2026, 1, 1, 11), _utc(2026, 1, 1, 12)))
        assert not index.overlaps(Interval(_utc(2026, 1, 1, 8), _utc(2026, 1, 1, 9)))
