"""Red flags: signs that the pain may not be muscular and must be seen by a physician first.

This is the product's single red-flag rule set. Intake forms, the public self-check and the
engine all use :func:`red_flag_questions` and :func:`evaluate_red_flags`, so a question added to
``rules/red_flags.yaml`` appears everywhere at once and a client is never asked two different
versions of it.

Verdicts:
- ``not asked``: no answers were given. The engine still returns the screen so the UI can show
  that the questions are outstanding; ``details.ask_first`` lists those the drawing makes
  pressing (e.g. calf swelling when the calf is marked).
- ``incomplete``: some questions were answered, none "yes", and some are unanswered.
- ``clear``: every question was answered "no".
- ``refer out``: at least one "yes": do not treat today. ``details.positive`` gives each flag's
  urgency and the action to tell the client; ``details.urgency`` is the most urgent one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from knotwork.engine.result import Screen

if TYPE_CHECKING:
    from knotwork.engine.drawing import PainDrawing

RULES_FILE = Path(__file__).resolve().parent / "rules" / "red_flags.yaml"
URGENCIES: tuple[str, ...] = ("emergency", "same-day", "before-treatment")
"""From most to least urgent."""

SCREEN_ID = "red-flags"
SCREEN_TITLE = "Red flags: refer out, do not treat today"
RULE = (
    "Any 'yes' to a red-flag question means: do not treat today and refer the client to a physician "
    "with the stated urgency. All 'no' means no red flag was reported."
)


class RedFlagError(ValueError):
    """Red-flag answers name an unknown question or carry a non-yes/no answer."""


@dataclass(frozen=True)
class RedFlag:
    id: str
    question: str
    concern: str
    urgency: str
    action: str
    ask_when_regions: frozenset[str] = frozenset()
    ask_when_symptoms: frozenset[str] = frozenset()
    ask_from_age: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "concern": self.concern,
            "urgency": self.urgency,
            "action": self.action,
        }


@cache
def _load() -> tuple[tuple[RedFlag, ...], str]:
    raw = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    flags: list[RedFlag] = []
    seen: set[str] = set()
    for i, row in enumerate(raw["red_flags"]):
        where = f"{RULES_FILE.name}: red_flags[{i}]"
        missing = {"id", "question", "concern", "urgency", "action"} - set(row)
        if missing:
            raise ValueError(f"{where}: missing {', '.join(sorted(missing))}")
        if row["urgency"] not in URGENCIES:
            raise ValueError(f"{where}: urgency must be one of {', '.join(URGENCIES)}")
        if row["id"] in seen:
            raise ValueError(f"{where}: duplicate id {row['id']!r}")
        seen.add(row["id"])
        when = row.get("ask_when") or {}
        flags.append(
            RedFlag(
                id=row["id"],
                question=row["question"],
                concern=row["concern"],
                urgency=row["urgency"],
                action=row["action"],
                ask_when_regions=frozenset(when.get("regions", ())),
                ask_when_symptoms=frozenset(when.get("symptoms", ())),
                ask_from_age=when.get("from_age"),
            )
        )
    version = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()[:12]
    return tuple(flags), version


def red_flag_questions() -> tuple[RedFlag, ...]:
    """Every red-flag question, in the order to ask them."""
    return _load()[0]


def red_flag_rules_version() -> str:
    """A short hash of the rule set, to store beside saved answers."""
    return _load()[1]


RED_FLAG_IDS: frozenset[str] = frozenset(f.id for f in red_flag_questions())


def _normalise(answers: Mapping[str, bool] | Iterable[str] | None) -> dict[str, bool] | None:
    if answers is None:
        return None
    if isinstance(answers, Mapping):
        out: dict[str, bool] = {}
        for rid, value in answers.items():
            if rid not in RED_FLAG_IDS:
                raise RedFlagError(f"unknown red-flag question {rid!r}")
            if not isinstance(value, bool):
                raise RedFlagError(f"answer to {rid!r} must be true or false, got {value!r}")
            out[rid] = value
        return out
    if isinstance(answers, str):
        raise RedFlagError("red-flag answers must be a mapping or a collection of ids, not a single string")
    # A bare collection lists the "yes" answers of a questionnaire asked in full.
    yes = set(answers)
    unknown = sorted(yes - RED_FLAG_IDS)
    if unknown:
        raise RedFlagError(f"unknown red-flag question(s): {', '.join(repr(u) for u in unknown)}")
    return {f.id: f.id in yes for f in red_flag_questions()}


def _pressing(drawing: PainDrawing | None) -> list[str]:
    if drawing is None:
        return []
    regions = {m.region for m in drawing.marks}
    symptoms = set(drawing.symptoms)
    age = drawing.context.age
    return [
        f.id
        for f in red_flag_questions()
        if ((f.ask_when_regions & regions) or (f.ask_when_symptoms & symptoms))
        and not (f.ask_from_age is not None and age is not None and age < f.ask_from_age)
    ]


def evaluate_red_flags(
    answers: Mapping[str, bool] | Iterable[str] | None,
    drawing: PainDrawing | None = None,
) -> Screen:
    """Apply the red-flag rule set to a client's answers.

    ``answers`` is either a mapping of question id to yes (True) / no (False), possibly partial,
    or a collection of the ids answered "yes" out of a fully asked questionnaire; ``None`` means
    the questions were not asked. ``drawing`` only decides which unanswered questions the UI
    should ask first.
    """
    normalised = _normalise(answers)
    flags = red_flag_questions()
    pressing = _pressing(drawing)
    inputs: dict[str, Any] = {"answers": normalised, "rules_version": red_flag_rules_version()}
    if not normalised:
        return Screen(
            id=SCREEN_ID,
            title=SCREEN_TITLE,
            verdict="not asked",
            rule=RULE,
            inputs=inputs,
            details={
                "summary": "Red-flag questions have not been answered yet; ask them before treating.",
                "ask_first": pressing,
                "unanswered": [f.id for f in flags],
            },
        )
    positive = [f for f in flags if normalised.get(f.id) is True]
    unanswered = [f.id for f in flags if f.id not in normalised]
    if positive:
        urgency = min((f.urgency for f in positive), key=URGENCIES.index)
        return Screen(
            id=SCREEN_ID,
            title=SCREEN_TITLE,
            verdict="refer out",
            rule=RULE,
            inputs=inputs,
            details={
                "summary": "Do not treat today: refer to a physician. " + _urgency_sentence(urgency),
                "urgency": urgency,
                "positive": [f.to_dict() for f in positive],
                "unanswered": unanswered,
            },
        )
    if unanswered:
        return Screen(
            id=SCREEN_ID,
            title=SCREEN_TITLE,
            verdict="incomplete",
            rule=RULE,
            inputs=inputs,
            details={
                "summary": "No red flag so far, but some questions are unanswered; ask them before treating.",
                "ask_first": [rid for rid in pressing if rid in unanswered],
                "unanswered": unanswered,
            },
        )
    return Screen(
        id=SCREEN_ID,
        title=SCREEN_TITLE,
        verdict="clear",
        rule=RULE,
        inputs=inputs,
        details={"summary": "No red flag reported.", "unanswered": []},
    )


def _urgency_sentence(urgency: str) -> str:
    return {
        "emergency": "This is an emergency: call the emergency number or go to an emergency department now.",
        "same-day": "The client should see a physician today.",
        "before-treatment": "The client should see a physician before any treatment.",
    }[urgency]
