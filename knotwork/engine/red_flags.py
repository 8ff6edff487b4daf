"""Red flags: signs that the pain may not be muscular and must be seen by a physician first.

This is the product's single red-flag rule set. Intake forms, the public self-check and the
engine all use :func:`red_flag_questions` and :func:`evaluate_red_flags`, so a question added to
``rules/red_flags.yaml`` appears everywhere at once and a client is never asked two different
versions of it.

A flag is *positive* when the client answered "yes" or when the drawing itself states it
(``reported_when``: heart-like chest pain painted on the chest, say). A flag is *prompted* when
the drawing makes it pressing (``ask_when``); ``mention_when`` lists it among the questions to
ask first without more weight. Both read the one symptom vocabulary
(:mod:`knotwork.engine.vocabulary`), so numbness painted on the map prompts what a ticked
"numbness" prompts.

Verdicts of the screen:
- ``not asked``: no answers were given and the drawing reports no flag.
- ``incomplete``: some questions were answered, none positive, and some are unanswered.
- ``clear``: every question was answered "no" and the drawing reports no flag.
- ``refer out``: at least one flag is positive. ``details.positive`` gives each flag's urgency,
  the action to tell the client and how it became positive; ``details.urgency`` is the most
  urgent one.

:func:`triage` turns the screen into what every surface shows first (see :class:`Triage`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import yaml

from knotwork.engine import rules
from knotwork.engine.conditions import Condition, ConditionIndex, parse_conditions
from knotwork.engine.result import Screen, Triage

if TYPE_CHECKING:
    from knotwork.engine.model import PainDrawing

RULES_FILE = rules.DIR / "red_flags.yaml"
URGENCIES: tuple[str, ...] = ("emergency", "same-day", "before-treatment")
"""From most to least urgent. ``before-treatment`` is the routine referral: see a physician
before hands-on work; the likely sources are still shown beside it."""

WITHHOLDING_LEVELS: frozenset[str] = frozenset({"emergency", "same-day", "ask-first"})
"""Triage levels at which the muscle list waits for medical clearance."""

SCREEN_ID = "red-flags"
SCREEN_TITLE = "Red flags: refer out, do not treat today"
RULE = (
    "Any 'yes' to a red-flag question, or a red flag the drawing itself reports, means: do not treat today "
    "and refer the client to a physician with the stated urgency. All 'no' means no red flag was reported."
)
_FIELDS = frozenset({"id", "question", "concern", "urgency", "action", "source", "ask_when", "mention_when", "reported_when"})


class RedFlagError(ValueError):
    """Red-flag answers name an unknown question or carry a non-yes/no answer."""


@dataclass(frozen=True)
class RedFlag:
    id: str
    question: str
    concern: str
    urgency: str
    action: str
    source: str = ""
    ask_when: tuple[Condition, ...] = ()
    mention_when: tuple[Condition, ...] = ()
    reported_when: tuple[Condition, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "concern": self.concern,
            "urgency": self.urgency,
            "action": self.action,
            "source": self.source,
        }


@cache
def _load() -> tuple[tuple[RedFlag, ...], str]:
    raw = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    flags: list[RedFlag] = []
    seen: set[str] = set()
    for i, row in enumerate(raw["red_flags"]):
        where = f"{RULES_FILE.name}: red_flags[{i}] ({row.get('id')})"
        missing = {"id", "question", "concern", "urgency", "action", "source"} - set(row)
        if missing:
            raise ValueError(f"{where}: missing {', '.join(sorted(missing))}")
        unknown = set(row) - _FIELDS
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if row["urgency"] not in URGENCIES:
            raise ValueError(f"{where}: urgency must be one of {', '.join(URGENCIES)}")
        if row["id"] in seen:
            raise ValueError(f"{where}: duplicate id {row['id']!r}")
        seen.add(row["id"])
        flags.append(
            RedFlag(
                id=row["id"],
                question=row["question"],
                concern=row["concern"],
                urgency=row["urgency"],
                action=row["action"],
                source=" ".join(row["source"]) if isinstance(row["source"], list) else str(row["source"]),
                ask_when=parse_conditions(row.get("ask_when"), f"{where}.ask_when"),
                mention_when=parse_conditions(row.get("mention_when"), f"{where}.mention_when"),
                reported_when=parse_conditions(row.get("reported_when"), f"{where}.reported_when"),
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
_ORDER: tuple[str, ...] = tuple(f.id for f in red_flag_questions())
_BY_ID: dict[str, RedFlag] = {f.id: f for f in red_flag_questions()}


def red_flag(flag_id: str) -> RedFlag:
    return _BY_ID[flag_id]


def _normalise(answers: Mapping[str, bool] | Iterable[str] | None) -> dict[str, bool] | None:
    if answers is None:
        return None
    if isinstance(answers, Mapping):
        out: dict[str, bool] = dict(answers)
        # The usual answers (known ids, every answer a bool) pass in two set operations; anything
        # else is walked in order so the error names the first bad answer.
        if out.keys() <= RED_FLAG_IDS and set(map(type, out.values())) <= {bool}:
            return out
        out = {}
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


@dataclass(frozen=True)
class _Screening:
    """Every flag's drawing conditions in one :class:`ConditionIndex`, flag by flag in question
    order (reported_when, then ask_when, then mention_when), so one pass answers all three
    kinds and its bits come out in question order. ``meaning`` says, per bit, whose condition
    it is: (flag id, reported, asked and an emergency)."""

    index: ConditionIndex
    meaning: tuple[tuple[str, bool, bool], ...]


@cache
def _screening() -> _Screening:
    keyed: list[tuple[str, tuple[Condition, ...]]] = []
    meaning: list[tuple[str, bool, bool]] = []
    for f in red_flag_questions():
        keyed.append((f.id, (*f.reported_when, *f.ask_when, *f.mention_when)))
        meaning += [(f.id, True, False)] * len(f.reported_when)
        meaning += [(f.id, False, f.urgency == "emergency")] * len(f.ask_when)
        meaning += [(f.id, False, False)] * len(f.mention_when)
    return _Screening(ConditionIndex(keyed), tuple(meaning))


def _from_drawing(drawing: PainDrawing | None) -> tuple[list[str], list[str], list[str]]:
    """(flags the drawing reports, flags it makes pressing, emergency flags its ask_when prompts), in question order."""
    if drawing is None or not drawing.marks and not drawing.reported:
        return [], [], []
    screening = _screening()
    bits = screening.index.matching(drawing)
    reported: list[str] = []
    pressing: list[str] = []
    gating: list[str] = []
    meaning = screening.meaning
    while bits:  # lowest bit first: question order, one flag's conditions side by side
        low = bits & -bits
        bits ^= low
        rid, reports, gates = meaning[low.bit_length() - 1]
        if not pressing or pressing[-1] != rid:
            pressing.append(rid)
        if reports and (not reported or reported[-1] != rid):
            reported.append(rid)
        if gates and (not gating or gating[-1] != rid):
            gating.append(rid)
    return reported, pressing, gating


def evaluate_red_flags(
    answers: Mapping[str, bool] | Iterable[str] | None,
    drawing: PainDrawing | None = None,
) -> Screen:
    """Apply the red-flag rule set to a client's answers and, when given, their drawing.

    ``answers`` is either a mapping of question id to yes (True) / no (False), possibly partial,
    or a collection of the ids answered "yes" out of a fully asked questionnaire; ``None`` means
    the questions were not asked. ``drawing`` adds the flags it reports itself and decides which
    unanswered questions to ask first.
    """
    normalised = _normalise(answers)
    flags = red_flag_questions()
    reported, pressing, gating = _from_drawing(drawing)
    answered = normalised or {}
    inputs: dict[str, Any] = {
        "answers": normalised,
        "reported": reported,
        "prompts_emergency": gating,
        "rules_version": red_flag_rules_version(),
    }
    # Answers are validated, so as many answers as questions means every one is answered.
    unanswered = [] if len(answered) == len(_ORDER) else [rid for rid in _ORDER if rid not in answered]
    ask_first = [rid for rid in pressing if rid not in answered and rid not in reported]
    positive = [f for f in flags if answered.get(f.id) is True or f.id in reported] if reported or True in answered.values() else []

    def screen(verdict: str, **details: Any) -> Screen:
        return Screen(id=SCREEN_ID, title=SCREEN_TITLE, verdict=verdict, rule=RULE, inputs=inputs, details=details)

    if positive:
        urgency = min((f.urgency for f in positive), key=URGENCIES.index)
        return screen(
            "refer out",
            summary="Do not treat today: refer to a physician. " + _urgency_sentence(urgency),
            urgency=urgency,
            positive=[{**f.to_dict(), "how": "answered yes" if answered.get(f.id) else "reported in the drawing"} for f in positive],
            ask_first=ask_first,
            unanswered=unanswered,
        )
    if not normalised:
        summary = "Red-flag questions have not been answered yet; ask them before treating."
        return screen("not asked", summary=summary, ask_first=ask_first, unanswered=unanswered)
    if unanswered:
        summary = "No red flag so far, but some questions are unanswered; ask them before treating."
        return screen("incomplete", summary=summary, ask_first=ask_first, unanswered=unanswered)
    return screen("clear", summary="No red flag reported.", ask_first=[], unanswered=[])


def triage(screen: Screen, *, cleared: bool = False) -> Triage:
    """What every surface shows first, from the red-flag screen of the same drawing.

    Level: the most urgent positive flag's urgency; else ``ask-first`` when the drawing prompts
    an emergency question nobody has answered; else the screen's verdict. At ``emergency``,
    ``same-day`` and ``ask-first`` the likely muscle sources are withheld until a clinician
    records medical clearance (``cleared``).
    """
    details = screen.details
    answered = screen.inputs.get("answers") or {}
    positive = tuple(p["id"] for p in details.get("positive", ()))
    ask_first = tuple(details.get("ask_first", ()))
    gating = [rid for rid in screen.inputs.get("prompts_emergency", ()) if rid not in answered and rid not in positive]
    urgency = str(details.get("urgency", ""))
    if positive and (urgency in ("emergency", "same-day") or not gating):
        level = urgency
        actions = tuple(dict.fromkeys([red_flag(p).action for p in positive if red_flag(p).urgency == level]))
        headline = {
            "emergency": "Emergency: refer now.",
            "same-day": "Refer today: the client should see a physician today. Do not treat today.",
            "before-treatment": "Refer before treatment: the client should see a physician before hands-on work.",
        }[level]
    elif gating:
        level = "ask-first"
        ask_first = tuple(dict.fromkeys([*gating, *ask_first]))
        actions = tuple(red_flag(r).question for r in gating)
        headline = "Ask these emergency questions first: the drawing could fit a condition that needs a doctor now."
    else:
        level = screen.verdict
        actions = ()
        headline = str(details.get("summary", ""))
    withheld = level in WITHHOLDING_LEVELS and not cleared
    if level in WITHHOLDING_LEVELS and cleared:
        headline += " Medical clearance has been recorded, so likely sources are shown."
    elif withheld:
        headline += " Likely muscle sources are withheld until medical clearance is recorded."
    return Triage(
        level=level,
        headline=headline,
        actions=actions,
        positive=positive,
        ask_first=ask_first,
        withheld=withheld,
        cleared=cleared and level in WITHHOLDING_LEVELS,
    )


def _urgency_sentence(urgency: str) -> str:
    return {
        "emergency": "This is an emergency: call the emergency number or go to an emergency department now.",
        "same-day": "The client should see a physician today.",
        "before-treatment": "The client should see a physician before any treatment.",
    }[urgency]
