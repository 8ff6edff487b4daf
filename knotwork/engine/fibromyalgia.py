"""ACR 2016 fibromyalgia criteria (Wolfe et al., Semin Arthritis Rheum 2016;46:319-329).

Widespread pain changes what trigger-point work can promise, so every result carries this
screen. The Widespread Pain Index (WPI) comes from the drawing through the region vocabulary's
``wpi`` mapping; the Symptom Severity Scale (SSS) and the duration come from a short
questionnaire in ``context``. When those answers are missing the screen reports what the
drawing alone shows and says the verdict is incomplete; it never guesses an answer. When the
drawing alone already rules the criteria out (WPI below 4, or pain in fewer than 4 of the 5
regions) it says so, because no questionnaire answer could change that.

Verdicts: ``met``, ``not met``, ``incomplete``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from knotwork.engine.result import Screen

if TYPE_CHECKING:
    from knotwork.engine.model import PainDrawing

SCREEN_ID = "fibromyalgia-acr-2016"
SCREEN_TITLE = "Widespread pain: ACR 2016 fibromyalgia criteria"
RULE = (
    "ACR 2016 (Wolfe et al. 2016): (WPI >= 7 and SSS >= 5) or (WPI 4-6 and SSS >= 9); generalized pain in "
    ">= 4 of 5 regions (jaw, chest and abdomen do not count towards it); symptoms present >= 3 months."
)

PAIRED_AREAS: tuple[str, ...] = ("jaw", "shoulder-girdle", "upper-arm", "lower-arm", "hip", "upper-leg", "lower-leg")
AXIAL_AREAS: tuple[str, ...] = ("neck", "upper-back", "lower-back", "chest", "abdomen")

# Generalized-pain regions: which WPI areas count towards each. Jaw, chest and abdomen are WPI
# areas but deliberately count towards no region (ACR 2016).
_UPPER = ("shoulder-girdle", "upper-arm", "lower-arm")
_LOWER = ("hip", "upper-leg", "lower-leg")
GENERALIZED_REGIONS: dict[str, frozenset[str]] = {
    "left upper": frozenset(f"{a}:left" for a in _UPPER),
    "right upper": frozenset(f"{a}:right" for a in _UPPER),
    "left lower": frozenset(f"{a}:left" for a in _LOWER),
    "right lower": frozenset(f"{a}:right" for a in _LOWER),
    "axial": frozenset({"neck", "upper-back", "lower-back"}),
}


def cell_area(cell: str, region_wpi: Mapping[str, str | None]) -> str | None:
    """The WPI area one cell counts towards: ``"upper-arm:left"`` for paired, ``"neck"`` for axial."""
    region, _, side = cell.partition(":")
    area = region_wpi.get(region)
    if area is None:
        return None
    if area in AXIAL_AREAS:
        return area
    # A midline region mapped to a paired area would have no side to count; the vocabulary
    # has none, and counting it on both sides would inflate the index.
    return f"{area}:{side}" if side else None


def cell_areas(cells: Iterable[str], region_wpi: Mapping[str, str | None]) -> dict[str, str | None]:
    """Cell -> its WPI area (or ``None``), built once per atlas so a drawing's WPI is a few lookups."""
    return {cell: cell_area(cell, region_wpi) for cell in cells}


_SUMMARIES = {
    "met": "The pain picture meets the ACR 2016 criteria for fibromyalgia; a physician should assess it, "
    "and trigger-point work alone is unlikely to explain all of the pain.",
    "not met": "The ACR 2016 fibromyalgia criteria are not met.",
    "incomplete": "Not enough answers to apply the ACR 2016 criteria; see what is missing.",
}


