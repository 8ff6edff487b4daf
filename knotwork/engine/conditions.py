"""Conditions on a drawing, as the rules files write them.

Red flags (``ask_when``, ``reported_when``) and look-alike screens (``applies_when``,
``refer_when``) describe the pictures they care about with the same small language, so a
clinician reads one set of words everywhere. A condition is a mapping whose every key must
hold; a list of conditions holds when any of them does:

``regions`` / ``cells``
    a mark in one of these regions (either side) or exact cells;
``qualities``
    with regions/cells: that same mark has one of these qualities; alone: any mark has one;
``also_regions``
    a mark in one of these regions as well (a second body area);
``both_sides``
    the regions/cells matched are marked on the right and on the left;
``symptoms`` / ``all_symptoms``
    the client reports one / every one of these (ticked, or painted as a mark quality);
``findings``
    the therapist recorded one of these examination findings;
``from_age`` / ``sexes``
    hold unless the client's age is known and lower, or their sex is known and not listed;
``text``
    the reason in words, for the therapist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knotwork.engine.vocabulary import FINDING_IDS, QUALITIES

if TYPE_CHECKING:
    from knotwork.engine.model import PainDrawing

KEYS = frozenset(
    {"regions", "cells", "qualities", "also_regions", "both_sides", "symptoms", "all_symptoms", "findings", "from_age", "sexes", "text"}
)
SEXES = frozenset({"female", "male", "other"})


@dataclass(frozen=True)
class Condition:
    regions: frozenset[str] = frozenset()
    cells: frozenset[str] = frozenset()
    qualities: frozenset[str] = frozenset()
    also_regions: frozenset[str] = frozenset()
    both_sides: bool = False
    symptoms: frozenset[str] = frozenset()
    all_symptoms: frozenset[str] = frozenset()
    findings: frozenset[str] = frozenset()
    from_age: int | None = None
    sexes: frozenset[str] = frozenset()
    text: str = ""
    _where: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    """Regions and cells together, for the quick first check."""
    _described: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_where", self.regions | self.cells)
        object.__setattr__(self, "_described", self._describe())

    def holds(self, drawing: PainDrawing) -> bool:
        where: frozenset[str] = self._where
        if where and where.isdisjoint(drawing.places):
            return False  # the quick answer for most rules and most drawings
        ctx = drawing.context
        if self.from_age is not None and ctx.age is not None and ctx.age < self.from_age:
            return False
        if self.sexes and ctx.sex is not None and ctx.sex not in self.sexes:
            return False
        reported = drawing.reported
        if self.symptoms and not self.symptoms & reported:
            return False
        if self.all_symptoms and not self.all_symptoms <= reported:
            return False
        if self.findings and not self.findings.intersection(ctx.findings):
            return False
        if where:
            at = drawing.marks_at
            if self.qualities or self.both_sides:
                qualities = self.qualities
                marks = [m for place in where & drawing.places for m in at[place] if not qualities or m.quality in qualities]
                if not marks:
                    return False
                if self.both_sides and not {"right", "left"} <= {m.side for m in marks}:
                    return False
        elif self.qualities and not any(m.quality in self.qualities for m in drawing.marks):
            return False
        return not (self.also_regions and self.also_regions.isdisjoint(drawing.places))

    def describe(self) -> dict[str, Any]:
        """The condition as data, for a screen's details (built once per condition)."""
        return dict(self._described)

    def _describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: sorted(getattr(self, k))
            for k in ("regions", "cells", "qualities", "also_regions", "symptoms", "all_symptoms", "findings", "sexes")
            if getattr(self, k)
        }
        if self.both_sides:
            out["both_sides"] = True
        if self.from_age is not None:
            out["from_age"] = self.from_age
        if self.text:
            out["text"] = self.text
        return out

    def words(self) -> str:
        """The condition in plain words, for a rule's explanation."""
        parts: list[str] = []
        where = sorted(self.regions | self.cells)
        if where:
            parts.append("a mark in " + "/".join(where) + (" on both sides" if self.both_sides else ""))
        if self.qualities:
            parts.append("felt as " + "/".join(sorted(self.qualities)))
        if self.also_regions:
            parts.append("with a mark in " + "/".join(sorted(self.also_regions)))
        if self.symptoms:
            parts.append("with the symptom " + "/".join(sorted(self.symptoms)))
        if self.all_symptoms:
            parts.append("with all of " + " + ".join(sorted(self.all_symptoms)))
        if self.findings:
            parts.append("with the finding " + "/".join(sorted(self.findings)))
        if self.from_age is not None:
            parts.append(f"aged {self.from_age} or over")
        if self.sexes:
            parts.append("sex " + "/".join(sorted(self.sexes)))
        return "(" + ", ".join(parts) + ")"


