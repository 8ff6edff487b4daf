"""The "Is NMT right for me?" self-check: from a visitor's answers to a plain-words result.

The engine's triage comes first: ``explain`` applies its one red-flag rule set to the answers and
to the drawing itself. Any red flag sends the visitor to a doctor (now, today, or before any
treatment) with no muscles and no therapist; an emergency question the drawing makes pressing
and nobody answered must be answered before anything else. Only then do the muscles a therapist
would likely examine come from the same result. Nothing here diagnoses: the result says whether a
consultation seems worthwhile, what to ask at it, and which therapists to look for. Nothing is
stored.

Everything the visitor reads is in the language of the request (docs/i18n.md): the form's labels,
the result's words and the consultation questions through Django's catalogues; the red-flag
questions and the actions they call for, which are the engine's rule set, from the word file
``data/selfcheck_i18n/<language>.yaml`` (each text with the English it translates, so a stale
translation is never shown: the English is); body-map places and pain qualities from the atlas's
words (:mod:`knotwork.atlas.region_words`). Muscle names stay the atlas's English. The engine
itself only ever sees ids.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from knotwork.atlas.loader import atlas
from knotwork.atlas.region_words import quality_label, region_label
from knotwork.engine import explain, parse_drawing, red_flag_questions
from knotwork.engine.red_flags import RedFlag

SOURCE_LANGUAGE = "en"
WORDS_DIR = Path(__file__).resolve().parent / "data" / "selfcheck_i18n"

DURATIONS = [
    ("days", gettext_lazy("Less than 2 weeks")),
    ("weeks", gettext_lazy("2 to 6 weeks")),
    ("months", gettext_lazy("6 weeks to 3 months")),
    ("long", gettext_lazy("3 months to a year")),
    ("years", gettext_lazy("More than a year")),
]
DURATION_MONTHS = {"days": 0.25, "weeks": 1.0, "months": 2.0, "long": 6.0, "years": 18.0}

HOPES = [
    ("less-pain", gettext_lazy("Less pain")),
    ("move", gettext_lazy("To move more freely")),
    ("sleep", gettext_lazy("To sleep better")),
    ("sport", gettext_lazy("To get back to sport or training")),
    ("posture", gettext_lazy("Help with posture or desk work")),
    ("stress", gettext_lazy("To feel less tense and stressed")),
    ("understand", gettext_lazy("To understand what is going on")),
]

# The directory's focus conditions (a fixed, public list of ids), worded to follow "Find a
# therapist who works with …" on the self-check's result.
CONDITIONS: dict[str, str | Promise] = {
    "headaches": pgettext_lazy("self-check condition", "headaches"),
    "neck-pain": pgettext_lazy("self-check condition", "neck pain"),
    "low-back-pain": pgettext_lazy("self-check condition", "low back pain"),
    "sciatica-like-pain": pgettext_lazy("self-check condition", "sciatica-like pain"),
    "carpal-tunnel-like-symptoms": pgettext_lazy("self-check condition", "carpal-tunnel-like symptoms"),
    "tmj": pgettext_lazy("self-check condition", "jaw (TMJ) pain"),
    "fibromyalgia": pgettext_lazy("self-check condition", "widespread pain and fibromyalgia"),
    "sports": pgettext_lazy("self-check condition", "sports injuries and training"),
    "posture": pgettext_lazy("self-check condition", "posture"),
    "stress": pgettext_lazy("self-check condition", "stress and tension"),
}

# Body-map region → the focus condition a therapist would list it under.
REGION_CONDITIONS: dict[str, str] = {
    **dict.fromkeys(("vertex", "forehead", "temple", "occiput", "orbit", "mastoid"), "headaches"),
    **dict.fromkeys(("tmj", "jaw", "cheek", "ear", "upper-teeth", "lower-teeth"), "tmj"),
    **dict.fromkeys(("neck-lateral", "neck-posterior-upper", "neck-posterior-lower", "shoulder-top", "throat"), "neck-pain"),
    **dict.fromkeys(("lumbar", "sacroiliac", "sacrum", "coccyx", "flank", "thoracic-lower"), "low-back-pain"),
    **dict.fromkeys(
        ("buttock-upper", "buttock-lower", "thigh-posterior", "calf", "leg-lateral", "hip-lateral", "thigh-lateral"),
        "sciatica-like-pain",
    ),
    **dict.fromkeys(("wrist-volar", "palm", "thumb", "fingers-radial", "fingers-ulnar", "forearm-volar"), "carpal-tunnel-like-symptoms"),
    **dict.fromkeys(("thoracic-upper", "scapula-medial", "scapula-upper", "chest-upper"), "posture"),
}
HOPE_CONDITIONS = {"sport": "sports", "posture": "posture", "stress": "stress"}
NERVE_QUALITIES = frozenset({"tingling", "numbness", "burning"})

CONSULTATION_QUESTIONS = (
    gettext_lazy(
        "What training and certification do you have in neuromuscular therapy, and are you registered or licensed where you work?"
    ),
    gettext_lazy("From what I have described, is this something you see often, and when would you send me to a doctor instead?"),
    gettext_lazy("What would you examine at the first session, and how firm will the pressure be? Can I ask you to ease off at any time?"),
    gettext_lazy("How many sessions would you expect before we know whether it is helping, and how will we measure that?"),
    gettext_lazy("What should I do between sessions, and what soreness is normal afterwards?"),
    gettext_lazy("What does a session cost, and is there anything my insurance or health plan needs from you?"),
)


class SelfCheckWordsError(ValueError):
    """A self-check word file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class FlagWords:
    """One red flag's question and action in one language, each with the English it translates."""

    question_en: str
    question: str
    action_en: str
    action: str