def wpi_areas(cells: Iterable[str], region_wpi: Mapping[str, str | None], areas_of: Mapping[str, str | None] | None = None) -> list[str]:
    """The WPI areas the cells touch, each once, sorted. ``areas_of`` is :func:`cell_areas` for
    the atlas when the caller has it; a cell it does not know is worked out from ``region_wpi``."""
    known = areas_of or {}
    listed = list(cells)
    try:
        areas = set(map(known.__getitem__, listed))
    except KeyError:  # a cell the table does not have (or no table)
        areas = {known[c] if c in known else cell_area(c, region_wpi) for c in listed}
    return sorted(filter(None, areas))


def generalized_regions(areas: Iterable[str]) -> list[str]:
    found = set(areas)
    return [name for name, members in GENERALIZED_REGIONS.items() if members & found]


def criterion_one(wpi: int, sss: int) -> bool:
    return (wpi >= 7 and sss >= 5) or (4 <= wpi <= 6 and sss >= 9)


def fibromyalgia_verdict(wpi: int, generalized: int, sss: int | None, duration_months: float | None) -> tuple[str, list[str]]:
    """Apply the ACR 2016 rule; returns the verdict and the reasons behind it, in words."""
    reasons: list[str] = []
    ruled_out = False
    if wpi < 4:
        reasons.append(f"WPI is {wpi}; the criteria need at least 4 painful areas.")
        ruled_out = True
    if generalized < 4:
        reasons.append(f"Pain is in {generalized} of the 5 regions; generalized pain needs at least 4.")
        ruled_out = True
    if sss is not None and not ruled_out and not criterion_one(wpi, sss):
        need = "5" if wpi >= 7 else "9"
        reasons.append(f"With WPI {wpi}, SSS must be at least {need}; it is {sss}.")
        ruled_out = True
    if duration_months is not None and duration_months < 3:
        reasons.append(f"Symptoms have lasted {duration_months:g} months; the criteria need at least 3.")
        ruled_out = True
    if ruled_out:
        return "not met", reasons
    missing = []
    if sss is None:
        missing.append("the symptom-severity questionnaire (SSS)")
    if duration_months is None:
        missing.append("how long the symptoms have lasted")
    if missing:
        reasons.append(
            f"The drawing gives WPI {wpi} with pain in {generalized} of 5 regions; the verdict needs " + " and ".join(missing) + "."
        )
        return "incomplete", reasons
    reasons.append(f"WPI {wpi}, SSS {sss}, generalized pain in {generalized} of 5 regions, for {duration_months:g} months.")
    return "met", reasons


def evaluate_fibromyalgia(
    drawing: PainDrawing, region_wpi: Mapping[str, str | None], *, areas_of: Mapping[str, str | None] | None = None
) -> Screen:
    """The ACR 2016 screen for one drawing. ``areas_of`` (see :func:`cell_areas`) saves the
    engine splitting every marked cell again; the answer is the same without it."""
    areas = wpi_areas([m.cell for m in drawing.marks], region_wpi, areas_of)
    regions = generalized_regions(areas)
    sss = drawing.context.sss
    duration = drawing.context.pain_duration_months
    verdict, reasons = fibromyalgia_verdict(len(areas), len(regions), sss.total if sss else None, duration)
    inputs: dict[str, Any] = {
        "wpi_areas": areas,
        "wpi": len(areas),
        "generalized_regions": regions,
        "sss": sss.total if sss else None,
        "sss_items": (
            {
                "fatigue": sss.fatigue,
                "waking_unrefreshed": sss.waking_unrefreshed,
                "cognitive": sss.cognitive,
                "headaches": sss.headaches,
                "lower_abdominal": sss.lower_abdominal,
                "depression": sss.depression,
            }
            if sss
            else None
        ),
        "pain_duration_months": duration,
    }
    return Screen(
        id=SCREEN_ID,
        title=SCREEN_TITLE,
        verdict=verdict,
        rule=RULE,
        inputs=inputs,
        details={
            "summary": _SUMMARIES[verdict],
            "reasons": reasons,
            "fs_scale": len(areas) + sss.total if sss else None,
            "note": "The WPI counts pain over the past week; the drawing is taken as that week's pain.",
        },
    )
