"""The engine's fast paths give the same answers as the rules applied the plain way.

Explain keeps its cost down with precomputed bits and tallies (docs/engine.md, "Performance"):
a condition index that settles most rule conditions with a few integer operations, a packed
tally that adds a mark to every pattern's sums at once, pair sums for combining one muscle's
patterns, and result classes that fill themselves in one step. None of that may change an
answer, so each is checked here against a plain version on many random drawings: the
conditions against :meth:`Condition.holds` one by one, the tally against sums over the zones,
and the whole ranking against a mark-by-mark re-implementation of the rules (the engine's
previous code, kept here as the reference).
"""

from __future__ import annotations

import dataclasses
import inspect
import random
from math import sqrt
from typing import Any

import pytest

from knotwork.atlas.loader import AtlasData, load_atlas
from knotwork.engine import DrawingError, Engine, scoring
from knotwork.engine.conditions import ConditionIndex, parse_condition
from knotwork.engine.core import NERVE_QUALITIES, load_uncommon
from knotwork.engine.fibromyalgia import cell_areas, wpi_areas
from knotwork.engine.lookalikes import _index as lookalike_index
from knotwork.engine.model import Context, Mark, PainDrawing, SymptomSeverity
from knotwork.engine.red_flags import _screening, red_flag_questions
from knotwork.engine.result import CoverStep, Hypothesis, Screen, TriggerPointHit
from knotwork.engine.vocabulary import FINDING_IDS, QUALITIES, supporting_symptoms

from .conftest import muscle, tp, write_atlas


def random_drawings(engine: Engine, n: int, seed: int) -> list[PainDrawing]:
    """Drawings of 0-30 marks with every kind of context the rules read."""
    rng = random.Random(seed)
    cells = sorted(engine.cells)
    symptoms = sorted(engine.symptom_ids)
    findings = sorted(FINDING_IDS)
    flags = [f.id for f in red_flag_questions()]
    muscles = [m.id for m in engine.atlas.muscles]
    out = []
    for _ in range(n):
        size = rng.choice([0, 1, 2, 3, 5, 8, 12, 16, 20, 30])
        if size and rng.random() < 0.6:  # around one pattern, as people draw
            p = rng.choice(engine.patterns)
            picked = list(dict.fromkeys(rng.sample(sorted(p.essential | p.spillover), min(size, len(p.essential | p.spillover)))))
            picked += [c for c in rng.sample(cells, size) if c not in picked][: size - len(picked)]
        else:
            picked = rng.sample(cells, size)
        with_quality = rng.random() < 0.4
        marks = tuple(Mark(c, rng.randint(1, 10), rng.choice(QUALITIES) if with_quality and rng.random() < 0.5 else None) for c in picked)
        context = Context(
            implicated_muscles=dict.fromkeys(rng.sample(muscles, rng.randint(0, 2)), "tender") if rng.random() < 0.3 else {},
            sex=rng.choice([None, "female", "male", "other"]),
            age=rng.choice([None, 12, 30, 49, 50, 65, 80]),
            sss=SymptomSeverity(2, 1, 1, 1, 0, 1) if rng.random() < 0.2 else None,
            pain_duration_months=rng.choice([None, 1.0, 6.0]),
            red_flags=rng.choice([None, dict.fromkeys(flags, False), {f: rng.random() < 0.1 for f in rng.sample(flags, 5)}]),
            findings=tuple(rng.sample(findings, rng.randint(0, 4))) if rng.random() < 0.4 else (),
            medical_clearance=rng.random() < 0.2,
        )
        out.append(PainDrawing(marks=marks, symptoms=tuple(rng.sample(symptoms, rng.randint(0, 3))), context=context))
    return out


@pytest.fixture(scope="module")
def drawings(shipped_engine: Engine) -> list[PainDrawing]:
    return random_drawings(shipped_engine, 600, seed=11)


def one_by_one(index: ConditionIndex, drawing: PainDrawing) -> int:
    return sum(1 << i for i, c in enumerate(index.conditions) if c.holds(drawing))


