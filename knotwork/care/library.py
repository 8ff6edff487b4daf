"""The care app's data files: the techniques a therapist logs and the home-exercise library.

Both are YAML under ``data/``, validated when first loaded (against the screening techniques
and the atlas) and cached for the life of the process. Ids are stored on rows, so they are
public contracts: add ids, never rename or reuse one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from knotwork.atlas.loader import atlas
from knotwork.clients.intake.screening import techniques as screening_techniques

DATA = Path(__file__).resolve().parent / "data"
KINDS = ("stretch", "release", "strength", "mobility", "relaxation")
POSES = ("standing", "seated", "supine", "prone", "kneeling", "side-lying", "quadruped")
FOCI = (
    "head", "jaw", "neck", "shoulder", "chest", "upper-back", "arm", "elbow", "forearm", "hand",
    "abdomen", "low-back", "hip", "buttock", "thigh", "knee", "calf", "ankle", "foot",
)  # fmt: skip


class LibraryError(ValueError):
    """A data file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Technique:
    id: str
    name: str
    involves: tuple[str, ...]
    plain: str


@dataclass(frozen=True)
class Dosage:
    sets: int
    reps: int
    hold_s: int
    per_day: int

    def words(self) -> str:
        parts = [f"{self.sets} set{'s' if self.sets != 1 else ''} of {self.reps}"]
        if self.hold_s:
            parts.append(f"hold {self.hold_s} s")
        parts.append(f"{self.per_day}× a day")
        return ", ".join(parts)


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str
    kind: str
    targets: tuple[str, ...]
    pose: str
    focus: str
    steps: tuple[str, ...]
    dosage: Dosage
    cautions: tuple[str, ...]


@dataclass(frozen=True)
class Library:
    exercises: tuple[Exercise, ...]
    by_id: dict[str, Exercise]
    common_cautions: tuple[str, ...]

    def for_muscles(self, muscle_ids: set[str]) -> list[Exercise]:
        """Exercises whose targets include any of ``muscle_ids``, most matching first."""
        scored = [(len(muscle_ids & set(e.targets)), e) for e in self.exercises]
        return [e for n, e in sorted(scored, key=lambda p: (-p[0], p[1].name)) if n]


def _read(name: str) -> dict[str, Any]:
    path = DATA / name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LibraryError(f"{name}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise LibraryError(f"{name}: expected a mapping at the top")
    return raw


@cache
def techniques() -> dict[str, Technique]:
    """Technique id -> technique, in the order the log offers them."""
    raw = _read("techniques.yaml")
    known = screening_techniques()
    out: dict[str, Technique] = {}
    for i, t in enumerate(raw.get("techniques") or []):
        where = f"techniques.yaml: techniques[{i}] ({t.get('id')})"
        if not {"id", "name", "involves", "plain"} <= set(t):
            raise LibraryError(f"{where}: needs id, name, involves and plain")
        if t["id"] in out:
            raise LibraryError(f"{where}: duplicate id")
        if unknown := sorted(set(t["involves"]) - set(known)):
            raise LibraryError(f"{where}: involves unknown screening techniques {unknown}")
        out[t["id"]] = Technique(id=t["id"], name=t["name"], involves=tuple(t["involves"]), plain=t["plain"])
    if not out:
        raise LibraryError("techniques.yaml: no techniques")
    return out


def technique_choices() -> list[tuple[str, str]]:
    return [(t.id, t.name) for t in techniques().values()]


def _exercise(i: int, e: dict[str, Any], defaults: dict[str, dict[str, int]], muscles: set[str]) -> Exercise:
    where = f"exercises.yaml: exercises[{i}] ({e.get('id')})"
    missing = {"id", "name", "kind", "targets", "figure", "steps", "cautions"} - set(e)
    if missing:
        raise LibraryError(f"{where}: missing {', '.join(sorted(missing))}")
    if e["kind"] not in KINDS:
        raise LibraryError(f"{where}: kind must be one of {', '.join(KINDS)}")
    if unknown := sorted(set(e["targets"]) - muscles):
        raise LibraryError(f"{where}: unknown atlas muscles {unknown}")
    if not e["targets"] or not e["steps"]:
        raise LibraryError(f"{where}: needs at least one target and one step")
    fig = e["figure"] or {}
    if fig.get("pose") not in POSES or fig.get("focus") not in FOCI:
        raise LibraryError(f"{where}: figure needs a pose ({', '.join(POSES)}) and a focus ({', '.join(FOCI)})")
    d = {**defaults[e["kind"]], **(e.get("dosage") or {})}
    try:
        dosage = Dosage(sets=int(d["sets"]), reps=int(d["reps"]), hold_s=int(d["hold_s"]), per_day=int(d["per_day"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise LibraryError(f"{where}: dosage needs whole numbers for sets, reps, hold_s and per_day") from exc
    return Exercise(
        id=e["id"], name=e["name"], kind=e["kind"], targets=tuple(e["targets"]), pose=fig["pose"], focus=fig["focus"],
        steps=tuple(e["steps"]), dosage=dosage, cautions=tuple(e["cautions"]),
    )  # fmt: skip


@cache
def library() -> Library:
    raw = _read("exercises.yaml")
    muscles = set(atlas().muscle_by_id)
    defaults = raw.get("defaults") or {}
    if set(defaults) != set(KINDS):
        raise LibraryError(f"exercises.yaml: defaults must give a dosage for each kind ({', '.join(KINDS)})")
    items = [_exercise(i, e, defaults, muscles) for i, e in enumerate(raw.get("exercises") or [])]
    by_id: dict[str, Exercise] = {}
    for e in items:
        if e.id in by_id:
            raise LibraryError(f"exercises.yaml: duplicate id {e.id!r}")
        by_id[e.id] = e
    ordered = tuple(sorted(items, key=lambda e: e.name))
    return Library(exercises=ordered, by_id=by_id, common_cautions=tuple(raw.get("common_cautions") or ()))


@cache
def self_care_slugs() -> dict[str, tuple[str, ...]]:
    """Each ``self_care`` slug named by the atlas -> the trigger points that name it."""
    out: dict[str, list[str]] = defaultdict(list)
    for _m, tp in atlas().trigger_points():
        if tp.self_care:
            out[tp.self_care].append(tp.id)
    return {k: tuple(v) for k, v in out.items()}


def self_care_for_trigger_points(tp_ids: set[str]) -> list[Exercise]:
    """The library entries the atlas names as self-care for these trigger points."""
    lib = library()
    wanted = {slug for slug, tps in self_care_slugs().items() if tp_ids & set(tps)}
    return [e for e in lib.exercises if e.id in wanted]
