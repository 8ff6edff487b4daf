"""The engine: an index of the atlas built once, and ``explain()`` over it.

Building the :class:`Engine` turns every trigger point into one referral *pattern* per side
(right and left for a trigger point in a paired region, one for a midline one) and inverts the
patterns into postings: cell -> the patterns that refer there, essential or spillover. One
explain then touches only the postings of the marked cells, so its cost grows with the size of
the drawing, not of the atlas.

Ranking is per **muscle**. A muscle's row combines the patterns of its trigger points (both
sides included) that together explain the drawing best: it starts from the muscle's best
single pattern and adds another of its patterns while that raises the row's score, counting a
cell as essential when any chosen pattern has it in its essential zone. So a whole
sternocleidomastoid drawing, which the manual splits over four trigger points, is one strong
row rather than four weak ones, and a bilateral band is one row with ``side: both``.

Safety comes first: the red-flag screen is turned into a :class:`Triage`; at emergency or
same-day level, or while an emergency question the drawing prompts is unanswered, the muscle
list is withheld until a clinician records medical clearance. Symptoms that belong to a red
flag never add weight to a muscle (:mod:`knotwork.engine.vocabulary`).

Side rules: a trigger point on the right refers its ipsilateral zones to right cells, its
contralateral zones to left cells and its bilateral zones to both; midline regions are the
bare cell whatever the side. A trigger point located in a midline region has no side, so its
paired zones are taken on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from math import sqrt
from pathlib import Path
from typing import Any, Final

import yaml

from knotwork.atlas.loader import AtlasData
from knotwork.engine import scoring
from knotwork.engine.drawing import _parse
from knotwork.engine.fibromyalgia import evaluate_fibromyalgia
from knotwork.engine.lookalikes import evaluate_lookalikes
from knotwork.engine.model import PainDrawing
from knotwork.engine.red_flags import evaluate_red_flags, triage
from knotwork.engine.result import CoverStep, ExplainResult, Hypothesis, PainPattern, Screen, TriggerPointHit
from knotwork.engine.scoring import fitted
from knotwork.engine.vocabulary import supporting_symptoms
from knotwork.engine.wording import cell_words, why_sentence

DEFAULT_TOP = 10
EMPTY_MESSAGE = "The drawing is empty: mark where it hurts to see likely sources to examine."
NOTHING_MESSAGE = "No trigger point in the atlas refers pain to the marked areas."
WITHHELD_MESSAGE = "Likely muscle sources are withheld until medical clearance is recorded."
PRIORS_FILE = Path(__file__).resolve().parent / "rules" / "priors.yaml"
_OPPOSITE = {"right": "left", "left": "right"}


@dataclass(frozen=True)
class Pattern:
    """One trigger point's referral pattern on one side, with everything scoring needs precomputed."""

    index: int
    muscle: str
    muscle_name: str
    trigger_point: str
    side: str
    essential: frozenset[str]
    spillover: frozenset[str]
    symptoms: frozenset[str]


# A ranking row before it is shown is a plain tuple, sorted as is (best first):
# (-score, muscle tie-break, muscle id, chosen pattern ids, essential bits, spillover bits, explained intensity).
# Bits are the drawing's marks (mark j is bit j) that the chosen patterns explain.
_Row = tuple[float, tuple[int, int, str], str, tuple[int, ...], int, int, int]
_NEG_SCORE: Final = 0
_TIE: Final = 1
_MUSCLE: Final = 2
_CHOSEN: Final = 3
_ESS: Final = 4
_SPILL: Final = 5
_EXPLAINED: Final = 6


class _Ranking:
    """One drawing's ranking: rows best first, its (cell, intensity) pairs, total intensity and
    each touched pattern's hits."""

    __slots__ = ("rows", "cells", "total", "hits")

    def __init__(self, rows: list[_Row], cells: tuple[tuple[str, int], ...], total: int, hits: Mapping[int, list[int]]) -> None:
        self.rows = rows
        self.cells = cells
        self.total = total
        self.hits = hits