class ConditionIndexTests:
    def test_the_red_flag_and_look_alike_indexes_agree_with_every_condition_tried_alone(self, drawings):
        for index in (_screening().index, lookalike_index()):
            for d in drawings:
                assert index.matching(d) == one_by_one(index, d)

    def test_every_kind_of_condition_agrees_with_trying_it_alone(self, shipped_engine):
        raw: list[dict[str, Any]] = [
            {"regions": ["neck-lateral", "shoulder-top"], "qualities": ["numbness", "tingling"], "both_sides": True},
            {"regions": ["calf"], "both_sides": True},
            {"qualities": ["burning"]},
            {"all_symptoms": ["numbness", "weakness"]},
            {"regions": ["calf", "thigh-posterior"], "from_age": 50, "sexes": ["female"]},
            {"cells": ["calf:left", "heel:right"], "also_regions": ["thigh-posterior", "buttock-upper"], "symptoms": ["cramps"]},
            {"findings": ["tinel-phalen-wrist", "cord-signs"], "from_age": 40},
            {"symptoms": ["dizziness", "headache"], "sexes": ["male", "other"]},
            {"regions": ["lumbar"], "qualities": ["aching"], "also_regions": ["sacrum"], "findings": ["straight-leg-raise"]},
            {"text": "no requirement at all: always holds"},
        ]
        conditions = [parse_condition(c, f"test[{i}]") for i, c in enumerate(raw)]
        index = ConditionIndex([("a", conditions[:4]), ("b", conditions[4:7]), ("c", conditions[7:])])
        for d in random_drawings(shipped_engine, 1500, seed=5):
            bits = index.matching(d)
            assert bits == one_by_one(index, d)
            assert index.holding(d) == {key for key, c in zip(index.owners, index.conditions, strict=True) if c.holds(d)}


def zone_sums(
    drawing: PainDrawing, essential: frozenset[str], spillover: frozenset[str], nerve: frozenset[str] = frozenset()
) -> tuple[int, int, int]:
    """A zone's sums the plain way; a numb, tingling or burning mark in a nerve territory counts as spillover."""
    spill = [
        m.intensity
        for m in drawing.marks
        if (m.cell in spillover or (m.quality in NERVE_QUALITIES and m.cell + "~nerve" in nerve)) and m.cell not in essential
    ]
    return sum(m.intensity for m in drawing.marks if m.cell in essential), sum(spill), len(spill)


class TallyTests:
    def test_every_pattern_and_pair_reads_the_sums_of_its_zones(self, shipped_engine, drawings):
        engine = shipped_engine
        for d in drawings[:200]:
            ranking = engine._rank_rows(d)
            if not ranking.rows:
                continue
            tally = ranking.tally
            for p in engine.patterns:
                assert tuple(tally[3 * p.index : 3 * p.index + 3]) == zone_sums(d, p.essential, p.spillover, p.nerve)
            for a, pairs in enumerate(engine._pairs):
                for b, (first, size) in pairs.items():
                    pa, pb = engine.patterns[a], engine.patterns[b]
                    assert size == len(pa.essential | pb.essential)
                    assert tuple(tally[first : first + 3]) == zone_sums(
                        d, pa.essential | pb.essential, pa.spillover | pb.spillover, pa.nerve | pb.nerve
                    )

    def test_pairs_are_exactly_the_patterns_of_one_muscle_whose_zones_meet(self, shipped_engine):
        engine = shipped_engine
        for a, pa in enumerate(engine.patterns):
            for b, pb in enumerate(engine.patterns):
                zones_a, zones_b = pa.essential | pa.spillover | pa.nerve, pb.essential | pb.spillover | pb.nerve
                meet = a != b and pa.muscle == pb.muscle and bool(zones_a & zones_b)
                assert (b in engine._pairs[a]) == meet


# -- the reference: the rules applied mark by mark (the engine's previous code) ----------------


