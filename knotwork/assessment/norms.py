"""Range-of-motion norm sets and the comparisons shown in the ROM table. Pure Python, no Django.

The numbers live in data/norms.yaml with their sources. A comparison is "flagged" only when the
difference exceeds the measurement error of the motion's region, so ordinary test–retest noise
never shows as a finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Motion:
    id: str
    label: str
    region: str
    sided: bool


@dataclass(frozen=True)
class NormSet:
    id: str
    name: str
    short: str
    source: str
    note: str
    values: dict[str, int]
    unverified: frozenset[str]
    use: str = ""
    """What the set is for, in one sentence."""

    def value(self, motion: str) -> int | None:
        return self.values.get(motion)


@dataclass(frozen=True)
class Norms:
    motions: dict[str, Motion]
    sets: dict[str, NormSet]
    error: dict[str, int]
    error_source: str
    default_set: str

    def error_for(self, motion: str) -> int:
        return self.error[self.motions[motion].region]

    def set_or_default(self, set_id: str | None) -> NormSet:
        return self.sets.get(set_id or "", self.sets[self.default_set])


@cache
def norms() -> Norms:
    raw = yaml.safe_load((DATA_DIR / "norms.yaml").read_text(encoding="utf-8"))
    motions = {m["id"]: Motion(m["id"], m["label"], m["region"], bool(m["sided"])) for m in raw["motions"]}
    sets = {}
    for sid, s in raw["sets"].items():
        unknown = set(s["values"]) - set(motions)
        if unknown:
            raise ValueError(f"norms.yaml: set {sid} names unknown motions {sorted(unknown)}")
        sets[sid] = NormSet(
            sid,
            s["name"],
            s["short"],
            " ".join(s["source"].split()),
            s.get("note", ""),
            dict(s["values"]),
            frozenset(s.get("unverified", [])),
            " ".join(s.get("use", "").split()),
        )
    return Norms(motions, sets, dict(raw["error"]), " ".join(raw["error_source"].split()), raw["default_set"])


@dataclass(frozen=True)
class Comparison:
    """One ROM reading against its norm, the other side and the client's baseline."""

    norm: int | None
    pct_of_norm: int | None
    below_norm: bool  # short of the norm by more than the measurement error
    other_side: int | None
    pct_of_other_side: int | None
    side_difference: bool  # this side falls short of the other by more than the measurement error
    baseline: int | None
    change: int | None
    change_beyond_error: bool
    error: int


def _pct(value: int, ref: int | None) -> int | None:
    # A norm of 0° (full extension) has no meaningful percentage.
    if ref is None or ref <= 0:
        return None
    return round(100 * value / ref)


def compare(*, motion: str, degrees: int, norm_set: NormSet, other_side: int | None = None, baseline: int | None = None) -> Comparison:
    n = norms()
    err = n.error_for(motion)
    norm = norm_set.value(motion)
    if norm is None:
        below = False
    elif norm == 0:
        # Motions whose norm is 0° (elbow/knee extension) are limited when the joint stays bent: a
        # recorded deficit is a negative number of degrees.
        below = degrees < -err
    else:
        below = norm - degrees > err
    change = degrees - baseline if baseline is not None else None
    return Comparison(
        norm=norm,
        pct_of_norm=_pct(degrees, norm),
        below_norm=below,
        other_side=other_side,
        pct_of_other_side=_pct(degrees, other_side),
        side_difference=other_side is not None and other_side - degrees > err,
        baseline=baseline,
        change=change,
        change_beyond_error=change is not None and abs(change) > err,
        error=err,
    )
