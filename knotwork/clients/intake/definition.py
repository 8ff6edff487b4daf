"""The intake form's definition: Knotwork's standard questions, the engine's red-flag questions and a
clinic's own questions, as one list of sections. Pure Python (no Django), so screening rules and
tests can check question ids against it.

The form is written in English; :func:`translate_form` gives the same form (same ids, choices and
rules) worded in another language from ``data/intake_i18n/<language>.yaml``, and the body areas of
the "where?" grids from the body map's own words (``knotwork.atlas.region_words``). A question with
no translation stays in English and says so (``Question.translated``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from knotwork.atlas.loader import atlas
from knotwork.engine import red_flag_questions, red_flag_rules_version

FORM_FILE = Path(__file__).resolve().parent.parent / "data" / "intake_form.yaml"
TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "data" / "intake_i18n"
SOURCE_LANGUAGE = "en"
KINDS = ("text", "textarea", "choice", "multichoice", "yesno", "number", "date", "cells", "symptoms", "drawing")
LIST_KINDS = ("multichoice", "cells", "symptoms")
YES_NO = {"yes": "Yes", "no": "No"}
RED_FLAG_PREFIX = "rf-"
# An option written inside a quoted text ("Occupation, max_length: 120") is a typo, not wording.
_OPTION_IN_TEXT = re.compile(r"\b(?:kind|required|required_if|choices|cells|min|max|max_length|help)\s*:")


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    text: str
    help: str = ""
    required: bool = False
    required_if: tuple[str, str] | None = None
    choices: tuple[tuple[str, str], ...] = ()
    min: int | None = None
    max: int | None = None
    max_length: int | None = None
    red_flag: str | None = None
    # False when the form is in another language but this question could only be shown in English.
    translated: bool = True

    def label_of(self, value: Any) -> str:
        """An answer in words, as a client or therapist reads it."""
        if value is None or value == "" or value == []:
            return ""
        if self.kind == "drawing":
            return f"{len(value.get('marks', []))} area(s) marked" if isinstance(value, dict) else ""
        options = dict(self.choices)
        if isinstance(value, list):
            return ", ".join(options.get(str(v), str(v)) for v in value)
        return options.get(str(value), str(value))


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: str = ""
    questions: tuple[Question, ...] = ()
    red_flags: bool = False
    custom: bool = False
    consent: bool = False


@dataclass(frozen=True)
class FormDefinition:
    version: str
    sections: tuple[Section, ...]
    by_id: dict[str, Question] = field(repr=False, default_factory=dict)
    # The language the sections and questions are worded in.
    language: str = SOURCE_LANGUAGE

    @property
    def untranslated(self) -> list[Question]:
        """Questions shown in English in a form worded in another language."""
        return [q for s in self.sections for q in s.questions if not q.translated]

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)

    def step_ids(self) -> list[str]:
        return [s.id for s in self.sections]

    def missing(self, answers: Mapping[str, Any]) -> list[tuple[Section, Question]]:
        """Required questions still unanswered, in form order (``answers``: id -> plain value)."""
        return [(s, q) for s in self.sections for q in s.questions if is_required(q, answers) and is_blank(answers.get(q.id))]


def is_blank(value: Any) -> bool:
    if isinstance(value, dict):
        return not value.get("marks")
    return value is None or value == "" or value == []


def is_required(q: Question, answers: Mapping[str, Any]) -> bool:
    if q.required:
        return True
    if q.required_if:
        parent, expected = q.required_if
        return answers.get(parent) == expected
    return False


def _yn(value: object) -> str:
    # YAML 1.1 reads a bare yes/no as a boolean.
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _question(raw: Mapping[str, Any], where: str, cells: frozenset[str]) -> Question:
    if raw.get("kind") not in KINDS:
        raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}")
    kind = raw["kind"]
    if _OPTION_IN_TEXT.search(str(raw.get("text", ""))):
        raise ValueError(f"{where}: the text holds an option ({raw['text']!r}); put options beside the text, not inside its quotes")
    choices: tuple[tuple[str, str], ...] = ()
    if kind in ("choice", "multichoice"):
        choices = tuple((str(k), str(v)) for k, v in (raw.get("choices") or {}).items())
        if not choices:
            raise ValueError(f"{where}: a {kind} question needs choices")
    elif kind == "yesno":
        choices = tuple(YES_NO.items())
    elif kind == "cells":
        from knotwork.atlas.bodymap import cell_label

        bad = [c for c in raw.get("cells", ()) if c not in cells]
        if bad or not raw.get("cells"):
            raise ValueError(f"{where}: unknown or missing cells {bad}")
        choices = tuple((c, cell_label(c)) for c in raw["cells"])
    elif kind == "symptoms":
        choices = tuple((s.id, s.name[:1].upper() + s.name[1:]) for s in atlas().symptoms)
    cond = raw.get("required_if")
    return Question(
        id=str(raw["id"]),
        kind=kind,
        text=str(raw["text"]),
        help=str(raw.get("help", "")),
        required=bool(raw.get("required", False)),
        required_if=(str(cond["question"]), _yn(cond["is"])) if cond else None,
        choices=choices,
        min=raw.get("min"),
        max=raw.get("max"),
        max_length=raw.get("max_length"),
    )


@cache
def standard_form() -> tuple[int, tuple[Section, ...]]:
    """Knotwork's own sections and questions (red-flag questions included), validated once."""
    raw = yaml.safe_load(FORM_FILE.read_text(encoding="utf-8"))
    cells = frozenset(atlas().cells())
    sections: list[Section] = []
    seen: set[str] = set()
    for i, s in enumerate(raw["sections"]):
        questions = [_question(q, f"{FORM_FILE.name}: sections[{i}].{q.get('id')}", cells) for q in s.get("questions") or ()]
        if s.get("red_flags"):
            questions += [
                Question(
                    id=RED_FLAG_PREFIX + f.id, kind="yesno", text=f.question, required=True, choices=tuple(YES_NO.items()), red_flag=f.id
                )
                for f in red_flag_questions()
            ]
        for q in questions:
            if q.id in seen:
                raise ValueError(f"{FORM_FILE.name}: duplicate question id {q.id!r}")
            seen.add(q.id)
        sections.append(
            Section(
                id=s["id"],
                title=s["title"],
                intro=str(s.get("intro", "")).strip(),
                questions=tuple(questions),
                red_flags=bool(s.get("red_flags")),
                custom=bool(s.get("custom")),
                consent=bool(s.get("consent")),
            )
        )
    for s in sections:
        for q in s.questions:
            if q.required_if and q.required_if[0] not in seen:
                raise ValueError(f"{FORM_FILE.name}: {q.id} depends on unknown question {q.required_if[0]!r}")
    return int(raw["version"]), tuple(sections)


