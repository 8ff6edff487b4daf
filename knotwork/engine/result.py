"""What the engine returns: plain frozen dataclasses with a ``to_dict()`` for the JSON contract.

The shape of ``ExplainResult.to_dict()`` is the public "engine output" contract in DESIGN.md
(plus ``unexplained`` per hypothesis and ``message`` when there is nothing to rank). Change it
only by adding keys.

The classes one explain builds by the dozen (hypotheses, their trigger points, cover steps,
screens) write their own ``__init__``: the one ``@dataclass(frozen=True)`` writes sets each
field through ``object.__setattr__``, a call per field, which cost several per cent of an explain.
Theirs fills the instance's ``__dict__`` in one step; the instance is as frozen as before
(assigning a field raises ``FrozenInstanceError``). Its parameters must be the fields, in
order, with their defaults (a test checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Screen:
    """One screening rule applied to one drawing.

    ``verdict`` is a short fixed word per screen (see each screen's module); ``rule`` states the
    rule in words, ``inputs`` are the exact values it was applied to, and ``details`` carry
    whatever a therapist needs to act on it (questions to ask, findings that tell look-alikes
    apart, when to refer).
    """

    id: str
    title: str
    verdict: str
    rule: str
    inputs: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def __init__(
        self, id: str, title: str, verdict: str, rule: str, inputs: dict[str, Any] | None = None, details: dict[str, Any] | None = None
    ) -> None:
        inputs = {} if inputs is None else inputs
        details = {} if details is None else details
        self.__dict__.update(id=id, title=title, verdict=verdict, rule=rule, inputs=inputs, details=details)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "verdict": self.verdict,
            "rule": self.rule,
            "inputs": self.inputs,
            "details": self.details,
        }


@dataclass(frozen=True)
class Triage:
    """What every surface shows before anything else: the red-flag level and what to do.

    ``level`` is ``emergency``, ``same-day`` or ``before-treatment`` (the most urgent positive
    red flag), ``ask-first`` (an emergency question the drawing prompts is unanswered), or the
    red-flag verdict (``not asked``, ``incomplete``, ``clear``). ``withheld`` says the muscle
    list waits for medical clearance; ``cleared`` that a clinician recorded it.
    """

    level: str
    headline: str
    actions: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()
    ask_first: tuple[str, ...] = ()
    withheld: bool = False
    cleared: bool = False

    @property
    def clearance_flags(self) -> tuple[str, ...]:
        """The red flags a medical clearance has to cover: the positive ones, then those to ask first."""
        return tuple(dict.fromkeys([*self.positive, *self.ask_first]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "headline": self.headline,
            "actions": list(self.actions),
            "positive": list(self.positive),
            "ask_first": list(self.ask_first),
            "withheld": self.withheld,
            "cleared": self.cleared,
        }


@dataclass(frozen=True)
class PainPattern:
    """How much of the drawing trigger points can explain, and what leads the answer.

    ``lead`` is ``muscles`` when the ranking leads, ``widespread`` when the pain is too
    widespread for a few trigger points (WPI at or above the threshold, or the best muscle
    explains too little of the drawing), ``none`` when no trigger point refers to the marks.
    """

    lead: str
    best_explains: float
    wpi: int
    statement: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"lead": self.lead, "best_explains": round(self.best_explains, 3), "wpi": self.wpi, "statement": self.statement}


@dataclass(frozen=True)
class TriggerPointHit:
    """One trigger point inside a muscle's row: the zones of the drawing it explains."""

    trigger_point: str
    side: str
    essential_hits: tuple[str, ...]
    spillover_hits: tuple[str, ...]

    def __init__(self, trigger_point: str, side: str, essential_hits: tuple[str, ...], spillover_hits: tuple[str, ...]) -> None:
        self.__dict__.update(trigger_point=trigger_point, side=side, essential_hits=essential_hits, spillover_hits=spillover_hits)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger_point": self.trigger_point,
            "side": self.side,
            "essential_hits": list(self.essential_hits),
            "spillover_hits": list(self.spillover_hits),
        }


