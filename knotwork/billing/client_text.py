"""What billing writes to a client in their language (docs/i18n.md): amounts in the active
language's usage for e-mail subjects and texts, and the gift card's e-mail.

The caller picks the language (``with client_translation(client):``); pages print amounts with
Django's own localisation (``{{ currency }} {{ amount }}``), which these match.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy

from knotwork.billing.money import format_money


def money_text(amount: Decimal, currency: str) -> str:
    """``GBP 1,234.50`` in English, ``GBP 1.234,50`` in Spanish, ``GBP 1 234,50`` in French."""
    return format_money(amount, currency, localized=True)


def gift_card_message(card: Any, code: str) -> tuple[str, str]:
    """Subject and text of the e-mail that hands a gift card's code over, in the active language
    (the buyer's: the recipient may not be a client of the clinic)."""
    context = {"card": card, "code": code, "clinic": card.clinic, "value": money_text(card.initial_value, card.currency)}
    subject = gettext("Your gift card for %(clinic)s") % {"clinic": card.clinic.name}
    return subject, render_to_string("billing/email/gift_card.txt", context)


# A payment method's name as clients read it: on their statement, receipts e-mailed to them and the
# portal. Staff pages, reports and CSV exports keep the model's English labels.
METHOD_WORDS: dict[str, Promise] = {
    "cash": pgettext_lazy("payment method", "Cash"),
    "card_terminal": pgettext_lazy("payment method", "Card (terminal)"),
    "bank_transfer": pgettext_lazy("payment method", "Bank transfer"),
    "cheque": pgettext_lazy("payment method", "Cheque"),
    "store_credit": pgettext_lazy("payment method", "Store credit"),
    "card_online": pgettext_lazy("payment method", "Card (online)"),
    "other": pgettext_lazy("payment method", "Other"),
    "gift_card": pgettext_lazy("payment method", "Gift card"),
    "package": pgettext_lazy("payment method", "Package session"),
    "membership": pgettext_lazy("payment method", "Membership credit"),
}


def method_words(method: str) -> str:
    """The payment method ``method`` (a ``PaymentMethod`` value) in the active language."""
    words = METHOD_WORDS.get(method)
    return str(words) if words is not None else method
