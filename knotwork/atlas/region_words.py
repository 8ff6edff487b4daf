"""The body map's words in a client's language: region names with their side, pain qualities and
the map's own captions (docs/i18n.md). Pure Python, no Django: the caller says which language.

English is the source (``regions.yaml``, ``QUALITY_LABELS``, :class:`~knotwork.atlas.bodymap.MapWords`).
Each other language has ``data/region_i18n/<language>.yaml``, keyed by region and quality id. Every
entry names the English wording it translates (``en``); an entry whose English has changed since
is stale and the English label is shown instead, so a renamed region is never shown under its old
meaning. Spanish and French put the side after the place and make it agree with the noun it
follows ("hombro derecho", "rodilla izquierda"; "épaule gauche", "genou gauche"): an entry gives
that noun's gender and number, or both full forms where the side word does not simply go last.

Translation is for display only: ids, the API, the engine and stored drawings keep the region ids
and English, and staff pages keep English (call these with ``"en"``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from knotwork.atlas.bodymap import MapWords, cell_label, cell_labels
from knotwork.atlas.loader import atlas
from knotwork.engine.vocabulary import QUALITY_LABELS

SOURCE_LANGUAGE = "en"
WORDS_DIR = Path(__file__).resolve().parent / "data" / "region_i18n"
GENDERS = ("m", "f", "mp", "fp")
SIDES = ("right", "left")
MAP_KEYS = ("front", "back", "front_view", "back_view", "right_letter", "left_letter", "legend", "intensity", "scale", "keys")


class RegionWordsError(ValueError):
    """A word file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class RegionWord:
    """One region in one language: the English name it translates, its name, and its two sides."""

    en: str
    name: str
    right: str = ""
    left: str = ""


@dataclass(frozen=True)
class LanguageWords:
    language: str
    regions: Mapping[str, RegionWord]
    qualities: Mapping[str, tuple[str, str]]  # id -> (English it translates, label)
    labels: Mapping[str, str]  # every cell -> its label with side (English where stale or missing)
    map: MapWords


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RegionWordsError(f"{where}: expected a non-empty text")
    return value.strip()


def _region(raw: object, sides: Mapping[str, Mapping[str, str]], where: str) -> RegionWord:
    if not isinstance(raw, dict):
        raise RegionWordsError(f"{where}: expected a mapping with en, name and gender (or right and left)")
    unknown = set(raw) - {"en", "name", "gender", "right", "left"}
    if unknown:
        raise RegionWordsError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    en, name = _text(raw.get("en"), f"{where}.en"), _text(raw.get("name"), f"{where}.name")
    if "right" in raw or "left" in raw:
        if "gender" in raw:
            raise RegionWordsError(f"{where}: give either gender or the full right and left forms, not both")
        return RegionWord(en, name, _text(raw.get("right"), f"{where}.right"), _text(raw.get("left"), f"{where}.left"))
    if "gender" in raw:
        gender = raw["gender"]
        if gender not in GENDERS:
            raise RegionWordsError(f"{where}.gender: {gender!r} is not one of {', '.join(GENDERS)}")
        return RegionWord(en, name, f"{name} {sides[gender]['right']}", f"{name} {sides[gender]['left']}")
    return RegionWord(en, name)


def _map_words(raw: object, labels: dict[str, str], where: str) -> MapWords:
    if not isinstance(raw, dict):
        raise RegionWordsError(f"{where}: expected the map's words")
    t = {k: _text(raw.get(k), f"{where}.{k}") for k in MAP_KEYS}
    try:
        t["scale"] % {"max": "10"}
    except (KeyError, ValueError, TypeError) as exc:
        raise RegionWordsError(f"{where}.scale: only %(max)s may be filled in ({exc})") from None
    insets = raw.get("insets") or {}
    if not isinstance(insets, dict):
        raise RegionWordsError(f"{where}.insets: expected a mapping of view.inset to caption")
    return MapWords(
        labels=labels,
        captions={"front": t["front"], "back": t["back"]},
        view_titles={"front": t["front_view"], "back": t["back_view"]},
        side_letters={"R": t["right_letter"], "L": t["left_letter"]},
        insets={str(k): _text(v, f"{where}.insets.{k}") for k, v in insets.items()},
        legend=t["legend"],
        intensity=t["intensity"],
        scale=t["scale"],
        keys=t["keys"],
    )


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def language_words(language: str) -> LanguageWords | None:
    """The parsed word file of ``language`` ("es", "es-MX" and "es_MX" alike), or None for English
    and for a language without a file."""
    return _language_words((language or "").lower().replace("_", "-").split("-")[0])


