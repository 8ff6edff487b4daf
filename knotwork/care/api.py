"""Episodes, plans and visits over the API, with the same rules as the pages: clinical roles of
the client's clinic, a signed note answers 409, a blocked technique 422."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from knotwork.accounts.models import ApiToken
from knotwork.atlas.models import Muscle, TriggerPoint
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.care import selectors, services
from knotwork.care.models import Adherence, Change, Response, Stage, TechniqueApplication, TriggerPointFinding, Visit
from knotwork.clients.selectors import get_client_for_user
from knotwork.lib.api import PageParams, api_membership, page_of

router = Router(tags=["care"])

READ, WRITE = ApiToken.Scope.CLIENTS_READ, ApiToken.Scope.CLIENTS_WRITE
SideIn = Literal["right", "left", "midline"]


def _scope(request: HttpRequest, scope: str) -> int:
    return api_membership(request, scope).clinic_id


def _visit(request: HttpRequest, visit_id: int, *, write: bool = False) -> tuple[Visit, Any]:
    return selectors.get_visit_for_user(request.user, visit_id, write=write, clinic_id=_scope(request, WRITE if write else READ))


class Locked:
    """Turns the service's refusals into the API's statuses."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> Literal[False]:
        if isinstance(exc, services.VisitLocked):
            raise HttpError(409, str(exc))
        if isinstance(exc, services.TechniqueBlocked | services.CautionNotAcknowledged):
            raise HttpError(422, str(exc))
        return False


class GoalIn(Schema):
    activity: str = Field(..., min_length=1, max_length=200)
    target: str = Field("", max_length=200)


class StageIn(Schema):
    id: Stage
    done: bool = False
    exit: str = Field("", max_length=500)


class PlanIn(Schema):
    goals: list[GoalIn] = Field(default_factory=list, max_length=10)
    visits_per_week: int = Field(1, ge=1, le=7)
    planned_visits: int = Field(6, ge=1, le=100)
    focus: list[str] = Field(default_factory=list, max_length=30)
    stages: list[StageIn] = Field(default_factory=list, max_length=5)
    note: str = Field("", max_length=4000)


class PlanOut(Schema):
    id: int
    version: int
    goals: list[dict[str, str]]
    visits_per_week: int
    planned_visits: int
    focus: list[str]
    stages: list[dict[str, Any]]
    note: str
    created_at: datetime


class EpisodeIn(Schema):
    client_id: int
    complaint: str = Field(..., min_length=1, max_length=200)
    started_on: date
    goals_note: str = Field("", max_length=4000)
    drawing_ids: list[int] = Field(default_factory=list, max_length=50)


class EpisodeOut(Schema):
    id: int
    client_id: int
    complaint: str
    started_on: date
    status: str
    ended_on: date | None
    plan: PlanOut | None = None


class FindingIn(Schema):
    trigger_point: str = Field(..., max_length=80)
    side: SideIn
    status: Literal["active", "latent"]
    taut_band: bool = False
    twitch_response: bool = False
    referral_reproduced: bool = False
    familiar_pain: bool = False
    tenderness: int | None = Field(None, ge=0, le=10)
    ppt_kg_cm2: Decimal | None = Field(None, ge=0, le=20, max_digits=4, decimal_places=2)
    released: bool = False


class FindingOut(FindingIn):
    id: int


class TechniqueIn(Schema):
    technique: str = Field(..., max_length=40)
    muscle: str = Field(..., max_length=60)
    trigger_point: str | None = Field(None, max_length=80)
    side: SideIn
    hold_s: int = Field(..., ge=0, le=600)
    reps: int = Field(1, ge=1, le=50)
    pressure: int = Field(..., ge=0, le=10)
    response: Response
    response_note: str = Field("", max_length=300)
    pain_before: int | None = Field(None, ge=0, le=10)
    pain_after: int | None = Field(None, ge=0, le=10)
    acknowledge: bool = Field(False, description="Acknowledge the precautions that apply (required when any do)")


class TechniqueOut(Schema):
    id: int
    technique: str
    muscle: str
    trigger_point: str | None
    side: str
    hold_s: int
    reps: int
    pressure: int
    response: str
    response_note: str
    pain_before: int | None
    pain_after: int | None
    acknowledged_flags: list[int]


class AddendumIn(Schema):
    reason: str = Field(..., min_length=1, max_length=200)
    text: str = Field(..., min_length=1, max_length=20000)


class AddendumOut(Schema):
    id: int
    author: str
    created_at: datetime
    reason: str
    text: str


def _addendum_out(a: Any) -> dict[str, Any]:
    return {"id": a.pk, "author": str(a.author), "created_at": a.created_at, "reason": a.reason, "text": a.text}


class CheckInIn(Schema):
    pain_today: int | None = Field(None, ge=0, le=10)
    change_since_last: Change | Literal[""] = ""
    soreness_after_last: int | None = Field(None, ge=0, le=10)
    program_adherence: Adherence | Literal[""] = ""


