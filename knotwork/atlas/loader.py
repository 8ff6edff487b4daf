"""Read, validate and cross-check the atlas data files. Pure Python, no Django.

``load_atlas()`` returns an immutable :class:`AtlasData` with every region, symptom and muscle,
validated by :mod:`knotwork.atlas.schema` and checked across files (every zone names a known
region, ids are unique, symptoms are known). ``AtlasData.version`` is a short hash of the
content, so it changes exactly when the data changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from knotwork.atlas.schema import Muscle, MuscleFile, Region, RegionFile, Symptom, SymptomFile, TriggerPoint

DATA_DIR = Path(__file__).resolve().parent / "data"


class AtlasDataError(ValueError):
    """The atlas data is invalid; the message names the file and what is wrong."""


@dataclass(frozen=True)
class AtlasData:
    version: str
    regions: tuple[Region, ...]
    symptoms: tuple[Symptom, ...]
    muscles: tuple[Muscle, ...]
    region_by_id: dict[str, Region] = field(repr=False)
    muscle_by_id: dict[str, Muscle] = field(repr=False)

    def cells(self) -> list[str]:
        """Every addressable cell: ``id:left``/``id:right`` for paired regions, the bare id for midline."""
        out: list[str] = []
        for r in self.regions:
            out.extend([f"{r.id}:right", f"{r.id}:left"] if r.kind == "paired" else [r.id])
        return out

    def trigger_points(self) -> list[tuple[Muscle, TriggerPoint]]:
        return [(m, tp) for m in self.muscles for tp in m.trigger_points]


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise AtlasDataError(f"{path.name}: not valid YAML: {exc}") from exc


def _validate(model, path: Path):  # type: ignore[no-untyped-def]
    try:
        return model.model_validate(_read_yaml(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise AtlasDataError(f"{path.name}: {where}: {first['msg']} ({exc.error_count()} error(s))") from exc


def _content_hash(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        # Hash the parsed data, not the bytes, so comments and formatting do not bump the version.
        h.update(json.dumps(_read_yaml(p), sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


def load_atlas(data_dir: Path = DATA_DIR) -> AtlasData:
    regions_file = data_dir / "regions.yaml"
    symptoms_file = data_dir / "symptoms.yaml"
    muscle_files = sorted((data_dir / "muscles").glob("*.yaml"))
    regions = _validate(RegionFile, regions_file).regions
    symptoms = _validate(SymptomFile, symptoms_file).symptoms
    muscles: list[Muscle] = []
    for path in muscle_files:
        muscles.extend(_validate(MuscleFile, path).muscles)

    problems: list[str] = []
    region_by_id = {r.id: r for r in regions}
    if len(region_by_id) != len(regions):
        problems.append("regions.yaml: duplicate region id")
    symptom_ids = {s.id for s in symptoms}
    muscle_by_id: dict[str, Muscle] = {}
    tp_ids: set[str] = set()
    for m in muscles:
        if m.id in muscle_by_id:
            problems.append(f"muscle id {m.id!r} is defined twice")
        muscle_by_id[m.id] = m
        for tp in m.trigger_points:
            if tp.id in tp_ids:
                problems.append(f"trigger point id {tp.id!r} is defined twice")
            tp_ids.add(tp.id)
            if tp.location.region not in region_by_id:
                problems.append(f"{tp.id}: location names unknown region {tp.location.region!r}")
            for z in (*tp.essential, *tp.spillover):
                if z.region not in region_by_id:
                    problems.append(f"{tp.id}: zone names unknown region {z.region!r}")
                elif region_by_id[z.region].kind == "midline" and z.laterality != "ipsilateral":
                    problems.append(f"{tp.id}: midline region {z.region!r} cannot carry a laterality")
            for e in tp.entrapments:
                problems.extend(f"{tp.id}: entrapment names unknown region {r!r}" for r in e.regions if r not in region_by_id)
            for s in tp.symptoms:
                if s not in symptom_ids:
                    problems.append(f"{tp.id}: unknown symptom {s!r}")
    if problems:
        raise AtlasDataError("; ".join(problems[:20]) + (f" (+{len(problems) - 20} more)" if len(problems) > 20 else ""))
    return AtlasData(
        version=_content_hash([regions_file, symptoms_file, *muscle_files]),
        regions=tuple(regions),
        symptoms=tuple(symptoms),
        muscles=tuple(muscles),
        region_by_id=region_by_id,
        muscle_by_id=muscle_by_id,
    )


@cache
def atlas() -> AtlasData:
    """The shipped atlas, loaded once per process."""
    return load_atlas()
