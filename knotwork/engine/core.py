"""The engine: an index of the atlas built once, and ``explain()`` over it.

Building the :class:`Engine` turns every trigger point into one referral *pattern* per side
(right and left for a trigger point in a paired region, one for a midline one) and inverts the
patterns into postings: cell -> the patterns that refer there, essential or spillover. From the
postings it precomputes, per cell and intensity, one packed integer (the *tally*) that adds a
mark to the sums of every pattern referring there at once. One explain then costs one integer
addition per mark plus a few steps per muscle the marks touch, so its cost grows with the size
of the drawing, not of the atlas.

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

Speed (docs/engine.md, "Performance"): an explain of a 20-cell drawing touches about 85
patterns of 50 muscles and writes ten rows with their sentences, so the work is kept to plain
integer operations on precomputed bits and tallies; nothing here is needed for correctness,
and the answer is the same as the rules above applied one mark and one pattern at a time
(tests/engine/test_fast_paths.py checks that against a plain re-implementation).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from math import sqrt
from pathlib import Path
from typing import Any, Final

import yaml

from knotwork.atlas.loader import AtlasData
from knotwork.engine import rules, scoring
from knotwork.engine.drawing import MAX_INTENSITY, DrawingError, _parse, _parse_marks
from knotwork.engine.fibromyalgia import cell_areas, evaluate_fibromyalgia
from knotwork.engine.lookalikes import evaluate_lookalikes
from knotwork.engine.model import PainDrawing
from knotwork.engine.red_flags import evaluate_red_flags, triage
from knotwork.engine.result import CoverStep, ExplainResult, Hypothesis, PainPattern, Screen, TriggerPointHit
from knotwork.engine.scoring import fitted
from knotwork.engine.vocabulary import supporting_symptoms
from knotwork.engine.wording import PlaceWords, ZoneWords, cell_words, intensity_range, why_from_words

DEFAULT_TOP = 10
EMPTY_MESSAGE = "The drawing is empty: mark where it hurts to see likely sources to examine."
NOTHING_MESSAGE = "No trigger point in the atlas refers pain to the marked areas."
WITHHELD_MESSAGE = "Likely muscle sources are withheld until medical clearance is recorded."
PRIORS_FILE = rules.DIR / "priors.yaml"
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
    nerve: frozenset[str] = frozenset()
    """Cells of the skin territory of a nerve this trigger point's muscle can entrap, outside
    every zone of the muscle: a numb, tingling or burning mark there counts like a spillover mark."""
    nerves: tuple[str, ...] = ()
    """The entrapped nerves' names, for the sentence."""


# A ranking row before it is shown is a plain tuple, sorted as is (best first):
# (-score, muscle tie-break, muscle id, chosen pattern ids, explained intensity).
# Which marks the row explains is not stored: it is the chosen patterns' zones AND the marked
# cells, a few integer operations, worked out only for the rows someone looks at.
_Row = tuple[float, tuple[int, int, str], str, tuple[int, ...], int]
_NEG_SCORE: Final = 0
_TIE: Final = 1
_MUSCLE: Final = 2
_CHOSEN: Final = 3
_EXPLAINED: Final = 4

# The packed tally (see Engine._build_tally): each entry (a pattern, or a pair of one muscle's
# patterns) owns three fields of the same width, in this order: its essential intensity, its
# spillover intensity and its count of marked spillover cells. Entry i starts at field 3 * i.
_FIELDS: Final = 3
_ARRAY_CODES: Final = {array(code).itemsize: code for code in "BHIQ"}

NERVE_QUALITIES: Final = frozenset({"numbness", "tingling", "burning"})
"""Mark qualities a nerve's entrapment produces: only these count in its skin territory."""
_NERVE: Final = "~nerve"
"""Suffix of a cell's *nerve twin*: the place a paresthetic mark takes in nerve territories, so a
nerve territory is an ordinary zone over twin cells and the tally handles it unchanged."""