class NotesIn(Schema):
    subjective: str | None = Field(None, max_length=20000)
    objective: str | None = Field(None, max_length=20000)
    assessment: str | None = Field(None, max_length=20000)
    plan: str | None = Field(None, max_length=20000)
    next_steps: list[str] | None = Field(None, max_length=20)


class VisitIn(Schema):
    episode_id: int


class VisitSummary(Schema):
    id: int
    client_id: int
    episode_id: int
    started_at: datetime
    signed_at: datetime | None
    pain_today: int | None


class FeedbackOut(Schema):
    kind: str
    at: datetime


class VisitOut(VisitSummary):
    change_since_last: str
    soreness_after_last: int | None
    program_adherence: str
    subjective: str
    objective: str
    assessment: str
    plan: str
    next_steps: list[str]
    carried_from_id: int | None
    appointment_id: int | None = Field(None, description="The booked appointment the visit was started from, if any")
    carried_fields: list[str]
    findings: list[FindingOut]
    techniques: list[TechniqueOut]
    addenda: list[AddendumOut]
    feedback: list[FeedbackOut]


def _finding_out(f: TriggerPointFinding) -> dict[str, Any]:
    return {**{k: getattr(f, k) for k in FindingIn.model_fields if k != "trigger_point"}, "trigger_point": f.trigger_point_id, "id": f.pk}


def _technique_out(t: TechniqueApplication) -> dict[str, Any]:
    fields = set(TechniqueOut.model_fields) - {"muscle", "trigger_point"}
    return {**{k: getattr(t, k) for k in fields}, "muscle": t.muscle_id, "trigger_point": t.trigger_point_id}


def _visit_out(pk: int) -> dict[str, Any]:
    v = selectors.visit_full(pk)
    out = {k: getattr(v, k) for k in VisitOut.model_fields if k not in ("findings", "techniques", "addenda", "feedback")}
    out["findings"] = [_finding_out(f) for f in v.findings.all()]
    out["techniques"] = [_technique_out(t) for t in v.techniques.all()]
    out["addenda"] = [_addendum_out(a) for a in v.addenda.all()]
    out["feedback"] = [{"kind": p.kind, "at": p.at} for p in v.feedback.all()]
    return out


@router.get("/episodes", response=dict[str, Any], url_name="care_episodes")
def list_episodes(request: HttpRequest, client_id: int, params: Query[PageParams]) -> dict[str, Any]:
    client, membership = get_client_for_user(request.user, client_id, clinical=True, clinic_id=_scope(request, READ))
    rows, meta = page_of(selectors.episodes_of(client), params)
    audit_many(action=Action.LIST, objects=rows, clinic=client.clinic, role=membership.role if membership else "")
    return {"items": [_episode_out(e) for e in rows], **meta}


def _episode_out(e: Any) -> dict[str, Any]:
    plan = max(e.plans.all(), key=lambda p: p.version, default=None)
    return {**EpisodeOut.from_orm(e).dict(exclude={"plan"}), "plan": PlanOut.from_orm(plan).dict() if plan else None}


@router.post("/episodes", response={201: EpisodeOut}, url_name="care_episode_create")
def create_episode(request: HttpRequest, payload: EpisodeIn) -> Status[dict[str, Any]]:
    clinic_id = _scope(request, WRITE)
    client, membership = get_client_for_user(request.user, payload.client_id, clinical=True, write=True, clinic_id=clinic_id)
    assert membership is not None
    episode = services.episode_create(membership=membership, client=client, complaint=payload.complaint, started_on=payload.started_on,
                                      goals_note=payload.goals_note, drawing_ids=payload.drawing_ids)  # fmt: skip
    return Status(201, _episode_out(selectors.episodes_of(client).get(pk=episode.pk)))


@router.get("/episodes/{episode_id}", response=EpisodeOut, url_name="care_episode")
def get_episode(request: HttpRequest, episode_id: int) -> dict[str, Any]:
    episode, _ = selectors.get_episode_for_user(request.user, episode_id, clinic_id=_scope(request, READ))
    return _episode_out(selectors.episodes_of(episode.client).get(pk=episode.pk))


@router.post("/episodes/{episode_id}/plans", response={201: PlanOut}, url_name="care_plan_create")
def create_plan(request: HttpRequest, episode_id: int, payload: PlanIn) -> Status[Any]:
    episode, membership = selectors.get_episode_for_user(request.user, episode_id, write=True, clinic_id=_scope(request, WRITE))
    data = payload.dict()
    data["stages"] = [{**s, "id": str(s["id"])} for s in data["stages"]]
    return Status(201, services.plan_save(membership=membership, episode=episode, **data))


@router.get("/visits", response=dict[str, Any], url_name="care_visits")
def list_visits(request: HttpRequest, client_id: int, params: Query[PageParams]) -> dict[str, Any]:
    client, membership = get_client_for_user(request.user, client_id, clinical=True, clinic_id=_scope(request, READ))
    rows, meta = page_of(selectors.visit_history(client), params)
    audit_many(action=Action.LIST, objects=rows, clinic=client.clinic, role=membership.role if membership else "")
    return {"items": [VisitSummary.from_orm(v).dict() for v in rows], **meta}


