"""Intake data through the API: a client's pain drawings (read and record), their screening
flags and their latest intake's answers. Clinical roles only (front desk gets 403); every read is
audited; another clinic's client is a 404 like everywhere else."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from knotwork.accounts.models import ApiToken, Membership
from knotwork.atlas.explain_api import ErrorOut, MarkIn, drawing_error_body
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.clients.intake import services as intake_services
from knotwork.clients.intake.selectors import latest_intake
from knotwork.clients.models import Client, PainDrawing, ScreeningFlag
from knotwork.clients.selectors import get_client_for_user
from knotwork.engine import DrawingError
from knotwork.lib.api import PageParams, api_membership, clinic_time, error_body, page_of

router = Router(tags=["intake"])

READ, WRITE = ApiToken.Scope.CLIENTS_READ, ApiToken.Scope.CLIENTS_WRITE


class MarkOut(Schema):
    cell: str
    intensity: int
    quality: str | None = None


class DrawingOut(Schema):
    id: int
    taken_at: datetime
    marks: list[MarkOut]
    symptoms: list[str]
    note: str
    intake_id: int | None = Field(None, description="set when the drawing came with an intake")


class DrawingPage(Schema):
    items: list[DrawingOut]
    count: int
    page: int
    page_size: int


class DrawingIn(Schema):
    marks: list[MarkIn] = Field(..., min_length=1, description="At most one mark per cell")
    symptoms: list[str] = Field(default_factory=list, description="symptom ids from the atlas")
    note: str = Field("", max_length=300)
    taken_at: datetime | None = Field(
        None, description="when the client drew it; default now, never in the future; without an offset, the clinic's local time"
    )


class FlagOut(Schema):
    id: int
    rule_id: str
    flag_class: str = Field(..., description="refer_out, precaution or local")
    title: str
    reason: str
    changes: str
    forbids: list[str]
    cautions: list[str]
    regions: list[str]
    source: str
    created_at: datetime
    acknowledged_at: datetime | None
    cleared_at: datetime | None


class AnswerOut(Schema):
    question_id: str
    question: str = Field(..., description="the wording the client saw")
    answer: Any


class IntakeOut(Schema):
    id: int
    status: str
    form_version: str
    language: str = Field(..., description="the language the client answered in (en, es, fr); the wording of each answer is in it")
    submitted_at: datetime | None
    reviewed_at: datetime | None
    answers: list[AnswerOut]


def _client(request: HttpRequest, client_id: int, scope: str, *, write: bool = False) -> tuple[Client, Membership]:
    membership = api_membership(request, scope)
    client, _ = get_client_for_user(membership.user, client_id, clinical=True, write=write, clinic_id=membership.clinic_id)
    return client, membership


def _drawing_out(d: PainDrawing) -> dict[str, Any]:
    return {"id": d.pk, "taken_at": d.taken_at, "marks": d.marks, "symptoms": d.symptoms, "note": d.note, "intake_id": d.intake_id}


@router.get(
    "/clients/{client_id}/drawings", response=DrawingPage, url_name="client_drawings", summary="A client's pain drawings, newest first"
)
def list_drawings(request: HttpRequest, client_id: int, paging: Query[PageParams]):  # type: ignore[no-untyped-def]
    client, membership = _client(request, client_id, READ)
    rows, counts = page_of(PainDrawing.objects.filter(client=client).order_by("-taken_at", "-id"), paging)
    audit_many(action=Action.LIST, objects=rows, clinic=client.clinic, role=membership.role)
    return {"items": [_drawing_out(d) for d in rows], **counts}


@router.post(
    "/clients/{client_id}/drawings",
    response={201: DrawingOut, 400: ErrorOut},
    url_name="client_drawing_create",
    summary="Record a pain drawing (e.g. taken on paper at the visit)",
)
def create_drawing(request: HttpRequest, client_id: int, payload: DrawingIn):  # type: ignore[no-untyped-def]
    client, membership = _client(request, client_id, WRITE, write=True)
    taken_at = clinic_time(payload.taken_at, client.clinic)
    if taken_at > timezone.now() + timedelta(minutes=5):
        return Status(400, error_body(400, "A drawing cannot be dated in the future.", {"taken_at": "in the future"}, "validation_error"))
    try:
        drawing = intake_services.drawing_create(
            client=client,
            marks=[m.dict(exclude_none=True) for m in payload.marks],
            symptoms=payload.symptoms,
            note=payload.note,
            taken_at=taken_at,
            actor=membership.user,
            role=membership.role,
        )
    except DrawingError as exc:
        return Status(400, drawing_error_body(exc))
    return Status(201, _drawing_out(drawing))


@router.get(
    "/clients/{client_id}/screening-flags",
    response=list[FlagOut],
    url_name="client_flags",
    summary="A client's screening flags, most severe first",
)
def list_flags(request: HttpRequest, client_id: int, include_cleared: bool = False):  # type: ignore[no-untyped-def]
    client, membership = _client(request, client_id, READ)
    flags = ScreeningFlag.objects.filter(client=client) if include_cleared else ScreeningFlag.objects.open().filter(client=client)
    rows = list(flags.by_severity())
    audit_many(action=Action.LIST, objects=rows, clinic=client.clinic, role=membership.role)
    return rows


@router.get(
    "/clients/{client_id}/intake",
    response={200: IntakeOut, 404: ErrorOut},
    url_name="client_intake",
    summary="The intake staff should read: the newest sent one, else the draft",
)
def get_intake(request: HttpRequest, client_id: int):  # type: ignore[no-untyped-def]
    client, membership = _client(request, client_id, READ)
    intake = latest_intake(client)
    if intake is None:
        raise Http404("This client has not started an intake.")
    audit_record(action=Action.VIEW, obj=intake, role=membership.role, detail={"client": client.pk})
    stored = intake.answers.items()
    answers = [{"question_id": k, "question": v.get("q", ""), "answer": v.get("a")} for k, v in stored if isinstance(v, dict)]
    return {"id": intake.pk, "status": intake.status, "form_version": intake.form_version, "language": intake.language,
            "submitted_at": intake.submitted_at,
            "reviewed_at": intake.reviewed_at, "answers": answers}  # fmt: skip
