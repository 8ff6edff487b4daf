"""Consent documents (versioned text files, each version in English and in the languages it is
translated into) and drawn signatures (SVG path data, sanitised)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CONSENT_DIR = Path(__file__).resolve().parent / "data" / "consent"
SOURCE_LANGUAGE = "en"

# The signature pad (static/clients/signature.js) draws in this box and writes absolute
# M/L commands with whole numbers; anything else is refused rather than "repaired".
SIGNATURE_WIDTH = 600
SIGNATURE_HEIGHT = 200
MAX_SIGNATURE_CHARS = 20_000
MIN_SIGNATURE_POINTS = 8
_TOKEN = re.compile(r"[MLml]|-?\d+(?:\.\d+)?")
_ALLOWED = re.compile(r"^[MLml0-9.\s,-]*$")


class SignatureError(ValueError):
    """The drawn signature is missing, too small, too large or not plain path data."""


@dataclass(frozen=True)
class ConsentDocument:
    id: str
    title: str
    version: int
    text: str
    # The language of ``text``: "en", or a language this version was translated into.
    language: str = SOURCE_LANGUAGE

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def paragraphs(self) -> list[tuple[str, str]]:
        """(heading, body) pairs: the text is blocks of a one-line heading and its paragraph."""
        out: list[tuple[str, str]] = []
        for block in self.text.strip().split("\n\n"):
            head, _, body = block.partition("\n")
            out.append((head, body) if body else ("", head))
        return out


@cache
def _index() -> dict[str, dict[str, Any]]:
    raw = yaml.safe_load((CONSENT_DIR / "documents.yaml").read_text(encoding="utf-8"))
    return {d["id"]: d for d in raw["documents"]}


def languages_of(doc_id: str, version: int) -> tuple[str, ...]:
    """The languages one version of a document is published in, English first."""
    entry = _index().get(doc_id, {})
    translated = (entry.get("translations") or {}).get(version) or ()
    return (SOURCE_LANGUAGE, *(str(lang) for lang in translated))


@cache
def current_documents(language: str = SOURCE_LANGUAGE) -> tuple[ConsentDocument, ...]:
    """The current version of every document, in ``language`` where that version is translated into it
    and in English where it is not (each document's ``language`` says which)."""
    return tuple(document(doc_id, int(d["current"]), language=language) for doc_id, d in _index().items())


@cache
def document(doc_id: str, version: int, *, title: str = "", language: str = SOURCE_LANGUAGE) -> ConsentDocument:
    if not re.fullmatch(r"[a-z][a-z0-9-]{1,39}", doc_id):
        raise KeyError(doc_id)
    entry = _index().get(doc_id, {})
    if language not in languages_of(doc_id, version):
        language = SOURCE_LANGUAGE
    if language == SOURCE_LANGUAGE:
        path = CONSENT_DIR / f"{doc_id}.v{version}.txt"
        title = title or str(entry["title"])
    else:
        path = CONSENT_DIR / f"{doc_id}.v{version}.{language}.txt"
        title = str((entry.get("titles") or {}).get(language) or entry["title"])
    return ConsentDocument(id=doc_id, title=title, version=version, text=path.read_text(encoding="utf-8"), language=language)


def clean_signature(raw: str) -> str:
    """Canonical path data (``M x y L x y …``, absolute, whole numbers inside the pad), or SignatureError."""
    raw = (raw or "").strip()
    if not raw:
        raise SignatureError("Please sign in the box with your finger, a stylus or the mouse.")
    if len(raw) > MAX_SIGNATURE_CHARS:
        raise SignatureError("The signature is too long to store. Clear it and sign again, a little more simply.")
    if not _ALLOWED.match(raw):
        raise SignatureError("The signature could not be read. Clear it and sign again.")
    tokens = _TOKEN.findall(raw)
    out: list[str] = []
    points = 0
    i = 0
    while i < len(tokens):
        cmd = tokens[i]
        if cmd not in ("M", "L"):
            raise SignatureError("The signature could not be read. Clear it and sign again.")
        try:
            x, y = float(tokens[i + 1]), float(tokens[i + 2])
        except (IndexError, ValueError):
            raise SignatureError("The signature could not be read. Clear it and sign again.") from None
        if not (0 <= x <= SIGNATURE_WIDTH and 0 <= y <= SIGNATURE_HEIGHT):
            raise SignatureError("The signature goes outside the box. Clear it and sign again.")
        out.append(f"{cmd}{round(x)} {round(y)}")
        points += 1
        i += 3
    if points < MIN_SIGNATURE_POINTS or not out[0].startswith("M"):
        raise SignatureError("The signature is too short. Please sign with your usual signature.")
    return " ".join(out)


def signature_svg(path: str, *, stroke: str = "#1b2428") -> str:
    """A standalone SVG of a cleaned signature (for the PDF and for display)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIGNATURE_WIDTH} {SIGNATURE_HEIGHT}" '
        f'width="{SIGNATURE_WIDTH}" height="{SIGNATURE_HEIGHT}"><path d="{clean_signature(path)}" fill="none" '
        f'stroke="{stroke}" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/></svg>'
    )
