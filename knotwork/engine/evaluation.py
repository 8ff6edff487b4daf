"""How well the engine ranks: clinical vignettes and atlas self-consistency.

**Vignettes** are small YAML files under ``knotwork/engine/vignettes/``. A file holds either one
vignette or a list of them under ``vignettes:``::

    vignettes:
      - id: temple-headache                 # unique, kebab-case
        title: Right temple headache after desk work
        drawing:                            # the pain-drawing contract, exactly as the API takes it
          marks:
            - {cell: "temple:right", intensity: 7}
            - {cell: "neck-lateral:right", intensity: 4}
          symptoms: [headache]
        expected: [upper-trapezius, temporalis]   # muscles a therapist would want to see listed
        k: 3                                # how many distinct muscles of the ranking count
        note: optional free text (source, reasoning)

``recall@k`` of a vignette is the share of its expected muscles found among the first ``k``
distinct muscles of the ranking. An expected muscle missing from the atlas counts as a miss
and is reported as missing, so a thin atlas cannot look better than it is.

**Self-consistency** asks the atlas to recognise itself: for every trigger point, its own
essential zone (right side, every cell at intensity 6) is used as the drawing, and we record
where its muscle lands among the distinct muscles of the ranking. A trigger point that cannot
come near the top with its own pattern either duplicates another pattern or exposes a
weakness of the scoring.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knotwork.engine.core import Engine, Pattern, Scored
from knotwork.engine.drawing import DrawingError, Mark, PainDrawing

VIGNETTE_DIR = Path(__file__).resolve().parent / "vignettes"
SELF_CONSISTENCY_INTENSITY = 6
_VIGNETTE_FIELDS = frozenset({"id", "title", "drawing", "expected", "k", "note"})


class VignetteError(ValueError):
    """A vignette file is malformed; the message names the file and the vignette."""


@dataclass(frozen=True)
class Vignette:
    id: str
    title: str
    drawing: dict[str, Any]
    expected: tuple[str, ...]
    k: int
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class VignetteOutcome:
    vignette: Vignette
    top: tuple[str, ...]
    found: tuple[str, ...]
    missed: tuple[str, ...]
    not_in_atlas: tuple[str, ...]

    @property
    def recall(self) -> float:
        return len(self.found) / len(self.vignette.expected)


@dataclass(frozen=True)
class VignetteReport:
    outcomes: tuple[VignetteOutcome, ...]

    @property
    def mean_recall(self) -> float:
        """Macro average: every vignette weighs the same."""
        return sum(o.recall for o in self.outcomes) / len(self.outcomes) if self.outcomes else 0.0

    @property
    def pooled_recall(self) -> float:
        """Micro average: every expected muscle weighs the same."""
        expected = sum(len(o.vignette.expected) for o in self.outcomes)
        return sum(len(o.found) for o in self.outcomes) / expected if expected else 0.0


@dataclass(frozen=True)
class SelfCase:
    trigger_point: str
    muscle: str
    rank: int
    ahead: tuple[str, ...]


@dataclass(frozen=True)
class SelfConsistencyReport:
    cases: tuple[SelfCase, ...]
    atlas_version: str
    worst: tuple[SelfCase, ...] = field(default=())

    @property
    def total(self) -> int:
        return len(self.cases)

    def share_within(self, k: int) -> float:
        return sum(1 for c in self.cases if c.rank <= k) / self.total if self.cases else 0.0


def _read_vignette(raw: Any, source: str, where: str) -> Vignette:
    if not isinstance(raw, dict):
        raise VignetteError(f"{where}: a vignette must be a mapping")
    unknown = set(raw) - _VIGNETTE_FIELDS
    if unknown:
        raise VignetteError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("id", "drawing", "expected"):
        if key not in raw:
            raise VignetteError(f"{where}: missing {key!r}")
    expected = raw["expected"]
    if not isinstance(expected, list) or not expected or not all(isinstance(e, str) for e in expected):
        raise VignetteError(f"{where}: 'expected' must be a non-empty list of muscle ids")
    k = raw.get("k", 3)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise VignetteError(f"{where}: 'k' must be a positive whole number")
    if not isinstance(raw["drawing"], dict):
        raise VignetteError(f"{where}: 'drawing' must be a pain drawing mapping")
    return Vignette(
        id=str(raw["id"]),
        title=str(raw.get("title", raw["id"])),
        drawing=raw["drawing"],
        expected=tuple(expected),
        k=k,
        source=source,
        note=str(raw.get("note", "")),
    )


def load_vignettes(paths: Iterable[Path] | None = None) -> list[Vignette]:
    """Read vignette files (default: every ``*.yaml`` shipped in ``vignettes/``), sorted by file."""
    files = sorted(VIGNETTE_DIR.glob("*.yaml")) if paths is None else list(paths)
    out: list[Vignette] = []
    seen: set[str] = set()
    for path in files:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise VignetteError(f"{path}: cannot read ({exc.strerror})") from exc
        except yaml.YAMLError as exc:
            raise VignetteError(f"{path}: not valid YAML: {exc}") from exc
        items = raw["vignettes"] if isinstance(raw, dict) and "vignettes" in raw else [raw]
        if not isinstance(items, list):
            raise VignetteError(f"{path}: 'vignettes' must be a list")
        for i, item in enumerate(items):
            v = _read_vignette(item, str(path), f"{Path(path).name}: vignette {i + 1}")
            if v.id in seen:
                raise VignetteError(f"{Path(path).name}: duplicate vignette id {v.id!r}")
            seen.add(v.id)
            out.append(v)
    return out


def distinct_muscles(ranked: Sequence[Scored]) -> list[str]:
    seen: dict[str, None] = {}
    for r in ranked:
        seen.setdefault(r.pattern.muscle, None)
    return list(seen)


def evaluate_vignettes(engine: Engine, vignettes: Sequence[Vignette]) -> VignetteReport:
    outcomes: list[VignetteOutcome] = []
    for v in vignettes:
        try:
            drawing = engine.parse(v.drawing)
        except DrawingError as exc:
            raise VignetteError(f"{Path(v.source).name}: vignette {v.id!r}: {exc}") from exc
        top = tuple(distinct_muscles(engine.rank(drawing))[: v.k])
        outcomes.append(
            VignetteOutcome(
                vignette=v,
                top=top,
                found=tuple(m for m in v.expected if m in top),
                missed=tuple(m for m in v.expected if m not in top),
                not_in_atlas=tuple(m for m in v.expected if m not in engine.atlas.muscle_by_id),
            )
        )
    return VignetteReport(outcomes=tuple(outcomes))


def self_drawing(pattern: Pattern) -> PainDrawing:
    """A drawing of exactly the pattern's essential zone, every cell at the same intensity."""
    return PainDrawing(marks=tuple(Mark(cell=c, intensity=SELF_CONSISTENCY_INTENSITY) for c in sorted(pattern.essential)))


