from __future__ import annotations

from typing import Any

from django import template

from knotwork.assessment.selectors import assessments_for_client
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many

register = template.Library()


@register.simple_tag
def client_assessments(client: Any, membership: Any) -> list[Any]:
    """The client's assessments for the client page panel (the page has already checked clinical access)."""
    rows = list(assessments_for_client(client)[:20])
    audit_many(action=Action.LIST, objects=rows, clinic=client.clinic_id, role=getattr(membership, "role", ""))
    return rows


@register.filter
def fmt_measure(value: float | None, unit: str = "°") -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value}{unit}"
    return f"{value:+.1f}{unit}" if unit in ("°", "%", "cm") and value < 0 else f"{value:.1f}{unit}"


@register.filter
def signed(value: float | int | None) -> str:
    if value is None:
        return "—"
    return f"{value:+.1f}" if isinstance(value, float) else f"{value:+d}"


@register.filter
def dictget(mapping: dict[Any, Any], key: Any) -> Any:
    return mapping.get(key)
