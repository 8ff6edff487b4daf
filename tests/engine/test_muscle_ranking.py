"""Ranking is per muscle: one row each, evidence combined over its trigger points, cover and ranking agree."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from knotwork.atlas.loader import atlas
from knotwork.engine import Engine

from .conftest import drawing

ALL_NO: dict[str, list[str]] = {"red_flags": []}


def essential_union(engine: Engine, muscle: str, side: str) -> list[str]:
    cells: set[str] = set()
    for p in engine.patterns:
        if p.muscle == muscle and p.side == side:
            cells |= p.essential
    return sorted(cells)


class MuscleRowTests:
    def test_a_whole_sternocleidomastoid_drawing_ranks_it_first_as_one_row_of_its_trigger_points(self, shipped_engine):
        cells = essential_union(shipped_engine, "sternocleidomastoid", "right")
        result = shipped_engine.explain({"marks": [{"cell": c, "intensity": 6} for c in cells], "context": ALL_NO})
        top = result.hypotheses[0]
        assert top.muscle == "sternocleidomastoid" and top.explains == 1.0
        assert len(top.trigger_points) >= 2  # its pattern is split over several trigger points

    def test_a_bilateral_band_is_one_row_on_both_sides(self, engine):
        # alpha refers to the temple and the side of the neck; drawn on both sides.
        data = drawing(("temple:right", 6), ("neck-lateral:right", 6), ("temple:left", 6), ("neck-lateral:left", 6), context=ALL_NO)
        top = engine.explain(data).hypotheses[0]
        assert (top.muscle, top.side) == ("alpha", "both")
        assert {(t.trigger_point, t.side) for t in top.trigger_points} == {("alpha-1", "right"), ("alpha-1", "left")}
        assert "on both sides" in top.why and top.why.startswith("Trigger points in")

    def test_two_trigger_points_of_one_muscle_explain_the_drawing_together(self, engine):
        # kappa-upper refers to the heel, kappa-lower to the Achilles.
        top = engine.explain(drawing(("heel:right", 6), ("achilles:right", 6))).hypotheses[0]
        assert top.muscle == "kappa" and top.explains == 1.0
        assert [t.trigger_point for t in top.trigger_points] == ["kappa-upper", "kappa-lower"]

    def test_an_uncommon_referral_does_not_outrank_the_usual_sources(self, shipped_engine):
        sacroiliac = [m.muscle for m in shipped_engine.explain(drawing(("sacroiliac:right", 6), context=ALL_NO)).hypotheses]
        assert sacroiliac.index("quadratus-lumborum") < sacroiliac.index("soleus")
        buttock = drawing(("sacroiliac:right", 6), ("buttock-upper:right", 5), ("buttock-lower:right", 4), context=ALL_NO)
        ranked = [h.muscle for h in shipped_engine.explain(buttock).hypotheses]
        assert ranked[0] == "gluteus-maximus" and ranked.index("gluteus-maximus") < ranked.index("soleus")

    def test_a_large_pattern_is_not_penalised_for_unmarked_spillover(self, shipped_engine):
        # The whole essential zone of gluteus minimus (front fibres), none of its spillover.
        cells = sorted(
            next(p for p in shipped_engine.patterns if p.trigger_point == "gluteus-minimus-anterior" and p.side == "right").essential
        )
        top = shipped_engine.explain({"marks": [{"cell": c, "intensity": 6} for c in cells], "context": ALL_NO}).hypotheses[0]
        assert (top.muscle, round(top.score)) == ("gluteus-minimus", 100)


class AgreementTests:
    @settings(max_examples=60, deadline=None)
    @given(st.randoms(use_true_random=False), st.integers(1, 20))
    def test_each_muscle_appears_once_and_the_cover_starts_with_the_first_muscle(self, shipped_engine, rnd: random.Random, size: int):
        cells = rnd.sample(sorted(shipped_engine.cells), size)
        result = shipped_engine.explain(
            {"marks": [{"cell": c, "intensity": rnd.randint(1, 10)} for c in cells], "context": ALL_NO}, top=None
        )
        muscles = [h.muscle for h in result.hypotheses]
        assert len(muscles) == len(set(muscles))
        if result.hypotheses:
            first, step = result.hypotheses[0], result.cover[0]
            assert (step.muscle, step.trigger_point, step.side) == (first.muscle, first.trigger_point, first.side)
            assert [s.muscle for s in result.cover] == [m for m in muscles if m in {s.muscle for s in result.cover}]
        scores = [h.score for h in result.hypotheses]
        assert scores == sorted(scores, reverse=True)


class AtlasDetailTests:
    """The three details checked against the Trigger Point Manual; the muscle notes cite the source."""

    def test_gluteus_medius_does_not_refer_to_the_opposite_low_back(self):
        tp = next(t for t in atlas().muscle_by_id["gluteus-medius"].trigger_points if t.id == "gluteus-medius-3")
        assert all(str(z.laterality) != "contralateral" for z in (*tp.essential, *tp.spillover))

    def test_the_shoulder_top_is_where_upper_trapezius_lies_not_where_it_refers(self):
        for tp in atlas().muscle_by_id["upper-trapezius"].trigger_points:
            assert "shoulder-top" not in {z.region for z in tp.essential}, tp.id

    def test_the_low_back_band_of_the_lower_rectus_abdominis_is_essential_on_both_sides(self):
        tps = atlas().muscle_by_id["rectus-abdominis"].trigger_points
        assert any(z.region == "lumbar" and str(z.laterality) == "bilateral" for tp in tps for z in tp.essential)
