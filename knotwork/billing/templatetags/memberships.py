"""Template helpers that show a client's membership on pages whose views do not know about
memberships (the account page, the portal, the fees to-do): ``{% load memberships %}``."""

from __future__ import annotations

from typing import Any

from django import template

from knotwork.billing import membership
from knotwork.billing.membership_models import ClientMembership, MembershipPeriod

register = template.Library()


@register.simple_tag
def memberships_of(client: Any) -> list[ClientMembership]:
    """The client's memberships, newest first (``{% memberships_of client as memberships %}``)."""
    return list(membership.client_memberships(client)) if client is not None else []


@register.simple_tag
def membership_todo_of(clinic: Any) -> list[MembershipPeriod]:
    """Membership periods the desk has to act on (``{% membership_todo_of clinic as todo %}``)."""
    return membership.membership_todo(clinic) if clinic is not None else []
