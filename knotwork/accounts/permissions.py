"""The one place that decides who reaches which clinic, and what their role lets them do.

Every object is fetched through a ``get_<obj>_for_user()`` helper built on these functions:
another clinic's object is a 404 (its existence is not revealed), a role without the needed
capability is a 403.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from knotwork.accounts.models import Membership


def membership_for(user: Any, clinic_id: int | None) -> Membership | None:
    if clinic_id is None or not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.active().select_related("clinic").filter(user=user, clinic_id=clinic_id).first()


def require(membership: Membership | None, capability: str) -> Membership:
    """The membership if it grants ``capability``; 404 without one, 403 if the role lacks it."""
    if membership is None:
        raise Http404("No such record")
    if not membership.can(capability):
        raise PermissionDenied(f"Your role ({membership.get_role_display()}) cannot do this.")
    return membership
