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
muscles of the ranking (one row per muscle). An expected muscle missing from the atlas counts
as a miss and is reported as missing, so a thin atlas cannot look better than it is.

**Safety cases** live in files with a ``safety:`` list. Each has a drawing and what the answer
must do, every key optional and all given keys required::

    safety:
      - id: chest-heavy-into-left-arm
        title: Heavy chest pain into the left arm with breathlessness
        source: NICE CG95 (2010)
        drawing: {marks: [...], symptoms: [heart-like-pain], context: {age: 58}}
        expect:
          level: emergency            # the triage level
          positive: [chest-pain-breathless]   # red flags positive (subset)
          ask_first: [appendicitis]   # red flags to ask first (subset)
          withheld: true              # muscle list withheld until medical clearance
          lookalikes: [heel-pain]     # look-alike screens shown (subset)
          widespread: true            # the answer leads with widespread pain

Every case, and every ranking vignette too, is also held to the rule that no alarm symptom is
ever quoted as support for a muscle. Safety must be 100 %.

**Self-consistency** asks the atlas to recognise itself: every trigger point's pattern is
drawn (right side) and we record where its muscle lands in the ranking, once for the
essential zone alone (every cell at intensity 6) and once for the whole pattern (essential at
6, spillover at 3). The rank counts only muscles that score strictly higher, so two muscles
with identical patterns both rank first; ties are listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knotwork.engine.core import Engine, Pattern
from knotwork.engine.drawing import DrawingError
from knotwork.engine.model import Mark, PainDrawing
from knotwork.engine.result import ExplainResult, Hypothesis
from knotwork.engine.vocabulary import ALARM_SYMPTOMS

VIGNETTE_DIR = Path(__file__).resolve().parent / "vignettes"
SELF_CONSISTENCY_INTENSITY = 6
SPILLOVER_INTENSITY = 3
_VIGNETTE_FIELDS = frozenset({"id", "title", "drawing", "expected", "k", "note", "source"})
_SAFETY_FIELDS = frozenset({"id", "title", "drawing", "expect", "source", "note"})
_EXPECT_KEYS = frozenset({"level", "positive", "ask_first", "withheld", "lookalikes", "widespread"})


class VignetteError(ValueError):
    """A vignette file is malformed; the message names the file and the vignette."""


def _mean(values: Iterable[float]) -> float:
    """The mean of ``values``; 0 for none, so an empty report reads as nothing passed."""
    items = list(values)
    return sum(items) / len(items) if items else 0.0


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
    top3: tuple[str, ...] = ()

    @property
    def recall(self) -> float:
        return len(self.found) / len(self.vignette.expected)

    @property
    def recall_at_3(self) -> float:
        return sum(m in self.top3 for m in self.vignette.expected) / len(self.vignette.expected)


@dataclass(frozen=True)
class VignetteReport:
    outcomes: tuple[VignetteOutcome, ...]

    @property
    def mean_recall(self) -> float:
        """Macro average: every vignette weighs the same."""
        return _mean(o.recall for o in self.outcomes)

    @property
    def recall_at_3(self) -> float:
        """Macro average of recall among the first three muscles, whatever each vignette's k."""
        return _mean(o.recall_at_3 for o in self.outcomes)

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
    tied: tuple[str, ...] = ()
    position: int = 1
    """Where the muscle is listed: a tie is shown in prior, evidence and id order."""


@dataclass(frozen=True)
class SelfConsistencyReport:
    cases: tuple[SelfCase, ...]
    atlas_version: str
    worst: tuple[SelfCase, ...] = field(default=())
    whole: bool = False

    @property
    def total(self) -> int:
        return len(self.cases)

    def share_within(self, k: int) -> float:
        return _mean(c.rank <= k for c in self.cases)

    @property
    def share_listed_first(self) -> float:
        return _mean(c.position == 1 for c in self.cases)


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
        note=str(raw.get("note", raw.get("source", ""))),
    )


@dataclass(frozen=True)
class SafetyCase:
    id: str
    title: str
    drawing: dict[str, Any]
    expect: dict[str, Any]
    source: str
    file: str