@dataclass(frozen=True)
class Hypothesis:
    """One muscle as a likely source of the drawn pain, its evidence combined over its trigger points.

    ``trigger_point`` and ``side`` name the row's best trigger point (the one to palpate first);
    ``trigger_points`` lists every trigger point of the muscle that the row counts, best first.
    ``side`` is ``both`` when the row needs the muscle on the right and on the left.
    """

    muscle: str
    trigger_point: str
    side: str
    score: float
    essential_hits: tuple[str, ...]
    spillover_hits: tuple[str, ...]
    explains: float
    unexplained: tuple[str, ...]
    why: str
    trigger_points: tuple[TriggerPointHit, ...] = ()
    nerve_hits: tuple[str, ...] = ()
    """Numb, tingling or burning marks the row explains through the skin territory of a nerve the
    muscle can entrap (outside its referral zones)."""

    def __init__(
        self,
        muscle: str,
        trigger_point: str,
        side: str,
        score: float,
        essential_hits: tuple[str, ...],
        spillover_hits: tuple[str, ...],
        explains: float,
        unexplained: tuple[str, ...],
        why: str,
        trigger_points: tuple[TriggerPointHit, ...] = (),
        nerve_hits: tuple[str, ...] = (),
    ) -> None:
        self.__dict__.update(
            muscle=muscle,
            trigger_point=trigger_point,
            side=side,
            score=score,
            essential_hits=essential_hits,
            spillover_hits=spillover_hits,
            explains=explains,
            unexplained=unexplained,
            why=why,
            trigger_points=trigger_points,
            nerve_hits=nerve_hits,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "muscle": self.muscle,
            "trigger_point": self.trigger_point,
            "side": self.side,
            "score": round(self.score, 1),
            "essential_hits": list(self.essential_hits),
            "spillover_hits": list(self.spillover_hits),
            "explains": round(self.explains, 3),
            "unexplained": list(self.unexplained),
            "why": self.why,
            "trigger_points": [t.to_dict() for t in self.trigger_points],
            "nerve_hits": list(self.nerve_hits),
        }


@dataclass(frozen=True)
class CoverStep:
    """One trigger point of the cover, in palpation order.

    ``adds`` are the marked cells this step explains that earlier steps did not;
    ``cumulative`` is the share of painted intensity explained once this step is included.
    """

    muscle: str
    trigger_point: str
    side: str
    adds: tuple[str, ...]
    cumulative: float

    def __init__(self, muscle: str, trigger_point: str, side: str, adds: tuple[str, ...], cumulative: float) -> None:
        self.__dict__.update(muscle=muscle, trigger_point=trigger_point, side=side, adds=adds, cumulative=cumulative)

    def to_dict(self) -> dict[str, Any]:
        return {
            "muscle": self.muscle,
            "trigger_point": self.trigger_point,
            "side": self.side,
            "adds": list(self.adds),
            "cumulative": round(self.cumulative, 3),
        }


@dataclass(frozen=True)
class ExplainResult:
    """The whole answer. ``triage`` comes first on every surface; when it withholds the muscle
    list, ``hypotheses`` and ``cover`` are empty and ``withheld`` counts the muscles held back."""

    hypotheses: tuple[Hypothesis, ...]
    cover: tuple[CoverStep, ...]
    screens: tuple[Screen, ...]
    atlas_version: str
    message: str | None = None
    triage: Triage | None = None
    pattern: PainPattern | None = None
    withheld: int = 0

    def screen(self, screen_id: str) -> Screen:
        for s in self.screens:
            if s.id == screen_id:
                return s
        raise KeyError(screen_id)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.triage is not None:
            out["triage"] = self.triage.to_dict()
        if self.pattern is not None:
            out["pattern"] = self.pattern.to_dict()
        out |= {
            "hypotheses": [h.to_dict() for h in self.hypotheses],
            "cover": [c.to_dict() for c in self.cover],
            "screens": [s.to_dict() for s in self.screens],
            "atlas_version": self.atlas_version,
        }
        if self.message is not None:
            out["message"] = self.message
        if self.withheld:
            out["withheld"] = self.withheld
        return out