@cache
def _language_words(language: str) -> LanguageWords | None:
    """The parsed word file (cached for the life of the process; the files ship with the code)."""
    if language == SOURCE_LANGUAGE or not re.fullmatch(r"[a-z]{2,3}", language or ""):
        return None
    path = WORDS_DIR / f"{language}.yaml"
    if not path.is_file():
        return None
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RegionWordsError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("language") != language:
        raise RegionWordsError(f"{path.name}: expected a mapping with language: {language}")
    sides = raw.get("sides")
    if (
        not isinstance(sides, dict)
        or sorted(sides) != sorted(GENDERS)
        or any(not isinstance(sides[g], dict) or sorted(sides[g]) != sorted(SIDES) for g in GENDERS)
    ):
        raise RegionWordsError(f"{path.name}: sides must give right and left for each of {', '.join(GENDERS)}")
    regions = {str(k): _region(v, sides, f"{path.name}: regions.{k}") for k, v in (raw.get("regions") or {}).items()}
    qualities: dict[str, tuple[str, str]] = {}
    for k, v in (raw.get("qualities") or {}).items():
        where = f"{path.name}: qualities.{k}"
        if not isinstance(v, dict):
            raise RegionWordsError(f"{where}: expected a mapping with en and name")
        qualities[str(k)] = (_text(v.get("en"), f"{where}.en"), _text(v.get("name"), f"{where}.name"))
    labels = {cell: _label(regions, cell) for cell in cell_labels()}
    return LanguageWords(language, regions, qualities, labels, _map_words(raw.get("map"), labels, f"{path.name}: map"))


def current_entry(regions: Mapping[str, RegionWord], region_id: str) -> RegionWord | None:
    """The region's entry, if it translates the region's current English name (else it is stale)."""
    entry = regions.get(region_id)
    region = atlas().region_by_id.get(region_id)
    return entry if entry is not None and region is not None and entry.en == region.name else None


def _label(regions: Mapping[str, RegionWord], cell: str) -> str:
    region_id, _, side = cell.partition(":")
    entry = current_entry(regions, region_id)
    if entry is None:
        return cell_label(cell)
    form = entry.name if not side else entry.right if side == "right" else entry.left
    return _capital(form) if form else cell_label(cell)


def region_label(cell: str, language: str) -> str:
    """A body-map cell's label with its side, as a client reading ``language`` sees it:
    ``region_label("knee-medial:left", "es")`` -> ``"Cara interna de la rodilla izquierda"``.

    English (``cell_label``) for English, for a language without words, and for a region whose
    translation is missing or stale. An unknown cell raises ``ValueError``.
    """
    words = language_words(language)
    if words is None:
        return cell_label(cell)
    try:
        return words.labels[cell]
    except KeyError:
        raise ValueError(f"unknown body-map cell {cell!r}") from None


def region_labels(language: str) -> Mapping[str, str]:
    """Every cell's label (:func:`region_label`) in ``language``."""
    words = language_words(language)
    return words.labels if words is not None else cell_labels()


def quality_label(quality: str, language: str) -> str:
    """A pain quality's label in ``language`` ("aching" -> "Dolor sordo"); English when it has no
    current translation, the id itself for a quality the vocabulary does not know."""
    english = QUALITY_LABELS.get(quality, quality)
    words = language_words(language)
    entry = words.qualities.get(quality) if words is not None else None
    return entry[1] if entry is not None and entry[0] == english else english


def quality_labels(language: str) -> dict[str, str]:
    """Every pain quality's label in ``language``, in the vocabulary's order (for a ``<select>``)."""
    return {q: quality_label(q, language) for q in QUALITY_LABELS}


def map_words(language: str) -> MapWords:
    """The words to draw the body map with in ``language`` (``render_bodymap(words=...)``)."""
    words = language_words(language)
    return words.map if words is not None else MapWords()