def reference_rank(engine: Engine, drawing: PainDrawing) -> list[dict[str, Any]]:
    """Every muscle row, best first, worked out with per-mark bits and per-posting sums."""
    cells = [(m.cell, m.intensity) for m in drawing.marks]
    weights = [w for _, w in cells]
    # pattern -> [essential intensity, spillover intensity, essential bits, spillover bits, nerve bits]:
    # a numb, tingling or burning mark in a nerve territory counts as spillover (bits per mark).
    hits: dict[int, list[int]] = {}
    for j, m in enumerate(drawing.marks):
        nerve = engine.postings.get(m.cell + "~nerve", ()) if m.quality in NERVE_QUALITIES else ()
        for idx, essential in (*engine.postings.get(m.cell, ()), *nerve):
            acc = hits.setdefault(idx, [0, 0, 0, 0, 0])
            acc[0 if essential else 1] += m.intensity
            acc[2 if essential else 3] |= 1 << j
        for idx, _ in nerve:
            hits[idx][4] |= 1 << j
    if not hits:
        return []
    masks = {p.index: frozenset(p.essential) for p in engine.patterns}
    uncommon = load_uncommon()
    factor = {p.index: scoring.UNCOMMON_WEIGHT if p.trigger_point in uncommon else 1.0 for p in engine.patterns}
    support = supporting_symptoms(drawing.reported)
    implicated = drawing.context.implicated_muscles
    norm = scoring.drawing_norm(weights)

    def weight(bits: int) -> int:
        return sum(w for j, w in enumerate(weights) if bits >> j & 1)

    by_muscle: dict[str, list[int]] = {}
    for idx in sorted(hits):
        by_muscle.setdefault(engine.patterns[idx].muscle, []).append(idx)
    rows = []
    for name, idxs in by_muscle.items():
        best_score, best = -1.0, idxs[0]
        for i in idxs:
            e_int, s_int, _, s_bits, _ = hits[i]
            sc = (
                (e_int + scoring.SPILLOVER_WEIGHT * s_int)
                / sqrt(len(masks[i]) + scoring.SPILLOVER_WEIGHT**2 * s_bits.bit_count())
                * factor[i]
            )
            if sc > best_score:
                best_score, best = sc, i
        e_int, s_int, e_bits, s_bits, _ = hits[best]
        chosen, zone, row_weight = [best], set(masks[best]), factor[best]
        rest = [i for i in idxs if i != best]
        while rest:
            pick = -1
            for i in rest:
                hi_e, hi_s = hits[i][2], hits[i][3]
                ne, ns = hi_e & ~e_bits, hi_s & ~(e_bits | s_bits)
                if not ne and not ns:
                    continue
                ne_bits, ns_bits = e_bits | ne, (s_bits & ~ne) | ns
                ne_int, ns_int = e_int + weight(ne), s_int - weight(ne & s_bits) + weight(ns)
                w = min(row_weight, factor[i])
                sc = scoring.fitted(ne_int, ns_int, ns_bits.bit_count(), len(zone | masks[i])) * w
                if sc > best_score * (1 + 1e-9):
                    best_score, pick, picked = sc, i, (ne_bits, ns_bits, ne_int, ns_int, w)
            if pick < 0:
                break
            chosen.append(pick)
            rest.remove(pick)
            e_bits, s_bits, e_int, s_int, row_weight = picked
            zone |= masks[pick]
        score = best_score * (100.0 / norm)
        if support or implicated:
            known = frozenset().union(*(engine.patterns[i].symptoms for i in chosen))
            score *= scoring.evidence(len(support & known) if support else 0, name in implicated)
        n_bits = 0
        for i in chosen:
            n_bits |= hits[i][4]
        rows.append((-score, engine.muscle_tiebreak[name], name, chosen, e_bits, s_bits, e_int + s_int, n_bits & s_bits))
    rows.sort()

    def listed(bits: int) -> list[str]:
        return [c for j, (c, _) in enumerate(cells) if bits >> j & 1]

    total = sum(weights)
    out = []
    for neg, _, name, chosen, e_bits, s_bits, explained, n_bits in rows:
        patterns = [engine.patterns[i] for i in chosen]
        side = "both" if len(patterns) > 1 and {"right", "left"} <= {p.side for p in patterns} else patterns[0].side
        out.append(
            {
                "muscle": name,
                "trigger_point": patterns[0].trigger_point,
                "side": side,
                "score": -neg,
                "essential_hits": listed(e_bits),
                "spillover_hits": listed(s_bits & ~n_bits),
                "explains": explained / total,
                "unexplained": listed(((1 << len(cells)) - 1) & ~(e_bits | s_bits)),
                "trigger_points": [
                    (p.trigger_point, p.side, listed(hits[p.index][2]), listed(hits[p.index][3] & ~e_bits & ~n_bits))
                    if len(patterns) > 1
                    else (p.trigger_point, side, listed(e_bits), listed(s_bits & ~n_bits))
                    for p in patterns
                ],
                "nerve_hits": listed(n_bits),
            }
        )
    return out


