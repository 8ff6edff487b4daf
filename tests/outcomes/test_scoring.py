"""Every measure at its edges, and the change flags at and around their thresholds."""

from __future__ import annotations

import pytest

from knotwork.outcomes import scoring
from knotwork.outcomes.scoring import ScoringError, assess, measures, score


def m(mid: str) -> scoring.Measure:
    return measures()[mid]


class MeasureDataTests:
    def test_every_measure_has_a_range_a_direction_a_licence_and_sourced_thresholds(self):
        for measure in measures().values():
            assert measure.min < measure.max
            assert measure.direction in (scoring.HIGHER_BETTER, scoring.HIGHER_WORSE)
            assert measure.licence in (scoring.FREE, scoring.SCORE_ONLY)
            for t in (measure.mcid, measure.mdc):
                assert t is None or (t.value > 0 and t.source)

    def test_the_licensed_instruments_are_score_only(self):
        for mid in ("ndi", "odi", "quickdash", "hit6", "pss10"):
            assert m(mid).score_only and m(mid).rule == "total"
        for mid in ("nprs", "psfs", "groc", "lefs", "ppt", "pain_extent", "acr2016"):
            assert not m(mid).score_only

    def test_a_score_only_instrument_with_an_item_rule_is_refused(self):
        data = {
            "measures": [
                {
                    "id": "x",
                    "name": "X",
                    "version": "1",
                    "rule": "nprs",
                    "licence": "score-only",
                    "min": 0,
                    "max": 10,
                    "direction": "higher_worse",
                    "scoring": "-",
                }
            ]
        }
        with pytest.raises(ValueError, match="score-only"):
            scoring.parse_measures(data)

    def test_an_unknown_rule_or_a_duplicate_id_is_refused(self):
        base = {
            "id": "x",
            "name": "X",
            "version": "1",
            "rule": "total",
            "licence": "free",
            "min": 0,
            "max": 10,
            "direction": "higher_worse",
            "scoring": "-",
        }
        with pytest.raises(ValueError, match="unknown scoring rule"):
            scoring.parse_measures({"measures": [{**base, "rule": "magic"}]})
        with pytest.raises(ValueError, match="twice"):
            scoring.parse_measures({"measures": [base, base]})

    def test_nprs_carries_the_loinc_code(self):
        assert m("nprs").loinc == "72514-3"


class NprsTests:
    def test_it_is_the_mean_of_now_best_and_worst_at_both_ends(self):
        assert score(m("nprs"), {"now": 0, "best": 0, "worst": 0}).value == 0
        assert score(m("nprs"), {"now": 10, "best": 10, "worst": 10}).value == 10
        assert score(m("nprs"), {"now": 6, "best": 3, "worst": 8}).value == 5.7

    @pytest.mark.parametrize("bad", [-1, 11, 2.5, "x", True])
    def test_it_refuses_answers_outside_0_to_10(self, bad):
        with pytest.raises(ScoringError) as exc:
            score(m("nprs"), {"now": bad, "best": 1, "worst": 2})
        assert "now" in exc.value.fields

    def test_it_needs_all_three_answers(self):
        with pytest.raises(ScoringError) as exc:
            score(m("nprs"), {"now": 3})
        assert set(exc.value.fields) == {"best", "worst"}


class PsfsTests:
    def test_it_averages_one_to_five_activities(self):
        assert score(m("psfs"), {"activities": [{"activity": "Run", "score": 0}]}).value == 0
        five = [{"activity": f"A{n}", "score": 10} for n in range(5)]
        assert score(m("psfs"), {"activities": five}).value == 10
        assert score(m("psfs"), {"activities": [{"activity": "A", "score": 3}, {"activity": "B", "score": 4}]}).value == 3.5

    def test_it_refuses_none_or_six_activities_and_unnamed_or_unrated_ones(self):
        with pytest.raises(ScoringError):
            score(m("psfs"), {"activities": []})
        with pytest.raises(ScoringError):
            score(m("psfs"), {"activities": [{"activity": f"A{n}", "score": 5} for n in range(6)]})
        with pytest.raises(ScoringError) as exc:
            score(
                m("psfs"),
                {"activities": [{"activity": "", "score": 5}, {"activity": "Lift", "score": None}, {"activity": "X", "score": 11}]},
            )
        assert set(exc.value.fields) == {"activities.0.activity", "activities.1.score", "activities.2.score"}


