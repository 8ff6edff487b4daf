"""The words a drawing and an examination are written in: mark qualities, symptoms, findings.

One vocabulary for every part of the engine. A mark painted as *numbness* is the client
reporting numbness, exactly as if they had ticked it: the red-flag questions, the look-alike
screens and the ranking all read :func:`reported_symptoms`, never the ticked list or the mark
qualities on their own.

*Alarm symptoms* belong to a red flag (heart-like chest pain, breathlessness, a cold sweat,
fever, weakness, nausea, urinary symptoms). They prompt or report red flags and never add
weight to a muscle or appear as support for one, even where the atlas records that a trigger
point can produce a similar feeling: a referral pattern must not make a heart attack or an
appendicitis look more muscular.

This module imports nothing else of the engine, so every other module may import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import yaml

from knotwork.engine import rules

RULES_DIR = rules.DIR
FINDINGS_FILE = RULES_DIR / "findings.yaml"

QUALITIES: tuple[str, ...] = ("aching", "burning", "sharp", "stabbing", "throbbing", "tingling", "numbness", "pressure")
"""The fixed list of qualities a mark may carry (the public drawing contract; only ever grows)."""

QUALITY_LABELS: dict[str, str] = {
    "aching": "Aching",
    "burning": "Burning",
    "sharp": "Sharp",
    "stabbing": "Stabbing",
    "throbbing": "Throbbing or pulsating",
    "tingling": "Tingling, pins and needles",
    "numbness": "Numb",
    "pressure": "Heavy, pressing or tight",
}

QUALITY_ALIASES: dict[str, str] = {"heavy": "pressure", "pressing": "pressure", "numb": "numbness", "pins-and-needles": "tingling"}
"""Words accepted on input for a quality and stored as the canonical one."""

QUALITY_SYMPTOMS: dict[str, str] = {"tingling": "tingling", "numbness": "numbness"}
"""A mark with this quality reports this symptom."""

ALARM_SYMPTOMS: frozenset[str] = frozenset(
    {"heart-like-pain", "shortness-of-breath", "sweating", "fever", "weakness", "nausea", "urinary-symptoms"}
)
"""Symptoms that belong to a red flag: they never weigh for a muscle nor are quoted for one."""


def canonical_quality(value: object) -> object:
    """The stored form of a quality given on input (aliases resolved); anything else unchanged."""
    return QUALITY_ALIASES.get(value, value) if isinstance(value, str) else value


def reported_symptoms(ticked: Iterable[str], qualities: Iterable[str | None]) -> frozenset[str]:
    """Ticked symptoms plus those the marks' qualities report."""
    return frozenset(ticked).union([QUALITY_SYMPTOMS[q] for q in qualities if q in QUALITY_SYMPTOMS])


def supporting_symptoms(reported: frozenset[str]) -> frozenset[str]:
    """The reported symptoms that may count as support for a muscle."""
    return reported - ALARM_SYMPTOMS


@cache
def findings() -> dict[str, str]:
    """Examination finding id -> what the therapist checked, in words (``rules/findings.yaml``)."""
    raw = yaml.safe_load(FINDINGS_FILE.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for i, row in enumerate(raw["findings"]):
        if not isinstance(row, dict) or not row.get("id") or not row.get("text"):
            raise ValueError(f"{FINDINGS_FILE.name}: findings[{i}] needs an id and a text")
        if row["id"] in out:
            raise ValueError(f"{FINDINGS_FILE.name}: duplicate finding id {row['id']!r}")
        out[row["id"]] = row["text"]
    return out


FINDING_IDS: frozenset[str] = frozenset(findings())
