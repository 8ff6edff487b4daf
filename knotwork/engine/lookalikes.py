"""Nerve-entrapment look-alike screens, driven by ``rules/lookalikes.yaml``.

Trigger-point referral and a trapped nerve can draw the same picture: tingling fingers may be
carpal tunnel syndrome or pronator teres, scalene or infraspinatus referral; leg pain may be a
lumbar nerve root or piriformis or gluteus minimus. These screens do not decide between them.
They fire when the drawing looks like one of these pictures, list the candidates with the
findings that tell them apart, and say when the picture calls for a physician.

All the clinical content lives in the YAML table; this module only evaluates its conditions.

Verdicts: ``examine`` (tell the candidates apart with the listed findings) or ``refer``
(something in the drawing, symptoms or recorded findings calls for a physician).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

import yaml

from knotwork.engine import rules
from knotwork.engine.conditions import Condition, ConditionIndex, parse_conditions
from knotwork.engine.result import Screen
from knotwork.engine.vocabulary import FINDING_IDS, findings

if TYPE_CHECKING:
    from knotwork.engine.model import PainDrawing

RULES_FILE = rules.DIR / "lookalikes.yaml"
ACTIONS = frozenset({"refer", "test", "co-manage", "treat"})

__all__ = ["FINDING_IDS", "Candidate", "LookalikeRule", "LookalikeRules", "evaluate_lookalikes", "lookalike_rules"]


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    kind: str
    muscles: tuple[str, ...]
    findings: tuple[str, ...]
    action: str = "treat"
    note: str = ""


@dataclass(frozen=True)
class LookalikeRule:
    id: str
    title: str
    source: str
    applies_when: tuple[Condition, ...]
    candidates: tuple[Candidate, ...]
    refer_when: tuple[Condition, ...]
    rule_text: str = ""
    static_candidates: tuple[dict[str, Any], ...] = ()
    """Each candidate as a screen shows it, built once: what no drawing changes (tuples: shared,
    read-only), then ``ranked`` and ``supported_by`` left empty. A screen copies one (a plain
    dict copy, keys in the same order) and fills those two."""


@dataclass(frozen=True)
class LookalikeRules:
    findings: dict[str, str]
    screens: tuple[LookalikeRule, ...]


def _source(raw: object) -> str:
    return "; ".join(str(x) for x in raw) if isinstance(raw, list) else str(raw or "")


@cache
def lookalike_rules() -> LookalikeRules:
    """The look-alike table, parsed and checked once per process."""
    raw = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    known = findings()
    screens: list[LookalikeRule] = []
    seen: set[str] = set()
    for i, s in enumerate(raw["screens"]):
        where = f"{RULES_FILE.name}: screens[{i}] ({s.get('id')})"
        if s.get("id") in seen:
            raise ValueError(f"{where}: duplicate id")
        seen.add(s["id"])
        candidates = tuple(
            Candidate(
                id=c["id"],
                name=c["name"],
                kind=c["kind"],
                muscles=tuple(c.get("muscles", ())),
                findings=tuple(c.get("findings", ())),
                action=c.get("action", "treat"),
                note=c.get("note", ""),
            )
            for c in s["candidates"]
        )
        bad_actions = sorted({c.action for c in candidates} - ACTIONS)
        if bad_actions:
            raise ValueError(f"{where}: unknown action(s) {', '.join(bad_actions)}")
        rule = LookalikeRule(
            id=s["id"],
            title=s["title"],
            source=_source(s.get("source")),
            applies_when=parse_conditions(s["applies_when"], f"{where}.applies_when"),
            candidates=candidates,
            refer_when=parse_conditions(s.get("refer_when"), f"{where}.refer_when"),
        )
        missing = sorted({f for c in candidates for f in c.findings} - set(known))
        if missing:
            raise ValueError(f"{where}: unknown finding(s) {', '.join(missing)}")
        screens.append(replace(rule, rule_text=_rule_text(rule), static_candidates=_static_candidates(rule, known)))
    return LookalikeRules(findings=known, screens=tuple(screens))


def evaluate_lookalikes(drawing: PainDrawing, ranked_muscles: Sequence[str] = (), *, withheld: bool = False) -> list[Screen]:
    """Every look-alike screen whose picture the drawing matches, in table order.

    ``ranked_muscles`` is the engine's ranking (muscle ids, best first, repeats allowed); each
    trigger-point candidate reports where its muscles came, so the therapist sees at a glance
    whether the referral explanation is also the engine's own lead. With ``withheld`` (the
    triage holds the muscle list back) the trigger-point candidates are left out too, so no
    muscle is offered beside an emergency; ``details.withheld`` counts them.
    """
    index = _index()
    bits = index.matching(drawing)
    if not bits & index.applies:
        return []
    rules = lookalike_rules()
    conditions = index.conditions
    screens: list[Screen] = []
    position: dict[str, int] = {}
    for m in ranked_muscles:
        position.setdefault(m, len(position) + 1)
    recorded = set(drawing.context.findings)
    # One inputs mapping for every screen of this drawing: they all read the same drawing.
    inputs = {
        "cells": [m.cell for m in drawing.marks],
        "qualities": {m.cell: m.quality for m in drawing.marks if m.quality} if drawing.qualities else {},
        "symptoms": list(drawing.symptoms),
        "findings": list(drawing.context.findings),
    }
    for rule, (applies, refers, first, middle, end) in zip(rules.screens, index.by_rule, strict=True):
        if not bits & applies:
            continue
        matched = [conditions[i].describe() for i in range(first, middle) if bits >> i & 1]
        refer = [conditions[i].text for i in range(middle, end) if bits >> i & 1] if bits & refers else []
        candidates = []
        for c, static in zip(rule.candidates, rule.static_candidates, strict=True):
            if withheld and c.kind == "trigger point":
                continue
            candidate = static.copy()
            ranked = c.muscles and not position.keys().isdisjoint(c.muscles)
            candidate["ranked"] = {m: position[m] for m in c.muscles if m in position} if ranked else {}
            candidate["supported_by"] = [f for f in c.findings if f in recorded] if recorded else []
            candidates.append(candidate)
        screens.append(
            Screen(
                id=f"lookalike-{rule.id}",
                title=rule.title,
                verdict="refer" if refer else "examine",
                rule=rule.rule_text,
                inputs=inputs,
                details={
                    "source": rule.source,
                    "matched": matched,
                    "candidates": candidates,
                    "refer_because": refer,
                    **({"withheld": len(rule.candidates) - len(candidates)} if withheld else {}),
                },
            )
        )
    return screens


def _static_candidates(rule: LookalikeRule, texts: dict[str, str]) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "id": c.id,
            "name": c.name,
            "kind": c.kind,
            "action": c.action,
            "muscles": c.muscles,
            "tell_apart": tuple({"finding": f, "text": texts[f]} for f in c.findings),
            **({"note": c.note} if c.note else {}),
            "ranked": {},
            "supported_by": [],
        }
        for c in rule.candidates
    )


class _ScreenIndex(ConditionIndex):
    """Every screen's ``applies_when`` and ``refer_when`` in one :class:`ConditionIndex`, so one
    pass tells which screens apply and, for those, which conditions matched and which call for a
    physician. ``by_rule`` gives each screen's applies_when and refer_when bits and where its
    conditions sit: applies_when from ``first`` to ``middle``, refer_when from ``middle`` to ``end``."""

    def __init__(self, screens: Sequence[LookalikeRule]) -> None:
        super().__init__([(r.id, (*r.applies_when, *r.refer_when)) for r in screens])
        by_rule: list[tuple[int, int, int, int, int]] = []
        first = 0
        for r in screens:
            middle = first + len(r.applies_when)
            end = middle + len(r.refer_when)
            by_rule.append((((1 << middle) - 1) ^ ((1 << first) - 1), ((1 << end) - 1) ^ ((1 << middle) - 1), first, middle, end))
            first = end
        self.by_rule: tuple[tuple[int, int, int, int, int], ...] = tuple(by_rule)
        self.applies = sum(r[0] for r in by_rule)


@cache
def _index() -> _ScreenIndex:
    return _ScreenIndex(lookalike_rules().screens)


def _rule_text(rule: LookalikeRule) -> str:
    return (
        "Applies when the drawing shows: "
        + " or ".join(c.words() for c in rule.applies_when)
        + ". Refer to a physician when: "
        + "; ".join(c.text for c in rule.refer_when)
        + "."
    )
