"""Safety first: red flags for the whole body, one symptom vocabulary, emergencies ahead of muscles.

These run on the shipped atlas and rules, because what they guard is the shipped clinical content.
"""

from __future__ import annotations

import pytest

from knotwork.atlas.loader import atlas
from knotwork.engine import ALARM_SYMPTOMS, Engine, red_flag_questions
from knotwork.engine.conditions import Condition
from knotwork.engine.lookalikes import lookalike_rules
from knotwork.engine.red_flags import URGENCIES

from .conftest import drawing

ALL_NO: dict[str, list[str]] = {"red_flags": []}
HEART = (("chest-upper:left", 7, "pressure"), ("sternum", 6), ("upper-arm-medial:left", 5))


def explain(engine: Engine, *marks, symptoms=None, context=None, top=10):
    return engine.explain(drawing(*marks, symptoms=symptoms, context=context), top=top)


def scores(result) -> dict[str, float]:
    return {h.muscle: h.score for h in result.hypotheses}


class RedFlagCoverageTests:
    def test_the_rule_set_covers_abdominal_urinary_pelvic_vascular_and_neck_emergencies(self):
        ids = {f.id for f in red_flag_questions()}
        assert {
            "appendicitis",
            "abdominal-aortic-aneurysm",
            "kidney-infection",
            "pregnancy-pain",
            "testicular-pain",
            "urinary-retention",
            "severe-abdominal-pain",
            "cervical-artery",
            "cervical-myelopathy",
            "unexplained-weight-loss",
            "cancer-night-pain",
        } <= ids

    def test_every_flag_cites_its_source_and_has_an_urgency(self):
        for f in red_flag_questions():
            assert f.source and f.urgency in URGENCIES, f.id

    def test_every_region_symptom_and_cell_the_rules_name_exists_in_the_atlas(self):
        a = atlas()
        regions, cells, symptoms = {r.id for r in a.regions}, set(a.cells()), {s.id for s in a.symptoms}

        def check(c: Condition, where: str) -> None:
            assert c.regions <= regions and c.also_regions <= regions, where
            assert c.cells <= cells, where
            assert (c.symptoms | c.all_symptoms) <= symptoms, where

        for f in red_flag_questions():
            for c in (*f.ask_when, *f.mention_when, *f.reported_when):
                check(c, f.id)
        for rule in lookalike_rules().screens:
            for c in (*rule.applies_when, *rule.refer_when):
                check(c, rule.id)
            for cand in rule.candidates:
                assert set(cand.muscles) <= set(a.muscle_by_id), rule.id

    def test_alarm_symptoms_are_symptoms_the_atlas_knows(self):
        assert {s.id for s in atlas().symptoms} >= ALARM_SYMPTOMS


class AbdomenTests:
    def test_a_right_lower_quadrant_drawing_asks_the_appendicitis_question_before_any_muscle(self, shipped_engine):
        result = explain(shipped_engine, ("abdomen-lower:right", 7))
        assert result.triage.level == "ask-first"
        assert "appendicitis" in result.triage.ask_first
        assert result.hypotheses == () and result.withheld > 0
        # Answered "no", the abdominal wall muscles come back.
        answered = explain(shipped_engine, ("abdomen-lower:right", 7), context=ALL_NO)
        assert answered.triage.level == "clear"
        assert "rectus-abdominis" in [h.muscle for h in answered.hypotheses[:3]]

    def test_right_lower_quadrant_pain_with_fever_is_an_emergency(self, shipped_engine):
        result = explain(shipped_engine, ("abdomen-lower:right", 7), symptoms=["fever"])
        assert result.triage.level == "emergency" and "appendicitis" in result.triage.positive

    @pytest.mark.parametrize(
        ("marks", "context", "flag"),
        [
            ((("flank:left", 6),), None, "kidney-infection"),
            ((("suprapubic", 6),), None, "urinary-retention"),
            ((("groin:right", 6),), {"sex": "male"}, "testicular-pain"),
            ((("abdomen-lower:left", 6),), {"sex": "female"}, "pregnancy-pain"),
            ((("abdomen-upper:left", 5),), {"age": 67}, "abdominal-aortic-aneurysm"),
        ],
    )
    def test_flank_suprapubic_groin_and_belly_drawings_ask_their_questions(self, shipped_engine, marks, context, flag):
        assert flag in explain(shipped_engine, *marks, context=context).triage.ask_first

    def test_the_groin_question_is_not_put_to_someone_it_cannot_concern(self, shipped_engine):
        assert "testicular-pain" not in explain(shipped_engine, ("groin:right", 6), context={"sex": "female"}).triage.ask_first
        assert "pregnancy-pain" not in explain(shipped_engine, ("groin:right", 6), context={"sex": "male"}).triage.ask_first

    def test_flank_pain_with_fever_reports_a_kidney_infection_same_day(self, shipped_engine):
        result = explain(shipped_engine, ("flank:right", 6), symptoms=["fever"], context=ALL_NO)
        assert result.triage.level == "same-day" and result.triage.positive == ("kidney-infection",)
        assert result.hypotheses == ()


