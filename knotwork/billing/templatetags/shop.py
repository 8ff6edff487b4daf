"""``{% load shop %}``: the "Buy a gift card" link for pages outside billing (a therapist's public
profile), shown only where gift cards can be bought online (card payments set up)."""

from __future__ import annotations

from typing import Any

from django import template

from knotwork.billing.providers import online_payments_configured

register = template.Library()


@register.inclusion_tag("billing/_shop_link.html")
def gift_card_link(clinic: Any) -> dict[str, Any]:
    return {"clinic": clinic, "show": clinic is not None and online_payments_configured()}
