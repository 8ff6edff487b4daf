"""``POST /api/engine/explain``: a pain drawing in, likely sources to examine out.

The engine (``knotwork.engine``) is the one validator of a drawing, so the body is read here as
plain JSON and handed to it; the pydantic schemas below only document the request and response
in /api/openapi.json. A bad drawing is a 400 naming each bad field (``marks[0].cell``); no input
can make this operation answer 500.

The answer leads with ``triage``; at the levels that withhold the muscle list, ``hypotheses`` and
``cover`` are empty and ``withheld`` counts the muscles held back. ``context.medical_clearance``
brings them back; it is a clinician's statement, so a call that sends it (clinical roles only) and
thereby shows a withheld list is recorded in the audit log with the caller and the red flags it covered.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ConfigDict

from knotwork.accounts.models import ApiToken, Capability
from knotwork.accounts.permissions import require
from knotwork.atlas import services
from knotwork.engine import DEFAULT_TOP, QUALITIES, DrawingError, default_engine
from knotwork.lib.api import api_membership, error_body

router = Router(tags=["engine"])

MAX_TOP = 100
MAX_LIST = 200  # symptoms, findings, red-flag ids: far more than the atlas knows
MAX_FIELDS = 50  # a body with thousands of bad entries gets the first fifty named
_REQUEST_KEYS = frozenset({"marks", "symptoms", "context", "top", "red_flags"})


def max_marks() -> int:
    """One mark per cell of the body map (163 for the shipped atlas)."""
    return len(default_engine().cells)


# -- documentation schemas -------------------------------------------------------------------------


class MarkIn(Schema):
    cell: str = Field(..., description="`<region>:right`, `<region>:left`, or a midline region id", examples=["temple:right"])
    intensity: int = Field(..., ge=1, le=10)
    quality: Literal[QUALITIES] | None = None  # type: ignore[valid-type]


class ContextIn(Schema):
    model_config = ConfigDict(extra="allow")

    implicated_muscles: dict[str, str] | None = Field(None, description="muscle id -> the assessment finding behind it")
    sex: Literal["female", "male", "other"] | None = None
    age: int | None = Field(None, ge=0, le=120)
    sss: dict[str, int] | None = Field(None, description="ACR 2016 symptom-severity items (fatigue, waking_unrefreshed, ...)")
    pain_duration_months: float | None = Field(None, ge=0)
    red_flags: dict[str, bool] | list[str] | None = Field(
        None, description="question id -> yes/no, or the list of ids answered yes after asking them all"
    )
    findings: list[str] | None = Field(None, description="examination finding ids known to the look-alike screens")
    medical_clearance: bool = Field(
        False,
        description="a physician has cleared the client for hands-on work despite the red flags: the withheld muscle list is "
        "returned, and the statement is recorded in the audit log (clinical roles only)",
    )


class ExplainIn(Schema):
    marks: list[MarkIn] = Field(default_factory=list, description="At most one mark per cell (163)")
    symptoms: list[str] = Field(default_factory=list, description="symptom ids from the atlas, e.g. headache, dizziness, tingling")
    context: ContextIn | None = None
    red_flags: dict[str, bool] | list[str] | None = Field(None, description="shorthand for context.red_flags")
    top: int = Field(DEFAULT_TOP, ge=1, le=MAX_TOP, description="how many hypotheses to return")


class _Loose(Schema):
    # The engine's contract may grow by adding keys; the documented shape must not drop them.
    model_config = ConfigDict(extra="allow")


class TriggerPointHitOut(_Loose):
    trigger_point: str
    side: Literal["right", "left", "midline"]
    essential_hits: list[str]
    spillover_hits: list[str]


class HypothesisOut(_Loose):
    muscle: str
    trigger_point: str = Field(..., description="the row's best trigger point: the one to palpate first")
    side: Literal["right", "left", "midline", "both"] = Field(..., description="`both` when the row needs the muscle on each side")
    score: float = Field(..., description="relative score for ordering, not a probability")
    essential_hits: list[str]
    spillover_hits: list[str]
    explains: float = Field(..., description="share of the painted intensity inside this muscle's zones (0-1)")
    unexplained: list[str]
    why: str
    trigger_points: list[TriggerPointHitOut] = Field(
        default_factory=list, description="the muscle's trigger points this row combines, best first, each on its side"
    )
    nerve_hits: list[str] = Field(
        default_factory=list,
        description="numb, tingling or burning marks explained through the skin territory of a nerve the muscle can entrap",
    )


class TriageOut(_Loose):
    level: Literal["emergency", "same-day", "before-treatment", "ask-first", "not asked", "incomplete", "clear"] = Field(
        ..., description="the most urgent positive red flag, or ask-first while an emergency question the drawing prompts is unanswered"
    )
    headline: str
    actions: list[str] = Field(..., description="what to do, or at ask-first the questions to ask")
    positive: list[str] = Field(..., description="red-flag ids answered yes or reported by the drawing itself")
    ask_first: list[str] = Field(..., description="red-flag ids to ask first, given the drawing")
    withheld: bool = Field(..., description="the muscle list waits for medical clearance")
    cleared: bool = Field(..., description="medical clearance was given and the list is shown")


class PainPatternOut(_Loose):
    lead: Literal["muscles", "widespread", "none"] = Field(
        ..., description="widespread: lead with the statement and the fibromyalgia screen; the muscles are secondary"
    )
    best_explains: float
    wpi: int
    statement: str | None = None


class CoverStepOut(_Loose):
    muscle: str
    trigger_point: str
    side: str
    adds: list[str]
    cumulative: float


class ScreenOut(_Loose):
    id: str
    title: str
    verdict: str
    rule: str
    inputs: dict[str, Any]
    details: dict[str, Any]


class ExplainOut(_Loose):
    triage: TriageOut | None = Field(None, description="show first, on every surface")
    pattern: PainPatternOut | None = Field(None, description="absent for an empty drawing")
    withheld: int | None = Field(None, description="present when the triage withholds the muscle list: how many muscles are held back")
    hypotheses: list[HypothesisOut]
    cover: list[CoverStepOut]
    screens: list[ScreenOut] = Field(..., description="screens[0] is always the red-flag screen")
    atlas_version: str
    message: str | None = Field(None, description="present only when there is nothing to rank or the list is withheld")


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(Schema):
    error: ErrorDetail


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """Resolve pydantic's local ``$defs`` so the schema can sit inside the OpenAPI document."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)  # type: ignore[no-any-return]


