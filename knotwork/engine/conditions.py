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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "_where", self.regions | self.cells)
        object.__setattr__(self, "_described", self._describe())

    def holds(self, drawing: PainDrawing) -> bool:
        where: frozenset[str] = self._where  # type: ignore[attr-defined]
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
        return dict(self._described)  # type: ignore[attr-defined]

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
        *(f"quality {q!r}" for q in sorted(cond.qualities - set(QUALITIES))),
        *(f"finding {f!r}" for f in sorted(cond.findings - FINDING_IDS)),
        *(f"sex {s!r}" for s in sorted(cond.sexes - SEXES)),
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

    Conditions that need a mark in named regions or cells are filed under those places; a
    drawing then tries only those filed under its own marks, plus the few that name no place
    (symptom-only conditions). The answer is the same as trying them all.
    """

    def __init__(self, keyed: Iterable[tuple[str, Iterable[Condition]]]) -> None:
        by_place: dict[str, list[tuple[str, Condition]]] = {}
        anywhere: list[tuple[str, Condition]] = []
        self.keys: list[str] = []
        for key, conditions in keyed:
            self.keys.append(key)
            for c in conditions:
                where = c.regions | c.cells
                if not where:
                    anywhere.append((key, c))
                for place in where:
                    by_place.setdefault(place, []).append((key, c))
        self._by_place = by_place
        self._anywhere = tuple(anywhere)

    def holding(self, drawing: PainDrawing) -> set[str]:
        """The keys with at least one condition that holds."""
        found: set[str] = set()
        by_place = self._by_place
        for place in drawing.places:
            for key, c in by_place.get(place, ()):
                if key not in found and c.holds(drawing):
                    found.add(key)
        for key, c in self._anywhere:
            if key not in found and c.holds(drawing):
                found.add(key)
        return found
