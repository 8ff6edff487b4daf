from __future__ import annotations

import pytest

from knotwork.engine import RedFlagError, evaluate_red_flags, red_flag_questions, red_flag_rules_version
from knotwork.engine.red_flags import URGENCIES

from .conftest import drawing

REQUIRED = {
    "saddle-numbness",
    "bladder-bowel-change",
    "progressive-weakness",
    "fever-with-back-pain",
    "thunderclap-headache",
    "unexplained-weight-loss",
    "calf-swelling",
    "cancer-night-pain",
    "chest-pain-breathless",
    "recent-trauma",
}


class RedFlagRuleSetTests:
    def test_it_covers_the_well_established_red_flags(self):
        assert {f.id for f in red_flag_questions()} >= REQUIRED

    def test_every_question_has_an_id_a_plain_question_an_urgency_and_an_action(self):
        for f in red_flag_questions():
            assert f.id and f.question.endswith("?") and f.action and f.concern
            assert f.urgency in URGENCIES

    def test_ids_are_unique(self):
        ids = [f.id for f in red_flag_questions()]
        assert len(ids) == len(set(ids))

    def test_the_rule_set_has_a_stable_version(self):
        assert red_flag_rules_version() == red_flag_rules_version()
        assert len(red_flag_rules_version()) == 12


class EvaluateRedFlagsTests:
    def test_no_answers_means_not_asked(self):
        screen = evaluate_red_flags(None)
        assert screen.verdict == "not asked"
        assert len(screen.details["unanswered"]) == len(red_flag_questions())

    def test_an_empty_mapping_means_not_asked(self):
        assert evaluate_red_flags({}).verdict == "not asked"

    def test_an_empty_list_of_yes_answers_means_all_were_answered_no(self):
        assert evaluate_red_flags([]).verdict == "clear"

    def test_all_no_is_clear(self):
        assert evaluate_red_flags({f.id: False for f in red_flag_questions()}).verdict == "clear"

    @pytest.mark.parametrize("flag", sorted(REQUIRED))
    def test_any_single_yes_means_refer_out(self, flag):
        screen = evaluate_red_flags([flag])
        assert screen.verdict == "refer out"
        assert [p["id"] for p in screen.details["positive"]] == [flag]

    def test_the_most_urgent_positive_sets_the_urgency(self):
        screen = evaluate_red_flags(["unexplained-weight-loss", "saddle-numbness"])
        assert screen.details["urgency"] == "emergency"
        assert evaluate_red_flags(["unexplained-weight-loss"]).details["urgency"] == "before-treatment"

    def test_a_partial_set_of_no_answers_is_incomplete(self):
        screen = evaluate_red_flags({"saddle-numbness": False})
        assert screen.verdict == "incomplete"
        assert "saddle-numbness" not in screen.details["unanswered"]

    def test_a_yes_wins_even_when_other_questions_are_unanswered(self):
        assert evaluate_red_flags({"calf-swelling": True}).verdict == "refer out"

    @pytest.mark.parametrize("answers", [["haunted"], {"haunted": True}, {"calf-swelling": "yes"}, "calf-swelling"])
    def test_unknown_ids_and_non_yes_no_answers_are_rejected(self, answers):
        with pytest.raises(RedFlagError):
            evaluate_red_flags(answers)

    def test_the_screen_reports_its_inputs_and_rule(self):
        screen = evaluate_red_flags(["calf-swelling"])
        assert screen.inputs["answers"]["calf-swelling"] is True
        assert "do not treat today" in screen.rule


class RedFlagsInExplainTests:
    def test_every_result_carries_the_red_flag_screen_first(self, engine):
        for data in ({"marks": []}, drawing(("temple:right", 4)), drawing(("big-toe:left", 2))):
            assert engine.explain(data).screens[0].id == "red-flags"

    def test_a_marked_calf_makes_the_clot_question_pressing_when_not_asked(self, engine):
        screen = engine.explain(drawing(("calf:left", 6))).screen("red-flags")
        assert screen.verdict == "not asked"
        assert "calf-swelling" in screen.details["ask_first"]

    def test_low_back_marks_make_the_cauda_equina_questions_pressing(self, engine):
        ask = engine.explain(drawing(("lumbar:right", 6))).screen("red-flags").details["ask_first"]
        assert {"saddle-numbness", "bladder-bowel-change"} <= set(ask)

    def test_the_over_fifty_headache_question_is_pressing_only_when_the_client_may_be_over_fifty(self, engine):
        def ask(age):
            context = {"age": age} if age is not None else None
            return engine.explain(drawing(("temple:left", 5), context=context)).screen("red-flags").details["ask_first"]

        assert "new-headache-over-50" in ask(None)
        assert "new-headache-over-50" in ask(50)
        assert "new-headache-over-50" not in ask(49)

    def test_answers_in_the_drawing_context_are_applied(self, engine):
        result = engine.explain(drawing(("calf:left", 6), context={"red_flags": ["calf-swelling"]}))
        assert result.screen("red-flags").verdict == "refer out"
        # The ranking is still shown, beside the verdict, so the therapist sees both.
        assert result.screens[0].verdict == "refer out"