@dataclass(frozen=True)
class SafetyOutcome:
    case: SafetyCase
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class SafetyReport:
    outcomes: tuple[SafetyOutcome, ...]

    @property
    def share_passed(self) -> float:
        return _mean(o.passed for o in self.outcomes)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise VignetteError(f"{path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise VignetteError(f"{path}: not valid YAML: {exc}") from exc


def _read_safety_case(raw: Any, file: str, where: str) -> SafetyCase:
    if not isinstance(raw, dict):
        raise VignetteError(f"{where}: a safety case must be a mapping")
    unknown = set(raw) - _SAFETY_FIELDS
    if unknown:
        raise VignetteError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("id", "drawing", "expect", "source"):
        if key not in raw:
            raise VignetteError(f"{where}: missing {key!r}")
    expect = raw["expect"]
    if not isinstance(expect, dict) or not expect or set(expect) - _EXPECT_KEYS:
        raise VignetteError(f"{where}: 'expect' must use only {', '.join(sorted(_EXPECT_KEYS))}")
    return SafetyCase(
        id=str(raw["id"]),
        title=str(raw.get("title", raw["id"])),
        drawing=raw["drawing"],
        expect=expect,
        source=str(raw["source"]),
        file=str(file),
    )


def load_safety_cases(paths: Iterable[Path] | None = None) -> list[SafetyCase]:
    """Read the ``safety:`` lists of case files (default: every ``*.yaml`` shipped in ``vignettes/``)."""
    files = sorted(VIGNETTE_DIR.glob("*.yaml")) if paths is None else list(paths)
    out: list[SafetyCase] = []
    seen: set[str] = set()
    for path in files:
        raw = _read_yaml(path)
        if not isinstance(raw, dict) or "safety" not in raw:
            continue
        for i, item in enumerate(raw["safety"] or ()):
            case = _read_safety_case(item, str(path), f"{Path(path).name}: safety case {i + 1}")
            if case.id in seen:
                raise VignetteError(f"{Path(path).name}: duplicate safety case id {case.id!r}")
            seen.add(case.id)
            out.append(case)
    return out


def alarm_support(result: ExplainResult, symptom_names: dict[str, str]) -> list[str]:
    """Hypotheses whose explanation quotes an alarm symptom as support (must always be empty)."""
    alarm = [symptom_names[s].lower() for s in ALARM_SYMPTOMS if s in symptom_names]
    return [h.muscle for h in result.hypotheses if "linked with" in h.why and any(a in h.why.lower() for a in alarm)]


def check_safety(result: ExplainResult, expect: dict[str, Any], symptom_names: dict[str, str]) -> list[str]:
    """What in ``result`` breaks the case's expectations, in words (empty: the case passes)."""
    tri = result.triage
    failures: list[str] = []
    if tri is None:
        return ["the result has no triage"]
    if "level" in expect and tri.level != expect["level"]:
        failures.append(f"level {tri.level!r}, expected {expect['level']!r}")
    for key, have in (("positive", tri.positive), ("ask_first", tri.ask_first)):
        missing = [x for x in expect.get(key, ()) if x not in have]
        if missing:
            failures.append(f"{key} lacks {', '.join(missing)} (has {', '.join(have) or 'none'})")
    if "withheld" in expect and tri.withheld != bool(expect["withheld"]):
        failures.append(f"withheld is {tri.withheld}, expected {bool(expect['withheld'])}")
    if tri.withheld and result.hypotheses:
        failures.append("muscles were listed although the triage withholds them")
    shown = {s.id.removeprefix("lookalike-") for s in result.screens}
    missing = [x for x in expect.get("lookalikes", ()) if x not in shown]
    if missing:
        failures.append(f"look-alike screens missing: {', '.join(missing)}")
    lead = result.pattern.lead if result.pattern else None
    if "widespread" in expect and (lead == "widespread") != bool(expect["widespread"]):
        failures.append(f"lead is {lead!r}, expected widespread={bool(expect['widespread'])}")
    quoted = alarm_support(result, symptom_names)
    if quoted:
        failures.append(f"an alarm symptom is quoted as support for {', '.join(quoted)}")
    return failures


def evaluate_safety(engine: Engine, cases: Sequence[SafetyCase]) -> SafetyReport:
    outcomes: list[SafetyOutcome] = []
    for case in cases:
        try:
            result = engine.explain(case.drawing, top=None)
        except DrawingError as exc:
            raise VignetteError(f"{Path(case.file).name}: safety case {case.id!r}: {exc}") from exc
        outcomes.append(SafetyOutcome(case=case, failures=tuple(check_safety(result, case.expect, engine.symptom_names))))
    return SafetyReport(outcomes=tuple(outcomes))


def load_vignettes(paths: Iterable[Path] | None = None) -> list[Vignette]:
    """Read vignette files (default: every ``*.yaml`` shipped in ``vignettes/``), sorted by file."""
    files = sorted(VIGNETTE_DIR.glob("*.yaml")) if paths is None else list(paths)
    out: list[Vignette] = []
    seen: set[str] = set()
    for path in files:
        raw = _read_yaml(path)
        if isinstance(raw, dict) and "safety" in raw and "vignettes" not in raw:
            continue  # a safety-case file: see load_safety_cases
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


def distinct_muscles(ranked: Sequence[Hypothesis]) -> list[str]:
    """The ranking's muscles, best first (one row per muscle already)."""
    return [r.muscle for r in ranked]


def evaluate_vignettes(engine: Engine, vignettes: Sequence[Vignette]) -> VignetteReport:
    outcomes: list[VignetteOutcome] = []
    for v in vignettes:
        try:
            drawing = engine.parse(v.drawing)
        except DrawingError as exc:
            raise VignetteError(f"{Path(v.source).name}: vignette {v.id!r}: {exc}") from exc
        ranked = distinct_muscles(engine.rank(drawing))
        top = tuple(ranked[: v.k])
        outcomes.append(
            VignetteOutcome(
                vignette=v,
                top=top,
                found=tuple(m for m in v.expected if m in top),
                missed=tuple(m for m in v.expected if m not in top),
                not_in_atlas=tuple(m for m in v.expected if m not in engine.atlas.muscle_by_id),
                top3=tuple(ranked[:3]),
            )
        )
    return VignetteReport(outcomes=tuple(outcomes))


def self_drawing(pattern: Pattern, *, whole: bool = False) -> PainDrawing:
    """A drawing of the pattern's essential zone (every cell at 6), with its spillover at 3 when ``whole``."""
    marks = [Mark(cell=c, intensity=SELF_CONSISTENCY_INTENSITY) for c in sorted(pattern.essential)]
    if whole:
        marks += [Mark(cell=c, intensity=SPILLOVER_INTENSITY) for c in sorted(pattern.spillover)]
    return PainDrawing(marks=tuple(marks))


def self_consistency(engine: Engine, worst: int = 10, *, whole: bool = False) -> SelfConsistencyReport:
    cases: list[SelfCase] = []
    for p in engine.patterns:
        if p.side == "left":
            continue  # the left pattern is the mirror image of the right one
        ranked = engine.rank(self_drawing(p, whole=whole))
        own = next(r for r in ranked if r.muscle == p.muscle)
        ahead = tuple(r.muscle for r in ranked if r.score > own.score * (1 + 1e-9))
        tied = tuple(r.muscle for r in ranked if r.muscle != p.muscle and abs(r.score - own.score) <= own.score * 1e-9)
        position = next(n for n, r in enumerate(ranked, 1) if r.muscle == p.muscle)
        cases.append(
            SelfCase(trigger_point=p.trigger_point, muscle=p.muscle, rank=len(ahead) + 1, ahead=ahead, tied=tied, position=position)
        )
    ordered = sorted(cases, key=lambda c: (-c.rank, c.trigger_point))
    return SelfConsistencyReport(
        cases=tuple(cases),
        atlas_version=engine.atlas_version,
        worst=tuple(c for c in ordered[:worst] if c.rank > 1),
        whole=whole,
    )


def format_vignette_report(report: VignetteReport) -> str:
    lines = [f"{'vignette':<34} {'k':>2} {'recall':>7}  top muscles (missed)"]
    for o in report.outcomes:
        missed = f"  (missed: {', '.join(o.missed)})" if o.missed else ""
        absent = f" [not in atlas: {', '.join(o.not_in_atlas)}]" if o.not_in_atlas else ""
        lines.append(f"{o.vignette.id:<34} {o.vignette.k:>2} {o.recall:>7.0%}  {', '.join(o.top) or '-'}{missed}{absent}")
    lines.append(
        f"Ranking: {len(report.outcomes)} vignettes: mean recall@k {report.mean_recall:.1%}, pooled {report.pooled_recall:.1%}, "
        f"recall@3 {report.recall_at_3:.1%}"
    )
    return "\n".join(lines)


def format_safety_report(report: SafetyReport) -> str:
    lines = [f"{'safety case':<40} result"]
    for o in report.outcomes:
        lines.append(f"{o.case.id:<40} {'ok' if o.passed else 'FAIL: ' + '; '.join(o.failures)}")
    passed = sum(o.passed for o in report.outcomes)
    lines.append(f"Safety: {passed} of {len(report.outcomes)} cases pass ({report.share_passed:.1%}); it must be 100 %.")
    return "\n".join(lines)


def format_self_consistency(report: SelfConsistencyReport) -> str:
    drawn = "whole pattern (essential 6, spillover 3)" if report.whole else "essential zone"
    tied = [c for c in report.cases if c.rank == 1 and c.tied]
    lines = [
        f"Atlas self-consistency, {drawn} (atlas {report.atlas_version}): {report.total} trigger points",
        f"  own muscle first: {report.share_within(1):.1%} (of which tied: {len(tied)}; listed first: {report.share_listed_first:.1%})"
        f"   within top 3: {report.share_within(3):.1%}",
    ]
    if tied:
        lines.append("  tied first (identical or nested patterns): " + ", ".join(f"{c.trigger_point}={'/'.join(c.tied)}" for c in tied))
    if report.worst:
        lines.append("  worst cases (rank, trigger point, muscles ranked ahead):")
        for c in report.worst:
            lines.append(f"    {c.rank:>3}  {c.trigger_point:<40} {', '.join(c.ahead[:5])}")
    return "\n".join(lines)
