from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from knotwork.care.models import Episode
from knotwork.outcomes.models import OutcomeSchedule
from knotwork.outcomes.selectors import due_measures

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)


def due(status="active", taken=None, visits=(), measures=("nprs", "groc"), every=3, ended_on=None):
    ep = Episode(status=status, started_on=date(2025, 3, 1), ended_on=ended_on)
    schedule = OutcomeSchedule(measures=list(measures), every_n_visits=every)
    return {d.measure.id: d.reason for d in due_measures(episode=ep, schedule=schedule, taken=taken or {}, signed_visits=list(visits))}


class DueTests:
    def test_a_baseline_is_due_first_but_not_for_a_change_rating(self):
        assert due() == {"nprs": "baseline"}

    def test_a_follow_up_is_due_after_every_n_signed_visits(self):
        visits = [T0 + timedelta(weeks=n) for n in range(4)]
        taken = {"nprs": [T0 + timedelta(minutes=5)]}
        assert "nprs" not in due(taken=taken, visits=visits[:3])  # 2 visits since the baseline
        assert due(taken=taken, visits=visits)["nprs"].startswith("3 visits")
        assert due(taken=taken, visits=visits)["groc"].startswith("4 visits")

    def test_at_discharge_each_measure_is_due_once(self):
        taken = {"nprs": [T0]}
        assert due(status="discharged", ended_on=date(2025, 4, 1), taken=taken) == {"nprs": "at discharge", "groc": "at discharge"}
        taken = {"nprs": [datetime(2025, 4, 1, 12, tzinfo=UTC)], "groc": [datetime(2025, 4, 1, 12, tzinfo=UTC)]}
        assert due(status="discharged", ended_on=date(2025, 4, 1), taken=taken) == {}