def standard_question_ids() -> frozenset[str]:
    return frozenset(q.id for s in standard_form()[1] for q in s.questions)


@dataclass(frozen=True)
class CustomQuestion:
    """A clinic's own question as the form needs it (built from an IntakeQuestion row)."""

    key: str
    kind: str
    text: str
    help: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()


def build_form(custom: Iterable[CustomQuestion] = ()) -> FormDefinition:
    """The whole form for one clinic: standard sections, with the clinic's questions in theirs.

    A clinic without its own questions gets no "from your clinic" step at all.
    """
    std_version, std_sections = standard_form()
    custom = list(custom)
    sections: list[Section] = []
    for s in std_sections:
        if s.custom:
            if not custom:
                continue
            qs = tuple(
                Question(
                    id=c.key,
                    kind=c.kind,
                    text=c.text,
                    help=c.help,
                    required=c.required,
                    choices=tuple(YES_NO.items()) if c.kind == "yesno" else tuple((x, x) for x in c.choices),
                )
                for c in custom
            )
            s = Section(id=s.id, title=s.title, intro=s.intro, questions=qs, custom=True)
        sections.append(s)
    fingerprint = hashlib.sha256(repr([(c.key, c.kind, c.text, c.choices, c.required) for c in custom]).encode()).hexdigest()[:8]
    version = f"std-{std_version}.rf-{red_flag_rules_version()}.custom-{fingerprint if custom else 'none'}"
    by_id = {q.id: q for s in sections for q in s.questions}
    return FormDefinition(version=version, sections=tuple(sections), by_id=by_id)