def _weight(bits: int, weights: tuple[int, ...]) -> int:
    """Summed intensity of the marks whose bits are set."""
    total = 0
    while bits:
        low = bits & -bits
        total += weights[low.bit_length() - 1]
        bits ^= low
    return total


def _cells(bits: int, cells: tuple[tuple[str, int], ...]) -> tuple[str, ...]:
    """The cells whose bits are set, in drawing order."""
    out = []
    while bits:
        low = bits & -bits
        out.append(cells[low.bit_length() - 1][0])
        bits ^= low
    return tuple(out)


def _zone_cells(region: str, laterality: str, side: str, midline: frozenset[str]) -> list[str]:
    if region in midline:
        return [region]
    if side == "midline" or laterality == "bilateral":
        return [f"{region}:right", f"{region}:left"]
    if laterality == "contralateral":
        return [f"{region}:{_OPPOSITE[side]}"]
    return [f"{region}:{side}"]


def load_priors(path: Path = PRIORS_FILE) -> dict[str, int]:
    """Muscle id -> prevalence level (0-3) of active trigger points in published studies."""
    raw = _priors_file(path)
    out: dict[str, int] = {}
    for i, row in enumerate(raw.get("priors") or ()):
        level = row.get("level")
        if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 3 or not row.get("source"):
            raise ValueError(f"{path.name}: priors[{i}] needs a level from 0 to 3 and a source")
        out[str(row["muscle"])] = level
    return out


def load_uncommon(path: Path = PRIORS_FILE) -> frozenset[str]:
    """Trigger-point ids whose referral pattern the source calls uncommon."""
    rows = _priors_file(path).get("uncommon_referrals") or ()
    for i, row in enumerate(rows):
        if not row.get("trigger_point") or not row.get("source"):
            raise ValueError(f"{path.name}: uncommon_referrals[{i}] needs a trigger_point and a source")
    return frozenset(str(row["trigger_point"]) for row in rows)


@cache
def _priors_file(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}


