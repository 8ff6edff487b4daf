"""Outcome-measure scoring and change flags. Pure Python: no Django imports.

Measures are data (``data/measures.yaml``: range, direction, MCID and MDC with their sources,
licence); this module holds the rules that turn answers into a score and a pair of scores into
a verdict about change::

    m = measures()["nprs"]
    s = score(m, {"now": 6, "best": 3, "worst": 8})     # Scored(value=5.7, items={...}, rule=...)
    c = assess(m, baseline=6.0, latest=3.5, visits_since_baseline=4, no_change_after=6)
    c.flag   # "important_improvement"

Threshold comparisons are inclusive ("a change of at least the MCID"), after rounding away float
noise, so a change that exactly equals the MCID counts. Licensed instruments are score-only: their
rule accepts a total within range and nothing else, so no item text ever needs to exist here.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MEASURES_FILE = Path(__file__).resolve().parent / "data" / "measures.yaml"

HIGHER_BETTER = "higher_better"
HIGHER_WORSE = "higher_worse"
FREE = "free"
SCORE_ONLY = "score-only"

IMPORTANT_IMPROVEMENT = "important_improvement"
BEYOND_ERROR = "improved_beyond_error"
WORSENING = "worsening"
NO_CHANGE = "no_change"
STEADY = ""

FLAG_LABELS = {
    IMPORTANT_IMPROVEMENT: "Clinically important improvement",
    BEYOND_ERROR: "Improvement beyond measurement error",
    WORSENING: "Worsening",
    NO_CHANGE: "No important change",
    STEADY: "",
}

PSFS_MAX_ACTIVITIES = 5
LEFS_ITEMS = 20
LEFS_MAX_MISSING = 4
PPT_MAX_TRIALS = 3
PPT_MAX_SITES = 12
NPRS_KEYS = ("now", "best", "worst")
_EPS = 1e-9


class ScoringError(ValueError):
    """Answers that cannot be scored. ``fields`` maps an answer key to what is wrong with it."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.fields.items()))


@dataclass(frozen=True)
class Threshold:
    value: float
    source: str
    percent: float | None = None


@dataclass(frozen=True)
class Measure:
    id: str
    name: str
    short: str
    version: str
    rule: str
    licence: str
    min: float
    max: float
    direction: str
    scoring: str
    citation: str
    decimals: int = 0
    unit: str = ""
    mcid: Threshold | None = None
    mdc: Threshold | None = None
    mcid_note: str = ""
    mdc_note: str = ""
    flag_on: str = "change"
    portal: bool = False
    items_shown: bool = True
    loinc: str = ""

    @property
    def score_only(self) -> bool:
        return self.licence == SCORE_ONLY

    @property
    def higher_is_better(self) -> bool:
        return self.direction == HIGHER_BETTER

    @property
    def worsening_threshold(self) -> Threshold | None:
        """The MDC where one is known; otherwise the MCID stands in (documented per measure)."""
        return self.mdc or self.mcid

    def fmt(self, value: float | None) -> str:
        if value is None:
            return "-"
        return f"{value:.{self.decimals}f}"


@dataclass(frozen=True)
class Scored:
    value: float
    items: dict[str, Any] = field(default_factory=dict)
    rule: str = ""


def _threshold(raw: Any) -> Threshold | None:
    if not raw:
        return None
    return Threshold(value=float(raw["value"]), source=str(raw["source"]), percent=float(raw["percent"]) if raw.get("percent") else None)


def parse_measures(data: Mapping[str, Any]) -> dict[str, Measure]:
    out: dict[str, Measure] = {}
    for raw in data["measures"]:
        m = Measure(
            id=raw["id"], name=raw["name"], short=raw.get("short", raw["name"]), version=str(raw["version"]), rule=raw["rule"],
            licence=raw["licence"], min=float(raw["min"]), max=float(raw["max"]), direction=raw["direction"], scoring=raw["scoring"],
            citation=raw.get("citation", ""), decimals=int(raw.get("decimals", 0)), unit=raw.get("unit", ""),
            mcid=_threshold(raw.get("mcid")), mdc=_threshold(raw.get("mdc")), mcid_note=raw.get("mcid_note", ""),
            mdc_note=raw.get("mdc_note", ""), flag_on=raw.get("flag_on", "change"), portal=bool(raw.get("portal", False)),
            items_shown=bool(raw.get("items_shown", True)), loinc=str(raw.get("loinc", "")),
        )  # fmt: skip
        if m.rule not in RULES:
            raise ValueError(f"measure {m.id}: unknown scoring rule {m.rule!r}")
        if m.licence not in (FREE, SCORE_ONLY):
            raise ValueError(f"measure {m.id}: licence must be free or score-only")
        if m.direction not in (HIGHER_BETTER, HIGHER_WORSE):
            raise ValueError(f"measure {m.id}: unknown direction {m.direction!r}")
        if m.score_only and m.rule != "total":
            raise ValueError(f"measure {m.id}: a score-only instrument can only use the 'total' rule")
        if m.id in out:
            raise ValueError(f"measure {m.id} is defined twice")
        out[m.id] = m
    return out