def plain_answers(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Stored answers (``{"q": wording, "a": value}``) as question id -> value."""
    return {k: v.get("a") for k, v in stored.items() if isinstance(v, dict)}


def red_flag_answers(answers: Mapping[str, Any]) -> dict[str, bool]:
    """The red-flag answers given so far, as the engine takes them (question id -> yes)."""
    out: dict[str, bool] = {}
    for f in red_flag_questions():
        value = answers.get(RED_FLAG_PREFIX + f.id)
        if value in ("yes", "no"):
            out[f.id] = value == "yes"
    return out


# -- other languages ---------------------------------------------------------------------------


@cache
def _translation(language: str) -> Mapping[str, Any] | None:
    if not re.fullmatch(r"[a-z]{2,3}", language or ""):
        return None
    path = TRANSLATIONS_DIR / f"{language}.yaml"
    if not path.is_file():
        return None
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return raw if isinstance(raw, dict) else None


def form_languages() -> tuple[str, ...]:
    """The languages the standard form is worded in, English first."""
    return (SOURCE_LANGUAGE, *sorted(p.stem for p in TRANSLATIONS_DIR.glob("*.yaml") if _translation(p.stem)))


def translate_form(form: FormDefinition, language: str) -> FormDefinition:
    """``form`` worded in ``language``: same ids, kinds, choices' values and rules, so answers given
    in any language are the same data. English (unchanged) when there is no translation file.

    A clinic's own questions keep the clinic's wording (only yes/no is translated), and a red-flag
    question whose English wording has changed since it was translated is asked in English: a
    safety question is never asked from a stale translation.
    """
    tr = _translation(language)
    if language == SOURCE_LANGUAGE or tr is None:
        return form
    sections_tr = tr.get("sections") or {}
    questions_tr = tr.get("questions") or {}
    flags_tr = tr.get("red_flags") or {}
    yes_no = {_yn(k): str(v) for k, v in (tr.get("yes_no") or {}).items()}
    symptoms = {str(k): str(v) for k, v in (tr.get("symptoms") or {}).items()}
    from knotwork.atlas.region_words import region_label

    def choice_label(q: Question, value: str, english: str, given: Mapping[str, Any]) -> str:
        if q.kind == "yesno":
            return yes_no.get(value, english)
        if q.kind == "symptoms":
            return symptoms.get(value, english)
        if q.kind == "cells":
            # The body map's words, so a side agrees with its place ("hombro derecho", "rodilla
            # derecha", "épaule droite") and the grid names an area as the map beside it does; a
            # region without a current translation there keeps its English label.
            return region_label(value, language)
        return str(given.get(value, english))

    def one(q: Question, custom: bool) -> Question:
        given: dict[str, Any]
        if q.red_flag:
            entry = flags_tr.get(q.red_flag) or {}
            ok = bool(entry.get("text")) and entry.get("en") == q.text
            text, help_, given = (str(entry["text"]) if ok else q.text), q.help, {}
        elif custom:
            ok, text, help_, given = False, q.text, q.help, {}
        else:
            entry = questions_tr.get(q.id) or {}
            ok = bool(entry.get("text"))
            text = str(entry["text"]) if ok else q.text
            help_ = str(entry.get("help") or q.help) if ok else q.help
            given = {_yn(k): v for k, v in (entry.get("choices") or {}).items()}
        choices = tuple((v, choice_label(q, v, label, given) if (ok or q.kind == "yesno") else label) for v, label in q.choices)
        return Question(
            id=q.id, kind=q.kind, text=text, help=help_, required=q.required, required_if=q.required_if, choices=choices,
            min=q.min, max=q.max, max_length=q.max_length, red_flag=q.red_flag, translated=ok,
        )  # fmt: skip

    sections: list[Section] = []
    for s in form.sections:
        entry = sections_tr.get(s.id) or {}
        sections.append(
            Section(
                id=s.id,
                title=str(entry.get("title") or s.title),
                intro=str(entry.get("intro") or s.intro) if s.intro else "",
                questions=tuple(one(q, s.custom) for q in s.questions),
                red_flags=s.red_flags,
                custom=s.custom,
                consent=s.consent,
            )
        )
    by_id = {q.id: q for s in sections for q in s.questions}
    return FormDefinition(version=form.version, sections=tuple(sections), by_id=by_id, language=language)
