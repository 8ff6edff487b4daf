"""Charging a client's saved card off-session for what an invoice owes: the steps a cancellation
fee (fees.py) and a membership period (membership_billing.py) take alike. Each caller keeps its
own row, statuses, audit events and retry rules; the callers hold the clinic's money lock and the
row in a transaction around every call here (docs/money.md, "Card on file and fees").

The idempotency key is ``knotwork-<kind>-<invoice>-<attempt>-<currency>-<minor units>``, committed
on the caller's row before the provider is called, so a retry after a lost answer is the same
charge to the provider.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.db import models

from knotwork.billing.models import CardIntent, CardIntentStatus, Invoice, SavedCard
from knotwork.billing.providers import CardDeclined, Intent, PaymentProvider, ProviderError

log = logging.getLogger(__name__)

Row = TypeVar("Row", bound=models.Model)

# What the provider's status of a sent charge comes to (see settle).
PAID, PENDING, FAILED = "paid", "pending", "failed"


def set_status(row: Row, status: str, problem: str = "", **fields: Any) -> Row:
    """Save the row's status and the desk's sentence (cut to 300 characters), with other fields."""
    row.status, row.problem = status, problem[:300]  # type: ignore[attr-defined]
    for name, value in fields.items():
        setattr(row, name, value)
    row.save(update_fields=["status", "problem", "updated_at", *fields])
    return row


def charge_key(kind: str, invoice_id: int, attempt: int, currency: str, minor: int) -> str:
    return f"knotwork-{kind}-{invoice_id}-{attempt}-{currency}-{minor}"


@dataclass(frozen=True)
class Charge:
    """What became of a charge: ``outcome`` is "no_card", "declined" (with the provider's ``code``),
    "unreachable" (not known whether it went through: the key must be kept) or "sent" (with the
    provider's ``remote`` intent and its ``card_intent`` row)."""

    outcome: str
    code: str = ""
    card_intent: CardIntent | None = None
    remote: Intent | None = None


def record_intent(remote: Intent, *, provider: PaymentProvider, clinic_id: int, client_id: int, invoice_id: int, key: str) -> CardIntent:
    """The row of the provider's intent, once (``intent_id`` is unique)."""
    card_intent, _ = CardIntent.objects.get_or_create(
        intent_id=remote.id,
        defaults={
            "clinic_id": clinic_id, "client_id": client_id, "invoice_id": invoice_id, "provider": provider.name,
            "idempotency_key": key, "amount": provider.from_minor_units(remote.amount, remote.currency), "currency": remote.currency,
        },
    )  # fmt: skip
    return card_intent


def charge_saved_card(
    *,
    provider: PaymentProvider,
    invoice: Invoice,
    client_id: int,
    clinic_id: int,
    owed: Decimal,
    currency: str,
    kind: str,
    attempt: int,
    key: str,
    metadata: dict[str, str],
) -> Charge:
    """Charge ``owed`` to the client's saved card with the committed ``key``; a key taken for
    another amount (part paid at the desk meanwhile) becomes a new attempt's. ``metadata`` names
    the caller's row for the webhook; the invoice and clinic are added here."""
    card = SavedCard.objects.filter(client_id=client_id).first()
    if card is None:
        return Charge("no_card")
    minor = provider.to_minor_units(owed, currency)
    if not key.endswith(f"-{currency}-{minor}"):
        # The amount changed since the key was taken (part paid at the desk): a new attempt.
        key = charge_key(kind, invoice.pk, attempt, currency, minor) + "-b"
    metadata = {
        "knotwork_invoice": str(invoice.pk), **metadata, "knotwork_clinic": str(clinic_id), "invoice_number": invoice.number,
    }  # fmt: skip
    try:
        remote = provider.charge_saved_card(
            customer_id=card.customer_id, payment_method_id=card.payment_method_id, amount=minor, currency=currency,
            idempotency_key=key, metadata=metadata,
        )  # fmt: skip
    except CardDeclined as exc:
        return Charge("declined", code=exc.code)
    except ProviderError:
        return Charge("unreachable")
    card_intent = record_intent(remote, provider=provider, clinic_id=clinic_id, client_id=client_id, invoice_id=invoice.pk, key=key)
    return Charge("sent", card_intent=card_intent, remote=remote)


def read_back(provider: PaymentProvider, intent_id: str) -> tuple[CardIntent, Intent] | None:
    """A charge already sent, read back from the provider (rather than charged again); None when
    the provider cannot be reached."""
    try:
        remote = provider.retrieve_payment_intent(intent_id)
    except ProviderError:
        return None
    return CardIntent.objects.get(intent_id=intent_id), remote


def settle(card_intent: CardIntent, remote: Intent, provider: PaymentProvider, *, what: str) -> str:
    """Act on the provider's status of a sent charge: a success is recorded as a payment (PAID);
    one the bank has not answered yet is left to the webhook (PENDING); anything else is cancelled
    at the provider when it waits for the client's approval, and the intent closed (FAILED)."""
    from knotwork.billing import online

    status = remote.status
    if status == "succeeded":
        amount = provider.from_minor_units(remote.amount, remote.currency)
        online.record_card_payment(card=card_intent, amount=amount, currency=remote.currency)
        return PAID
    if status in ("processing", "requires_capture"):
        return PENDING
    if status == "requires_action":
        try:
            provider.cancel_payment_intent(card_intent.intent_id)
        except ProviderError:
            log.warning("could not cancel %s intent %s that needs the client's approval", what, card_intent.intent_id)
    CardIntent.objects.filter(pk=card_intent.pk, status=CardIntentStatus.OPEN).update(status=CardIntentStatus.CANCELED)
    return FAILED
