"""Writes for outcomes: recording a response (in clinic, in the portal, or derived from a pain
drawing), removing a mistaken one, and saving an episode's schedule. Each is audited with ids
and counts only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from knotwork.accounts.models import Capability, Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.care.models import Episode
from knotwork.clients.models import PainDrawing
from knotwork.engine import DrawingError, evaluate_fibromyalgia, parse_drawing
from knotwork.outcomes import scoring
from knotwork.outcomes.bodyarea import cell_areas
from knotwork.outcomes.models import OutcomeResponse, OutcomeSchedule, Source

DRAWING_MEASURES = ("pain_extent", "acr2016")


def measure_or_error(measure_id: str) -> scoring.Measure:
    m = scoring.measures().get(measure_id)
    if m is None:
        raise ValidationError({"measure": f"Unknown measure {measure_id!r}."})
    return m


def _check_taken_at(episode: Episode, taken_at: datetime) -> None:
    if taken_at > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"taken_at": "A measure cannot be dated in the future."})
    if timezone.localdate(taken_at, episode.clinic.tz) < episode.started_on:
        raise ValidationError({"taken_at": "This date is before the episode started."})


@transaction.atomic
def response_record(
    *,
    membership: Membership | None,
    episode: Episode,
    measure_id: str,
    items: dict[str, Any],
    taken_at: datetime | None = None,
    source: str = Source.CLINIC,
    drawing: PainDrawing | None = None,
) -> OutcomeResponse:
    """Score and store one administration. ``membership`` is None when the client answers in the
    portal (the caller has proved it is their own record). Bad answers raise ValidationError with
    one message per field; nothing is stored."""
    if membership is not None and not membership.can(Capability.EDIT_CLINICAL):
        raise PermissionDenied("Your role cannot record measures.")
    m = measure_or_error(measure_id)
    if source == Source.PORTAL and not m.portal:
        raise ValidationError({"measure": f"{m.name} is recorded in clinic."})
    taken_at = taken_at or timezone.now()
    _check_taken_at(episode, taken_at)
    try:
        scored = scoring.score(m, items)
    except scoring.ScoringError as exc:
        raise ValidationError(exc.fields) from exc
    response = OutcomeResponse.objects.create(
        clinic_id=episode.clinic_id, client_id=episode.client_id, episode=episode, measure=m.id, measure_version=m.version,
        taken_at=taken_at, items=scored.items, score=scored.value, scoring_rule=scored.rule[:120], source=source, drawing=drawing,
        recorded_by=membership.user if membership else None,
    )  # fmt: skip
    audit_record(action=Action.CREATE, obj=response, clinic=episode.clinic_id, role=membership.role if membership else "client",
                 detail={"episode": episode.pk, "measure": m.id, "source": source})  # fmt: skip
    return response


def drawing_items(measure_id: str, drawing: PainDrawing) -> dict[str, Any]:
    """The items of a drawing-derived measure: pain extent from the body-map areas, WPI/SSS from the engine."""
    if measure_id == "pain_extent":
        return {**scoring.pain_extent(list(drawing.marks), cell_areas()), "drawing_id": drawing.pk}
    try:
        parsed = parse_drawing({"marks": drawing.marks, "symptoms": drawing.symptoms})
    except DrawingError as exc:
        raise ValidationError({"drawing": f"This drawing cannot be read: {exc}"}) from exc
    from knotwork.atlas.loader import atlas

    region_wpi = {r.id: (r.wpi.value if r.wpi else None) for r in atlas().regions}
    screen = evaluate_fibromyalgia(parsed, region_wpi)
    return {"wpi": screen.inputs["wpi"], "sss": screen.inputs["sss"], "verdict": screen.verdict, "drawing_id": drawing.pk}


@transaction.atomic
def response_from_drawing(*, membership: Membership, episode: Episode, measure_id: str, drawing: PainDrawing) -> OutcomeResponse:
    if measure_id not in DRAWING_MEASURES:
        raise ValidationError({"measure": "Only pain extent and the WPI are derived from a drawing."})
    if drawing.client_id != episode.client_id:
        raise ValidationError({"drawing": "Choose one of this client's drawings."})
    return response_record(membership=membership, episode=episode, measure_id=measure_id, items=drawing_items(measure_id, drawing),
                           taken_at=max(drawing.taken_at, _episode_start(episode)), source=Source.DRAWING, drawing=drawing)  # fmt: skip


def _episode_start(episode: Episode) -> datetime:
    return timezone.make_aware(datetime.combine(episode.started_on, datetime.min.time()), episode.clinic.tz)


@transaction.atomic
def response_delete(*, membership: Membership, response: OutcomeResponse) -> None:
    if not membership.can(Capability.EDIT_CLINICAL):
        raise PermissionDenied("Your role cannot remove measures.")
    audit_record(action=Action.DELETE, obj=response, clinic=response.clinic_id, role=membership.role,
                 detail={"episode": response.episode_id, "measure": response.measure})  # fmt: skip
    response.delete()


@transaction.atomic
def schedule_save(
    *, membership: Membership, episode: Episode, measures: list[str], every_n_visits: int, no_change_after: int, remind: bool
) -> OutcomeSchedule:
    if not membership.can(Capability.EDIT_CLINICAL):
        raise PermissionDenied("Your role cannot change the schedule.")
    known = scoring.measures()
    unknown = [m for m in measures if m not in known]
    if unknown:
        raise ValidationError({"measures": f"Unknown measures: {', '.join(unknown)}."})
    if not 1 <= every_n_visits <= 20:
        raise ValidationError({"every_n_visits": "Between 1 and 20 visits."})
    if not 1 <= no_change_after <= 30:
        raise ValidationError({"no_change_after": "Between 1 and 30 visits."})
    schedule, _ = OutcomeSchedule.objects.update_or_create(
        episode=episode,
        defaults={"measures": [m for m in known if m in measures], "every_n_visits": every_n_visits,
                  "no_change_after": no_change_after, "remind": remind, "updated_by": membership.user},
    )  # fmt: skip
    audit_record(action=Action.UPDATE, obj=schedule, clinic=episode.clinic_id, role=membership.role,
                 detail={"episode": episode.pk, "measures": schedule.measures})  # fmt: skip
    return schedule