@router.post("/visits", response={201: VisitOut}, url_name="care_visit_create")
def create_visit(request: HttpRequest, payload: VisitIn) -> Status[dict[str, Any]]:
    episode, membership = selectors.get_episode_for_user(request.user, payload.episode_id, write=True, clinic_id=_scope(request, WRITE))
    visit = services.visit_start(membership=membership, episode=episode)
    return Status(201, _visit_out(visit.pk))


@router.get("/visits/{visit_id}", response=VisitOut, url_name="care_visit")
def get_visit(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    visit, _ = _visit(request, visit_id)
    return _visit_out(visit.pk)


@router.patch("/visits/{visit_id}", response=VisitOut, url_name="care_visit_update")
def update_visit(request: HttpRequest, visit_id: int, payload: NotesIn) -> dict[str, Any]:
    visit, membership = _visit(request, visit_id, write=True)
    with Locked():
        services.visit_update_notes(membership=membership, visit=visit, data=payload.dict(exclude_none=True))
    return _visit_out(visit.pk)


@router.post("/visits/{visit_id}/checkin", response=VisitOut, url_name="care_visit_checkin")
def visit_checkin(request: HttpRequest, visit_id: int, payload: CheckInIn) -> dict[str, Any]:
    visit, membership = _visit(request, visit_id, write=True)
    data = payload.dict()
    data = {k: (str(v) if k in ("change_since_last", "program_adherence") else v) for k, v in data.items()}
    with Locked():
        services.visit_checkin(membership=membership, visit=visit, **data)
    return _visit_out(visit.pk)


@router.post("/visits/{visit_id}/findings", response={201: FindingOut}, url_name="care_finding_create")
def add_finding(request: HttpRequest, visit_id: int, payload: FindingIn) -> Status[dict[str, Any]]:
    visit, membership = _visit(request, visit_id, write=True)
    tp = TriggerPoint.objects.filter(pk=payload.trigger_point).first()
    if tp is None:
        raise ValidationError({"trigger_point": "Unknown trigger point."})
    with Locked():
        finding = services.finding_add(membership=membership, visit=visit, trigger_point=tp, data=payload.dict(exclude={"trigger_point"}))
    return Status(201, _finding_out(finding))


@router.delete("/visits/{visit_id}/findings/{finding_id}", response={204: None}, url_name="care_finding_delete")
def delete_finding(request: HttpRequest, visit_id: int, finding_id: int) -> Status[None]:
    visit, membership = _visit(request, visit_id, write=True)
    finding = get_object_or_404(TriggerPointFinding.objects.select_related("visit"), pk=finding_id, visit=visit)
    with Locked():
        services.finding_remove(membership=membership, finding=finding)
    return Status(204, None)


@router.post("/visits/{visit_id}/techniques", response={201: TechniqueOut}, url_name="care_technique_create")
def add_technique(request: HttpRequest, visit_id: int, payload: TechniqueIn) -> Status[dict[str, Any]]:
    visit, membership = _visit(request, visit_id, write=True)
    muscle = Muscle.objects.filter(pk=payload.muscle).first()
    tp = TriggerPoint.objects.filter(pk=payload.trigger_point).first() if payload.trigger_point else None
    if muscle is None or (payload.trigger_point and tp is None):
        raise ValidationError({"muscle" if muscle is None else "trigger_point": "Unknown atlas id."})
    data = payload.dict(exclude={"muscle", "trigger_point"})
    data["response"] = str(data["response"])
    with Locked():
        app = services.technique_log(membership=membership, visit=visit, muscle=muscle, trigger_point=tp, **data)
    return Status(201, _technique_out(app))


@router.delete("/visits/{visit_id}/techniques/{application_id}", response={204: None}, url_name="care_technique_delete")
def delete_technique(request: HttpRequest, visit_id: int, application_id: int) -> Status[None]:
    visit, membership = _visit(request, visit_id, write=True)
    app = get_object_or_404(TechniqueApplication.objects.select_related("visit"), pk=application_id, visit=visit)
    with Locked():
        services.technique_remove(membership=membership, application=app)
    return Status(204, None)


@router.post("/visits/{visit_id}/sign", response=VisitOut, url_name="care_visit_sign")
def sign_visit(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    visit, membership = _visit(request, visit_id, write=True)
    with Locked():
        services.visit_sign(membership=membership, visit=visit)
    return _visit_out(visit.pk)


@router.post("/visits/{visit_id}/addenda", response={201: AddendumOut}, url_name="care_addendum_create")
def add_addendum(request: HttpRequest, visit_id: int, payload: AddendumIn) -> Status[dict[str, Any]]:
    visit, membership = _visit(request, visit_id, write=True)
    return Status(201, _addendum_out(services.addendum_add(membership=membership, visit=visit, reason=payload.reason, text=payload.text)))