class HeartTests:
    def test_chest_pain_into_the_left_arm_with_heavy_quality_and_breathlessness_is_an_emergency_first(self, shipped_engine):
        result = explain(shipped_engine, *HEART, symptoms=["heart-like-pain", "shortness-of-breath"])
        assert result.triage.level == "emergency"
        assert result.triage.headline.startswith("Emergency: refer now.")
        assert "chest-pain-breathless" in result.triage.positive
        assert result.hypotheses == () and result.cover == ()
        assert list(result.to_dict())[0] == "triage"

    def test_no_look_alike_screen_offers_a_muscle_beside_an_emergency(self, shipped_engine):
        result = explain(shipped_engine, *HEART, symptoms=["heart-like-pain"])
        chest = result.screen("lookalike-chest-wall")
        assert chest.details["withheld"] > 0
        assert {c["kind"] for c in chest.details["candidates"]} and "trigger point" not in {c["kind"] for c in chest.details["candidates"]}
        assert "heart" in {c["id"] for c in chest.details["candidates"]} or any("Heart" in c["name"] for c in chest.details["candidates"])

    def test_heart_like_symptoms_never_change_a_muscle_score_or_its_explanation(self, shipped_engine):
        cleared = {"medical_clearance": True}
        plain = explain(shipped_engine, *HEART, context=cleared)
        alarmed = explain(shipped_engine, *HEART, symptoms=["heart-like-pain", "shortness-of-breath", "sweating"], context=cleared)
        assert scores(alarmed)["pectoralis-major"] == scores(plain)["pectoralis-major"]
        for h in alarmed.hypotheses:
            assert "heart" not in h.why.lower() and "breath" not in h.why.lower(), h.why

    def test_an_emergency_answered_yes_withholds_every_muscle_until_clearance(self, shipped_engine):
        result = explain(shipped_engine, ("temple:right", 6), ("neck-lateral:right", 4), context={"red_flags": ["thunderclap-headache"]})
        assert result.triage.level == "emergency" and result.triage.withheld
        assert result.hypotheses == () and result.withheld >= 5
        cleared = explain(
            shipped_engine,
            ("temple:right", 6),
            ("neck-lateral:right", 4),
            context={"red_flags": ["thunderclap-headache"], "medical_clearance": True},
        )
        assert cleared.triage.level == "emergency" and cleared.triage.cleared and not cleared.triage.withheld
        assert cleared.hypotheses and "clearance has been recorded" in cleared.triage.headline

    def test_a_routine_referral_shows_beside_the_ranking(self, shipped_engine):
        result = explain(shipped_engine, ("lumbar:right", 6), context={"red_flags": ["unexplained-weight-loss"]})
        assert result.triage.level == "before-treatment" and not result.triage.withheld
        assert result.hypotheses


class OneVocabularyTests:
    def test_numbness_painted_on_the_map_prompts_the_neurological_questions(self, shipped_engine):
        painted = explain(shipped_engine, ("thigh-lateral:right", 5, "numbness"), ("leg-lateral:right", 4, "numbness"))
        ticked = explain(shipped_engine, ("thigh-lateral:right", 5), ("leg-lateral:right", 4), symptoms=["numbness"])
        assert "progressive-weakness" in painted.triage.ask_first
        assert painted.triage.ask_first == ticked.triage.ask_first

    def test_a_numb_face_is_a_stroke_question_before_anything_else(self, shipped_engine):
        result = explain(shipped_engine, ("cheek:left", 5, "numbness"))
        assert result.triage.level == "ask-first" and "stroke-signs" in result.triage.ask_first

    def test_numbness_painted_on_the_saddle_area_reports_cauda_equina_compression(self, shipped_engine):
        result = explain(shipped_engine, ("perineum", 4, "numbness"), ("lumbar:right", 6), context=ALL_NO)
        assert result.triage.level == "emergency" and "saddle-numbness" in result.triage.positive

    def test_back_pain_with_fever_reports_the_infection_flag(self, shipped_engine):
        result = explain(shipped_engine, ("thoracic-lower:left", 6), symptoms=["fever"], context=ALL_NO)
        assert result.triage.level == "same-day" and "fever-with-back-pain" in result.triage.positive

    def test_a_quality_alias_is_stored_as_the_canonical_quality(self, shipped_engine):
        parsed = shipped_engine.parse(drawing(("sternum", 5, "heavy")))
        assert parsed.marks[0].quality == "pressure"

    def test_alarm_symptoms_never_count_as_support_for_any_muscle(self, shipped_engine):
        # Nausea is an atlas symptom of abdominal wall trigger points, and an appendicitis feature.
        base = explain(shipped_engine, ("abdomen-upper:left", 6), context={**ALL_NO, "medical_clearance": True})
        sick = explain(shipped_engine, ("abdomen-upper:left", 6), symptoms=["nausea"], context={**ALL_NO, "medical_clearance": True})
        assert scores(base) == scores(sick)


class WidespreadTests:
    WIDESPREAD = (
        ("neck-posterior-lower:right", 6),
        ("shoulder-top:left", 5),
        ("upper-arm-lateral:right", 5),
        ("forearm-dorsal:left", 4),
        ("thoracic-upper:right", 5),
        ("lumbar:left", 6),
        ("hip-lateral:right", 5),
        ("thigh-anterior:left", 4),
        ("calf:right", 4),
    )

    def test_widespread_pain_leads_with_that_statement_and_the_fibromyalgia_screen(self, shipped_engine):
        result = explain(shipped_engine, *self.WIDESPREAD, context=ALL_NO)
        assert result.pattern.lead == "widespread" and result.pattern.wpi >= 7
        assert "a few trigger points do not explain this" in result.pattern.statement
        assert result.screens[1].id == "fibromyalgia-acr-2016"
        assert result.hypotheses  # still there, as secondary

    def test_a_focal_drawing_leads_with_the_muscles(self, shipped_engine):
        result = explain(shipped_engine, ("temple:right", 7), ("neck-lateral:right", 5), context=ALL_NO)
        assert result.pattern.lead == "muscles" and result.pattern.statement is None
