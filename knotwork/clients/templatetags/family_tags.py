"""The client page's Family panel (templates/clients/_family.html)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django import template

from knotwork.accounts.models import Capability, Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.clients.family import family_of
from knotwork.clients.models import Client
from knotwork.clients.selectors import SEARCH_MIN_CHARS

register = template.Library()


@dataclass
class FamilyPanel:
    members: list[Client] = field(default_factory=list)
    can_edit: bool = False
    min_chars: int = SEARCH_MIN_CHARS


@register.simple_tag
def family_panel(client: Client, membership: Membership | None) -> FamilyPanel:
    """The client's family members for staff of the clinic (audited as a list read); nothing for the portal."""
    if membership is None or not membership.can(Capability.VIEW_DEMOGRAPHICS):
        return FamilyPanel()
    members = family_of(client)
    if members:
        audit_many(action=Action.LIST, objects=members, clinic=client.clinic_id, role=membership.role)
    return FamilyPanel(members=members, can_edit=membership.can(Capability.EDIT_DEMOGRAPHICS))