def parse_condition(raw: object, where: str, *, symptoms: frozenset[str] | None = None) -> Condition:
    """Read one condition from a rules file; a typo is an error naming the file and the rule."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: a condition must be a mapping")
    unknown = set(raw) - KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")

    def ids(key: str) -> frozenset[str]:
        value = raw.get(key, ())
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{where}.{key}: must be a list of ids")
        return frozenset(value)

    cond = Condition(
        regions=ids("regions"),
        cells=ids("cells"),
        qualities=ids("qualities"),
        also_regions=ids("also_regions"),
        both_sides=bool(raw.get("both_sides", False)),
        symptoms=ids("symptoms"),
        all_symptoms=ids("all_symptoms"),
        findings=ids("findings"),
        from_age=raw.get("from_age"),
        sexes=ids("sexes"),
        text=str(raw.get("text", "")),
    )
    problems = [
        *[f"quality {q!r}" for q in sorted(cond.qualities - set(QUALITIES))],
        *[f"finding {f!r}" for f in sorted(cond.findings - FINDING_IDS)],
        *[f"sex {s!r}" for s in sorted(cond.sexes - SEXES)],
    ]
    if symptoms is not None:
        problems += [f"symptom {s!r}" for s in sorted((cond.symptoms | cond.all_symptoms) - symptoms)]
    if problems:
        raise ValueError(f"{where}: unknown {', '.join(problems)}")
    if cond.both_sides and not (cond.regions or cond.cells):
        raise ValueError(f"{where}: both_sides needs regions or cells")
    return cond


def parse_conditions(raw: object, where: str, *, symptoms: frozenset[str] | None = None) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{where}: must be a list of conditions")
    return tuple(parse_condition(c, f"{where}[{i}]", symptoms=symptoms) for i, c in enumerate(raw))


class ConditionIndex:
    """Which of many keyed condition lists hold for a drawing, without trying every condition.

    Condition *i* of the lists, flattened in order, is bit *i* of an integer. Built once, the
    index files each condition under what it needs: a mark in named regions or cells, one of a
    few symptoms, qualities or findings, a mark in ``also_regions``. A drawing ORs the bits
    filed under its own places, symptoms, qualities and findings and ANDs the answers, so most
    conditions are settled with no call at all. Only what bits cannot say is left to
    :meth:`Condition.holds`: that the *same* mark is in place and of the quality, both sides,
    every symptom, and an age or sex the drawing states. The answer is the same as trying them all.
    """

    def __init__(self, keyed: Iterable[tuple[str, Iterable[Condition]]]) -> None:
        self.keys: list[str] = []
        conditions: list[Condition] = []
        owners: list[str] = []
        for key, keyed_conditions in keyed:
            self.keys.append(key)
            for c in keyed_conditions:
                conditions.append(c)
                owners.append(key)
        self.conditions: tuple[Condition, ...] = tuple(conditions)
        self.owners: tuple[str, ...] = tuple(owners)
        """The key of each condition, by bit."""
        every = (1 << len(conditions)) - 1
        # Per requirement: id -> the conditions that name it, and the conditions that need none of
        # them (they pass that test whatever the drawing).
        self._at_place, self._anywhere = _filed([c.regions | c.cells for c in conditions], every)
        self._at_symptom, self._any_symptoms = _filed([c.symptoms | c.all_symptoms for c in conditions], every)
        self._at_quality, self._any_qualities = _filed([c.qualities for c in conditions], every)
        self._at_finding, self._any_findings = _filed([c.findings for c in conditions], every)
        self._at_also, self._any_also = _filed([c.also_regions for c in conditions], every)
        self._places = frozenset(self._at_place)
        self._also_places = frozenset(self._at_also)

        def bits(test: Callable[[Condition], object]) -> int:
            return sum(1 << i for i, c in enumerate(conditions) if test(c))

        self._to_try = bits(lambda c: (c.qualities and (c.regions or c.cells)) or c.both_sides or c.all_symptoms)
        self._aged = bits(lambda c: c.from_age is not None)
        self._sexed = bits(lambda c: c.sexes)

    def matching(self, drawing: PainDrawing) -> int:
        """The conditions that hold for the drawing, as bits (condition *i* is bit *i*)."""
        places = drawing.places
        found = self._anywhere
        for place in self._places.intersection(places):
            found |= self._at_place[place]
        found &= _passing(self._any_symptoms, self._at_symptom, drawing.reported)
        found &= _passing(self._any_qualities, self._at_quality, drawing.qualities)
        ctx = drawing.context
        found &= _passing(self._any_findings, self._at_finding, ctx.findings)
        if found & ~self._any_also:
            found &= _passing(self._any_also, self._at_also, self._also_places.intersection(places))
        doubtful = found & self._to_try
        if ctx.age is not None:
            doubtful |= found & self._aged
        if ctx.sex is not None:
            doubtful |= found & self._sexed
        conditions = self.conditions
        while doubtful:
            low = doubtful & -doubtful
            doubtful ^= low
            if not conditions[low.bit_length() - 1].holds(drawing):
                found ^= low
        return found

    def holding(self, drawing: PainDrawing) -> set[str]:
        """The keys with at least one condition that holds."""
        bits = self.matching(drawing)
        owners = self.owners
        found: set[str] = set()
        while bits:
            low = bits & -bits
            bits ^= low
            found.add(owners[low.bit_length() - 1])
        return found


def _filed(needs: Iterable[frozenset[str]], every: int) -> tuple[dict[str, int], int]:
    """(id -> the bits of the conditions that name it, the bits of those that name none)."""
    filed: dict[str, int] = {}
    named = 0
    for i, ids in enumerate(needs):
        for x in ids:
            filed[x] = filed.get(x, 0) | 1 << i
            named |= 1 << i
    return filed, every & ~named


def _passing(unnamed: int, filed: Mapping[str, int], present: Iterable[str]) -> int:
    """The conditions a drawing passes on one requirement: those naming none of its ids, and
    those naming one the drawing has."""
    for x in present:
        unnamed |= filed.get(x, 0)
    return unnamed