def engine_rank(engine: Engine, drawing: PainDrawing) -> list[dict[str, Any]]:
    return [
        {
            "muscle": h.muscle,
            "trigger_point": h.trigger_point,
            "side": h.side,
            "score": h.score,
            "essential_hits": list(h.essential_hits),
            "spillover_hits": list(h.spillover_hits),
            "explains": h.explains,
            "unexplained": list(h.unexplained),
            "trigger_points": [(t.trigger_point, t.side, list(t.essential_hits), list(t.spillover_hits)) for t in h.trigger_points],
            "nerve_hits": list(h.nerve_hits),
        }
        for h in engine.rank(drawing)
    ]


class RankingTests:
    def test_the_shipped_ranking_equals_the_rules_applied_mark_by_mark(self, shipped_engine, drawings):
        for d in drawings:
            assert engine_rank(shipped_engine, d) == reference_rank(shipped_engine, d)

    def test_zones_too_wide_for_a_byte_use_wider_tally_fields_with_the_same_answers(self, tmp_path):
        regions = [r.id for r in load_atlas().regions if r.kind == "paired"][:30]
        atlas: AtlasData = write_atlas(
            tmp_path,
            [
                muscle("wide", tp("wide-1", "neck-lateral", regions[:28], regions[28:]), tp("wide-2", "calf", regions[10:29])),
                muscle("narrow", tp("narrow-1", "calf", ["heel", "sole"], ["achilles"])),
            ],
        )
        engine = Engine(atlas)
        assert engine._field_code != "B"  # 28 cells at intensity 10 do not fit a byte
        for d in random_drawings(engine, 300, seed=3):
            assert engine_rank(engine, d) == reference_rank(engine, d)

    def test_a_hand_built_drawing_that_breaks_the_contract_is_refused_as_parsing_would(self, shipped_engine):
        twice = PainDrawing(marks=(Mark("temple:right", 5), Mark("temple:right", 6)))
        with pytest.raises(DrawingError, match="marked twice"):
            shipped_engine.explain(twice)
        for intensity in (0, 11, 2.5):
            bad = PainDrawing(marks=(Mark("temple:right", intensity),))  # type: ignore[arg-type]
            with pytest.raises(DrawingError) as caught:
                shipped_engine.rank(bad)
            assert "marks[0].intensity" in caught.value.fields


class ResultClassTests:
    @pytest.mark.parametrize("cls", [Screen, TriggerPointHit, Hypothesis, CoverStep])
    def test_their_own_init_takes_exactly_the_fields_in_order_with_their_defaults(self, cls):
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        fields = dataclasses.fields(cls)
        assert [p.name for p in params] == [f.name for f in fields]
        for p, f in zip(params, fields, strict=True):
            if f.default is not dataclasses.MISSING:
                assert p.default == f.default
            elif f.default_factory is not dataclasses.MISSING:
                assert p.default is None  # filled with a fresh default_factory() value
            else:
                assert p.default is inspect.Parameter.empty

    def test_instances_are_frozen_and_compare_by_value(self):
        a = TriggerPointHit("t", "right", ("temple:right",), ())
        assert a == TriggerPointHit(trigger_point="t", side="right", essential_hits=("temple:right",), spillover_hits=())
        with pytest.raises(dataclasses.FrozenInstanceError):
            a.side = "left"  # type: ignore[misc]
        assert Screen("s", "t", "v", "r").inputs == {} and Screen("s", "t", "v", "r").inputs is not Screen("s", "t", "v", "r").inputs
        assert dataclasses.replace(a, side="left").side == "left"


class WpiAreaTests:
    def test_the_per_cell_table_gives_the_same_areas_as_splitting_each_cell(self, shipped_engine):
        table = cell_areas(shipped_engine.cells, shipped_engine.region_wpi)
        rng = random.Random(2)
        cells = sorted(shipped_engine.cells)
        for _ in range(300):
            picked = rng.sample(cells, rng.randint(0, 25))
            plain = wpi_areas(picked, shipped_engine.region_wpi)
            assert wpi_areas(picked, shipped_engine.region_wpi, table) == plain
            assert wpi_areas(iter(picked), shipped_engine.region_wpi, {}) == plain
            assert wpi_areas([*picked, "not-a-region:left"], shipped_engine.region_wpi, table) == plain
