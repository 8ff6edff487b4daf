"""The "Is NMT right for me?" self-check: from a visitor's answers to a plain-words result.

The engine's triage comes first: ``explain`` applies its one red-flag rule set to the answers and
to the drawing itself. Any red flag sends the visitor to a doctor (now, today, or before any
treatment) with no muscles and no therapist; an emergency question the drawing makes pressing
and nobody answered must be answered before anything else. Only then do the muscles a therapist
would likely examine come from the same result. Nothing here diagnoses: the result says whether a
consultation seems worthwhile, what to ask at it, and which therapists to look for. Nothing is
stored.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from knotwork.atlas.bodymap import cell_label
from knotwork.atlas.loader import atlas
from knotwork.engine import QUALITY_LABELS, explain, parse_drawing, red_flag_questions

DURATIONS = [
    ("days", "Less than 2 weeks"),
    ("weeks", "2 to 6 weeks"),
    ("months", "6 weeks to 3 months"),
    ("long", "3 months to a year"),
    ("years", "More than a year"),
]
DURATION_MONTHS = {"days": 0.25, "weeks": 1.0, "months": 2.0, "long": 6.0, "years": 18.0}

HOPES = [
    ("less-pain", "Less pain"),
    ("move", "To move more freely"),
    ("sleep", "To sleep better"),
    ("sport", "To get back to sport or training"),
    ("posture", "Help with posture or desk work"),
    ("stress", "To feel less tense and stressed"),
    ("understand", "To understand what is going on"),
]

# The directory's focus conditions (a fixed, public list of ids).
CONDITIONS: dict[str, str] = {
    "headaches": "headaches",
    "neck-pain": "neck pain",
    "low-back-pain": "low back pain",
    "sciatica-like-pain": "sciatica-like pain",
    "carpal-tunnel-like-symptoms": "carpal-tunnel-like symptoms",
    "tmj": "jaw (TMJ) pain",
    "fibromyalgia": "widespread pain and fibromyalgia",
    "sports": "sports injuries and training",
    "posture": "posture",
    "stress": "stress and tension",
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
    "What training and certification do you have in neuromuscular therapy, and are you registered or licensed where you work?",
    "From what I have described, is this something you see often, and when would you send me to a doctor instead?",
    "What would you examine at the first session, and how firm will the pressure be? Can I ask you to ease off at any time?",
    "How many sessions would you expect before we know whether it is helping, and how will we measure that?",
    "What should I do between sessions, and what soreness is normal afterwards?",
    "What does a session cost, and is there anything my insurance or health plan needs from you?",
)


@dataclass(frozen=True)
class MuscleToExamine:
    id: str
    name: str
    side: str  # "right", "left", "both" or "" (midline)
    refers_to: str

    @property
    def side_words(self) -> str:
        return "both sides" if self.side == "both" else f"{self.side} side" if self.side else ""


@dataclass(frozen=True)
class SelfCheckResult:
    verdict: str  # "see-doctor" | "ask-first" | "consult" | "consult-soon-or-wait"
    urgency: str | None  # see-doctor: emergency | same-day | before-treatment
    red_flag_actions: tuple[str, ...]
    condition: str | None
    condition_label: str
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


def _muscles(result: Any) -> tuple[MuscleToExamine, ...]:
    by_id = atlas().muscle_by_id
    seen: dict[str, MuscleToExamine] = {}
    for h in [*result.cover, *result.hypotheses]:
        if h.muscle in seen or len(seen) >= 5:
            continue
        hits = list(getattr(h, "essential_hits", ()) or getattr(h, "adds", ()))
        where = ", ".join(_lower_first(cell_label(c)) for c in hits[:3])
        seen[h.muscle] = MuscleToExamine(
            id=h.muscle, name=by_id[h.muscle].name, side=h.side if h.side != "midline" else "", refers_to=where
        )
    return tuple(seen.values())


def _marked(marks: list[dict[str, Any]]) -> str:
    def words(m: dict[str, Any]) -> str:
        quality = QUALITY_LABELS.get(m.get("quality") or "", "")
        return f"{_lower_first(cell_label(m['cell']))} {m['intensity']}/10" + (f", {_lower_first(quality)}" if quality else "")

    return "; ".join(words(m) for m in marks)


def run_self_check(*, marks: list[dict[str, Any]], duration: str, hopes: list[str], red_flags: dict[str, bool]) -> SelfCheckResult:
    months = DURATION_MONTHS[duration]
    drawing = parse_drawing({"marks": marks, "context": {"pain_duration_months": months, "red_flags": red_flags}})
    result = explain(drawing, top=10)
    triage, screen = result.triage, result.screens[0]
    questions = {f.id: f.question for f in red_flag_questions()}
    ask_first = tuple(questions[q] for q in triage.ask_first if q in questions) if triage and triage.level == "ask-first" else ()
    if screen.verdict == "refer out":
        return SelfCheckResult(
            verdict="see-doctor",
            urgency=screen.details["urgency"],
            red_flag_actions=tuple(dict.fromkeys(p["action"] for p in screen.details["positive"])),
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
            "You marked pain in many parts of the body for three months or more. Widespread pain deserves a doctor's "
            "assessment too; hands-on therapy can be one part of a wider plan."
        )
    if any(s.verdict in ("refer", "examine") for s in result.screens if s.id.startswith("lookalike-")):
        notes.append(
            "Some of what you marked can also come from an irritated nerve. A good therapist checks for that first and "
            "tells you if a doctor should look at it."
        )
    if duration == "days":
        notes.append(
            "Many new aches settle by themselves within a few weeks. If this started with a fall, an accident or a "
            "sudden injury, see a doctor first."
        )
    condition = focus_condition(marks, hopes, widespread)
    return SelfCheckResult(
        verdict="consult-soon-or-wait" if duration == "days" else "consult",
        urgency=None,
        red_flag_actions=(),
        condition=condition,
        condition_label=CONDITIONS.get(condition or "", ""),
        muscles=_muscles(result) if marks and not (triage and triage.withheld) else (),
        notes=tuple(notes),
        marked=_marked(marks),
    )
