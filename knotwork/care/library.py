"""The care app's data files: the techniques a therapist logs and the home-exercise library.

Both are YAML under ``data/``, validated when first loaded (against the screening techniques
and the atlas) and cached for the life of the process. Ids are stored on rows, so they are
public contracts: add ids, never rename or reuse one.

What a client reads (an exercise's name, steps and cautions; a technique's name and plain
description) is also worded in Spanish and French, in ``data/exercises_i18n/<language>.yaml``
and ``data/techniques_i18n/<language>.yaml``, keyed by id. Each entry carries ``en_hash``, the
:func:`source_hash` of the English it translates: when the English changes, the entry no longer
matches and the client reads the English until a reviewed translation is written (a stale
caution is never shown).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from knotwork.atlas.loader import atlas
from knotwork.clients.intake.screening import techniques as screening_techniques

DATA = Path(__file__).resolve().parent / "data"
log = logging.getLogger(__name__)
I18N = DATA  # holds exercises_i18n/ and techniques_i18n/
SOURCE_LANGUAGE = "en"
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
    language: str = SOURCE_LANGUAGE  # the language name, steps and cautions are worded in


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


# --- the client's language ------------------------------------------------------------------


def source_hash(*parts: str | tuple[str, ...] | list[str]) -> str:
    """A short fingerprint of English wording: a translation records the one it was made from."""
    flat = [list(p) if isinstance(p, tuple | list) else p for p in parts]
    return hashlib.sha256(json.dumps(flat, ensure_ascii=False).encode("utf-8")).hexdigest()[:12]


def exercise_hash(e: Exercise) -> str:
    return source_hash(e.name, e.steps, e.cautions)


def technique_hash(t: Technique) -> str:
    return source_hash(t.name, t.plain)


def _words_file(kind: str, language: str, section: str) -> dict[str, Any]:
    """One section of a word file. A broken file is logged and read as empty, so the client gets
    the English rather than an error page (the word-file tests fail on it)."""
    path = I18N / f"{kind}_i18n" / f"{language}.yaml"
    if language == SOURCE_LANGUAGE or not language.isalpha() or not path.is_file():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        log.error("%s_i18n/%s.yaml: not valid YAML (%s); showing English", kind, language, exc)
        return {}
    found = raw.get(section) if isinstance(raw, dict) else None
    if not isinstance(found, dict):
        log.error("%s_i18n/%s.yaml: %r should be a mapping; showing English", kind, language, section)
        return {}
    return found


def _texts(value: Any, count: int) -> tuple[str, ...] | None:
    """A list of ``count`` non-empty strings as a tuple, else None (the entry is unusable)."""
    if not isinstance(value, list) or len(value) != count or not all(isinstance(v, str) and v.strip() for v in value):
        return None
    return tuple(v.strip() for v in value)


@cache
def exercises_in(language: str) -> dict[str, Exercise]:
    """Exercise id -> the exercise worded in ``language``, for every entry whose translation matches
    the current English (same fingerprint, every field, as many steps and cautions). Ids, targets,
    figure and dosage are the English entry's."""
    entries = _words_file("exercises", language, "exercises")
    out: dict[str, Exercise] = {}
    for e in library().exercises:
        entry = entries.get(e.id)
        if not isinstance(entry, dict) or entry.get("en_hash") != exercise_hash(e):
            continue
        name, steps, cautions = entry.get("name"), _texts(entry.get("steps"), len(e.steps)), _texts(entry.get("cautions"), len(e.cautions))
        if isinstance(name, str) and name.strip() and steps is not None and cautions is not None:
            out[e.id] = replace(e, name=name.strip(), steps=steps, cautions=cautions, language=language)
    return out


def exercise_in(exercise: Exercise, language: str) -> Exercise:
    """``exercise`` worded in ``language``; the English one when there is no up-to-date translation."""
    return exercises_in(language).get(exercise.id, exercise)


@cache
def common_cautions_in(language: str) -> tuple[str, ...]:
    """The cautions said under every program, in ``language`` when translated from the current English."""
    english = library().common_cautions
    entry = _words_file("exercises", language, "common_cautions")
    if entry.get("en_hash") == source_hash(english):
        texts = _texts(entry.get("text"), len(english))
        if texts is not None:
            return texts
    return english


@cache
def techniques_in(language: str) -> dict[str, Technique]:
    """Technique id -> the technique worded in ``language`` (name and plain words), where the
    translation matches the current English; the English technique otherwise."""
    entries = _words_file("techniques", language, "techniques")
    out: dict[str, Technique] = {}
    for t in techniques().values():
        entry = entries.get(t.id)
        if not isinstance(entry, dict) or entry.get("en_hash") != technique_hash(t):
            out[t.id] = t
            continue
        name, plain = entry.get("name"), entry.get("plain")
        if isinstance(name, str) and name.strip() and isinstance(plain, str) and plain.strip():
            out[t.id] = replace(t, name=name.strip(), plain=plain.strip())
        else:
            out[t.id] = t
    return out
