"""Pain drawings: the engine's one input, parsed and validated.

A drawing arrives as plain JSON-like data (API body, CLI arguments, a stored row) and leaves
as a frozen :class:`PainDrawing`. Validation happens here, once, so the ranking code can trust
every cell, intensity and symptom it sees. Problems are collected rather than raised one at a
time: a form or an API client can then show every bad field in one round trip.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from knotwork.atlas.loader import AtlasData
from knotwork.engine.model import Context, Mark, PainDrawing, SymptomSeverity
from knotwork.engine.red_flags import RED_FLAG_IDS, red_flag_questions
from knotwork.engine.vocabulary import FINDING_IDS, QUALITIES, canonical_quality

__all__ = ["MAX_INTENSITY", "QUALITIES", "Context", "DrawingError", "Mark", "PainDrawing", "SymptomSeverity", "parse_drawing"]

SIDES: tuple[str, ...] = ("right", "left")
MAX_INTENSITY = 10
"""The top of the intensity scale (1-10); the engine's tally sizes its fields by it."""

# The ACR 2016 symptom-severity questionnaire: three items rated 0-3 for the past week and
# three yes/no items for the past six months.
SSS_SCALED_ITEMS: tuple[str, ...] = ("fatigue", "waking_unrefreshed", "cognitive")
SSS_YES_NO_ITEMS: tuple[str, ...] = ("headaches", "lower_abdominal", "depression")

_TOP_LEVEL_FIELDS = frozenset({"marks", "symptoms", "context"})
_MARK_FIELDS = frozenset({"cell", "intensity", "quality"})


class DrawingError(ValueError):
    """A pain drawing failed validation.

    ``problems`` holds ``(field, message)`` pairs, e.g. ``("marks[0].cell", "unknown cell
    'temple:up'")``, so an API can map them onto its ``fields`` error shape; ``str(error)`` joins
    them into one readable sentence.
    """

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems: tuple[tuple[str, str], ...] = tuple(problems)
        super().__init__("; ".join(f"{where}: {msg}" for where, msg in self.problems))

    @property
    def fields(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for where, msg in self.problems:
            out.setdefault(where, msg)
        return out


def _is_int(value: object) -> bool:
    # bool is an int subclass; True must not pass as intensity 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_marks(raw: object, cells: frozenset[str], problems: list[tuple[str, str]]) -> list[Mark]:
    if not isinstance(raw, list):
        problems.append(("marks", "must be a list of marks"))
        return []
    marks: list[Mark] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw):
        where = f"marks[{i}]"
        if not isinstance(item, Mapping):
            problems.append((where, "must be an object with cell and intensity"))
            continue
        for key in sorted(set(item) - _MARK_FIELDS, key=str):
            problems.append((f"{where}.{key}", "unknown field"))
        cell = item.get("cell")
        intensity = item.get("intensity")
        quality = canonical_quality(item.get("quality"))
        ok = True
        if not isinstance(cell, str) or not cell:
            problems.append((f"{where}.cell", "is required and must be a cell id such as 'temple:right'"))
            ok = False
        elif cell not in cells:
            problems.append((f"{where}.cell", f"unknown cell {cell!r}{_cell_hint(cell, cells)}"))
            ok = False
        elif cell in seen:
            problems.append((f"{where}.cell", f"cell {cell!r} is marked twice (also marks[{seen[cell]}])"))
            ok = False
        else:
            seen[cell] = i
        if not _is_int(intensity) or not 1 <= intensity <= MAX_INTENSITY:  # type: ignore[operator]
            problems.append((f"{where}.intensity", f"must be a whole number from 1 to {MAX_INTENSITY}, got {intensity!r}"))
            ok = False
        if quality is not None and quality not in QUALITIES:
            problems.append((f"{where}.quality", f"unknown quality {quality!r}; use one of {', '.join(QUALITIES)}"))
            ok = False
        if ok:
            marks.append(Mark(cell=cell, intensity=intensity, quality=quality))  # type: ignore[arg-type]
    return marks


def _cell_hint(cell: str, cells: frozenset[str]) -> str:
    # The commonest mistakes are a missing side on a paired region and a side on a midline one.
    region, _, side = cell.partition(":")
    if not side and f"{region}:right" in cells:
        return f" (paired region: write '{region}:right' or '{region}:left')"
    if side and region in cells:
        return f" (midline region: write '{region}' without a side)"
    return ""