class Engine:
    """The trigger-point reasoning engine over one atlas. Build once, call :meth:`explain` often."""

    def __init__(self, atlas: AtlasData, priors: Mapping[str, int] | None = None) -> None:
        self.atlas = atlas
        self.atlas_version = atlas.version
        self.cells = frozenset(atlas.cells())
        self.symptom_ids = frozenset(s.id for s in atlas.symptoms)
        self.symptom_names = {s.id: s.name for s in atlas.symptoms}
        self.region_names = {r.id: r.name for r in atlas.regions}
        self.region_wpi: dict[str, str | None] = {r.id: (r.wpi.value if r.wpi else None) for r in atlas.regions}
        self._words = cell_words(self.cells, self.region_names)
        # Priors name shipped muscles; an engine over another atlas uses those it shares.
        self.priors = {m: f for m, f in (load_priors() if priors is None else priors).items() if m in atlas.muscle_by_id}
        bit = {c: 1 << i for i, c in enumerate(sorted(self.cells))}
        midline = frozenset(r.id for r in atlas.regions if r.kind == "midline")
        patterns: list[Pattern] = []
        postings: dict[str, list[tuple[int, bool]]] = {}
        ess_masks: list[int] = []  # each pattern's essential zone as bits over the atlas's cells
        self.muscle_tiebreak: dict[str, tuple[int, int, str]] = {}
        for muscle in atlas.muscles:
            evidence = scoring.EVIDENCE_ORDER.get(str(muscle.evidence), len(scoring.EVIDENCE_ORDER))
            # Equal scores: the more prevalent muscle, then the better-supported one, then the id.
            self.muscle_tiebreak[muscle.id] = (-self.priors.get(muscle.id, 0), evidence, muscle.id)
            for tp in muscle.trigger_points:
                sides = ("midline",) if tp.location.region in midline else ("right", "left")
                for side in sides:
                    ess = frozenset(c for z in tp.essential for c in _zone_cells(z.region, str(z.laterality), side, midline))
                    spill = frozenset(c for z in tp.spillover for c in _zone_cells(z.region, str(z.laterality), side, midline)) - ess
                    p = Pattern(
                        index=len(patterns),
                        muscle=muscle.id,
                        muscle_name=muscle.name,
                        trigger_point=tp.id,
                        side=side,
                        essential=ess,
                        spillover=spill,
                        symptoms=frozenset(tp.symptoms),
                    )
                    patterns.append(p)
                    ess_masks.append(sum(bit[c] for c in ess))
                    for c in ess:
                        postings.setdefault(c, []).append((p.index, True))
                    for c in spill:
                        postings.setdefault(c, []).append((p.index, False))
        self.patterns: tuple[Pattern, ...] = tuple(patterns)
        self.postings: dict[str, tuple[tuple[int, bool], ...]] = {c: tuple(sorted(v)) for c, v in sorted(postings.items())}
        # The same postings split per cell into (essential pattern ids, spillover pattern ids) for the hot loop.
        self._split = {c: (tuple(i for i, e in post if e), tuple(i for i, e in post if not e)) for c, post in self.postings.items()}
        self._muscle_of = tuple(p.muscle for p in patterns)
        self._ess_size = tuple(len(p.essential) for p in patterns)
        uncommon = load_uncommon()
        self._uncommon_factor = tuple(scoring.UNCOMMON_WEIGHT if p.trigger_point in uncommon else 1.0 for p in patterns)
        self._ess_mask = tuple(ess_masks)
        self._symptoms = tuple(p.symptoms for p in patterns)

    # -- input -------------------------------------------------------------------------------

    def parse(self, data: object) -> PainDrawing:
        """Validate drawing data against this engine's atlas (see :func:`parse_drawing`)."""
        return _parse(data, self.cells, self.symptom_ids, self.atlas)

    def _coerce(self, drawing: PainDrawing | Mapping[str, object]) -> PainDrawing:
        return drawing if isinstance(drawing, PainDrawing) else self.parse(drawing)

    # -- ranking -----------------------------------------------------------------------------

    def rank(self, drawing: PainDrawing) -> list[Hypothesis]:
        """Every muscle that explains at least one marked cell, best first, whatever the triage says.

        For evaluation and tools; :meth:`explain` is the answer people see.
        """
        ranking = self._rank_rows(drawing)
        intensity = dict(ranking.cells)
        return [self._hypothesis(r, ranking, drawing, intensity) for r in ranking.rows]

    def _rank_rows(self, drawing: PainDrawing) -> _Ranking:
        """The ranking as light rows, best first, and the drawing's (cell, intensity) pairs.

        Inside one drawing, mark j is bit j: a pattern's hits are two small ints (essential and
        spillover marks), so combining a muscle's patterns is a few OR and popcount operations.
        Full :class:`Hypothesis` rows are built only for those a caller shows.
        """
        cells = tuple((m.cell, m.intensity) for m in drawing.marks)
        total = 0
        # Per touched pattern: [essential intensity, spillover intensity, essential bits, spillover bits].
        hits: dict[int, list[int]] = {}
        split = self._split
        get = hits.get
        empty: tuple[tuple[int, ...], tuple[int, ...]] = ((), ())
        bit = 1
        for cell, w in cells:
            total += w
            ess, spill = split.get(cell, empty)
            for idx in ess:
                acc = get(idx)
                if acc is None:
                    hits[idx] = [w, 0, bit, 0]
                else:
                    acc[0] += w
                    acc[2] |= bit
            for idx in spill:
                acc = get(idx)
                if acc is None:
                    hits[idx] = [0, w, 0, bit]
                else:
                    acc[1] += w
                    acc[3] |= bit
            bit <<= 1
        if not hits:
            return _Ranking([], cells, total, hits)
        by_muscle: dict[str, list[int]] = {}
        muscle_of = self._muscle_of
        for idx in sorted(hits):  # pattern order: ties keep the first trigger point and the right side
            by_muscle.setdefault(muscle_of[idx], []).append(idx)
        support = supporting_symptoms(drawing.reported)
        implicated = drawing.context.implicated_muscles
        ess_size = self._ess_size
        pweight = self._uncommon_factor
        scale = -100.0 / scoring.drawing_norm(w for _, w in cells)  # rows sort ascending on the negated score
        weights = tuple(w for _, w in cells)
        tiebreak = self.muscle_tiebreak
        extra = bool(support or implicated)
        rows: list[_Row] = []
        spill_weight, spill_squared = scoring.SPILLOVER_WEIGHT, scoring.SPILLOVER_WEIGHT**2
        for muscle, idxs in by_muscle.items():
            best_score, best = -1.0, idxs[0]
            for i in idxs:
                # scoring.fitted, inlined: this line runs for every touched pattern.
                e_int, s_int, _, s_bits = hits[i]
                sc = (e_int + spill_weight * s_int) / sqrt(ess_size[i] + spill_squared * s_bits.bit_count()) * pweight[i]
                if sc > best_score:
                    best_score, best = sc, i
            if len(idxs) == 1:
                h = hits[best]
                chosen, e_bits, s_bits, explained = idxs, h[2], h[3], h[0] + h[1]
            else:
                best_score, chosen, e_bits, s_bits, explained = self._combine(idxs, best, best_score, hits, weights)
            factor = self._evidence(chosen, support, muscle in implicated) if extra else 1.0
            rows.append((best_score * scale * factor, tiebreak[muscle], muscle, tuple(chosen), e_bits, s_bits, explained))
        rows.sort()
        return _Ranking(rows, cells, total, hits)

    def _evidence(self, idxs: Sequence[int], support: frozenset[str], implicated: bool) -> float:
        """Evidence beyond the drawing: supporting symptoms these patterns are known for, and the assessment."""
        symptoms_of = self._symptoms
        known = symptoms_of[idxs[0]] if len(idxs) == 1 else frozenset().union(*[symptoms_of[i] for i in idxs])
        return scoring.evidence(len(support & known) if support else 0, implicated)

    def _combine(
        self, idxs: list[int], best: int, best_score: float, hits: Mapping[int, list[int]], weights: tuple[int, ...]
    ) -> tuple[float, list[int], int, int, int]:
        """The muscle's best pattern plus its other patterns while one raises the row's score.

        Scores here are ``scoring.fitted`` (the cosine times the drawing's length, the same for
        every row of one drawing). Returns (score, chosen patterns, essential bits, spillover bits,
        explained intensity).
        """
        masks = self._ess_mask
        pweight = self._uncommon_factor
        row_weight = pweight[best]
        e_int, s_int, e_bits, s_bits = hits[best]
        chosen = [best]
        mask = masks[best]
        rest = [i for i in idxs if i != best]
        while rest:
            pick = -1
            for i in rest:
                hi_e_int, hi_s_int, hi_e, hi_s = hits[i]
                # Only the marks a pattern adds change the sums: new essential marks (some may
                # have counted as spillover so far) and new spillover marks.
                ne = hi_e & ~e_bits
                ns = hi_s & ~(e_bits | s_bits)
                if not ne and not ns:
                    continue  # it would only enlarge the essential zone: the score cannot rise
                # Disjoint hits (the usual case: the muscle's other side) need no per-mark sums.
                add_e = hi_e_int if ne == hi_e else _weight(ne, weights)
                moved = _weight(ne & s_bits, weights) if ne & s_bits else 0
                add_s = hi_s_int if ns == hi_s else _weight(ns, weights)
                ne_bits, ns_bits = e_bits | ne, (s_bits & ~ne) | ns
                ne_int, ns_int = e_int + add_e, s_int - moved + add_s
                weight = min(row_weight, pweight[i])
                sc = fitted(ne_int, ns_int, ns_bits.bit_count(), (mask | masks[i]).bit_count()) * weight
                if sc > best_score * (1 + 1e-9):
                    best_score, pick, picked = sc, i, (ne_bits, ns_bits, ne_int, ns_int, weight)
            if pick < 0:
                break
            chosen.append(pick)
            rest.remove(pick)
            e_bits, s_bits, e_int, s_int, row_weight = picked
            mask |= masks[pick]
        return best_score, chosen, e_bits, s_bits, e_int + s_int

    # -- the whole answer -------------------------------------------------------------------

    def explain(self, drawing: PainDrawing | Mapping[str, object], *, top: int | None = DEFAULT_TOP) -> ExplainResult:
        """Triage, rank likely sources to examine, pick a cover, and run every screen.

        ``drawing`` may be a parsed :class:`PainDrawing` or raw contract data (then it is
        validated first and may raise :class:`DrawingError`). ``top`` limits the hypotheses
        returned (``None`` = all); the cover and screens always use the full ranking.
        """
        d = self._coerce(drawing)
        red = evaluate_red_flags(d.context.red_flags, d)
        tri = triage(red, cleared=d.context.medical_clearance)
        fibro = evaluate_fibromyalgia(d, self.region_wpi)
        if d.is_empty:
            return ExplainResult(
                hypotheses=(),
                cover=(),
                screens=(red, fibro, *evaluate_lookalikes(d, ())),
                atlas_version=self.atlas_version,
                message=EMPTY_MESSAGE,
                triage=tri,
            )
        ranking = self._rank_rows(d)
        rows, cells, total = ranking.rows, ranking.cells, ranking.total
        pattern = self._pattern(rows, total, fibro, len(d.marks))
        if tri.withheld:
            return ExplainResult(
                hypotheses=(),
                cover=(),
                screens=(red, fibro, *evaluate_lookalikes(d, (), withheld=True)),
                atlas_version=self.atlas_version,
                message=WITHHELD_MESSAGE if rows else NOTHING_MESSAGE,
                triage=tri,
                pattern=pattern,
                withheld=len(rows),
            )
        shown = rows if top is None else rows[:top]
        intensity = dict(cells)
        return ExplainResult(
            hypotheses=tuple(self._hypothesis(r, ranking, d, intensity) for r in shown),
            cover=self._cover(ranking),
            screens=(red, fibro, *evaluate_lookalikes(d, [r[_MUSCLE] for r in shown])),
            atlas_version=self.atlas_version,
            message=None if rows else NOTHING_MESSAGE,
            triage=tri,
            pattern=pattern,
        )

    def _pattern(self, rows: list[_Row], total: int, fibro: Screen, n_marks: int) -> PainPattern:
        wpi = int(fibro.inputs["wpi"])
        best = max((r[_EXPLAINED] for r in rows), default=0) / total if total else 0.0
        if not rows:
            return PainPattern(lead="none", best_explains=0.0, wpi=wpi, statement=NOTHING_MESSAGE)
        if wpi >= scoring.WIDESPREAD_WPI or (n_marks >= scoring.WIDESPREAD_MIN_MARKS and best < scoring.WIDESPREAD_SHARE):
            return PainPattern(
                lead="widespread",
                best_explains=best,
                wpi=wpi,
                statement=(
                    f"The pain is widespread (WPI {wpi} of 19; the best single muscle explains {best:.0%} of the drawing): "
                    "a few trigger points do not explain this. Screen for fibromyalgia and other causes of widespread "
                    "pain first; the muscles below are secondary."
                ),
            )
        return PainPattern(lead="muscles", best_explains=best, wpi=wpi)

    def _hypothesis(self, row: _Row, ranking: _Ranking, d: PainDrawing, intensity: Mapping[str, int]) -> Hypothesis:
        """A shown row in the engine-output contract, with its sentence; built straight from the row."""
        cells, hits = ranking.cells, ranking.hits
        muscle, chosen, e_bits, s_bits = row[_MUSCLE], row[_CHOSEN], row[_ESS], row[_SPILL]
        patterns = [self.patterns[i] for i in chosen]
        side = self._side(patterns)
        essential, spillover = _cells(e_bits, cells), _cells(s_bits, cells)
        support = supporting_symptoms(d.reported)
        matches = sorted(frozenset().union(*(p.symptoms for p in patterns)) & support) if support else []
        why = why_sentence(
            muscle_name=patterns[0].muscle_name,
            side=side,
            several=len(patterns) > 1,
            essential_hits=essential,
            spillover_hits=spillover,
            intensity=intensity,
            words=self._words,
            symptom_names=[self.symptom_names[s] for s in matches],
            assessment_reason=d.context.implicated_muscles.get(muscle),
        )
        return Hypothesis(
            muscle=muscle,
            trigger_point=patterns[0].trigger_point,
            side=side,
            score=-row[_NEG_SCORE],
            essential_hits=essential,
            spillover_hits=spillover,
            explains=row[_EXPLAINED] / ranking.total,
            unexplained=_cells(((1 << len(cells)) - 1) & ~(e_bits | s_bits), cells),
            why=why,
            trigger_points=(
                (TriggerPointHit(patterns[0].trigger_point, side, essential, spillover),)
                if len(patterns) == 1
                else tuple(
                    TriggerPointHit(p.trigger_point, p.side, _cells(hits[p.index][2], cells), _cells(hits[p.index][3] & ~e_bits, cells))
                    for p in patterns
                )
            ),
        )

    @staticmethod
    def _side(patterns: Sequence[Pattern]) -> str:
        """The row's side: its best pattern's, or ``both`` when it needs the right and the left."""
        if len(patterns) > 1 and {"right", "left"} <= {p.side for p in patterns}:
            return "both"
        return patterns[0].side

    def _cover(self, ranking: _Ranking) -> tuple[CoverStep, ...]:
        """Walk the ranking and keep each muscle that explains painted intensity not yet explained.

        The palpation order is the ranking's order, so "check these first" and "likely sources"
        always name the same first muscle; one pass over the rows, no rescans. Stops at 90 % of
        the painted intensity (integer tenths, so no float decides it) or when the ranking runs out.
        """
        cells, total = ranking.cells, ranking.total
        goal_tenths = round(scoring.COVER_TARGET * 10 * total)
        weights = tuple(w for _, w in cells)
        left = (1 << len(cells)) - 1
        explained = 0
        steps: list[CoverStep] = []
        for row in ranking.rows:
            if explained * 10 >= goal_tenths or not left:
                break
            adds = (row[_ESS] | row[_SPILL]) & left
            if not adds:
                continue
            patterns = [self.patterns[i] for i in row[_CHOSEN]]
            left &= ~adds
            explained += _weight(adds, weights)
            steps.append(
                CoverStep(
                    muscle=row[_MUSCLE],
                    trigger_point=patterns[0].trigger_point,
                    side=self._side(patterns),
                    adds=_cells(adds, cells),
                    cumulative=explained / total,
                )
            )
        return tuple(steps)


@cache
def default_engine() -> Engine:
    """The engine over the shipped atlas, built once per process."""
    from knotwork.atlas.loader import atlas

    return Engine(atlas())


def explain(drawing: PainDrawing | Mapping[str, object], *, top: int | None = DEFAULT_TOP) -> ExplainResult:
    """Explain a drawing with the shipped atlas; see :meth:`Engine.explain`."""
    return default_engine().explain(drawing, top=top)
