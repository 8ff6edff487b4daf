"""Money words on pages and e-mails clients read, in their language (docs/i18n.md)."""

from __future__ import annotations

from django import template

from knotwork.billing.client_text import method_words

register = template.Library()


@register.filter(name="method_words")
def method_words_filter(method: str) -> str:
    """``{{ payment.method|method_words }}``: the payment method's name in the active language."""
    return method_words(method)
