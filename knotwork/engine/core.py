"""The engine: an index of the atlas built once, and ``explain()`` over it.

Building the :class:`Engine` turns every trigger point into one referral *pattern* per side
(right and left for a trigger point in a paired region, one for a midline one) and inverts the
patterns into postings: cell -> the patterns that refer there, essential or spillover. One
explain then touches only the postings of the marked cells, so its cost grows with the size of
the drawing, not of the atlas.

Side rules: a trigger point on the right refers its ipsilateral zones to right cells, its
contralateral zones to left cells and its bilateral zones to both; midline regions are the
bare cell whatever the side. A trigger point located in a midline region has no side, so its
paired zones are taken on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from knotwork.atlas.loader import AtlasData
from knotwork.engine import scoring
from knotwork.engine.cover import CoverCandidate, greedy_cover
from knotwork.engine.drawing import PainDrawing, _parse
from knotwork.engine.fibromyalgia import evaluate_fibromyalgia
from knotwork.engine.lookalikes import evaluate_lookalikes
from knotwork.engine.red_flags import evaluate_red_flags
from knotwork.engine.result import CoverStep, ExplainResult, Hypothesis, Screen
from knotwork.engine.wording import why_sentence

DEFAULT_TOP = 10
EMPTY_MESSAGE = "The drawing is empty: mark where it hurts to see likely sources to examine."
NOTHING_MESSAGE = "No trigger point in the atlas refers pain to the marked areas."
_SIDE_ORDER = {"right": 0, "left": 1, "midline": 2}
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
    size: float
    symptoms: frozenset[str]
    tiebreak: tuple[int, str, str, int]


@dataclass(frozen=True)
class Scored:
    pattern: Pattern
    score: float
    essential_hits: tuple[str, ...]
    spillover_hits: tuple[str, ...]
    explained_intensity: int
    symptom_matches: tuple[str, ...]


def _zone_cells(region: str, laterality: str, side: str, midline: frozenset[str]) -> list[str]:
    if region in midline:
        return [region]
    if side == "midline" or laterality == "bilateral":
        return [f"{region}:right", f"{region}:left"]
    if laterality == "contralateral":
        return [f"{region}:{_OPPOSITE[side]}"]
    return [f"{region}:{side}"]


class Engine:
    """The trigger-point reasoning engine over one atlas. Build once, call :meth:`explain` often."""

    def __init__(self, atlas: AtlasData) -> None:
        self.atlas = atlas
        self.atlas_version = atlas.version
        self.cells = frozenset(atlas.cells())
        self.symptom_ids = frozenset(s.id for s in atlas.symptoms)
        self.symptom_names = {s.id: s.name for s in atlas.symptoms}
        self.region_names = {r.id: r.name for r in atlas.regions}
        self.region_wpi: dict[str, str | None] = {r.id: (r.wpi.value if r.wpi else None) for r in atlas.regions}
        # A mark drawn as tingling or numb is the client reporting that symptom, even if they
        # did not also tick it in the symptom list.
        self.quality_symptoms = {q: q for q in ("tingling", "numbness") if q in self.symptom_ids}
        midline = frozenset(r.id for r in atlas.regions if r.kind == "midline")
        patterns: list[Pattern] = []
        postings: dict[str, list[tuple[int, bool]]] = {}
        for muscle in atlas.muscles:
            evidence = scoring.EVIDENCE_ORDER.get(str(muscle.evidence), len(scoring.EVIDENCE_ORDER))
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
                        size=scoring.pattern_size(len(ess), len(spill)),
                        symptoms=frozenset(tp.symptoms),
                        tiebreak=(evidence, muscle.id, tp.id, _SIDE_ORDER[side]),
                    )
                    patterns.append(p)
                    for c in ess:
                        postings.setdefault(c, []).append((p.index, True))
                    for c in spill:
                        postings.setdefault(c, []).append((p.index, False))
        self.patterns: tuple[Pattern, ...] = tuple(patterns)
        self.postings: dict[str, tuple[tuple[int, bool], ...]] = {c: tuple(sorted(v)) for c, v in sorted(postings.items())}

    # -- input -------------------------------------------------------------------------------

    def parse(self, data: object) -> PainDrawing:
        """Validate drawing data against this engine's atlas (see :func:`parse_drawing`)."""
        return _parse(data, self.cells, self.symptom_ids, self.atlas)

    def _coerce(self, drawing: PainDrawing | Mapping[str, object]) -> PainDrawing:
        return drawing if isinstance(drawing, PainDrawing) else self.parse(drawing)

    # -- ranking -----------------------------------------------------------------------------

    def rank(self, drawing: PainDrawing) -> list[Scored]:
        """Every pattern that explains at least one marked cell, best first."""
        marks = drawing.marks
        total = 0
        # Per touched pattern: essential intensity, spillover intensity, and the cells hit,
        # gathered in one pass over the postings of the marked cells.
        hits: dict[int, tuple[list[int], list[str], list[str]]] = {}
        postings = self.postings
        for m in marks:
            w = m.intensity
            cell = m.cell
            total += w
            for idx, essential in postings.get(cell, ()):
                acc = hits.get(idx)
                if acc is None:
                    acc = hits[idx] = ([0, 0], [], [])
                if essential:
                    acc[0][0] += w
                    acc[1].append(cell)
                else:
                    acc[0][1] += w
                    acc[2].append(cell)
        if not hits:
            return []
        symptoms = frozenset(drawing.symptoms).union(self.quality_symptoms[m.quality] for m in marks if m.quality in self.quality_symptoms)
        implicated = drawing.context.implicated_muscles
        patterns = self.patterns
        out: list[Scored] = []
        for idx, ((e_int, s_int), e_cells, s_cells) in hits.items():
            p = patterns[idx]
            matches = tuple(sorted(symptoms & p.symptoms)) if symptoms else ()
            s = scoring.score(
                essential_intensity=e_int,
                spillover_intensity=s_int,
                essential_cells=len(e_cells),
                spillover_cells=len(s_cells),
                total_intensity=total,
                size=p.size,
                symptom_matches=len(matches),
                implicated=p.muscle in implicated,
            )
            out.append(
                Scored(
                    pattern=p,
                    score=s,
                    essential_hits=tuple(e_cells),
                    spillover_hits=tuple(s_cells),
                    explained_intensity=e_int + s_int,
                    symptom_matches=matches,
                )
            )
        out.sort(key=lambda r: (-r.score, r.pattern.tiebreak))
        return out

    # -- the whole answer -------------------------------------------------------------------

    def explain(self, drawing: PainDrawing | Mapping[str, object], *, top: int | None = DEFAULT_TOP) -> ExplainResult:
        """Rank likely sources to examine, pick a cover, and run every screen.

        ``drawing`` may be a parsed :class:`PainDrawing` or raw contract data (then it is
        validated first and may raise :class:`DrawingError`). ``top`` limits the hypotheses
        returned (``None`` = all); the cover and screens always use the full ranking.
        """
        d = self._coerce(drawing)
        if d.is_empty:
            return ExplainResult(
                hypotheses=(),
                cover=(),
                screens=self._screens(d, []),
                atlas_version=self.atlas_version,
                message=EMPTY_MESSAGE,
            )
        ranked = self.rank(d)
        total = d.total_intensity
        intensity = {m.cell: m.intensity for m in d.marks}
        shown = ranked if top is None else ranked[:top]
        hypotheses = tuple(self._hypothesis(r, d, intensity, total) for r in shown)
        return ExplainResult(
            hypotheses=hypotheses,
            cover=self._cover(ranked, intensity, total),
            screens=self._screens(d, [r.pattern.muscle for r in shown]),
            atlas_version=self.atlas_version,
            message=None if ranked else NOTHING_MESSAGE,
        )

    def _hypothesis(self, r: Scored, d: PainDrawing, intensity: Mapping[str, int], total: int) -> Hypothesis:
        p = r.pattern
        why = why_sentence(
            muscle_name=p.muscle_name,
            side=p.side,
            essential_hits=r.essential_hits,
            spillover_hits=r.spillover_hits,
            intensity=intensity,
            region_names=self.region_names,
            symptom_names=[self.symptom_names[s] for s in r.symptom_matches],
            assessment_reason=d.context.implicated_muscles.get(p.muscle),
        )
        return Hypothesis(
            muscle=p.muscle,
            trigger_point=p.trigger_point,
            side=p.side,
            score=r.score,
            essential_hits=r.essential_hits,
            spillover_hits=r.spillover_hits,
            explains=r.explained_intensity / total,
            unexplained=tuple(c for c in intensity if c not in p.essential and c not in p.spillover),
            why=why,
        )

    def _cover(self, ranked: list[Scored], intensity: Mapping[str, int], total: int) -> tuple[CoverStep, ...]:
        candidates = [
            CoverCandidate(key=i, essential=frozenset(r.essential_hits), spillover=frozenset(r.spillover_hits))
            for i, r in enumerate(ranked)
        ]
        steps = greedy_cover(intensity, candidates)
        return tuple(
            CoverStep(
                muscle=ranked[c.key].pattern.muscle,
                trigger_point=ranked[c.key].pattern.trigger_point,
                side=ranked[c.key].pattern.side,
                adds=adds,
                cumulative=so_far / total,
            )
            for c, adds, so_far in steps
        )

    def _screens(self, d: PainDrawing, ranked_muscles: list[str]) -> tuple[Screen, ...]:
        # The red-flag verdict comes first, always: no list of likely sources without it.
        return (
            evaluate_red_flags(d.context.red_flags, d),
            evaluate_fibromyalgia(d, self.region_wpi),
            *evaluate_lookalikes(d, ranked_muscles),
        )


@cache
def default_engine() -> Engine:
    """The engine over the shipped atlas, built once per process."""
    from knotwork.atlas.loader import atlas

    return Engine(atlas())


def explain(drawing: PainDrawing | Mapping[str, object], *, top: int | None = DEFAULT_TOP) -> ExplainResult:
    """Explain a drawing with the shipped atlas; see :meth:`Engine.explain`."""
    return default_engine().explain(drawing, top=top)