def self_consistency(engine: Engine, worst: int = 10) -> SelfConsistencyReport:
    cases: list[SelfCase] = []
    for p in engine.patterns:
        if p.side == "left":
            continue  # the left pattern is the mirror image of the right one
        muscles = distinct_muscles(engine.rank(self_drawing(p)))
        rank = muscles.index(p.muscle) + 1
        cases.append(SelfCase(trigger_point=p.trigger_point, muscle=p.muscle, rank=rank, ahead=tuple(muscles[: rank - 1])))
    ordered = sorted(cases, key=lambda c: (-c.rank, c.trigger_point))
    return SelfConsistencyReport(
        cases=tuple(cases),
        atlas_version=engine.atlas_version,
        worst=tuple(c for c in ordered[:worst] if c.rank > 1),
    )


def format_vignette_report(report: VignetteReport) -> str:
    lines = [f"{'vignette':<34} {'k':>2} {'recall':>7}  top muscles (missed)"]
    for o in report.outcomes:
        missed = f"  (missed: {', '.join(o.missed)})" if o.missed else ""
        absent = f" [not in atlas: {', '.join(o.not_in_atlas)}]" if o.not_in_atlas else ""
        lines.append(f"{o.vignette.id:<34} {o.vignette.k:>2} {o.recall:>7.0%}  {', '.join(o.top) or '-'}{missed}{absent}")
    lines.append(f"{len(report.outcomes)} vignettes: mean recall@k {report.mean_recall:.1%}, pooled {report.pooled_recall:.1%}")
    return "\n".join(lines)


def format_self_consistency(report: SelfConsistencyReport) -> str:
    lines = [
        f"Atlas self-consistency (atlas {report.atlas_version}): {report.total} trigger points",
        f"  muscle ranked 1st: {report.share_within(1):.1%}   within top 3: {report.share_within(3):.1%}",
    ]
    if report.worst:
        lines.append("  worst cases (rank, trigger point, muscles ranked ahead):")
        for c in report.worst:
            lines.append(f"    {c.rank:>3}  {c.trigger_point:<40} {', '.join(c.ahead[:5])}")
    return "\n".join(lines)