@functools.cache
def measures() -> dict[str, Measure]:
    with MEASURES_FILE.open(encoding="utf-8") as fh:
        return parse_measures(yaml.safe_load(fh))


# --- answers ---------------------------------------------------------------------------------


def _number(value: Any, key: str, lo: float, hi: float, errors: dict[str, str], *, integer: bool = True) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        errors[key] = "must be a number"
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors[key] = "must be a number"
        return None
    if not math.isfinite(number) or (integer and number != int(number)):
        errors[key] = "must be a whole number" if integer else "must be a number"
        return None
    if not lo <= number <= hi:
        errors[key] = f"must be between {lo:g} and {hi:g}"
        return None
    return number


def _round(value: float, decimals: int) -> float:
    return round(value + 0.0, decimals) if decimals else float(round(value))


def _score_nprs(m: Measure, items: Mapping[str, Any]) -> Scored:
    errors: dict[str, str] = {}
    values = {k: _number(items.get(k), k, 0, 10, errors) for k in NPRS_KEYS}
    for k, v in values.items():
        if v is None and k not in errors:
            errors[k] = "answer all three: now, best and worst"
    if errors:
        raise ScoringError(errors)
    nums = [v for v in values.values() if v is not None]
    return Scored(_round(sum(nums) / 3, m.decimals), {k: int(v) for k, v in values.items() if v is not None}, "mean of now, best, worst")


def _score_psfs(m: Measure, items: Mapping[str, Any]) -> Scored:
    raw = items.get("activities")
    if not isinstance(raw, list) or not raw:
        raise ScoringError({"activities": "name at least one activity and rate it"})
    if len(raw) > PSFS_MAX_ACTIVITIES:
        raise ScoringError({"activities": f"at most {PSFS_MAX_ACTIVITIES} activities"})
    errors: dict[str, str] = {}
    clean: list[dict[str, Any]] = []
    for n, entry in enumerate(raw):
        name = str(entry.get("activity", "") if isinstance(entry, Mapping) else "").strip()
        rating = _number(entry.get("score") if isinstance(entry, Mapping) else None, f"activities.{n}.score", 0, 10, errors)
        if not name:
            errors[f"activities.{n}.activity"] = "name the activity"
        elif len(name) > 120:
            errors[f"activities.{n}.activity"] = "at most 120 characters"
        if rating is None and f"activities.{n}.score" not in errors:
            errors[f"activities.{n}.score"] = "rate the activity from 0 to 10"
        if name and rating is not None:
            clean.append({"activity": name, "score": int(rating)})
    if errors:
        raise ScoringError(errors)
    return Scored(_round(sum(a["score"] for a in clean) / len(clean), m.decimals), {"activities": clean}, "mean of the activities")


def _score_groc(m: Measure, items: Mapping[str, Any]) -> Scored:
    errors: dict[str, str] = {}
    value = _number(items.get("rating"), "rating", m.min, m.max, errors)
    if value is None:
        raise ScoringError(errors or {"rating": f"choose a rating from {m.min:g} to {m.max:+g}"})
    return Scored(value, {"rating": int(value)}, "the rating itself")


def _score_lefs(m: Measure, items: Mapping[str, Any]) -> Scored:
    raw = items.get("items")
    if not isinstance(raw, list) or len(raw) != LEFS_ITEMS:
        raise ScoringError({"items": f"give all {LEFS_ITEMS} item scores (leave unanswered ones empty)"})
    errors: dict[str, str] = {}
    values = [_number(v, f"items.{n}", 0, 4, errors) for n, v in enumerate(raw)]
    if errors:
        raise ScoringError(errors)
    answered = [v for v in values if v is not None]
    missing = LEFS_ITEMS - len(answered)
    if missing > LEFS_MAX_MISSING:
        raise ScoringError({"items": f"{missing} items unanswered; at most {LEFS_MAX_MISSING} may be missing"})
    total = sum(answered) + missing * (sum(answered) / len(answered))
    rule = "sum" if not missing else f"sum, {missing} missing item(s) replaced by the mean of the answered ones"
    return Scored(_round(total, m.decimals), {"items": [None if v is None else int(v) for v in values], "missing": missing}, rule)


