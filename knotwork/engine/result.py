"""What the engine returns: plain frozen dataclasses with a ``to_dict()`` for the JSON contract.

The shape of ``ExplainResult.to_dict()`` is the public "engine output" contract in DESIGN.md
(plus ``unexplained`` per hypothesis and ``message`` when there is nothing to rank). Change it
only by adding keys.
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
class Hypothesis:
    """One trigger point on one side, as a likely source of the drawn pain."""

    muscle: str
    trigger_point: str
    side: str
    score: float
    essential_hits: tuple[str, ...]
    spillover_hits: tuple[str, ...]
    explains: float
    unexplained: tuple[str, ...]
    why: str

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
    hypotheses: tuple[Hypothesis, ...]
    cover: tuple[CoverStep, ...]
    screens: tuple[Screen, ...]
    atlas_version: str
    message: str | None = None

    def screen(self, screen_id: str) -> Screen:
        for s in self.screens:
            if s.id == screen_id:
                return s
        raise KeyError(screen_id)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "hypotheses": [h.to_dict() for h in self.hypotheses],
            "cover": [c.to_dict() for c in self.cover],
            "screens": [s.to_dict() for s in self.screens],
            "atlas_version": self.atlas_version,
        }
        if self.message is not None:
            out["message"] = self.message
        return out