def _entry(raw: object, where: str) -> tuple[str, str]:
    if not isinstance(raw, dict) or set(raw) != {"en", "text"}:
        raise SelfCheckWordsError(f"{where}: expected a mapping with en and text")
    en, text = raw["en"], raw["text"]
    if not isinstance(en, str) or not en.strip() or not isinstance(text, str) or not text.strip():
        raise SelfCheckWordsError(f"{where}: en and text must be non-empty texts")
    return en.strip(), text.strip()


def flag_words(language: str) -> Mapping[str, FlagWords]:
    """Red-flag id -> its words in ``language`` ("es", "es-MX" alike); empty for English and for a
    language without a word file."""
    return _flag_words((language or "").lower().replace("_", "-").split("-")[0])


@cache
def _flag_words(language: str) -> Mapping[str, FlagWords]:
    if language == SOURCE_LANGUAGE or not re.fullmatch(r"[a-z]{2,3}", language):
        return {}
    path = WORDS_DIR / f"{language}.yaml"
    if not path.is_file():
        return {}
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SelfCheckWordsError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("language") != language or not isinstance(raw.get("red_flags"), dict):
        raise SelfCheckWordsError(f"{path.name}: expected a mapping with language: {language} and red_flags")
    out: dict[str, FlagWords] = {}
    for flag_id, entry in raw["red_flags"].items():
        where = f"{path.name}: red_flags.{flag_id}"
        if not isinstance(entry, dict) or set(entry) != {"question", "action"}:
            raise SelfCheckWordsError(f"{where}: expected question and action")
        out[str(flag_id)] = FlagWords(*_entry(entry["question"], f"{where}.question"), *_entry(entry["action"], f"{where}.action"))
    return out


def flag_question(flag: RedFlag, language: str) -> str:
    """The red-flag question as a visitor reading ``language`` sees it: the translation only while
    it translates the rule set's current English, else the English."""
    words = flag_words(language).get(flag.id)
    return words.question if words is not None and words.question_en == flag.question else flag.question


def flag_action(flag: RedFlag, language: str) -> str:
    """What the visitor is told to do for a positive red flag, in ``language`` (English when the
    translation is missing or stale)."""
    words = flag_words(language).get(flag.id)
    return words.action if words is not None and words.action_en == flag.action else flag.action


@dataclass(frozen=True)
class MuscleToExamine:
    id: str
    name: str
    side: str  # "right", "left", "both" or "" (midline)
    refers_to: str

    @property
    def side_words(self) -> str:
        words = {"both": gettext("both sides"), "right": gettext("right side"), "left": gettext("left side")}
        return words.get(self.side, "")


@dataclass(frozen=True)
class SelfCheckResult:
    verdict: str  # "see-doctor" | "ask-first" | "consult" | "consult-soon-or-wait"
    urgency: str | None  # see-doctor: emergency | same-day | before-treatment
    red_flag_actions: tuple[str, ...]
    condition: str | None
    condition_label: str | Promise
    muscles: tuple[MuscleToExamine, ...]
    notes: tuple[str, ...] = field(default=())
    marked: str = ""
    ask_first: tuple[str, ...] = ()  # questions to answer before anything else, in words


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def focus_condition(marks: list[dict[str, Any]], hopes: list[str], widespread: bool) -> str | None:
    """The directory focus that fits the drawing best: the condition with most painted intensity."""
    if widespread:
        return "fibromyalgia"
    scores: dict[str, float] = defaultdict(float)
    for m in marks:
        region = m["cell"].split(":")[0]
        condition = REGION_CONDITIONS.get(region)
        if condition is None:
            continue
        weight = 2.0 if condition == "carpal-tunnel-like-symptoms" and m.get("quality") in NERVE_QUALITIES else 1.0
        scores[condition] += m["intensity"] * weight
    if scores:
        order = list(CONDITIONS)
        return max(scores, key=lambda c: (scores[c], -order.index(c)))
    for hope in hopes:
        if hope in HOPE_CONDITIONS:
            return HOPE_CONDITIONS[hope]
    return None