def _parse_symptoms(raw: object, known: frozenset[str], problems: list[tuple[str, str]]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(("symptoms", "must be a list of symptom ids"))
        return ()
    out: list[str] = []
    for i, s in enumerate(raw):
        if not isinstance(s, str) or s not in known:
            problems.append((f"symptoms[{i}]", f"unknown symptom {s!r}"))
        elif s not in out:
            out.append(s)
    return tuple(out)


def _parse_sss(raw: object, problems: list[tuple[str, str]]) -> SymptomSeverity | None:
    if not isinstance(raw, Mapping):
        problems.append(("context.sss", "must be an object with the six symptom-severity answers"))
        return None
    values: dict[str, int] = {}
    ok = True
    for key in sorted(set(raw) - set(SSS_SCALED_ITEMS) - set(SSS_YES_NO_ITEMS), key=str):
        problems.append((f"context.sss.{key}", "unknown item"))
        ok = False
    for names, top in ((SSS_SCALED_ITEMS, 3), (SSS_YES_NO_ITEMS, 1)):
        for name in names:
            value = raw.get(name)
            if isinstance(value, bool):
                value = int(value)
            if not _is_int(value) or not 0 <= value <= top:  # type: ignore[operator]
                problems.append((f"context.sss.{name}", f"must be a whole number from 0 to {top}, got {value!r}"))
                ok = False
            else:
                values[name] = value  # type: ignore[assignment]
    return SymptomSeverity(**values) if ok else None


def _parse_context(raw: object, atlas: AtlasData, problems: list[tuple[str, str]]) -> Context:
    if raw is None:
        return Context()
    if not isinstance(raw, Mapping):
        problems.append(("context", "must be an object"))
        return Context()
    implicated: dict[str, str] = {}
    raw_imp = raw.get("implicated_muscles", {})
    if not isinstance(raw_imp, Mapping):
        problems.append(("context.implicated_muscles", "must map muscle ids to a reason"))
    else:
        for mid, reason in raw_imp.items():
            if mid not in atlas.muscle_by_id:
                problems.append((f"context.implicated_muscles.{mid}", f"unknown muscle {mid!r}"))
            elif not isinstance(reason, str):
                problems.append((f"context.implicated_muscles.{mid}", "the reason must be text"))
            else:
                implicated[mid] = reason
    sex = raw.get("sex")
    if sex is not None and sex not in ("female", "male", "other"):
        problems.append(("context.sex", f"must be female, male or other, got {sex!r}"))
        sex = None
    age = raw.get("age")
    if age is not None and (not _is_int(age) or not 0 <= age <= 120):
        problems.append(("context.age", f"must be a whole number of years, got {age!r}"))
        age = None
    sss = _parse_sss(raw["sss"], problems) if raw.get("sss") is not None else None
    duration = raw.get("pain_duration_months")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0):
        problems.append(("context.pain_duration_months", f"must be a number of months, got {duration!r}"))
        duration = None
    red_flags = _parse_red_flag_answers(raw.get("red_flags"), problems)
    findings = _parse_findings(raw.get("findings"), problems)
    clearance = raw.get("medical_clearance", False)
    if not isinstance(clearance, bool):
        problems.append(("context.medical_clearance", "must be true or false"))
        clearance = False
    known = {"implicated_muscles", "sex", "age", "sss", "pain_duration_months", "red_flags", "findings", "medical_clearance"}
    return Context(
        implicated_muscles=implicated,
        sex=sex,
        age=age,
        sss=sss,
        pain_duration_months=float(duration) if duration is not None else None,
        red_flags=red_flags,
        findings=findings,
        medical_clearance=clearance,
        extra={k: v for k, v in raw.items() if k not in known},
    )


def _parse_red_flag_answers(raw: object, problems: list[tuple[str, str]]) -> Mapping[str, bool] | None:
    if raw is None:
        return None
    answers: dict[str, bool] = {}
    if isinstance(raw, Mapping):
        items = list(raw.items())
    elif isinstance(raw, list):
        # A list names the questions answered "yes" after the whole set was asked.
        answers = {f.id: False for f in red_flag_questions()}
        items = [(rid, True) for rid in raw]
    else:
        problems.append(("context.red_flags", "must map question ids to true/false, or list the ids answered yes"))
        return None
    for rid, value in items:
        # Check the type first: an unhashable item (a list, an object) cannot be looked up in a set.
        if not isinstance(rid, str) or rid not in RED_FLAG_IDS:
            problems.append((f"context.red_flags.{rid}", f"unknown red-flag question {rid!r}"))
        elif not isinstance(value, bool):
            problems.append((f"context.red_flags.{rid}", "the answer must be true or false"))
        else:
            answers[rid] = value
    return answers


def _parse_findings(raw: object, problems: list[tuple[str, str]]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(("context.findings", "must be a list of finding ids"))
        return ()
    out: list[str] = []
    for i, fid in enumerate(raw):
        if not isinstance(fid, str) or fid not in FINDING_IDS:
            problems.append((f"context.findings[{i}]", f"unknown finding {fid!r}"))
        elif fid not in out:
            out.append(fid)
    return tuple(out)


def parse_drawing(data: object, atlas: AtlasData | None = None) -> PainDrawing:
    """Validate JSON-like drawing data against the atlas and return a :class:`PainDrawing`.

    Raises :class:`DrawingError` naming every bad field: unknown or repeated cells,
    intensities outside 1-10, unknown qualities, symptoms, muscles or context items.
    """
    if atlas is None:
        from knotwork.atlas.loader import atlas as shipped_atlas

        atlas = shipped_atlas()
    return _parse(data, frozenset(atlas.cells()), frozenset(s.id for s in atlas.symptoms), atlas)


def _parse(data: object, cells: frozenset[str], symptoms: frozenset[str], atlas: AtlasData) -> PainDrawing:
    if not isinstance(data, Mapping):
        raise DrawingError([("drawing", "must be an object with marks, symptoms and context")])
    problems: list[tuple[str, str]] = []
    for key in sorted(set(data) - _TOP_LEVEL_FIELDS, key=str):
        problems.append((str(key), "unknown field; a drawing has marks, symptoms and context"))
    marks = _parse_marks(data.get("marks", []), cells, problems)
    parsed_symptoms = _parse_symptoms(data.get("symptoms"), symptoms, problems)
    context = _parse_context(data.get("context"), atlas, problems)
    if problems:
        raise DrawingError(problems)
    return PainDrawing(marks=tuple(marks), symptoms=parsed_symptoms, context=context)
