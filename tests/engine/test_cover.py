from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from knotwork.engine import Engine
from knotwork.engine.cover import CoverCandidate, greedy_cover

from .conftest import drawing


def coverable(engine: Engine, data) -> int:
    d = engine.parse(data)
    return sum(m.intensity for m in d.marks if m.cell in engine.postings)


class GreedyCoverTests:
    def test_it_stops_as_soon_as_ninety_percent_is_explained(self):
        cands = [
            CoverCandidate(0, frozenset({"a"}), frozenset()),
            CoverCandidate(1, frozenset({"b"}), frozenset()),
        ]
        steps = greedy_cover({"a": 9, "b": 1}, cands)
        assert [c.key for c, _, _ in steps] == [0]

    def test_exactly_ninety_percent_is_enough(self):
        cands = [CoverCandidate(0, frozenset({"a"}), frozenset()), CoverCandidate(1, frozenset({"b"}), frozenset())]
        assert len(greedy_cover({"a": 9, "b": 1}, cands)) == 1
        assert len(greedy_cover({"a": 8, "b": 1}, cands)) == 2

    def test_it_picks_the_biggest_marginal_gain_first(self):
        cands = [
            CoverCandidate(0, frozenset({"a"}), frozenset()),
            CoverCandidate(1, frozenset({"b", "c"}), frozenset()),
        ]
        steps = greedy_cover({"a": 4, "b": 3, "c": 3}, cands)
        assert [c.key for c, _, _ in steps] == [1, 0]

    def test_an_essential_hit_counts_more_than_a_spillover_hit(self):
        cands = [
            CoverCandidate(0, frozenset(), frozenset({"a", "b"})),
            CoverCandidate(1, frozenset({"a"}), frozenset()),
        ]
        steps = greedy_cover({"a": 5, "b": 1}, cands)
        assert steps[0][0].key == 1

    def test_equal_gains_go_to_the_better_ranked_candidate(self):
        cands = [CoverCandidate(0, frozenset({"a"}), frozenset()), CoverCandidate(1, frozenset({"a"}), frozenset())]
        assert greedy_cover({"a": 5}, cands)[0][0].key == 0


class CoverInExplainTests:
    def test_the_cover_of_two_separate_pains_holds_two_trigger_points_in_palpation_order(self, engine):
        result = engine.explain(drawing(("palm:right", 4), ("heel:left", 7)))
        assert [(c.trigger_point, c.side) for c in result.cover] == [("kappa-upper", "left"), ("eta-1", "right")]
        assert result.cover[-1].cumulative == 1.0

    def test_the_cover_reports_what_each_step_adds(self, engine):
        result = engine.explain(drawing(("temple:right", 7), ("neck-lateral:right", 5), ("heel:right", 2)))
        first = result.cover[0]
        assert (first.trigger_point, first.adds) == ("alpha-1", ("temple:right", "neck-lateral:right"))

    def test_an_empty_drawing_has_an_empty_cover(self, engine):
        assert engine.explain({}).cover == ()

    @settings(max_examples=150, deadline=None)
    @given(
        st.dictionaries(
            st.sampled_from(
                [
                    "temple:right",
                    "temple:left",
                    "jaw:right",
                    "neck-lateral:left",
                    "orbit:right",
                    "sacrum",
                    "coccyx",
                    "buttock-upper:left",
                    "thigh-posterior:right",
                    "palm:left",
                    "heel:right",
                    "achilles:right",
                    "big-toe:left",
                    "shin:right",
                    "forehead:left",
                ]
            ),
            st.integers(1, 10),
            max_size=8,
        )
    )
    def test_the_cover_explains_ninety_percent_or_all_the_atlas_can(self, engine, marks):
        data = drawing(*marks.items())
        result = engine.explain(data)
        total = sum(marks.values())
        if not total:
            assert result.cover == ()
            return
        explained = round((result.cover[-1].cumulative if result.cover else 0.0) * total)
        assert explained >= min(0.9 * total, coverable(engine, data)) - 1e-9
        # Deterministic: the same drawing gives the same cover.
        assert result.cover == engine.explain(data).cover
        # Every step adds something new.
        assert all(step.adds for step in result.cover)

    @settings(max_examples=60, deadline=None)
    @given(st.data())
    def test_the_cover_holds_on_the_shipped_atlas_too(self, shipped_engine, data):
        cells = sorted(shipped_engine.cells)
        picked = data.draw(st.lists(st.sampled_from(cells), min_size=1, max_size=8, unique=True))
        intensities = data.draw(st.lists(st.integers(1, 10), min_size=len(picked), max_size=len(picked)))
        d = drawing(*zip(picked, intensities, strict=True))
        result = shipped_engine.explain(d)
        total = sum(intensities)
        explained = round((result.cover[-1].cumulative if result.cover else 0.0) * total)
        assert explained >= min(0.9 * total, coverable(shipped_engine, d)) - 1e-9
