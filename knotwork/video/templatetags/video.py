"""``{% video_call_link appointment %}``: the "Join video call" link, shown only to the two people
who have a seat in the call, for an active appointment of a video service."""

from __future__ import annotations

from typing import Any

from django import template

from knotwork.bookings.models import Service

register = template.Library()


@register.inclusion_tag("video/_join_link.html", takes_context=True)
def video_call_link(context: dict[str, Any], appointment: Any, compact: bool = False) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    client = appointment.client
    show = (
        appointment.service.mode == Service.Mode.VIDEO
        and appointment.is_active
        and user is not None
        and user.is_authenticated
        and (appointment.therapist_id == user.pk or (client is not None and client.portal_user_id == user.pk))
    )
    return {"show": show, "a": appointment, "compact": compact}
