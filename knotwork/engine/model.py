"""A pain drawing as the engine holds it: frozen dataclasses, already validated.

:mod:`knotwork.engine.drawing` builds these from contract data; every rule module reads them.
This module imports only the vocabulary, so any engine module may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from knotwork.engine.vocabulary import reported_symptoms


@dataclass(frozen=True)
class Mark:
    """One marked cell. ``region`` and ``side`` (``right``, ``left`` or ``midline``) are derived
    from the cell once, because every screen asks for them."""

    cell: str
    intensity: int
    quality: str | None = None
    region: str = field(init=False, compare=False, repr=False)
    side: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        region, _, side = self.cell.partition(":")
        object.__setattr__(self, "region", region)
        object.__setattr__(self, "side", side or "midline")


@dataclass(frozen=True)
class SymptomSeverity:
    """Answers to the ACR 2016 symptom-severity items; ``total`` is the SSS (0-12)."""

    fatigue: int
    waking_unrefreshed: int
    cognitive: int
    headaches: int
    lower_abdominal: int
    depression: int

    @property
    def total(self) -> int:
        return self.fatigue + self.waking_unrefreshed + self.cognitive + self.headaches + self.lower_abdominal + self.depression


@dataclass(frozen=True)
class Context:
    """Optional evidence that travels with a drawing.

    ``implicated_muscles`` maps muscle ids to the assessment finding behind them;
    ``red_flags`` maps red-flag question ids to the client's yes/no answer (``None`` = the
    questions were not asked); ``findings`` are ids of examination findings the look-alike
    screens know (e.g. ``tinel-phalen-wrist``); ``medical_clearance`` says a clinician has
    recorded that a physician cleared the client for hands-on work despite a red flag, which
    lets the muscle list show again (the web side records and audits who said so). Keys the engine does not know are kept in ``extra``
    untouched, so other parts of the product can store their own context beside ours.
    """

    implicated_muscles: Mapping[str, str] = field(default_factory=dict)
    sex: str | None = None
    age: int | None = None
    sss: SymptomSeverity | None = None
    pain_duration_months: float | None = None
    red_flags: Mapping[str, bool] | None = None
    findings: tuple[str, ...] = ()
    medical_clearance: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PainDrawing:
    """A validated drawing. ``reported`` is every symptom the client reports: the ticked ones
    and those the marks' qualities carry (see :mod:`knotwork.engine.vocabulary`)."""

    marks: tuple[Mark, ...] = ()
    symptoms: tuple[str, ...] = ()
    context: Context = field(default_factory=Context)
    reported: frozenset[str] = field(init=False, compare=False, repr=False)
    places: frozenset[str] = field(init=False, compare=False, repr=False)
    """Every marked cell and region, for the rules' quick checks."""
    marks_at: Mapping[str, tuple[Mark, ...]] = field(init=False, compare=False, repr=False)
    """Marked cell or region -> its marks."""
    qualities: frozenset[str] = field(init=False, compare=False, repr=False)
    """Every quality a mark carries, so a rule about qualities is passed over at a glance."""

    def __post_init__(self) -> None:
        qualities = frozenset([m.quality for m in self.marks if m.quality is not None])
        object.__setattr__(self, "qualities", qualities)
        object.__setattr__(self, "reported", reported_symptoms(self.symptoms, qualities))
        at: dict[str, tuple[Mark, ...]] = {}
        for m in self.marks:
            at[m.cell] = (m,)
            at[m.region] = (*at.get(m.region, ()), m) if m.region != m.cell else (m,)
        object.__setattr__(self, "marks_at", at)
        object.__setattr__(self, "places", frozenset(at))

    @property
    def is_empty(self) -> bool:
        return not self.marks

    @property
    def total_intensity(self) -> int:
        return sum(m.intensity for m in self.marks)
