"""Template helpers for pages outside billing that show a card on file or the fee policy without
their views knowing about either: ``{% load cardfile %}``."""

from __future__ import annotations

from typing import Any

from django import template

from knotwork.billing import fees, stripejs
from knotwork.billing.models import SavedCard

register = template.Library()


@register.simple_tag
def saved_card_of(client: Any) -> SavedCard | None:
    """The client's saved card, or None (``{% saved_card_of client as card %}``)."""
    return SavedCard.objects.filter(client=client).first() if client is not None else None


@register.simple_tag
def fee_policy_sentence(clinic: Any, service: Any = None) -> str:
    """The clinic's cancellation and no-show fees in one sentence (see fees.policy_sentence)."""
    return fees.policy_sentence(clinic, service) if clinic is not None else ""


@register.simple_tag
def stripe_js_url() -> str:
    """Where Stripe.js is loaded from (``STRIPE_JS_URL``; see knotwork/billing/stripejs.py)."""
    return stripejs.js_url()
