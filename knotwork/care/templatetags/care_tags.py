from __future__ import annotations

from typing import Any

from django import template

from knotwork.accounts.models import Capability, Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.care import selectors, services
from knotwork.care.models import Visit
from knotwork.clients.models import Client, IntakeStatus, IntakeSubmission

register = template.Library()


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``mapping[key]`` in a template, or an empty string."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.simple_tag
def care_panel(client: Client, membership: Membership | None) -> dict[str, Any]:
    """What the client page shows of treatment (clinical roles only; the template checks)."""
    if membership is None or not membership.can(Capability.VIEW_CLINICAL):
        return {}
    program = services.program_for(client)
    return {
        "episodes": list(selectors.episodes_of(client)[:10]),
        "visits": list(selectors.visit_history(client)[:5]),
        "program": selectors.program_rows(program),
        "weeks": selectors.adherence_by_week(program, weeks=4),
        "flagged": selectors.flagged_checkins(client),
    }


@register.simple_tag
def care_attention(membership: Membership | None) -> dict[str, Any]:
    """What waits for a clinician on the dashboard: their own unsigned notes, oldest first, and the
    clinic's submitted intakes nobody has reviewed yet. Listed ids are audited."""
    if membership is None or not membership.can(Capability.VIEW_CLINICAL):
        return {}
    open_clients = {"clinic": membership.clinic, "client__restricted_at__isnull": True}
    drafts = Visit.objects.drafts().filter(therapist=membership.user, **open_clients).select_related("client").order_by("started_at", "id")
    intakes = IntakeSubmission.objects.filter(status=IntakeStatus.SUBMITTED, **open_clients).select_related("client")
    intakes = intakes.order_by("submitted_at")
    shown_drafts, shown_intakes = list(drafts[:8]), list(intakes[:8])
    audit_many(action=Action.LIST, objects=shown_drafts, clinic=membership.clinic, role=membership.role)
    audit_many(action=Action.LIST, objects=shown_intakes, clinic=membership.clinic, role=membership.role)
    return {"drafts": shown_drafts, "intakes": shown_intakes, "draft_count": drafts.count(), "intake_count": intakes.count()}
