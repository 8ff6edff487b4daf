from __future__ import annotations

from typing import Any

from django import template

from knotwork.accounts.models import Membership
from knotwork.care import selectors, services
from knotwork.clients.models import Client

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
    from knotwork.accounts.models import Capability

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