def _score_ppt(m: Measure, items: Mapping[str, Any]) -> Scored:
    raw = items.get("sites")
    if not isinstance(raw, list) or not raw:
        raise ScoringError({"sites": "measure at least one site"})
    if len(raw) > PPT_MAX_SITES:
        raise ScoringError({"sites": f"at most {PPT_MAX_SITES} sites"})
    errors: dict[str, str] = {}
    clean: list[dict[str, Any]] = []
    for n, site in enumerate(raw):
        if not isinstance(site, Mapping):
            errors[f"sites.{n}"] = "must be an object"
            continue
        name = str(site.get("site", "")).strip()
        if not name:
            errors[f"sites.{n}.site"] = "name the site"
        trials_raw = site.get("trials")
        if not isinstance(trials_raw, list):
            errors[f"sites.{n}.trials"] = "give 1 to 3 trials"
            continue
        trials = [_number(t, f"sites.{n}.trials.{i}", 0, m.max, errors, integer=False) for i, t in enumerate(trials_raw)]
        trials_ok = [t for t in trials if t is not None]
        if not trials_ok and f"sites.{n}.trials" not in errors:
            errors[f"sites.{n}.trials"] = "give 1 to 3 trials"
        elif len(trials_ok) > PPT_MAX_TRIALS:
            errors[f"sites.{n}.trials"] = f"at most {PPT_MAX_TRIALS} trials"
        if name and trials_ok and len(trials_ok) <= PPT_MAX_TRIALS:
            clean.append({"site": name[:80], "side": str(site.get("side", ""))[:8], "trials": trials_ok,
                          "mean": round(sum(trials_ok) / len(trials_ok), 2)})  # fmt: skip
    if errors:
        raise ScoringError(errors)
    return Scored(
        _round(sum(s["mean"] for s in clean) / len(clean), m.decimals), {"sites": clean}, "mean of trials per site, mean of sites"
    )


def _score_pain_extent(m: Measure, items: Mapping[str, Any]) -> Scored:
    errors: dict[str, str] = {}
    share = _number(items.get("area_percent"), "area_percent", 0, 100, errors, integer=False)
    cells = _number(items.get("cells"), "cells", 0, 1000, errors)
    total = _number(items.get("intensity_sum"), "intensity_sum", 0, 10_000, errors)
    if share is None or cells is None or total is None:
        raise ScoringError(errors or {"area_percent": "derive pain extent from a pain drawing"})
    clean = {"area_percent": share, "cells": int(cells), "intensity_sum": int(total)}
    if items.get("drawing_id") is not None:
        clean["drawing_id"] = items["drawing_id"]
    return Scored(_round(share, m.decimals), clean, "share of the body surface marked")


def _score_acr2016(m: Measure, items: Mapping[str, Any]) -> Scored:
    errors: dict[str, str] = {}
    wpi = _number(items.get("wpi"), "wpi", 0, 19, errors)
    sss = _number(items.get("sss"), "sss", 0, 12, errors)
    if wpi is None:
        raise ScoringError(errors or {"wpi": "derive the WPI from a pain drawing"})
    if errors:
        raise ScoringError(errors)
    clean: dict[str, Any] = {"wpi": int(wpi), "sss": None if sss is None else int(sss), "verdict": str(items.get("verdict", ""))[:20]}
    if items.get("drawing_id") is not None:
        clean["drawing_id"] = items["drawing_id"]
    return Scored(wpi, clean, "WPI areas marked on the drawing")


def _score_total(m: Measure, items: Mapping[str, Any]) -> Scored:
    errors: dict[str, str] = {}
    value = _number(items.get("total"), "total", m.min, m.max, errors, integer=m.decimals == 0)
    if value is None:
        raise ScoringError(errors or {"total": f"enter the total from the form ({m.min:g}-{m.max:g})"})
    # Score-only: the total is all that is kept; the licensed form's items are never stored.
    return Scored(_round(value, m.decimals), {"total": value}, "total entered from the licensed form")


