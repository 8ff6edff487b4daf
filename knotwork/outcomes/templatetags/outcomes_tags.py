from __future__ import annotations

from typing import Any

from django import template

from knotwork.accounts.models import Capability, Membership
from knotwork.clients.models import Client
from knotwork.outcomes import selectors

register = template.Library()


@register.simple_tag
def outcomes_panel(client: Client, membership: Membership | None) -> list[Any]:
    """Latest scores and flags per episode for the client page (clinical roles only; empty otherwise)."""
    if membership is None or not membership.can(Capability.VIEW_CLINICAL):
        return []
    return selectors.client_summary(client)
