"""The dashboard's "today" panel."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import template
from django.utils import timezone

from knotwork.accounts.models import Capability, Membership, Role
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.bookings.selectors import schedule

register = template.Library()


@register.simple_tag
def my_day(membership: Membership | None) -> dict[str, Any]:
    """Today's appointments: a therapist's own; the whole clinic's for owners and front desk. Listed ids are audited."""
    if membership is None or not membership.can(Capability.VIEW_DEMOGRAPHICS):
        return {}
    clinic = membership.clinic
    today = timezone.localdate(timezone=clinic.tz)
    start = datetime.combine(today, time.min, tzinfo=clinic.tz)
    mine = membership.role == Role.THERAPIST
    rows = list(schedule(clinic=clinic, start=start, end=start + timedelta(days=1), therapist_id=membership.user_id if mine else None))
    audit_many(action=Action.LIST, objects=rows, clinic=clinic, role=membership.role)
    return {"rows": rows, "mine": mine, "today": today}