_Mark = tuple[int, str, int, int]
"""A mark inside one ranking: (index in the drawing, cell, intensity, its bit)."""
_Zones = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], ZoneWords | None, ZoneWords | None, tuple[str, ...], ZoneWords | None]
"""A shown row's essential, spillover and unexplained cells, its two zones in words, and the
cells it explains through a nerve's territory with their words."""


class _Ranking:
    """One drawing's ranking: rows best first, plus what turning rows into words needs.

    Cells are bits over the atlas's cells (see ``Engine._bit``), so what a pattern explains is
    its zone AND ``marked``. ``at`` turns a bit back into its mark, so a row's few cells are
    found without a pass over the whole drawing and are always listed in drawing order.
    """

    __slots__ = ("rows", "names", "total", "marked", "at", "tally", "best_explained", "_shown", "twins", "nerve_bits")

    def __init__(
        self, names: tuple[str, ...], total: int, at: dict[int, _Mark], twins: dict[int, int] | None = None, nerve_bits: int = 0
    ) -> None:
        self.rows: list[_Row] = []
        self.names = names
        """The marked cells, in drawing order."""
        self.total = total
        self.at = at
        """A marked cell's bit -> its mark: (index in the drawing, cell, intensity, bit)."""
        self.marked = sum(at)
        self.tally: list[int] = []
        """The packed sums, one field a byte or wider (see ``Engine._build_tally``)."""
        self.best_explained = 0
        self._shown: dict[tuple[int, int], _Zones] = {}
        self.twins: dict[int, int] = twins or {}
        """A paresthetic mark's two bits, each to the other: its cell's and its nerve twin's."""
        self.nerve_bits = nerve_bits
        """The bits of the marks' nerve twins."""

    def marks_in(self, bits: int) -> list[_Mark]:
        """The marks whose bits are set, in drawing order."""
        at = self.at
        out = []
        while bits:
            low = bits & -bits
            out.append(at[low])
            bits ^= low
        out.sort()
        return out

    def weight(self, bits: int) -> int:
        """Summed intensity of the marks whose bits are set."""
        at = self.at
        total = 0
        while bits:
            low = bits & -bits
            total += at[low][2]
            bits ^= low
        return total

    def cells_of(self, bits: int) -> tuple[str, ...]:
        """The marked cells whose bits are set, in drawing order."""
        if not bits & (bits - 1):  # none or one: the usual case
            return (self.at[bits][1],) if bits else ()
        return tuple([m[1] for m in self.marks_in(bits)])

    def zones(self, e_bits: int, s_bits: int, words: PlaceWords) -> _Zones:
        """What a shown row says about the marks it explains. Rows of a small drawing often
        explain the same marks, so each answer is kept for the rest of this drawing."""
        zones = self._shown.get((e_bits, s_bits))
        if zones is not None:
            return zones
        at = self.at
        hit = e_bits | s_bits
        found = []
        while hit:
            low = hit & -hit
            found.append(at[low])
            hit ^= low
        found.sort()
        names = self.names
        essential: list[str] = []
        spillover: list[str] = []
        nerve: list[str] = []
        essential_w: list[int] = []
        spillover_w: list[int] = []
        nerve_w: list[int] = []
        unexplained: list[str] = []
        start = 0
        nerve_bits = self.nerve_bits
        for j, cell, w, bit in found:  # in drawing order; the marks between them are unexplained
            unexplained += names[start:j]
            start = j + 1
            if bit & e_bits:
                essential.append(cell)
                essential_w.append(w)
            elif bit & nerve_bits:
                nerve.append(cell)
                nerve_w.append(w)
            else:
                spillover.append(cell)
                spillover_w.append(w)
        unexplained += names[start:]
        ess, spill, nerv = tuple(essential), tuple(spillover), tuple(nerve)
        zones = self._shown[e_bits, s_bits] = (
            ess,
            spill,
            tuple(unexplained),
            (words.places(ess), intensity_range(essential_w)) if ess else None,
            (words.places(spill), intensity_range(spillover_w)) if spill else None,
            nerv,
            (words.places(nerv), intensity_range(nerve_w)) if nerv else None,
        )
        return zones


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
        self._wpi_area = cell_areas(self.cells, self.region_wpi)
        self._words = PlaceWords(cell_words(self.cells, self.region_names))
        # Priors name shipped muscles; an engine over another atlas uses those it shares.
        self.priors = {m: f for m, f in (load_priors() if priors is None else priors).items() if m in atlas.muscle_by_id}
        self._bit = {c: 1 << i for i, c in enumerate(sorted(self.cells))}
        bit = self._bit
        midline = frozenset(r.id for r in atlas.regions if r.kind == "midline")
        patterns: list[Pattern] = []
        postings: dict[str, list[tuple[int, bool]]] = {}
        muscle_patterns: list[tuple[int, ...]] = []
        self.muscle_tiebreak: dict[str, tuple[int, int, str]] = {}
        for muscle in atlas.muscles:
            evidence = scoring.EVIDENCE_ORDER.get(str(muscle.evidence), len(scoring.EVIDENCE_ORDER))
            # Equal scores: the more prevalent muscle, then the better-supported one, then the id.
            self.muscle_tiebreak[muscle.id] = (-self.priors.get(muscle.id, 0), evidence, muscle.id)
            first = len(patterns)
            # Every cell any zone of this muscle covers, either side: a nerve territory counts only
            # outside them, so a mark is never counted twice in one muscle's row.
            own = frozenset(
                c
                for tp in muscle.trigger_points
                for z in (*tp.essential, *tp.spillover)
                for c in _zone_cells(z.region, str(z.laterality), "midline", midline)
            )
            for tp in muscle.trigger_points:
                sides = ("midline",) if tp.location.region in midline else ("right", "left")
                entrapping = [e for e in tp.entrapments if e.regions]
                for side in sides:
                    ess = frozenset(c for z in tp.essential for c in _zone_cells(z.region, str(z.laterality), side, midline))
                    spill = frozenset(c for z in tp.spillover for c in _zone_cells(z.region, str(z.laterality), side, midline)) - ess
                    nerve = frozenset(c for e in entrapping for r in e.regions for c in _zone_cells(r, "ipsilateral", side, midline)) - own
                    p = Pattern(
                        index=len(patterns),
                        muscle=muscle.id,
                        muscle_name=muscle.name,
                        trigger_point=tp.id,
                        side=side,
                        essential=ess,
                        spillover=spill,
                        symptoms=frozenset(tp.symptoms),
                        nerve=frozenset(c + _NERVE for c in nerve),
                        nerves=tuple(e.nerve for e in entrapping) if nerve else (),
                    )
                    patterns.append(p)
                    for c in ess:
                        postings.setdefault(c, []).append((p.index, True))
                    for c in spill | p.nerve:
                        postings.setdefault(c, []).append((p.index, False))
            muscle_patterns.append(tuple(range(first, len(patterns))))
        self.patterns: tuple[Pattern, ...] = tuple(patterns)
        # Nerve twins get bits above every cell's, so a twin's bit is always the larger of a pair.
        for c in sorted({c for p in patterns for c in p.nerve}):
            bit[c] = 1 << len(bit)
        self.postings: dict[str, tuple[tuple[int, bool], ...]] = {c: tuple(sorted(v)) for c, v in sorted(postings.items())}
        # Per muscle (atlas order): its id, its patterns (consecutive ids) and every symptom they are known for.
        self._muscle_ids = tuple(m.id for m in atlas.muscles)
        self._muscle_patterns = tuple(muscle_patterns)
        self._muscle_symptoms = tuple(frozenset().union(*[patterns[i].symptoms for i in idxs]) for idxs in muscle_patterns)
        # Per pattern: its zones as bits over the atlas's cells, and what its score needs.
        self._ess_mask = tuple(sum(bit[c] for c in p.essential) for p in patterns)
        self._spill_mask = tuple(sum(bit[c] for c in p.spillover | p.nerve) for p in patterns)
        self._zone_mask = tuple(e | s for e, s in zip(self._ess_mask, self._spill_mask, strict=True))
        self._ess_size = tuple(len(p.essential) for p in patterns)
        uncommon = load_uncommon()
        self._uncommon_factor = tuple(scoring.UNCOMMON_WEIGHT if p.trigger_point in uncommon else 1.0 for p in patterns)
        self._symptoms = tuple(p.symptoms for p in patterns)
        # What ranking reads per touched muscle: its id, tie-break and (pattern, its first tally
        # field, essential size, uncommon factor) per pattern.
        self._muscle_rows = tuple(
            (m, self.muscle_tiebreak[m], tuple((i, _FIELDS * i, self._ess_size[i], self._uncommon_factor[i]) for i in idxs))
            for m, idxs in zip(self._muscle_ids, muscle_patterns, strict=True)
        )
        self._build_tally(patterns)

    def _build_tally(self, patterns: Sequence[Pattern]) -> None:
        """Precompute, per cell and intensity, what one mark adds to every pattern's sums at once.

        The sums a score needs (essential intensity, spillover intensity, marked spillover
        cells) live side by side in one packed integer, three fields per *entry*, each wide
        enough for a whole zone marked at the top intensity so no field can carry into the
        next. A mark is then one integer addition, done in C however many patterns refer to its
        cell, instead of a Python step per posting.

        The entries are every pattern, then every pair of one muscle's patterns whose zones
        overlap, tallied as their union (a cell essential in either counts as essential). That
        is the first step of :meth:`_combine` ready-made: adding a pattern to the muscle's best
        one scores the pair, and two patterns with disjoint zones simply add their own sums.
        """
        entries: list[tuple[frozenset[str], frozenset[str]]] = [(p.essential, p.spillover | p.nerve) for p in patterns]
        pairs: list[dict[int, tuple[int, int]]] = [{} for _ in patterns]
        for idxs in self._muscle_patterns:
            for a in idxs:
                for b in idxs:
                    if a < b and self._zone_mask[a] & self._zone_mask[b]:
                        ess = patterns[a].essential | patterns[b].essential
                        slot = (_FIELDS * len(entries), len(ess))
                        pairs[a][b] = pairs[b][a] = slot
                        entries.append((ess, (patterns[a].spillover | patterns[a].nerve | patterns[b].spillover | patterns[b].nerve) - ess))
        self._pairs: tuple[dict[int, tuple[int, int]], ...] = tuple(pairs)
        """Pattern -> {another pattern of its muscle whose zones overlap: (the pair's first field, its essential size)}."""
        widest = max((max(len(e), len(s)) for e, s in entries), default=0)
        width = 8
        while (MAX_INTENSITY * widest) >> width:
            width *= 2
        self._field_code = _ARRAY_CODES[width // 8]
        self._tally_bytes = _FIELDS * width // 8 * len(entries)
        units: dict[str, list[int]] = {}  # cell -> [essential, spillover, count] units over all entries
        for j, (ess, spill) in enumerate(entries):
            first = _FIELDS * width * j
            for c in ess:
                units.setdefault(c, [0, 0, 0])[0] += 1 << first
            for c in spill:
                unit = units.setdefault(c, [0, 0, 0])
                unit[1] += 1 << (first + width)
                unit[2] += 1 << (first + 2 * width)
        muscle_index = {m: i for i, m in enumerate(self._muscle_ids)}
        self._cell_tally: dict[str, tuple[int, tuple[int, ...], tuple[int, ...]]] = {}
        for cell, post in self.postings.items():
            ess_unit, spill_unit, count_unit = units[cell]
            adds = (0, *[w * (ess_unit + spill_unit) + count_unit for w in range(1, MAX_INTENSITY + 1)])
            muscles = tuple(sorted({muscle_index[patterns[i].muscle] for i, _ in post}))
            self._cell_tally[cell] = (self._bit[cell], adds, muscles)

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
        support = supporting_symptoms(drawing.reported)
        return [self._hypothesis(r, ranking, drawing, support) for r in ranking.rows]

    def _rank_rows(self, drawing: PainDrawing) -> _Ranking:
        """The ranking as light rows, best first, with what showing them needs.

        Each mark adds its cell's precomputed tally (see :meth:`_build_tally`), so after one
        integer addition per mark every touched pattern's sums can be read off the packed
        integer's bytes. Only the muscles the marks touch are scored; a muscle with several
        touched patterns goes through :meth:`_combine`. Full :class:`Hypothesis` rows are built
        only for those a caller shows.
        """
        marks = drawing.marks
        tallies = self._cell_tally
        packed = 0
        at: dict[int, _Mark] = {}
        twins: dict[int, int] = {}
        nerve_bits = 0
        touched: set[int] = set()
        try:
            intensities = [m.intensity for m in marks]
            total = sum(intensities)
            if intensities and not (min(intensities) >= 1 and max(intensities) <= MAX_INTENSITY):
                raise self._invalid(drawing)
            for j, mark in enumerate(marks):
                cell_tally = tallies.get(mark.cell)
                if cell_tally is not None:  # else no pattern refers there: it only counts as unexplained
                    bit, adds, muscles = cell_tally
                    packed += adds[mark.intensity]
                    touched.update(muscles)
                    at[bit] = (j, mark.cell, mark.intensity, bit)
                if mark.quality in NERVE_QUALITIES:
                    twin_tally = tallies.get(mark.cell + _NERVE)
                    if twin_tally is not None:  # the cell lies in a nerve territory
                        twin, adds, muscles = twin_tally
                        packed += adds[mark.intensity]
                        touched.update(muscles)
                        at[twin] = (j, mark.cell, mark.intensity, twin)
                        nerve_bits |= twin
                        if cell_tally is not None:
                            twins[twin] = cell_tally[0]
                            twins[cell_tally[0]] = twin
        except TypeError:  # an intensity that is not a whole number
            raise self._invalid(drawing) from None
        if len(at) - len(twins) // 2 < len(marks) and len({m.cell for m in marks}) < len(marks):
            raise self._invalid(drawing)  # a cell marked twice
        ranking = _Ranking(tuple([m.cell for m in marks]), total, at, twins, nerve_bits)
        if not touched:
            return ranking
        raw = packed.to_bytes(self._tally_bytes, "little")
        # A list, not the bytes or array itself: compiled code reads a typed list[int] without boxing.
        tally = list(raw) if self._field_code == "B" else list(_native(array(self._field_code, raw)))
        ranking.tally = tally
        support = supporting_symptoms(drawing.reported)
        implicated = drawing.context.implicated_muscles
        extra = bool(support or implicated)
        muscle_symptoms = self._muscle_symptoms
        scale = -100.0 / scoring.drawing_norm(intensities)  # rows sort ascending on the negated score
        rows = ranking.rows
        best_explained = 0
        spill_weight, spill_squared = scoring.SPILLOVER_WEIGHT, scoring.SPILLOVER_WEIGHT**2
        for m in touched:
            muscle, tiebreak, records = self._muscle_rows[m]
            best = -1
            several: list[int] | None = None
            for i, k, size, factor in records:
                e_int = tally[k]
                s_int = tally[k + 1]
                if e_int or s_int:
                    # scoring.fitted, inlined: this line runs for every touched pattern.
                    sc = (e_int + spill_weight * s_int) / sqrt(size + spill_squared * tally[k + 2]) * factor
                    if best < 0:
                        best_score, best, explained = sc, i, e_int + s_int
                    else:
                        if several is None:
                            several = [best, i]
                        else:
                            several.append(i)
                        if sc > best_score:  # ties keep the first trigger point and the right side
                            best_score, best = sc, i
            if several is None:
                chosen: tuple[int, ...] = (best,)
            else:
                best_score, chosen, explained = self._combine(several, best, best_score, tally, ranking)
            if explained > best_explained:
                best_explained = explained
            score = best_score * scale
            # Evidence beyond the drawing; without any it is exactly 1, so skipping it changes nothing.
            if extra and (muscle in implicated or (support and not support.isdisjoint(muscle_symptoms[m]))):
                score *= self._evidence(chosen, support, muscle in implicated)
            rows.append((score, tiebreak, muscle, chosen, explained))
        rows.sort()
        ranking.best_explained = best_explained
        return ranking

    def _invalid(self, drawing: PainDrawing) -> DrawingError:
        """The error for a hand-built drawing that breaks the contract (a cell marked twice, an
        intensity outside 1-10), worded as parsing would word it. The tally assumes both."""
        problems: list[tuple[str, str]] = []
        # Read untyped: a hand-built mark may hold anything, and compiled code checks typed reads.
        raw = [{"cell": getattr(m, "cell"), "intensity": getattr(m, "intensity")} for m in drawing.marks]  # noqa: B009
        _parse_marks(raw, self.cells, problems)
        return DrawingError(problems or [("marks", "must be a validated drawing")])

    def _evidence(self, idxs: Sequence[int], support: frozenset[str], implicated: bool) -> float:
        """Evidence beyond the drawing: supporting symptoms these patterns are known for, and the assessment."""
        symptoms_of = self._symptoms
        known = symptoms_of[idxs[0]] if len(idxs) == 1 else frozenset().union(*[symptoms_of[i] for i in idxs])
        return scoring.evidence(len(support & known) if support else 0, implicated)

    def _combine(
        self, idxs: list[int], best: int, best_score: float, tally: list[int], ranking: _Ranking
    ) -> tuple[float, tuple[int, ...], int]:
        """The muscle's best pattern plus its other patterns while one raises the row's score.

        Scores here are ``scoring.fitted`` (the cosine times the drawing's length, the same for
        every row of one drawing). The first step reads each pair's sums off the tally (see
        :meth:`_build_tally`); only a muscle with three or more touched patterns goes on, in
        :meth:`_extend`. Returns (score, chosen patterns, explained intensity).
        """
        pweight, ess_size = self._uncommon_factor, self._ess_size
        row_weight = pweight[best]
        k = _FIELDS * best
        e_best, s_best, n_best, size_best = tally[k], tally[k + 1], tally[k + 2], ess_size[best]
        pairs = self._pairs[best]
        pick = -1
        for i in idxs:
            if i == best:
                continue
            pair = pairs.get(i)
            if pair is None:  # disjoint zones: the pair's sums are the two patterns' own
                k = _FIELDS * i
                e_int, s_int, s_cells, size = e_best + tally[k], s_best + tally[k + 1], n_best + tally[k + 2], size_best + ess_size[i]
            else:
                k, size = pair
                e_int, s_int, s_cells = tally[k], tally[k + 1], tally[k + 2]
                if e_int == e_best and s_int == s_best and s_cells == n_best:
                    continue  # it adds no mark, only a larger essential zone: the score cannot rise
            weight = min(row_weight, pweight[i])
            sc = fitted(e_int, s_int, s_cells, size) * weight
            if sc > best_score * (1 + 1e-9):
                best_score, pick, picked = sc, i, (e_int, s_int, s_cells, size, weight)
        if pick < 0:
            return best_score, (best,), e_best + s_best
        if len(idxs) == 2:
            return best_score, (best, pick), picked[0] + picked[1]
        return self._extend(idxs, [best, pick], best_score, ranking, picked)

    def _extend(
        self, idxs: list[int], chosen: list[int], best_score: float, ranking: _Ranking, sums: tuple[int, int, int, int, float]
    ) -> tuple[float, tuple[int, ...], int]:
        """Carry on :meth:`_combine` past a pair: add the muscle's pattern that raises the score
        most, while one does. ``sums`` are the pair's (essential intensity, spillover intensity,
        spillover cells, essential size, weight). A pattern whose zones miss the row's adds its
        own sums; one that overlaps is worked out from the marks it adds."""
        ess, spill, zone, marked = self._ess_mask, self._spill_mask, self._zone_mask, ranking.marked
        pweight, ess_size, tally = self._uncommon_factor, self._ess_size, ranking.tally
        e_int, s_int, s_cells, size, row_weight = sums
        first, second = chosen
        mask = ess[first] | ess[second]
        row_zone = zone[first] | zone[second]
        e_bits = mask & marked
        s_bits = (spill[first] | spill[second]) & marked & ~e_bits
        rest = [i for i in idxs if i != first and i != second]
        while rest:
            pick = -1
            for i in rest:
                if not zone[i] & row_zone:  # disjoint: nothing overlaps, the sums simply add
                    k = _FIELDS * i
                    ne_int, ns_int, ns_cells, new_size = e_int + tally[k], s_int + tally[k + 1], s_cells + tally[k + 2], size + ess_size[i]
                else:
                    # Only the marks a pattern adds change the sums: new essential marks (some
                    # may have counted as spillover so far) and new spillover marks.
                    ne = ess[i] & marked & ~e_bits
                    ns = spill[i] & marked & ~(e_bits | s_bits)
                    if not ne and not ns:
                        continue  # it would only enlarge the essential zone: the score cannot rise
                    moved = ranking.weight(ne & s_bits) if ne & s_bits else 0
                    ne_int = e_int + ranking.weight(ne)
                    ns_int = s_int - moved + ranking.weight(ns)
                    ns_cells = ((s_bits & ~ne) | ns).bit_count()
                    new_size = (mask | ess[i]).bit_count()
                weight = min(row_weight, pweight[i])
                sc = fitted(ne_int, ns_int, ns_cells, new_size) * weight
                if sc > best_score * (1 + 1e-9):
                    best_score, pick, picked = sc, i, (ne_int, ns_int, ns_cells, new_size, weight)
            if pick < 0:
                break
            chosen.append(pick)
            rest.remove(pick)
            e_int, s_int, s_cells, size, row_weight = picked
            mask |= ess[pick]
            row_zone |= zone[pick]
            e_bits = mask & marked
            s_bits = (s_bits | (spill[pick] & marked)) & ~e_bits
        return best_score, tuple(chosen), e_int + s_int

    def _row_bits(self, chosen: tuple[int, ...], marked: int) -> tuple[int, int]:
        """(essential, spillover) bits of the marks a row explains: a cell is essential when any
        chosen pattern has it in its essential zone."""
        if len(chosen) == 1:
            return self._ess_mask[chosen[0]] & marked, self._spill_mask[chosen[0]] & marked
        ess = spill = 0
        for i in chosen:
            ess |= self._ess_mask[i]
            spill |= self._spill_mask[i]
        return ess & marked, spill & marked & ~ess

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
        fibro = evaluate_fibromyalgia(d, self.region_wpi, areas_of=self._wpi_area)
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
        rows = ranking.rows
        pattern = self._pattern(ranking, fibro, len(d.marks))
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
        support = supporting_symptoms(d.reported)
        return ExplainResult(
            hypotheses=tuple([self._hypothesis(r, ranking, d, support) for r in shown]),
            cover=self._cover(ranking),
            screens=(red, fibro, *evaluate_lookalikes(d, [r[_MUSCLE] for r in shown])),
            atlas_version=self.atlas_version,
            message=None if rows else NOTHING_MESSAGE,
            triage=tri,
            pattern=pattern,
        )

    def _pattern(self, ranking: _Ranking, fibro: Screen, n_marks: int) -> PainPattern:
        wpi = int(fibro.inputs["wpi"])
        total = ranking.total
        best = ranking.best_explained / total if total else 0.0
        if not ranking.rows:
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

    def _hypothesis(self, row: _Row, ranking: _Ranking, d: PainDrawing, support: frozenset[str]) -> Hypothesis:
        """A shown row in the engine-output contract, with its sentence; built straight from the row."""
        muscle, chosen = row[_MUSCLE], row[_CHOSEN]
        marked = ranking.marked
        first = self.patterns[chosen[0]]
        if len(chosen) == 1:
            e_bits, s_bits = self._ess_mask[first.index] & marked, self._spill_mask[first.index] & marked
            zones = ranking.zones(e_bits, s_bits, self._words)
            essential, spillover, unexplained, essential_words, spillover_words, nerve, nerve_words = zones
            side = first.side
            known = first.symptoms
            nerves = first.nerves
            trigger_points: tuple[TriggerPointHit, ...] = (TriggerPointHit(first.trigger_point, side, essential, spillover),)
        else:
            e_bits, s_bits = self._row_bits(chosen, marked)
            zones = ranking.zones(e_bits, s_bits, self._words)
            essential, spillover, unexplained, essential_words, spillover_words, nerve, nerve_words = zones
            patterns = [self.patterns[i] for i in chosen]
            side = self._side(patterns)
            known = frozenset().union(*[p.symptoms for p in patterns])
            ess, spill, not_nerve = self._ess_mask, self._spill_mask, ~ranking.nerve_bits
            trigger_points = tuple(
                [
                    TriggerPointHit(
                        p.trigger_point,
                        p.side,
                        ranking.cells_of(ess[p.index] & marked),
                        ranking.cells_of(spill[p.index] & s_bits & not_nerve),
                    )
                    for p in patterns
                ]
            )
            nerves = tuple(dict.fromkeys(n for p in patterns if spill[p.index] & s_bits & ranking.nerve_bits for n in p.nerves))
        names = self.symptom_names
        why = why_from_words(
            first.muscle_name,
            side,
            len(chosen) > 1,
            essential_words,
            spillover_words,
            [names[s] for s in sorted(known & support)] if support else (),
            d.context.implicated_muscles.get(muscle),
            nerve_words,
            nerves,
        )
        explains = row[_EXPLAINED] / ranking.total
        return Hypothesis(
            muscle, first.trigger_point, side, -row[_NEG_SCORE], essential, spillover, explains, unexplained, why, trigger_points, nerve
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
        total = ranking.total
        goal_tenths = round(scoring.COVER_TARGET * 10 * total)
        zone = self._zone_mask
        twins = ranking.twins
        left = ranking.marked
        explained = 0
        steps: list[CoverStep] = []
        for _, _, muscle, chosen, _ in ranking.rows:
            if explained * 10 >= goal_tenths or not left:
                break
            if len(chosen) == 1:
                adds = zone[chosen[0]] & left
            else:
                adds = 0
                for i in chosen:
                    adds |= zone[i]
                adds &= left
            if not adds:
                continue
            left &= ~adds
            marks = ranking.marks_in(adds)
            if twins:  # a mark explained through its cell or its nerve twin is explained once
                for m in marks:
                    left &= ~twins.get(m[3], 0)
            explained += sum([m[2] for m in marks])
            patterns = [self.patterns[i] for i in chosen]
            adds_cells = tuple([m[1] for m in marks])
            steps.append(CoverStep(muscle, patterns[0].trigger_point, self._side(patterns), adds_cells, explained / total))
        return tuple(steps)


def _native(values: array[int]) -> array[int]:
    """Tally fields wider than a byte, read in the machine's byte order."""
    if sys.byteorder == "big":
        values.byteswap()
    return values


@cache
def default_engine() -> Engine:
    """The engine over the shipped atlas, built once per process."""
    from knotwork.atlas.loader import atlas

    return Engine(atlas())


def explain(drawing: PainDrawing | Mapping[str, object], *, top: int | None = DEFAULT_TOP) -> ExplainResult:
    """Explain a drawing with the shipped atlas; see :meth:`Engine.explain`."""
    return default_engine().explain(drawing, top=top)