class GrocTests:
    def test_it_accepts_minus_7_to_plus_7(self):
        assert score(m("groc"), {"rating": -7}).value == -7
        assert score(m("groc"), {"rating": 7}).value == 7

    @pytest.mark.parametrize("bad", [-8, 8, None])
    def test_it_refuses_anything_else(self, bad):
        with pytest.raises(ScoringError):
            score(m("groc"), {"rating": bad})


class LefsTests:
    def test_it_sums_twenty_items_from_0_to_80(self):
        assert score(m("lefs"), {"items": [0] * 20}).value == 0
        assert score(m("lefs"), {"items": [4] * 20}).value == 80

    def test_up_to_four_missing_items_take_the_mean_of_the_answered_ones(self):
        scored = score(m("lefs"), {"items": [None] * 4 + [2] * 16})
        assert scored.value == 40 and scored.items["missing"] == 4 and "missing" in scored.rule

    def test_five_missing_items_are_not_scored(self):
        with pytest.raises(ScoringError, match="at most 4"):
            score(m("lefs"), {"items": [None] * 5 + [2] * 15})

    def test_it_refuses_an_item_above_4_and_a_short_form(self):
        with pytest.raises(ScoringError) as exc:
            score(m("lefs"), {"items": [5] + [2] * 19})
        assert "items.0" in exc.value.fields
        with pytest.raises(ScoringError):
            score(m("lefs"), {"items": [2] * 19})


class PptTests:
    def test_it_averages_trials_per_site_then_sites(self):
        scored = score(m("ppt"), {"sites": [{"site": "Upper trapezius", "side": "right", "trials": [2.0, 2.2, 2.4]},
                                            {"site": "Levator", "trials": [3.0]}]})  # fmt: skip
        assert scored.value == 2.6 and scored.items["sites"][0]["mean"] == 2.2

    def test_it_accepts_zero_and_the_device_maximum(self):
        assert score(m("ppt"), {"sites": [{"site": "A", "trials": [0]}]}).value == 0
        assert score(m("ppt"), {"sites": [{"site": "A", "trials": [20]}]}).value == 20

    def test_it_refuses_four_trials_a_negative_one_and_a_nameless_site(self):
        with pytest.raises(ScoringError):
            score(m("ppt"), {"sites": [{"site": "A", "trials": [1, 2, 3, 4]}]})
        with pytest.raises(ScoringError) as exc:
            score(m("ppt"), {"sites": [{"site": "", "trials": [-1]}]})
        assert {"sites.0.site", "sites.0.trials.0"} <= set(exc.value.fields)


class PainExtentTests:
    def test_it_counts_cells_area_share_and_intensity(self):
        items = scoring.pain_extent([{"cell": "a", "intensity": 5}, {"cell": "b", "intensity": 3}], {"a": 1.0, "b": 1.0, "c": 2.0})
        assert items == {"cells": 2, "area_percent": 50.0, "intensity_sum": 8}
        assert score(m("pain_extent"), items).value == 50.0

    def test_an_empty_drawing_is_zero_and_the_whole_body_is_a_hundred(self):
        areas = {"a": 1.0, "b": 3.0}
        assert scoring.pain_extent([], areas)["area_percent"] == 0
        whole = scoring.pain_extent([{"cell": "a", "intensity": 1}, {"cell": "b", "intensity": 10}], areas)
        assert whole["area_percent"] == 100 and score(m("pain_extent"), whole).value == 100


class Acr2016Tests:
    def test_wpi_runs_from_0_to_19_and_sss_to_12(self):
        assert score(m("acr2016"), {"wpi": 0, "sss": None}).value == 0
        assert score(m("acr2016"), {"wpi": 19, "sss": 12}).items["sss"] == 12
        with pytest.raises(ScoringError):
            score(m("acr2016"), {"wpi": 20})
        with pytest.raises(ScoringError):
            score(m("acr2016"), {"wpi": 5, "sss": 13})


class ScoreOnlyTests:
    @pytest.mark.parametrize("mid", ["ndi", "odi", "quickdash", "hit6", "pss10"])
    def test_it_takes_a_total_within_the_range_and_keeps_only_the_total(self, mid):
        measure = m(mid)
        assert score(measure, {"total": measure.min}).value == measure.min
        assert score(measure, {"total": measure.max}).items == {"total": measure.max}
        for bad in (measure.min - 1, measure.max + 1, None):
            with pytest.raises(ScoringError):
                score(measure, {"total": bad})

    def test_it_never_keeps_anything_but_the_total(self):
        assert score(m("ndi"), {"total": 12, "item_1": 3}).items == {"total": 12}


