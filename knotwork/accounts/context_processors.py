from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from knotwork.accounts.models import Capability


def clinic(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    return {
        "current_clinic": getattr(request, "clinic", None),
        "current_membership": membership,
        "memberships": getattr(request, "memberships", []),
        "can": {c.value: bool(membership and membership.can(c)) for c in Capability},
        "is_client_user": bool(
            getattr(request, "user", None) and request.user.is_authenticated and not getattr(request, "is_staff_member", False)
        ),
    }
