"""Read the atlas: the JSON contracts of the CLI and API, search, and "what refers here?".

Everything reads the validated in-memory atlas (``loader.atlas()``), which is loaded once per
process; no query touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from rapidfuzz import fuzz, utils

from knotwork.atlas.loader import AtlasData, atlas
from knotwork.atlas.schema import Muscle, Region, TriggerPoint

GROUP_LABELS = {
    "head-face": "Head and face",
    "neck": "Neck",
    "shoulder-upper-back": "Shoulder girdle and upper back",
    "upper-arm": "Upper arm",
    "forearm-hand": "Forearm and hand",
    "trunk": "Trunk",
    "pelvis-hip": "Pelvis and hip",
    "thigh-knee": "Thigh and knee",
    "leg": "Leg",
    "foot": "Foot",
}


def region_json(r: Region) -> dict[str, Any]:
    cells = [f"{r.id}:right", f"{r.id}:left"] if r.kind == "paired" else [r.id]
    return {"id": r.id, "name": r.name, "kind": r.kind, "view": r.view, "wpi": r.wpi, "landmarks": r.landmarks,
            "cells": cells}


def regions_json(data: AtlasData | None = None) -> dict[str, Any]:
    data = data or atlas()
    return {"atlas_version": data.version, "regions": [region_json(r) for r in data.regions]}


def _zones(zones: list[Any]) -> list[dict[str, str]]:
    return [{"region": z.region, "laterality": str(z.laterality)} for z in zones]


def trigger_point_summary(tp: TriggerPoint) -> dict[str, Any]:
    return {"id": tp.id, "name": tp.name, "essential": _zones(tp.essential), "spillover": _zones(tp.spillover)}


def muscle_summary(m: Muscle) -> dict[str, Any]:
    return {
        "id": m.id, "name": m.name, "synonyms": list(m.synonyms), "group": str(m.group), "evidence": str(m.evidence),
        "trigger_points": [trigger_point_summary(tp) for tp in m.trigger_points],
    }


def muscles_json(data: AtlasData | None = None) -> dict[str, Any]:
    data = data or atlas()
    return {"atlas_version": data.version, "muscles": [muscle_summary(m) for m in data.muscles]}


def muscle_json(muscle_id: str, data: AtlasData | None = None) -> dict[str, Any] | None:
    data = data or atlas()
    m = data.muscle_by_id.get(muscle_id)
    if m is None:
        return None
    return {"atlas_version": data.version, **m.model_dump(mode="json")}


@dataclass(frozen=True)
class Referrer:
    muscle: Muscle
    trigger_point: TriggerPoint
    zone: str  # "essential" | "spillover"
    laterality: str

    def as_dict(self) -> dict[str, str]:
        return {"muscle": self.muscle.id, "muscle_name": self.muscle.name, "trigger_point": self.trigger_point.id,
                "trigger_point_name": self.trigger_point.name, "zone": self.zone, "laterality": self.laterality}


def referrers(region_id: str, data: AtlasData | None = None) -> list[Referrer]:
    """Trigger points whose referral reaches ``region_id``: essential before spillover.

    Within each zone, focused patterns (fewer regions in all) come first, as they point more
    specifically at this region; then by muscle name for a stable order.
    """
    data = data or atlas()
    if region_id not in data.region_by_id:
        raise KeyError(region_id)
    found: list[tuple[int, int, str, str, Referrer]] = []
    for m, tp in data.trigger_points():
        size = len(tp.essential) + len(tp.spillover)
        for rank, (zone, zones) in enumerate((("essential", tp.essential), ("spillover", tp.spillover))):
            for z in zones:
                if z.region == region_id:
                    found.append((rank, size, m.name, tp.id, Referrer(m, tp, zone, str(z.laterality))))
    found.sort(key=lambda t: t[:4])
    return [t[-1] for t in found]


def referrers_json(region_id: str, data: AtlasData | None = None) -> dict[str, Any]:
    data = data or atlas()
    refs = referrers(region_id, data)
    return {
        "atlas_version": data.version,
        "region": region_json(data.region_by_id[region_id]),
        "essential": [r.as_dict() for r in refs if r.zone == "essential"],
        "spillover": [r.as_dict() for r in refs if r.zone == "spillover"],
    }


@cache
def _search_index(version: str) -> tuple[list[str], list[str]]:
    data = atlas()
    keys: list[str] = []
    owners: list[str] = []
    for m in data.muscles:
        for text in (m.name, m.id.replace("-", " "), *m.synonyms):
            keys.append(utils.default_process(text))
            owners.append(m.id)
    return keys, owners


def _match(query_words: list[str], key: str) -> float:
    """0–100: how well every query word matches some word of ``key`` (a prefix counts as exact)."""
    key_words = key.split()
    total = 0.0
    for qw in query_words:
        total += max(100.0 if len(qw) >= 2 and kw.startswith(qw) else fuzz.ratio(qw, kw) for kw in key_words)
    return total / len(query_words)


def search_muscles(query: str, *, limit: int = 20) -> list[Muscle]:
    """Muscles whose name, id or synonyms match ``query``, tolerant of typos ("trapezuis", "glute min", "scm")."""
    query = utils.default_process(query or "")
    if not query:
        return []
    data = atlas()
    keys, owners = _search_index(data.version)
    words = query.split()[:6]
    scored: dict[str, float] = {}
    for key, owner in zip(keys, owners, strict=True):
        score = max(_match(words, key), fuzz.ratio(query, key))
        if score >= 75 and score > scored.get(owner, 0):
            scored[owner] = score
    ranked = sorted(scored.items(), key=lambda kv: (-kv[1], data.muscle_by_id[kv[0]].name))
    return [data.muscle_by_id[mid] for mid, _ in ranked[:limit]]


def muscles_by_group(data: AtlasData | None = None) -> list[tuple[str, list[Muscle]]]:
    data = data or atlas()
    out = []
    for group, label in GROUP_LABELS.items():
        members = sorted((m for m in data.muscles if m.group == group), key=lambda m: m.name)
        if members:
            out.append((label, members))
    return out


def zone_cells(tp: TriggerPoint, side: str, data: AtlasData | None = None) -> dict[str, str]:
    """Cell → "essential"/"spillover" for a trigger point on ``side`` (right or left).

    Ipsilateral zones land on the same side, contralateral on the other, bilateral on both;
    midline regions have one cell. Essential wins where both would colour a cell.
    """
    data = data or atlas()
    other = "left" if side == "right" else "right"
    cells: dict[str, str] = {}
    for zone_name, zones in (("spillover", tp.spillover), ("essential", tp.essential)):
        for z in zones:
            region = data.region_by_id[z.region]
            if region.kind == "midline":
                cells[region.id] = zone_name
                continue
            sides = {"ipsilateral": [side], "contralateral": [other], "bilateral": [side, other]}[str(z.laterality)]
            for s in sides:
                cells[f"{region.id}:{s}"] = zone_name
    return cells


def location_cell(tp: TriggerPoint, side: str, data: AtlasData | None = None) -> str:
    data = data or atlas()
    region = data.region_by_id[tp.location.region]
    return region.id if region.kind == "midline" else f"{region.id}:{side}"
