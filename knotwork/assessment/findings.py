"""From measures and findings to flags and implicated muscles. Pure Python, no Django.

- ``flags_for(measure_id, value)``: the configurable prompts a photo measure raises
  (data/posture.yaml), e.g. CVA < 50° "possible forward head posture". Never a diagnosis.
- ``implicated_muscles(...)``: the findings → muscles rules (data/rules.yaml) applied to posture
  findings, limited motions and movement-test results; each muscle id maps to the reasons, joined
  into one sentence, in the shape the reasoning engine takes as ``context.implicated_muscles``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"

FINDING_KINDS: dict[str, str] = {
    "head_forward": "Head forward",
    "head_tilt": "Head tilt",
    "head_rotation": "Head rotation",
    "shoulder_elevation": "Shoulder elevation",
    "shoulder_protraction": "Shoulder protraction",
    "scapular_winging": "Scapular winging",
    "thoracic_hyperkyphosis": "Increased thoracic kyphosis",
    "lumbar_hyperlordosis": "Increased lumbar lordosis",
    "lumbar_flattened": "Flattened lumbar lordosis",
    "pelvic_tilt_anterior": "Anterior pelvic tilt",
    "pelvic_tilt_posterior": "Posterior pelvic tilt",
    "pelvic_obliquity": "Pelvic obliquity",
    "genu_valgum": "Genu valgum",
    "genu_varum": "Genu varum",
    "genu_recurvatum": "Genu recurvatum",
    "foot_pronation": "Foot pronation",
    "foot_supination": "Foot supination",
}


@dataclass(frozen=True)
class Flag:
    label: str
    finding: str | None = None
    side: str | None = None
    severity: str | None = None


@dataclass(frozen=True)
class FlagRule:
    label: str
    above: float | None = None
    below: float | None = None
    abs_above: float | None = None
    finding: str | None = None
    side: str | None = None
    severity: str | None = None

    def matches(self, value: float) -> bool:
        if self.above is not None and value > self.above:
            return True
        if self.below is not None and value < self.below:
            return True
        return self.abs_above is not None and abs(value) > self.abs_above


@dataclass(frozen=True)
class MeasurePolicy:
    error: float
    error_source: str
    flags: tuple[FlagRule, ...]


@cache
def posture_policy() -> dict[str, MeasurePolicy]:
    raw = yaml.safe_load((DATA_DIR / "posture.yaml").read_text(encoding="utf-8"))
    out = {}
    for mid, m in raw["measures"].items():
        rules = tuple(FlagRule(**f) for f in m.get("flags") or [])
        for r in rules:
            if r.finding is not None and r.finding not in FINDING_KINDS:
                raise ValueError(f"posture.yaml: {mid} flags unknown finding {r.finding!r}")
        out[mid] = MeasurePolicy(float(m["error"]), m.get("error_source", ""), rules)
    return out


def measurement_error(measure_id: str) -> float:
    policy = posture_policy().get(measure_id)
    return policy.error if policy else 0.0


def flags_for(measure_id: str, value: float, *, view_side: str | None = None) -> list[Flag]:
    """The first matching flag of the measure (they are ordered strongest first), or none."""
    policy = posture_policy().get(measure_id)
    if policy is None:
        return []
    for rule in policy.flags:
        if rule.matches(value):
            side = view_side if rule.side == "view" else rule.side
            return [Flag(rule.label, rule.finding, side, rule.severity)]
    return []


def change_exceeds_error(measure_id: str, before: float, after: float) -> bool:
    return abs(after - before) > measurement_error(measure_id)


# --- findings → muscles ---------------------------------------------------------------------


@dataclass(frozen=True)
class PostureRule:
    id: str
    reason: str
    all: frozenset[str]
    any: frozenset[str]
    short: tuple[str, ...]
    weak: tuple[str, ...]

    def fires(self, kinds: frozenset[str]) -> bool:
        if self.all and not self.all <= kinds:
            return False
        return not self.any or bool(self.any & kinds)


@dataclass(frozen=True)
class MovementResult:
    id: str
    label: str
    implicates: tuple[str, ...] = ()
    caution: str = ""


@dataclass(frozen=True)
class MovementTestDef:
    id: str
    label: str
    sided: bool
    results: dict[str, MovementResult]


@dataclass(frozen=True)
class Rules:
    posture: tuple[PostureRule, ...]
    rom: dict[str, tuple[str, ...]]
    tests: dict[str, MovementTestDef]

    def muscle_ids(self) -> set[str]:
        ids: set[str] = set()
        for r in self.posture:
            ids.update(r.short, r.weak)
        for muscles in self.rom.values():
            ids.update(muscles)
        for t in self.tests.values():
            for res in t.results.values():
                ids.update(res.implicates)
        return ids


@cache
def rules() -> Rules:
    raw = yaml.safe_load((DATA_DIR / "rules.yaml").read_text(encoding="utf-8"))
    posture = []
    for r in raw["posture"]:
        kinds = set(r.get("all", [])) | set(r.get("any", []))
        if not kinds or kinds - set(FINDING_KINDS):
            raise ValueError(f"rules.yaml: rule {r['id']} needs known findings, got {sorted(kinds)}")
        posture.append(
            PostureRule(
                r["id"],
                r["reason"],
                frozenset(r.get("all", [])),
                frozenset(r.get("any", [])),
                tuple(r.get("short", [])),
                tuple(r.get("weak", [])),
            )
        )
    rom = {k: tuple(v) for k, v in raw["rom"].items()}
    traw = yaml.safe_load((DATA_DIR / "movement_tests.yaml").read_text(encoding="utf-8"))
    tests = {}
    for t in traw["tests"]:
        results = {
            r["id"]: MovementResult(r["id"], r["label"], tuple(r.get("implicates", [])), " ".join(r.get("caution", "").split()))
            for r in t["results"]
        }
        tests[t["id"]] = MovementTestDef(t["id"], t["label"], bool(t.get("sided", False)), results)
    return Rules(tuple(posture), rom, tests)


@dataclass(frozen=True)
class FindingIn:
    kind: str
    side: str = ""


@dataclass(frozen=True)
class LimitedMotion:
    motion: str
    label: str  # "Limited active cervical rotation to the right (55°, norm 80°)"


@dataclass(frozen=True)
class MovementTestIn:
    test: str
    result: str
    side: str = ""


def _side_text(sides: set[str]) -> str:
    named = sorted(s for s in sides if s in ("left", "right"))
    if not named:
        return ""
    return " (" + " and ".join(named) + ")"


def implicated_muscles(
    *, findings: Iterable[FindingIn] = (), limited: Iterable[LimitedMotion] = (), tests: Iterable[MovementTestIn] = ()
) -> dict[str, str]:
    """muscle id → why it is worth examining, one sentence per source joined with "; "."""
    r = rules()
    reasons: dict[str, list[str]] = {}

    def add(muscle: str, why: str) -> None:
        bucket = reasons.setdefault(muscle, [])
        if why not in bucket:
            bucket.append(why)

    findings = list(findings)
    kinds = frozenset(f.kind for f in findings)
    for rule in r.posture:
        if not rule.fires(kinds):
            continue
        sides = {f.side for f in findings if f.kind in (rule.all | rule.any)}
        base = rule.reason + _side_text(sides)
        for m in rule.short:
            add(m, f"{base}: often short and overactive")
        for m in rule.weak:
            add(m, f"{base}: often weak and inhibited")
    for lim in limited:
        for m in r.rom.get(lim.motion, ()):
            add(m, f"{lim.label}: a short {m.replace('-', ' ')} can limit it")
    for t in tests:
        definition = r.tests.get(t.test)
        result = definition.results.get(t.result) if definition else None
        if definition and result:
            side = f" ({t.side})" if t.side in ("left", "right") else ""
            for m in result.implicates:
                add(m, f"{definition.label}{side}: {result.label.lower()}")
    return {m: "; ".join(whys) for m, whys in sorted(reasons.items())}
