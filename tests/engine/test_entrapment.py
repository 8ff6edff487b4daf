"""Nerve entrapment: a numb, tingling or burning mark in the skin territory of a nerve a muscle can
entrap counts for that muscle like a spillover mark (docs/engine.md, "Nerve entrapment")."""

from __future__ import annotations

import pytest

from knotwork.atlas.loader import AtlasDataError
from knotwork.engine import Engine
from knotwork.engine.core import _NERVE

from .conftest import muscle, tp, write_atlas


def mark(cell: str, intensity: int, quality: str | None = None) -> dict[str, object]:
    return {"cell": cell, "intensity": intensity, **({"quality": quality} if quality else {})}


def entrapping(tp_row: dict[str, object], nerve: str, regions: list[str]) -> dict[str, object]:
    tp_row["entrapments"] = [{"nerve": nerve, "feels": "Tingling in the nerve's skin area", "regions": regions}]
    return tp_row


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root = tmp_path_factory.mktemp("atlas")
    return Engine(
        write_atlas(
            root,
            [
                # Refers to the volar wrist and can entrap a nerve whose skin area is the thumb,
                # the radial fingers and the palm (the palm is also its own spillover zone).
                muscle(
                    "squeezer",
                    entrapping(
                        tp("squeezer-1", "elbow-anterior", ["wrist-volar"], ["palm"]),
                        "Test nerve (between the heads)",
                        ["thumb", "fingers-radial", "palm"],
                    ),
                ),
                # Refers to the thumb itself.
                muscle("thumb-referrer", tp("thumb-referrer-1", "palm", ["thumb"])),
            ],
        )
    )