RULES = {
    "nprs": _score_nprs,
    "psfs": _score_psfs,
    "groc": _score_groc,
    "lefs": _score_lefs,
    "ppt": _score_ppt,
    "pain_extent": _score_pain_extent,
    "acr2016": _score_acr2016,
    "total": _score_total,
}


def score(m: Measure, items: Mapping[str, Any]) -> Scored:
    """The measure's score for ``items``; :class:`ScoringError` names every bad answer."""
    if not isinstance(items, Mapping):
        raise ScoringError({"items": "must be an object"})
    scored = RULES[m.rule](m, items)
    if not m.min - _EPS <= scored.value <= m.max + _EPS:  # a rule bug, never the user's input
        raise AssertionError(f"{m.id} scored {scored.value} outside {m.min}-{m.max}")
    return scored


def pain_extent(marks: list[Mapping[str, Any]], areas: Mapping[str, float]) -> dict[str, Any]:
    """Pain extent items from drawing marks: cells marked, the share of the body they cover (%), summed intensity."""
    cells = {str(mk["cell"]): int(mk.get("intensity", 0)) for mk in marks if int(mk.get("intensity", 0)) > 0}
    total_area = sum(areas.values())
    share = 100 * sum(areas.get(c, 0.0) for c in cells) / total_area if total_area else 0.0
    return {"cells": len(cells), "area_percent": round(min(share, 100.0), 1), "intensity_sum": sum(cells.values())}


# --- change ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    baseline: float | None
    latest: float
    improvement: float | None  # positive = better, whatever the measure's direction
    percent: float | None  # improvement as a percentage of the baseline (where it means something)
    flag: str
    reason: str

    @property
    def label(self) -> str:
        return FLAG_LABELS[self.flag]


def _at_least(value: float, threshold: float) -> bool:
    return round(value, 6) >= round(threshold, 6)


def improvement_of(m: Measure, baseline: float, latest: float) -> float:
    return (latest - baseline) if m.higher_is_better else (baseline - latest)


def assess(
    m: Measure,
    *,
    baseline: float | None,
    latest: float,
    visits_since_baseline: int | None = None,
    no_change_after: int | None = None,
) -> Change:
    """Flag the latest score against the baseline: important improvement (at least the MCID, and
    the percentage where the measure has one), worsening (at least the MDC, or the MCID where no
    MDC is known), improvement beyond measurement error (no MCID known, at least the MDC), or no
    important change once ``no_change_after`` visits have passed since the baseline."""
    if m.flag_on == "value":
        return _assess_rating(m, latest)
    if baseline is None:
        return Change(None, latest, None, None, STEADY, "This is the baseline.")
    imp = improvement_of(m, baseline, latest)
    pct = 100 * imp / abs(baseline) if baseline else None
    mcid, worse = m.mcid, m.worsening_threshold
    if mcid and _at_least(imp, mcid.value) and (mcid.percent is None or (pct is not None and _at_least(pct, mcid.percent))):
        return Change(baseline, latest, imp, pct, IMPORTANT_IMPROVEMENT, f"Better by {m.fmt(imp)}, at least the MCID ({mcid.value:g}).")
    if worse and _at_least(-imp, worse.value):
        return Change(baseline, latest, imp, pct, WORSENING, f"Worse by {m.fmt(-imp)}, at least {worse.value:g}.")
    if mcid is None and m.mdc and _at_least(imp, m.mdc.value):
        return Change(baseline, latest, imp, pct, BEYOND_ERROR, f"Better by {m.fmt(imp)}, beyond the MDC ({m.mdc.value:g}).")
    if no_change_after and visits_since_baseline is not None and visits_since_baseline >= no_change_after and (mcid or m.mdc):
        return Change(
            baseline, latest, imp, pct, NO_CHANGE,
            f"No important change after {visits_since_baseline} visits: review the plan, or refer.",
        )  # fmt: skip
    return Change(baseline, latest, imp, pct, STEADY, "Change smaller than the threshold so far.")


def _assess_rating(m: Measure, latest: float) -> Change:
    if m.mcid and _at_least(latest, m.mcid.value):
        return Change(None, latest, latest, None, IMPORTANT_IMPROVEMENT, f"Rated {latest:+g}: at least +{m.mcid.value:g}.")
    if m.mdc and _at_least(-latest, m.mdc.value):
        return Change(None, latest, latest, None, WORSENING, f"Rated {latest:+g}: at least -{m.mdc.value:g}.")
    return Change(None, latest, latest, None, STEADY, f"Rated {latest:+g}.")
