from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knotwork.engine import EMPTY_MESSAGE, NOTHING_MESSAGE, Engine, scoring

from .conftest import drawing


def ranking(engine: Engine, data) -> list[tuple[str, str]]:
    return [(h.trigger_point, h.side) for h in engine.explain(data, top=None).hypotheses]


def first(engine: Engine, data) -> tuple[str, str]:
    return ranking(engine, data)[0]


class ScoringTests:
    def test_the_pattern_that_covers_the_whole_drawing_ranks_first(self, engine):
        assert first(engine, drawing(("temple:right", 7), ("neck-lateral:right", 5))) == ("alpha-1", "right")

    @given(low=st.integers(1, 9), more=st.integers(1, 9))
    def test_covering_more_painted_intensity_ranks_higher(self, engine, low, more):
        # beta's essential zone is the temple, gamma's the jaw; the temple is marked stronger.
        high = min(low + more, 10)
        data = drawing(("temple:left", high), ("jaw:left", low))
        ranked = ranking(engine, data)
        assert ranked.index(("beta-1", "left")) < ranked.index(("gamma-1", "left"))

    def test_an_essential_hit_beats_a_spillover_hit(self, engine):
        # The jaw is gamma's essential zone and beta's spillover zone.
        ranked = ranking(engine, drawing(("jaw:right", 6)))
        assert ranked.index(("gamma-1", "right")) < ranked.index(("beta-1", "right"))

    def test_a_pattern_that_predicts_much_unmarked_pain_ranks_lower(self, engine):
        # beta and omega both have the temple in their essential zone; omega also predicts five other places.
        ranked = ranking(engine, drawing(("temple:right", 6)))
        assert ranked.index(("beta-1", "right")) < ranked.index(("omega-1", "right"))

    def test_a_right_sided_drawing_implicates_right_sided_trigger_points(self, engine):
        result = engine.explain(drawing(("temple:right", 7), ("neck-lateral:right", 5)), top=None)
        assert {h.side for h in result.hypotheses} == {"right"}

    def test_a_left_sided_drawing_mirrors_the_ranking(self, engine):
        right = ranking(engine, drawing(("temple:right", 7), ("jaw:right", 3)))
        left = ranking(engine, drawing(("temple:left", 7), ("jaw:left", 3)))
        assert [tp for tp, _ in right] == [tp for tp, _ in left]
        assert {s for _, s in left} == {"left"}

    def test_a_contralateral_zone_of_a_right_point_lands_on_left_cells(self, engine):
        result = engine.explain(drawing(("buttock-upper:left", 6)), top=None)
        delta = [h for h in result.hypotheses if h.trigger_point == "delta-1"]
        assert [(h.side, h.essential_hits) for h in delta] == [("right", ("buttock-upper:left",))]

    def test_a_bilateral_zone_lands_on_both_sides(self, engine):
        # Both legs marked prompts the cauda equina questions; answered "no", the muscles show.
        data = drawing(("thigh-posterior:left", 4), ("thigh-posterior:right", 4), context={"red_flags": []})
        result = engine.explain(data, top=None)
        (delta,) = [h for h in result.hypotheses if h.muscle == "delta"]
        # One pattern explains both cells, so the row needs no second side.
        assert delta.side == "right"
        assert set(delta.spillover_hits) == {"thigh-posterior:left", "thigh-posterior:right"}

    def test_a_midline_cell_is_explained_by_one_row_for_the_muscle(self, engine):
        result = engine.explain(drawing(("sacrum", 5)), top=None)
        assert [(h.muscle, h.trigger_point, h.side) for h in result.hypotheses] == [("delta", "delta-1", "right")]

    def test_a_point_on_the_midline_refers_its_paired_zones_to_both_sides(self, engine):
        result = engine.explain(drawing(("thigh-medial:left", 4), ("thigh-medial:right", 4), ("coccyx", 6)))
        top = result.hypotheses[0]
        assert (top.trigger_point, top.side) == ("epsilon-1", "midline")
        assert top.explains == 1.0

    def test_an_empty_drawing_gives_an_empty_result_with_a_clear_message(self, engine):
        result = engine.explain({"marks": []})
        assert result.hypotheses == () and result.cover == ()
        assert result.message == EMPTY_MESSAGE
        assert result.to_dict()["message"] == EMPTY_MESSAGE
        assert result.screens[0].id == "red-flags"

    def test_a_drawing_nothing_in_the_atlas_explains_says_so(self, engine):
        result = engine.explain(drawing(("big-toe:left", 5)))
        assert result.hypotheses == () and result.message == NOTHING_MESSAGE

    def test_a_reported_symptom_the_point_is_known_for_lifts_its_score(self, engine):
        asked = {"red_flags": []}
        plain = engine.explain(drawing(("temple:right", 6), context=asked), top=None).hypotheses
        dizzy = engine.explain(drawing(("temple:right", 6), symptoms=["dizziness"], context=asked), top=None).hypotheses
        score = {h.trigger_point: h.score for h in plain if h.side == "right"}
        lifted = {h.trigger_point: h.score for h in dizzy if h.side == "right"}
        assert lifted["alpha-1"] > score["alpha-1"]
        assert lifted["beta-1"] == score["beta-1"]

    def test_an_assessment_that_implicates_a_muscle_lifts_it_and_says_why(self, engine):
        data = drawing(("temple:right", 6), context={"implicated_muscles": {"omega": "tender band on palpation"}})
        hyp = {h.trigger_point: h for h in engine.explain(data, top=None).hypotheses if h.side == "right"}
        plain = {h.trigger_point: h for h in engine.explain(drawing(("temple:right", 6)), top=None).hypotheses}
        assert hyp["omega-1"].score > plain["omega-1"].score
        assert "tender band on palpation" in hyp["omega-1"].why

    def test_equal_scores_are_ordered_by_evidence_then_ids(self, engine):
        ranked = ranking(engine, drawing(("palm:right", 5)))
        assert ranked == [("eta-1", "right"), ("zeta-1", "right")]

    @settings(max_examples=50)
    @given(st.randoms(use_true_random=False))
    def test_the_order_of_the_marks_does_not_change_the_result(self, engine, rnd: random.Random):
        marks = [("temple:right", 7), ("jaw:right", 3), ("sacrum", 4), ("thigh-posterior:left", 2), ("palm:left", 6)]
        shuffled = marks[:]
        rnd.shuffle(shuffled)
        a = engine.explain(drawing(*marks), top=None)
        b = engine.explain(drawing(*shuffled), top=None)
        assert [(h.trigger_point, h.side, h.score) for h in a.hypotheses] == [(h.trigger_point, h.side, h.score) for h in b.hypotheses]

    def test_the_same_drawing_always_gives_the_same_output(self, engine):
        data = drawing(("temple:right", 7), ("jaw:right", 3), ("sacrum", 4))
        assert json.dumps(engine.explain(data).to_dict()) == json.dumps(engine.explain(data).to_dict())

    def test_the_why_sentence_uses_plain_region_names_and_the_side(self, engine):
        top = engine.explain(drawing(("temple:right", 7), ("neck-lateral:right", 7))).hypotheses[0]
        assert top.why == (
            "A trigger point in the right alpha commonly refers pain to the right temple and side of the neck, which you marked at 7/10."
        )

    def test_the_why_sentence_mentions_spillover_as_occasional(self, engine):
        hyp = {h.trigger_point: h for h in engine.explain(drawing(("jaw:left", 5)), top=None).hypotheses}
        assert "sometimes refers pain to the left jaw" in hyp["beta-1"].why

    def test_no_hypothesis_ever_speaks_of_a_diagnosis(self, engine):
        result = engine.explain(drawing(("temple:right", 7), ("jaw:left", 3), ("sacrum", 4)), top=None)
        assert all("diagnos" not in h.why.lower() for h in result.hypotheses)

    def test_each_hypothesis_lists_the_marked_cells_it_leaves_unexplained(self, engine):
        hyp = engine.explain(drawing(("palm:right", 5), ("heel:right", 5)), top=None).hypotheses
        eta = next(h for h in hyp if h.trigger_point == "eta-1")
        assert eta.unexplained == ("heel:right",)
        assert eta.explains == 0.5

    def test_top_limits_the_hypotheses_but_not_the_cover(self, engine):
        data = drawing(("palm:right", 5), ("heel:right", 5))
        result = engine.explain(data, top=1)
        assert len(result.hypotheses) == 1
        assert {c.trigger_point for c in result.cover} >= {"kappa-upper"}

    def test_the_output_has_exactly_the_contract_shape(self, engine):
        out = engine.explain(drawing(("temple:right", 7))).to_dict()
        assert list(out)[:2] == ["triage", "pattern"]  # what every surface shows first
        assert set(out) == {"triage", "pattern", "hypotheses", "cover", "screens", "atlas_version"}
        assert set(out["triage"]) == {"level", "headline", "actions", "positive", "ask_first", "withheld", "cleared"}
        assert set(out["hypotheses"][0]) == {
            "muscle",
            "trigger_point",
            "side",
            "score",
            "essential_hits",
            "spillover_hits",
            "explains",
            "unexplained",
            "why",
            "trigger_points",
            "nerve_hits",
        }
        assert set(out["screens"][0]) == {"id", "title", "verdict", "rule", "inputs", "details"}
        json.dumps(out)  # JSON-able as it is

    def test_a_pattern_that_is_exactly_the_drawing_scores_one_hundred(self):
        s = scoring.score(essential_intensity=12, spillover_intensity=0, spillover_cells=0, essential_size=2, intensities=[6, 6])
        assert round(s, 9) == 100.0

    def test_the_score_is_the_cosine_between_the_drawing_and_the_prediction(self):
        # Essential cells at 6 and 2, one marked spillover cell at 4, one essential cell unmarked:
        # prediction (1, 1, 0.5, 1) against drawing (6, 2, 4, 0).
        s = scoring.score(essential_intensity=8, spillover_intensity=4, spillover_cells=1, essential_size=3, intensities=[6, 2, 4])
        expected = (6 + 2 + 0.5 * 4) / ((1 + 1 + 0.25 + 1) ** 0.5 * (36 + 4 + 16) ** 0.5)
        assert round(s, 9) == round(100 * expected, 9)

    def test_the_ranking_scores_agree_with_the_formula(self, engine):
        data = drawing(("temple:right", 7), ("jaw:right", 3), ("orbit:right", 2), context={"red_flags": []})
        beta = next(h for h in engine.explain(data, top=None).hypotheses if h.muscle == "beta")
        # beta: temple essential (7), jaw spillover (3); the orbit is outside its zones.
        assert beta.score == pytest.approx(
            scoring.score(essential_intensity=7, spillover_intensity=3, spillover_cells=1, essential_size=1, intensities=[7, 3, 2])
        )

    def test_drawn_strongest_where_the_pattern_is_essential_fits_better_than_the_reverse(self, engine):
        # beta: temple essential, jaw spillover; gamma: jaw essential, temple spillover.
        temple_strong = ranking(engine, drawing(("temple:right", 8), ("jaw:right", 3)))
        jaw_strong = ranking(engine, drawing(("temple:right", 3), ("jaw:right", 8)))
        assert temple_strong.index(("beta-1", "right")) < temple_strong.index(("gamma-1", "right"))
        assert jaw_strong.index(("gamma-1", "right")) < jaw_strong.index(("beta-1", "right"))

    def test_raw_contract_data_and_a_parsed_drawing_give_the_same_result(self, engine):
        data = drawing(("temple:right", 7), ("jaw:right", 3))
        assert engine.explain(data).to_dict() == engine.explain(engine.parse(data)).to_dict()
