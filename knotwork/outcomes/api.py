"""Outcome measures over the API: the measure definitions, an episode's responses with their
flags, recording and removing a response. Same rules as the pages (clinical roles of the
episode's clinic); unscorable answers are a 400 naming each field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from knotwork.accounts.models import ApiToken
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.care.selectors import get_episode_for_user
from knotwork.lib.api import api_membership
from knotwork.outcomes import scoring, selectors, services
from knotwork.outcomes.models import OutcomeResponse

router = Router(tags=["outcomes"])
READ, WRITE = ApiToken.Scope.CLIENTS_READ, ApiToken.Scope.CLIENTS_WRITE


class ThresholdOut(Schema):
    value: float
    source: str
    percent: float | None = None


class MeasureOut(Schema):
    id: str
    name: str
    version: str
    licence: str
    min: float
    max: float
    direction: str
    scoring: str
    unit: str
    mcid: ThresholdOut | None
    mdc: ThresholdOut | None
    portal: bool


class ResponseIn(Schema):
    measure: str = Field(..., max_length=30)
    items: dict[str, Any]
    taken_at: datetime | None = None


class ResponseOut(Schema):
    id: int
    measure: str
    measure_version: str
    taken_at: datetime
    score: float
    items: dict[str, Any]
    source: str
    flag: str = ""


def _out(r: OutcomeResponse, flag: str = "") -> dict[str, Any]:
    return {"id": r.pk, "measure": r.measure, "measure_version": r.measure_version, "taken_at": r.taken_at, "score": float(r.score),
            "items": r.items, "source": r.source, "flag": flag}  # fmt: skip


@router.get("/outcomes/measures", response=list[MeasureOut], url_name="outcomes_measures")
def list_measures(request: HttpRequest) -> list[Any]:
    api_membership(request, READ)
    return list(scoring.measures().values())


@router.get("/episodes/{episode_id}/outcomes", response=dict[str, Any], url_name="outcomes_list")
def list_responses(request: HttpRequest, episode_id: int) -> dict[str, Any]:
    clinic_id = api_membership(request, READ).clinic_id
    episode, membership = get_episode_for_user(request.user, episode_id, clinic_id=clinic_id)
    progress = selectors.episode_progress(episode)
    rows = [r for s in progress.series for r in s.responses]
    audit_many(action=Action.LIST, objects=rows, clinic=episode.clinic, role=membership.role)
    return {
        "results": [_out(r, f) for s in progress.series for r, f, _text in s.rows],
        "summary": [{"measure": s.measure.id, "baseline": float(s.baseline.score), "latest": float(s.latest.score),
                     "flag": s.change.flag if s.change else "", "reason": s.change.reason if s.change else ""} for s in progress.series],
        "due": [{"measure": d.measure.id, "reason": d.reason} for d in progress.due],
    }  # fmt: skip


@router.post("/episodes/{episode_id}/outcomes", response={201: ResponseOut}, url_name="outcomes_create")
def create_response(request: HttpRequest, episode_id: int, payload: ResponseIn) -> Status[dict[str, Any]]:
    clinic_id = api_membership(request, WRITE).clinic_id
    episode, membership = get_episode_for_user(request.user, episode_id, write=True, clinic_id=clinic_id)
    r = services.response_record(membership=membership, episode=episode, measure_id=payload.measure, items=payload.items,
                                 taken_at=payload.taken_at)  # fmt: skip
    return Status(201, _out(r))


@router.delete("/outcomes/{response_id}", response={204: None}, url_name="outcomes_delete")
def delete_response(request: HttpRequest, response_id: int) -> Status[None]:
    clinic_id = api_membership(request, WRITE).clinic_id
    response, membership = selectors.get_response_for_user(request.user, response_id, write=True, clinic_id=clinic_id)
    services.response_delete(membership=membership, response=response)
    return Status(204, None)
