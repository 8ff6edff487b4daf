"""Safety screening rules, one by one, and the red-flag screen coming from the engine's one rule set."""
# ruff: noqa: E501  (the rule table keeps one rule per line)

from __future__ import annotations

import pytest

from knotwork.clients.intake import screening
from knotwork.clients.intake.definition import standard_question_ids
from knotwork.engine import red_flag_questions

# rule id -> (answers that trigger it, expected class, cells it must name, techniques it must forbid)
CASES = {
    "acute-infection": ({"infectious_illness": "yes"}, "refer_out", [], ["deep-pressure", "ischemic-compression"]),
    "anticoagulants": ({"anticoagulants": "yes"}, "precaution", [], ["ischemic-compression", "sustained-pressure"]),
    "clotting-history": ({"clotting_disorder": "yes"}, "precaution", ["calf:left", "calf:right"], ["ischemic-compression"]),
    "cardiovascular": ({"heart_condition": "yes"}, "precaution", [], []),
    "diabetic-neuropathy": ({"diabetes": "yes", "reduced_sensation": "yes"}, "precaution", ["sole:right", "sole:left"], ["ischemic-compression"]),
    "cancer-history": ({"cancer": "yes"}, "precaution", [], []),
    "osteoporosis": ({"osteoporosis": "yes"}, "precaution", ["thoracic-upper:right", "lumbar:left"], ["deep-pressure"]),
    "pregnancy": ({"pregnant": "yes"}, "precaution", ["abdomen-lower:right", "abdomen-lower:left"], ["deep-pressure"]),
    "recent-surgery": ({"recent_surgery": "yes", "surgery_where": ["knee-anterior:right"]}, "precaution", ["knee-anterior:right"], ["deep-pressure"]),
    "recent-fracture": ({"recent_fracture": "yes", "fracture_where": ["forearm-volar:left"]}, "precaution", ["forearm-volar:left"], ["deep-pressure"]),
    "nerve-symptoms": ({"neuro_symptoms": "yes"}, "precaution", [], []),
    "varicose-veins": ({"varicose_veins": "yes", "varicose_where": ["calf:left"]}, "local", ["calf:left"], ["deep-pressure", "ischemic-compression"]),
    "skin-lesion": ({"skin_condition": "yes", "skin_where": ["shin:right"]}, "local", ["shin:right"], ["deep-pressure"]),
    "acute-inflammation": ({"inflamed_area": "yes", "inflamed_where": ["ankle-lateral:left"]}, "local", ["ankle-lateral:left"], ["deep-pressure"]),
}  # fmt: skip


def _rule(rule_id: str) -> screening.Rule:
    return next(r for r in screening.rules() if r.id == rule_id)


class ScreeningRuleTests:
    def test_every_rule_in_the_file_has_a_case_here(self):
        assert {r.id for r in screening.rules()} == set(CASES)

    @pytest.mark.parametrize("rule_id", sorted(CASES))
    def test_the_rule_fires_on_its_answers_with_its_class_regions_and_techniques(self, rule_id):
        answers, flag_class, cells, forbids = CASES[rule_id]
        spec = screening.apply_rule(_rule(rule_id), answers)
        assert spec is not None
        assert spec.flag_class == flag_class
        assert set(cells) <= set(spec.regions)
        assert set(forbids) <= set(spec.forbids)
        assert spec.reason and spec.changes and spec.source

    @pytest.mark.parametrize("rule_id", sorted(CASES))
    def test_the_rule_stays_quiet_when_its_question_is_answered_no(self, rule_id):
        answers = {k: ("no" if v == "yes" else v) for k, v in CASES[rule_id][0].items()}
        assert screening.apply_rule(_rule(rule_id), answers) is None

    def test_diabetes_without_reduced_sensation_raises_no_neuropathy_flag(self):
        assert screening.apply_rule(_rule("diabetic-neuropathy"), {"diabetes": "yes", "reduced_sensation": "no"}) is None

    def test_every_rule_reads_only_questions_the_intake_asks(self):
        asked = standard_question_ids()
        for rule in screening.rules():
            assert set(rule.reads) <= asked, rule.id

    def test_every_technique_id_is_stable_kebab_case(self):
        assert set(screening.techniques()) == {
            "ischemic-compression", "deep-pressure", "sustained-pressure", "myofascial-release", "nerve-entrapment-release",
        }  # fmt: skip

    def test_nothing_is_flagged_when_every_answer_is_no(self):
        answers = dict.fromkeys(standard_question_ids(), "no")
        assert screening.screen(answers) == []


class RedFlagScreenTests:
    def test_the_intake_asks_exactly_the_engines_red_flag_questions(self):
        asked = {q for q in standard_question_ids() if q.startswith("rf-")}
        assert asked == {"rf-" + f.id for f in red_flag_questions()}

    def test_a_yes_to_a_red_flag_raises_a_refer_out_flag_forbidding_every_technique(self):
        specs = screening.screen({"rf-calf-swelling": "yes"})
        assert [s.rule_id for s in specs] == ["red-flag:calf-swelling"]
        assert specs[0].flag_class == "refer_out"
        assert set(specs[0].forbids) == set(screening.techniques())
        assert "same-day" in specs[0].changes

    def test_red_flags_come_before_other_flags(self):
        specs = screening.screen({"anticoagulants": "yes", "rf-thunderclap-headache": "yes"})
        assert [s.rule_id for s in specs] == ["red-flag:thunderclap-headache", "anticoagulants"]

    def test_red_flags_answered_no_raise_nothing(self):
        assert screening.screen({"rf-" + f.id: "no" for f in red_flag_questions()}) == []
