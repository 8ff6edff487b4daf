from __future__ import annotations

import pytest

from knotwork.engine import Engine, fibromyalgia_verdict
from knotwork.engine.fibromyalgia import criterion_one, generalized_regions, wpi_areas

from .conftest import drawing

SSS_NINE = {"fatigue": 3, "waking_unrefreshed": 3, "cognitive": 2, "headaches": 1, "lower_abdominal": 0, "depression": 0}

# One cell in each of the five generalized-pain regions, plus more areas to raise the WPI.
FIVE_REGIONS = [
    ("shoulder-top:left", 5),
    ("shoulder-top:right", 5),
    ("hip-lateral:left", 5),
    ("hip-lateral:right", 5),
    ("lumbar:right", 5),
]


class FibromyalgiaRuleTests:
    @pytest.mark.parametrize(
        ("wpi", "sss", "expected"),
        [
            (7, 5, True),
            (7, 4, False),
            (8, 5, True),
            (19, 12, True),
            (7, 12, True),
            (6, 9, True),
            (6, 8, False),
            (5, 9, True),
            (4, 9, True),
            (4, 8, False),
            (4, 12, True),
            (3, 12, False),
            (3, 9, False),
            (0, 12, False),
            (6, 5, False),  # WPI 4-6 needs SSS >= 9, not 5
        ],
    )
    def test_criterion_one_uses_the_exact_2016_thresholds(self, wpi, sss, expected):
        assert criterion_one(wpi, sss) is expected

    @pytest.mark.parametrize(("generalized", "verdict"), [(3, "not met"), (4, "met"), (5, "met")])
    def test_generalized_pain_needs_four_of_five_regions(self, generalized, verdict):
        assert fibromyalgia_verdict(8, generalized, 6, 6)[0] == verdict

    @pytest.mark.parametrize(("months", "verdict"), [(2, "not met"), (2.9, "not met"), (3, "met"), (24, "met")])
    def test_symptoms_must_have_lasted_three_months(self, months, verdict):
        assert fibromyalgia_verdict(8, 4, 6, months)[0] == verdict

    def test_without_the_questionnaire_the_verdict_is_incomplete_never_guessed(self):
        verdict, reasons = fibromyalgia_verdict(9, 5, None, 12)
        assert verdict == "incomplete"
        assert "SSS" in reasons[-1]

    def test_without_the_duration_the_verdict_is_incomplete(self):
        assert fibromyalgia_verdict(9, 5, 7, None)[0] == "incomplete"

    def test_a_wpi_below_four_rules_the_criteria_out_without_any_questionnaire(self):
        assert fibromyalgia_verdict(3, 4, None, None)[0] == "not met"

    def test_too_few_regions_rule_the_criteria_out_without_any_questionnaire(self):
        assert fibromyalgia_verdict(9, 3, None, None)[0] == "not met"

    def test_an_sss_too_low_for_the_wpi_is_not_met_even_without_a_duration(self):
        assert fibromyalgia_verdict(5, 4, 8, None)[0] == "not met"


class WidespreadPainIndexTests:
    REGION_WPI = {
        "jaw": "jaw",
        "tmj": "jaw",
        "shoulder-top": "shoulder-girdle",
        "axilla": "shoulder-girdle",
        "neck-lateral": "neck",
        "throat": "neck",
        "sternum": "chest",
        "abdomen-lower": "abdomen",
        "hip-lateral": "hip",
        "palm": None,
    }

    def test_a_paired_area_counts_once_per_side(self):
        areas = wpi_areas(["shoulder-top:left", "axilla:left", "shoulder-top:right"], self.REGION_WPI)
        assert areas == ["shoulder-girdle:left", "shoulder-girdle:right"]

    def test_an_axial_area_counts_once_whatever_the_side(self):
        assert wpi_areas(["neck-lateral:left", "neck-lateral:right", "throat"], self.REGION_WPI) == ["neck"]

    def test_regions_outside_the_index_do_not_count(self):
        assert wpi_areas(["palm:left", "palm:right"], self.REGION_WPI) == []

    def test_jaw_chest_and_abdomen_count_for_the_wpi_but_not_for_generalized_pain(self):
        areas = wpi_areas(["jaw:left", "jaw:right", "sternum", "abdomen-lower:left"], self.REGION_WPI)
        assert len(areas) == 4
        assert generalized_regions(areas) == []

    def test_the_shipped_vocabulary_has_nineteen_areas(self, shipped_engine: Engine):
        areas = wpi_areas(shipped_engine.cells, shipped_engine.region_wpi)
        assert len(areas) == 19
        assert generalized_regions(areas) == ["left upper", "right upper", "left lower", "right lower", "axial"]


class FibromyalgiaScreenTests:
    def screen(self, engine: Engine, marks, context=None):
        return engine.explain(drawing(*marks, context=context)).screen("fibromyalgia-acr-2016")

    def test_every_result_carries_the_screen(self, engine):
        assert self.screen(engine, [("temple:right", 3)]).verdict == "not met"

    def test_it_reports_wpi_and_generalized_pain_and_waits_for_the_questionnaire(self, engine):
        marks = [*FIVE_REGIONS, ("upper-arm-lateral:left", 4), ("thigh-lateral:right", 4)]
        s = self.screen(engine, marks)
        assert s.verdict == "incomplete"
        assert s.inputs["wpi"] == 7
        assert len(s.inputs["generalized_regions"]) == 5
        assert s.inputs["sss"] is None

    def test_wpi_seven_with_sss_five_for_three_months_is_met(self, engine):
        marks = [*FIVE_REGIONS, ("upper-arm-lateral:left", 4), ("thigh-lateral:right", 4)]
        sss = {"fatigue": 2, "waking_unrefreshed": 2, "cognitive": 1, "headaches": 0, "lower_abdominal": 0, "depression": 0}
        s = self.screen(engine, marks, {"sss": sss, "pain_duration_months": 3})
        assert (s.verdict, s.inputs["wpi"], s.inputs["sss"]) == ("met", 7, 5)

    def test_wpi_six_needs_sss_nine(self, engine):
        marks = [*FIVE_REGIONS, ("upper-arm-lateral:left", 4)]
        eight = {**SSS_NINE, "headaches": 0}
        assert self.screen(engine, marks, {"sss": SSS_NINE, "pain_duration_months": 6}).verdict == "met"
        assert self.screen(engine, marks, {"sss": eight, "pain_duration_months": 6}).verdict == "not met"