_REQUEST_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inline(ExplainIn.model_json_schema())}},
    }
}


# -- parsing ---------------------------------------------------------------------------------------


class BadRequest(Exception):
    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def read_request(body: bytes) -> tuple[dict[str, Any], int]:
    """The engine's drawing and ``top`` from a request body; :class:`BadRequest` for anything else."""
    try:
        data = json.loads(body or b"null", parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise BadRequest("The body must be a JSON object: a pain drawing with marks.") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object: a pain drawing with marks.", {"drawing": "must be an object"})
    unknown = sorted(set(data) - _REQUEST_KEYS)
    if unknown:
        raise BadRequest("Unknown fields in the body.", dict.fromkeys(unknown[:MAX_FIELDS], "unknown field"))
    top = data.pop("top", DEFAULT_TOP)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_TOP:
        raise BadRequest("Some values are missing or invalid.", {"top": f"must be a whole number from 1 to {MAX_TOP}"})
    marks = data.get("marks")
    if isinstance(marks, list) and len(marks) > max_marks():
        raise BadRequest("Too many marks.", {"marks": f"at most {max_marks()} marks, one per cell"})
    for key, value in (("symptoms", data.get("symptoms")), ("red_flags", data.get("red_flags"))):
        if isinstance(value, list | dict) and len(value) > MAX_LIST:
            raise BadRequest("Some values are missing or invalid.", {key: f"at most {MAX_LIST} entries"})
    _move_red_flags(data)
    return data, top


def _move_red_flags(data: dict[str, Any]) -> None:
    if "red_flags" not in data:
        return
    answers = data.pop("red_flags")
    context = data.get("context")
    if context is None:
        context = data["context"] = {}
    if not isinstance(context, dict):
        return  # the engine names context as the bad field
    if "red_flags" in context:
        raise BadRequest("Red-flag answers were given twice.", {"red_flags": "give red_flags at the top level or in context, not both"})
    context["red_flags"] = answers


def drawing_error_body(exc: DrawingError) -> dict[str, Any]:
    """A 400 body for a drawing the engine refused: the first problem in words, each bad field named."""
    where, problem = exc.problems[0]
    more = len(exc.problems) - 1
    message = f"The drawing is not valid: {where}: {problem}" + (f" (and {more} more)" if more else "")
    return error_body(400, message, dict(list(exc.fields.items())[:MAX_FIELDS]), "invalid_drawing")


# -- the operation ---------------------------------------------------------------------------------


@router.post(
    "/engine/explain",
    response={200: ExplainOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut},
    exclude_unset=True,
    summary="Rank likely trigger-point sources to examine for a pain drawing",
    description=(
        "Staff only: a signed-in clinician, or a token with the `engine` scope. The body is a pain drawing "
        "(`marks`, `symptoms`, `context`), optionally with `top` and `red_flags` (shorthand for `context.red_flags`). "
        "The answer leads with `triage` and always carries the red-flag screen first; at emergency, same-day and ask-first "
        "levels the muscle list is withheld (`withheld` counts it) until `context.medical_clearance` is sent, which is "
        "audited. A bad drawing is a 400 whose `fields` name each bad entry, e.g. `marks[0].cell`. Likely sources to "
        "examine, never a diagnosis."
    ),
    openapi_extra=_REQUEST_DOC,
)
def explain_drawing(request: HttpRequest):  # type: ignore[no-untyped-def]
    membership = require(api_membership(request, ApiToken.Scope.ENGINE), Capability.VIEW_CLINICAL)
    try:
        drawing, top = read_request(request.body)
        result = default_engine().explain(drawing, top=top)
        if result.triage is not None and result.triage.cleared:
            services.engine_clearance_record(membership=membership, result=result, source="engine API")
        return Status(200, result.to_dict())
    except RequestDataTooBig:
        raise HttpError(400, "The body is too large for a pain drawing.") from None
    except BadRequest as exc:
        return Status(400, error_body(400, str(exc), exc.fields, "invalid_drawing"))
    except DrawingError as exc:
        return Status(400, drawing_error_body(exc))
