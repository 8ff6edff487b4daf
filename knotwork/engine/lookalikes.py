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
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from knotwork.engine.result import Screen

if TYPE_CHECKING:
    from knotwork.engine.drawing import PainDrawing

RULES_FILE = Path(__file__).resolve().parent / "rules" / "lookalikes.yaml"
_CONDITION_KEYS = frozenset({"regions", "qualities", "also_regions", "symptoms", "findings", "text"})


@dataclass(frozen=True)
class Condition:
    regions: frozenset[str] = frozenset()
    qualities: frozenset[str] = frozenset()
    also_regions: frozenset[str] = frozenset()
    symptoms: frozenset[str] = frozenset()
    findings: frozenset[str] = frozenset()
    text: str = ""

    def holds(self, drawing: PainDrawing) -> bool:
        if self.regions:
            marks = [m for m in drawing.marks if m.region in self.regions]
            if self.qualities:
                marks = [m for m in marks if m.quality in self.qualities]
            if not marks:
                return False
        elif self.qualities and not any(m.quality in self.qualities for m in drawing.marks):
            return False
        if self.also_regions and not any(m.region in self.also_regions for m in drawing.marks):
            return False
        if self.symptoms and not self.symptoms.intersection(drawing.symptoms):
            return False
        return not (self.findings and not self.findings.intersection(drawing.context.findings))

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: sorted(getattr(self, k)) for k in ("regions", "qualities", "also_regions", "symptoms", "findings") if getattr(self, k)
        }
        if self.text:
            out["text"] = self.text
        return out


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    kind: str
    muscles: tuple[str, ...]
    findings: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class LookalikeRule:
    id: str
    title: str
    applies_when: tuple[Condition, ...]
    candidates: tuple[Candidate, ...]
    refer_when: tuple[Condition, ...]


@dataclass(frozen=True)
class LookalikeRules:
    findings: dict[str, str]
    screens: tuple[LookalikeRule, ...]


def _condition(raw: dict[str, Any], where: str) -> Condition:
    unknown = set(raw) - _CONDITION_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    return Condition(
        regions=frozenset(raw.get("regions", ())),
        qualities=frozenset(raw.get("qualities", ())),
        also_regions=frozenset(raw.get("also_regions", ())),
        symptoms=frozenset(raw.get("symptoms", ())),
        findings=frozenset(raw.get("findings", ())),
        text=raw.get("text", ""),
    )


@cache
def lookalike_rules() -> LookalikeRules:
    """The look-alike table, parsed and checked once per process."""
    raw = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    findings = {f["id"]: f["text"] for f in raw["findings"]}
    screens: list[LookalikeRule] = []
    for i, s in enumerate(raw["screens"]):
        where = f"{RULES_FILE.name}: screens[{i}] ({s.get('id')})"
        candidates = tuple(
            Candidate(
                id=c["id"],
                name=c["name"],
                kind=c["kind"],
                muscles=tuple(c.get("muscles", ())),
                findings=tuple(c.get("findings", ())),
                note=c.get("note", ""),
            )
            for c in s["candidates"]
        )
        rule = LookalikeRule(
            id=s["id"],
            title=s["title"],
            applies_when=tuple(_condition(c, f"{where}.applies_when") for c in s["applies_when"]),
            candidates=candidates,
            refer_when=tuple(_condition(c, f"{where}.refer_when") for c in s.get("refer_when", ())),
        )
        used = {f for c in candidates for f in c.findings} | {f for c in rule.refer_when for f in c.findings}
        missing = sorted(used - set(findings))
        if missing:
            raise ValueError(f"{where}: unknown finding(s) {', '.join(missing)}")
        screens.append(rule)
    return LookalikeRules(findings=findings, screens=tuple(screens))


FINDING_IDS: frozenset[str] = frozenset(lookalike_rules().findings)


def evaluate_lookalikes(drawing: PainDrawing, ranked_muscles: Sequence[str] = ()) -> list[Screen]:
    """Every look-alike screen whose picture the drawing matches, in table order.

    ``ranked_muscles`` is the engine's ranking (muscle ids, best first, repeats allowed); each
    trigger-point candidate reports where its muscles came, so the therapist sees at a glance
    whether the referral explanation is also the engine's own lead.
    """
    rules = lookalike_rules()
    screens: list[Screen] = []
    position: dict[str, int] = {}
    for m in ranked_muscles:
        position.setdefault(m, len(position) + 1)
    for rule in rules.screens:
        matched = [c for c in rule.applies_when if c.holds(drawing)]
        if not matched:
            continue
        refer = [c for c in rule.refer_when if c.holds(drawing)]
        recorded = set(drawing.context.findings)
        candidates = [
            {
                "id": c.id,
                "name": c.name,
                "kind": c.kind,
                "muscles": list(c.muscles),
                "ranked": {m: position[m] for m in c.muscles if m in position},
                "tell_apart": [{"finding": f, "text": rules.findings[f]} for f in c.findings],
                "supported_by": [f for f in c.findings if f in recorded],
                **({"note": c.note} if c.note else {}),
            }
            for c in rule.candidates
        ]
        screens.append(
            Screen(
                id=f"lookalike-{rule.id}",
                title=rule.title,
                verdict="refer" if refer else "examine",
                rule=_rule_text(rule),
                inputs={
                    "cells": [m.cell for m in drawing.marks],
                    "qualities": {m.cell: m.quality for m in drawing.marks if m.quality},
                    "symptoms": list(drawing.symptoms),
                    "findings": list(drawing.context.findings),
                },
                details={
                    "matched": [c.describe() for c in matched],
                    "candidates": candidates,
                    "refer_because": [c.text for c in refer],
                },
            )
        )
    return screens


@cache
def _rule_text(rule: LookalikeRule) -> str:
    return (
        "Applies when the drawing shows: "
        + " or ".join(_words(c) for c in rule.applies_when)
        + ". Refer to a physician when: "
        + "; ".join(c.text for c in rule.refer_when)
        + "."
    )


def _words(c: Condition) -> str:
    parts: list[str] = []
    if c.regions:
        parts.append("a mark in " + "/".join(sorted(c.regions)))
    if c.qualities:
        parts.append("felt as " + "/".join(sorted(c.qualities)))
    if c.also_regions:
        parts.append("with a mark in " + "/".join(sorted(c.also_regions)))
    if c.symptoms:
        parts.append("with the symptom " + "/".join(sorted(c.symptoms)))
    if c.findings:
        parts.append("with the finding " + "/".join(sorted(c.findings)))
    return "(" + ", ".join(parts) + ")"
