"""Safety screening: intake answers in, flags out. Pure Python (no Django).

Two rule sets feed it, never copied into each other: the contraindications and precautions in
``data/screening_rules.yaml``, and the engine's red-flag rules (``knotwork.engine``), whose
"yes" answers become refer-out flags.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from knotwork.atlas.loader import atlas
from knotwork.clients.intake.definition import red_flag_answers, standard_form, standard_question_ids
from knotwork.engine import evaluate_red_flags, red_flag_questions, red_flag_rules_version

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "screening_rules.yaml"
CLASSES = ("refer_out", "precaution", "local")
RED_FLAG_RULE_PREFIX = "red-flag:"


@dataclass(frozen=True)
class Rule:
    id: str
    flag_class: str
    reads: tuple[str, ...]
    when: tuple[tuple[str, str], ...]
    title: str
    reason: str
    changes: str
    forbids: tuple[str, ...] = ()
    cautions: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    regions_from: str | None = None
    source: str = ""


@dataclass(frozen=True)
class FlagSpec:
    """One flag to raise for a client: what the rule found, and what it changes."""

    rule_id: str
    flag_class: str
    title: str
    reason: str
    changes: str
    forbids: tuple[str, ...]
    cautions: tuple[str, ...]
    regions: tuple[str, ...]
    source: str
    rules_version: str


def _yn(value: object) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def _cells_of(regions: tuple[str, ...]) -> tuple[str, ...]:
    by_id = atlas().region_by_id
    out: list[str] = []
    for rid in regions:
        r = by_id[rid]
        out.extend([f"{rid}:right", f"{rid}:left"] if r.kind == "paired" else [rid])
    return tuple(out)


@cache
def load_rules() -> tuple[tuple[Rule, ...], dict[str, str], str]:
    """(rules, technique id -> name, version hash), validated against the form and the atlas."""
    raw = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    techniques = {str(k): str(v) for k, v in raw["techniques"].items()}
    questions = standard_question_ids()
    by_q = {q.id: q for s in standard_form()[1] for q in s.questions}
    regions = atlas().region_by_id
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, r in enumerate(raw["rules"]):
        where = f"{RULES_FILE.name}: rules[{i}] ({r.get('id')})"
        missing = {"id", "class", "reads", "when", "title", "reason", "changes", "source"} - set(r)
        if missing:
            raise ValueError(f"{where}: missing {', '.join(sorted(missing))}")
        if r["class"] not in CLASSES:
            raise ValueError(f"{where}: class must be one of {', '.join(CLASSES)}")
        if r["id"] in seen:
            raise ValueError(f"{where}: duplicate id")
        seen.add(r["id"])
        reads = tuple(r["reads"])
        when = tuple((str(k), _yn(v)) for k, v in r["when"].items())
        used = {k for k, _ in when} | ({r["regions_from"]} if r.get("regions_from") else set())
        if unknown := sorted(set(reads) - questions):
            raise ValueError(f"{where}: reads unknown questions {unknown}")
        if used != set(reads):
            raise ValueError(f"{where}: `reads` must list exactly the questions in `when` and `regions_from`")
        if r.get("regions_from") and by_q[r["regions_from"]].kind != "cells":
            raise ValueError(f"{where}: regions_from must name a `cells` question")
        for tid in [*r.get("forbids", ()), *r.get("cautions", ())]:
            if tid not in techniques:
                raise ValueError(f"{where}: unknown technique {tid!r}")
        for rid in r.get("regions", ()):
            if rid not in regions:
                raise ValueError(f"{where}: unknown atlas region {rid!r}")
        if r["class"] == "local" and not (r.get("regions") or r.get("regions_from")):
            raise ValueError(f"{where}: a local contraindication must name its regions")
        rules.append(
            Rule(
                id=r["id"],
                flag_class=r["class"],
                reads=reads,
                when=when,
                title=r["title"],
                reason=r["reason"],
                changes=r["changes"],
                forbids=tuple(r.get("forbids", ())),
                cautions=tuple(r.get("cautions", ())),
                regions=tuple(r.get("regions", ())),
                regions_from=r.get("regions_from"),
                source=r["source"],
            )
        )
    version = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return tuple(rules), techniques, version


def rules() -> tuple[Rule, ...]:
    return load_rules()[0]


def techniques() -> dict[str, str]:
    return load_rules()[1]


def rules_version() -> str:
    return load_rules()[2]


def apply_rule(rule: Rule, answers: Mapping[str, Any]) -> FlagSpec | None:
    """The flag one rule raises for these answers (question id -> plain value), or None."""
    if not all(answers.get(q) == expected for q, expected in rule.when):
        return None
    cells = list(_cells_of(rule.regions))
    if rule.regions_from:
        cells += [c for c in answers.get(rule.regions_from) or () if c not in cells]
    return FlagSpec(
        rule_id=rule.id,
        flag_class=rule.flag_class,
        title=rule.title,
        reason=rule.reason,
        changes=rule.changes,
        forbids=rule.forbids,
        cautions=rule.cautions,
        regions=tuple(cells),
        source=rule.source,
        rules_version=rules_version(),
    )


def _how(positive: Mapping[str, Any]) -> str:
    return "The client's pain drawing reports" if positive.get("how") == "reported in the drawing" else "The client answered yes to"


def red_flag_specs(answers: Mapping[str, Any], drawing: Any = None) -> list[FlagSpec]:
    """Refer-out flags from the engine's red-flag screen, one per flag answered yes or reported by the drawing."""
    screen = evaluate_red_flags(red_flag_answers(answers) or None, drawing)
    if screen.verdict != "refer out":
        return []
    every = tuple(techniques())
    titles = {f.id: f.question for f in red_flag_questions()}
    return [
        FlagSpec(
            rule_id=RED_FLAG_RULE_PREFIX + p["id"],
            flag_class="refer_out",
            title="Red flag: " + p["concern"][:1].lower() + p["concern"][1:].rstrip("."),
            reason=f"{p['concern']} {_how(p)}: {titles[p['id']]}",
            changes=f"Do not treat; refer to a physician ({p['urgency']}). {p['action']}",
            forbids=every,
            cautions=(),
            regions=(),
            source=f"knotwork.engine red-flag rules {red_flag_rules_version()}",
            rules_version=red_flag_rules_version(),
        )
        for p in screen.details["positive"]
    ]


def screen(answers: Mapping[str, Any], drawing: Any = None) -> list[FlagSpec]:
    """Every flag the answers raise: red flags first, then the rules in file order."""
    specs = red_flag_specs(answers, drawing)
    for rule in rules():
        spec = apply_rule(rule, answers)
        if spec is not None:
            specs.append(spec)
    return specs