def _place(cell: str, language: str) -> str:
    return _lower_first(region_label(cell, language))


def mark_words(mark: dict[str, Any], language: str = SOURCE_LANGUAGE) -> str:
    """One mark as the body-map widget's summary says it: "right temple 7/10, aching"."""
    quality = quality_label(mark["quality"], language) if mark.get("quality") else ""
    return f"{_place(mark['cell'], language)} {mark['intensity']}/10" + (f", {_lower_first(quality)}" if quality else "")


def drawing_words(marks: list[dict[str, Any]], language: str = SOURCE_LANGUAGE) -> str:
    return "; ".join(mark_words(m, language) for m in marks)


def _muscles(result: Any, language: str) -> tuple[MuscleToExamine, ...]:
    by_id = atlas().muscle_by_id
    seen: dict[str, MuscleToExamine] = {}
    for h in [*result.cover, *result.hypotheses]:
        if h.muscle in seen or len(seen) >= 5:
            continue
        hits = list(getattr(h, "essential_hits", ()) or getattr(h, "adds", ()))
        where = ", ".join(_place(c, language) for c in hits[:3])
        seen[h.muscle] = MuscleToExamine(
            id=h.muscle, name=by_id[h.muscle].name, side=h.side if h.side != "midline" else "", refers_to=where
        )
    return tuple(seen.values())


def run_self_check(
    *, marks: list[dict[str, Any]], duration: str, hopes: list[str], red_flags: dict[str, bool], language: str = SOURCE_LANGUAGE
) -> SelfCheckResult:
    """The result in ``language`` (its texts; ids, verdict and urgency are the same in every language)."""
    months = DURATION_MONTHS[duration]
    drawing = parse_drawing({"marks": marks, "context": {"pain_duration_months": months, "red_flags": red_flags}})
    result = explain(drawing, top=10)
    triage, screen = result.triage, result.screens[0]
    flags = {f.id: f for f in red_flag_questions()}
    questions = {f.id: flag_question(f, language) for f in flags.values()}
    ask_first = tuple(questions[q] for q in triage.ask_first if q in questions) if triage and triage.level == "ask-first" else ()
    if screen.verdict == "refer out":
        return SelfCheckResult(
            verdict="see-doctor",
            urgency=screen.details["urgency"],
            red_flag_actions=tuple(dict.fromkeys(_action(p, flags, language) for p in screen.details["positive"])),
            condition=None,
            condition_label="",
            muscles=(),
            ask_first=ask_first,
        )
    if ask_first:
        return SelfCheckResult(
            verdict="ask-first", urgency=None, red_flag_actions=(), condition=None, condition_label="", muscles=(), ask_first=ask_first
        )
    fm = next((s for s in result.screens if s.id.startswith("fibromyalgia")), None)
    widespread = bool(fm and len(fm.inputs.get("generalized_regions", [])) >= 4 and months >= 3)
    notes: list[str] = []
    if widespread:
        notes.append(
            gettext(
                "You marked pain in many parts of the body for three months or more. Widespread pain deserves a doctor's "
                "assessment too; hands-on therapy can be one part of a wider plan."
            )
        )
    if any(s.verdict in ("refer", "examine") for s in result.screens if s.id.startswith("lookalike-")):
        notes.append(
            gettext(
                "Some of what you marked can also come from an irritated nerve. A good therapist checks for that first and "
                "tells you if a doctor should look at it."
            )
        )
    if duration == "days":
        notes.append(
            gettext(
                "Many new aches settle by themselves within a few weeks. If this started with a fall, an accident or a "
                "sudden injury, see a doctor first."
            )
        )
    condition = focus_condition(marks, hopes, widespread)
    return SelfCheckResult(
        verdict="consult-soon-or-wait" if duration == "days" else "consult",
        urgency=None,
        red_flag_actions=(),
        condition=condition,
        condition_label=CONDITIONS.get(condition or "", ""),
        muscles=_muscles(result, language) if marks and not (triage and triage.withheld) else (),
        notes=tuple(notes),
        marked=drawing_words(marks, language),
    )


def _action(positive: dict[str, Any], flags: Mapping[str, RedFlag], language: str) -> str:
    """A positive flag's action in ``language``; the engine's English when the flag is unknown here."""
    flag = flags.get(positive.get("id", ""))
    return flag_action(flag, language) if flag is not None and flag.action == positive["action"] else positive["action"]