class ChangeFlagTests:
    def test_nprs_needs_two_points_and_thirty_percent(self):
        nprs = m("nprs")
        assert assess(nprs, baseline=6, latest=4).flag == scoring.IMPORTANT_IMPROVEMENT  # 2 points, 33 %
        assert assess(nprs, baseline=6, latest=4.1).flag == scoring.STEADY  # 1.9 points
        assert assess(nprs, baseline=8, latest=6).flag == scoring.STEADY  # 2 points but 25 %
        assert assess(nprs, baseline=8, latest=5.6).flag == scoring.IMPORTANT_IMPROVEMENT  # 2.4 points, 30 %

    def test_nprs_worsening_uses_the_mcid_when_no_mdc_is_known(self):
        nprs = m("nprs")
        assert nprs.mdc is None
        assert assess(nprs, baseline=4, latest=6).flag == scoring.WORSENING
        assert assess(nprs, baseline=4, latest=5.9).flag == scoring.STEADY

    def test_psfs_higher_is_better_at_and_around_two_points(self):
        psfs = m("psfs")
        assert assess(psfs, baseline=3, latest=5).flag == scoring.IMPORTANT_IMPROVEMENT
        assert assess(psfs, baseline=3, latest=4.9).flag == scoring.STEADY
        assert assess(psfs, baseline=5, latest=3).flag == scoring.WORSENING
        assert assess(psfs, baseline=5, latest=3.1).flag == scoring.STEADY

    def test_lefs_and_quickdash_thresholds(self):
        assert assess(m("lefs"), baseline=40, latest=49).flag == scoring.IMPORTANT_IMPROVEMENT
        assert assess(m("lefs"), baseline=40, latest=48).flag == scoring.STEADY
        assert assess(m("lefs"), baseline=40, latest=31).flag == scoring.WORSENING
        assert assess(m("quickdash"), baseline=50, latest=36).flag == scoring.IMPORTANT_IMPROVEMENT
        assert assess(m("quickdash"), baseline=50, latest=62.85).flag == scoring.WORSENING
        assert assess(m("quickdash"), baseline=50, latest=62.8).flag == scoring.STEADY

    def test_ppt_without_an_mcid_reports_change_beyond_measurement_error(self):
        ppt = m("ppt")
        assert assess(ppt, baseline=2.0, latest=2.62).flag == scoring.BEYOND_ERROR
        assert assess(ppt, baseline=2.0, latest=2.61).flag == scoring.STEADY
        assert assess(ppt, baseline=2.0, latest=1.38).flag == scoring.WORSENING

    def test_groc_is_judged_on_the_rating_itself(self):
        groc = m("groc")
        assert assess(groc, baseline=None, latest=3).flag == scoring.IMPORTANT_IMPROVEMENT
        assert assess(groc, baseline=None, latest=2).flag == scoring.STEADY
        assert assess(groc, baseline=None, latest=-3).flag == scoring.WORSENING
        assert assess(groc, baseline=None, latest=-2).flag == scoring.STEADY

    def test_no_change_after_the_configured_number_of_visits(self):
        nprs = m("nprs")
        assert assess(nprs, baseline=6, latest=5, visits_since_baseline=3, no_change_after=4).flag == scoring.STEADY
        flagged = assess(nprs, baseline=6, latest=5, visits_since_baseline=4, no_change_after=4)
        assert flagged.flag == scoring.NO_CHANGE and "review the plan" in flagged.reason
        assert assess(nprs, baseline=6, latest=4, visits_since_baseline=9, no_change_after=4).flag == scoring.IMPORTANT_IMPROVEMENT

    def test_a_measure_without_thresholds_is_never_flagged(self):
        assert assess(m("pss10"), baseline=30, latest=5, visits_since_baseline=10, no_change_after=2).flag == scoring.STEADY
        assert assess(m("pain_extent"), baseline=30, latest=30, visits_since_baseline=10, no_change_after=2).flag == scoring.STEADY

    def test_a_zero_baseline_cannot_improve_by_a_percentage(self):
        assert assess(m("nprs"), baseline=0, latest=0).flag == scoring.STEADY
        assert assess(m("nprs"), baseline=0, latest=2).flag == scoring.WORSENING