class NerveTerritoryTests:
    def test_a_tingling_mark_in_the_territory_counts_for_the_entrapping_muscle(self, small):
        result = small.explain({"marks": [mark("wrist-volar:right", 4), mark("thumb:right", 6, "tingling")]}, top=None)
        row = next(h for h in result.hypotheses if h.muscle == "squeezer")
        assert row.nerve_hits == ("thumb:right",)
        assert row.spillover_hits == ()
        assert row.explains == 1.0
        assert "test nerve" in row.why and "right thumb" in row.why

    def test_an_aching_mark_there_does_not_count(self, small):
        result = small.explain({"marks": [mark("wrist-volar:right", 4), mark("thumb:right", 6, "aching")]}, top=None)
        row = next(h for h in result.hypotheses if h.muscle == "squeezer")
        assert row.nerve_hits == ()
        assert row.unexplained == ("thumb:right",)
        assert row.explains == pytest.approx(0.4)

    def test_the_nerve_raises_the_score_as_a_spillover_mark_would(self, small):
        plain = small.explain({"marks": [mark("wrist-volar:right", 4), mark("thumb:right", 6)]}, top=None)
        numb = small.explain({"marks": [mark("wrist-volar:right", 4), mark("thumb:right", 6, "numbness")]}, top=None)
        score = {h.muscle: h.score for h in plain.hypotheses}
        numb_score = {h.muscle: h.score for h in numb.hypotheses}
        assert numb_score["squeezer"] > score["squeezer"]
        assert numb_score["thumb-referrer"] == pytest.approx(score["thumb-referrer"])  # its own zone: unchanged

    def test_the_territory_never_counts_where_the_muscle_already_refers(self, small):
        # The palm is squeezer's spillover zone: a tingling palm is counted once, as spillover.
        result = small.explain({"marks": [mark("wrist-volar:right", 4), mark("palm:right", 5, "tingling")]}, top=None)
        row = next(h for h in result.hypotheses if h.muscle == "squeezer")
        assert row.spillover_hits == ("palm:right",)
        assert row.nerve_hits == ()
        pattern = next(p for p in small.patterns if p.muscle == "squeezer" and p.side == "right")
        assert pattern.nerve == {"thumb:right" + _NERVE, "fingers-radial:right" + _NERVE}

    def test_each_side_has_its_own_territory(self, small):
        right = next(p for p in small.patterns if p.muscle == "squeezer" and p.side == "right")
        left = next(p for p in small.patterns if p.muscle == "squeezer" and p.side == "left")
        assert all(c.endswith(":right" + _NERVE) for c in right.nerve)
        assert all(c.endswith(":left" + _NERVE) for c in left.nerve)
        # A right wrist ache with a tingling left thumb needs the muscle on both sides.
        result = small.explain({"marks": [mark("wrist-volar:right", 4), mark("thumb:left", 6, "tingling")]}, top=None)
        row = next(h for h in result.hypotheses if h.muscle == "squeezer")
        assert row.side == "both" and row.nerve_hits == ("thumb:left",)

    def test_a_mark_explained_two_ways_is_explained_once_in_the_cover(self, small):
        drawing = {"marks": [mark("thumb:right", 6, "tingling"), mark("wrist-volar:right", 2)]}
        result = small.explain(drawing, top=None)
        added = [c for step in result.cover for c in step.adds]
        assert sorted(added) == ["thumb:right", "wrist-volar:right"]
        assert result.cover[-1].cumulative == 1.0

    def test_a_mark_only_in_a_territory_still_gives_the_muscle_a_sentence(self, small):
        result = small.explain({"marks": [mark("fingers-radial:right", 5, "burning")]}, top=None)
        (row,) = result.hypotheses
        assert row.muscle == "squeezer" and row.nerve_hits == ("fingers-radial:right",)
        assert row.why.startswith("A trigger point in the right squeezer: when tight, the muscle can press on the test nerve")

    def test_a_cell_marked_twice_is_still_refused(self, small):
        from knotwork.engine import DrawingError
        from knotwork.engine.model import Mark, PainDrawing

        twice = PainDrawing(marks=(Mark("thumb:right", 5, "tingling"), Mark("thumb:right", 6, "tingling")))
        with pytest.raises(DrawingError, match="marked twice"):
            small.explain(twice)

    def test_an_unknown_region_in_a_territory_is_refused_when_the_atlas_loads(self, tmp_path):
        bad = muscle("bad", entrapping(tp("bad-1", "calf", ["heel"]), "Made-up nerve", ["not-a-region"]))
        with pytest.raises(AtlasDataError, match="entrapment names unknown region 'not-a-region'"):
            write_atlas(tmp_path, [bad])


class ShippedAtlasTests:
    def test_a_carpal_tunnel_like_drawing_puts_the_median_nerve_entrapper_first(self, shipped_engine):
        # Tingling thumb, index-middle and palm with a volar wrist ache: pronator teres can entrap
        # the median nerve (pronator syndrome), whose skin area this is.
        drawing = {
            "marks": [
                mark("thumb:right", 5, "tingling"),
                mark("fingers-radial:right", 6, "tingling"),
                mark("palm:right", 4, "tingling"),
                mark("wrist-volar:right", 4),
            ]
        }
        first = shipped_engine.explain(drawing).hypotheses[0]
        assert first.muscle == "pronator-teres"
        assert set(first.nerve_hits) == {"thumb:right", "fingers-radial:right", "palm:right"}
        assert "median nerve" in first.why

    def test_no_nerve_territory_overlaps_its_own_muscles_zones(self, shipped_engine):
        zones: dict[str, set[str]] = {}
        for p in shipped_engine.patterns:
            zones.setdefault(p.muscle, set()).update(p.essential | p.spillover)
        for p in shipped_engine.patterns:
            assert not {c.removesuffix(_NERVE) for c in p.nerve} & zones[p.muscle], p.trigger_point

    def test_motor_nerves_and_veins_have_no_skin_territory(self, shipped_engine):
        names = {n for p in shipped_engine.patterns for n in p.nerves}
        assert any(n.startswith("Median nerve") for n in names)
        assert not any(n.startswith(("Deep radial nerve", "Subclavian vein", "Superior and inferior gluteal")) for n in names)
