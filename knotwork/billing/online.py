"""Online card payments: a payment intent for what an invoice owes, the provider's confirmations
recorded exactly once, and refunds sent back to the card (docs/money.md, "Online payments").

The provider's webhook is the source of truth: money is recorded when a signed
``payment_intent.succeeded`` arrives, through the same ``payment_record`` service the desk uses,
so the ledger entries and the audit event are the ones any payment gets. Idempotency comes from
two unique keys: the event id (``ProviderEvent``) and the intent id (``Payment.intent_id``).
Every write takes the clinic's money lock first, like every other money write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction

from knotwork.accounts.models import User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.billing import selectors, services
from knotwork.billing.models import (
    CardIntent,
    CardIntentStatus,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    ProviderEvent,
)
from knotwork.billing.money import format_money
from knotwork.billing.providers import PaymentProvider, ProviderError, WebhookEvent, get_provider
from knotwork.billing.services import BillingError, _amount, _lock_clinic

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")

# Intent statuses in which the client can still enter a card, and in which money is on its way.
PAYABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})
UNDER_WAY = frozenset({"processing", "requires_capture", "succeeded"})


@dataclass(frozen=True)
class Checkout:
    """What the pay page shows: a card form (``pay``), ``processing``, or ``nothing_owed``."""

    state: str
    amount: Decimal
    currency: str
    client_secret: str = ""
    intent_id: str = ""


def _cancel_quietly(provider: PaymentProvider, intent_id: str) -> None:
    """Best effort: an intent nobody will be shown again should not stay payable."""
    try:
        provider.cancel_payment_intent(intent_id)
    except ProviderError:
        log.warning("could not cancel the unused payment intent %s", intent_id)


def checkout_open(*, invoice: Invoice, provider: PaymentProvider) -> Checkout:
    """The payment intent for what ``invoice`` still owes, for its own client on the portal.

    Reuses the invoice's open intent while it is for that amount; otherwise cancels it and opens
    a new one under an idempotency key made of the invoice, the attempt and the amount, so two
    page loads at once get one intent. Raises ProviderError when the provider cannot be reached.
    """
    owed = selectors.invoice_money(invoice).balance
    if invoice.status != InvoiceStatus.ISSUED or invoice.kind != DocumentKind.INVOICE or owed <= 0:
        return Checkout(state="nothing_owed", amount=max(owed, ZERO), currency=invoice.currency)
    minor = provider.to_minor_units(owed, invoice.currency)
    for card in CardIntent.objects.filter(invoice=invoice, status=CardIntentStatus.OPEN):
        remote = provider.retrieve_payment_intent(card.intent_id)
        if remote.status in UNDER_WAY:
            return Checkout(state="processing", amount=card.amount, currency=card.currency, intent_id=card.intent_id)
        if remote.status in PAYABLE and remote.amount == minor and remote.currency == invoice.currency:
            return Checkout(state="pay", amount=owed, currency=invoice.currency, client_secret=remote.client_secret, intent_id=remote.id)
        # Cancelled at the provider, or for an amount the invoice no longer owes (paid in part at
        # the desk since): retire it so it can never be paid.
        if remote.status != "canceled":
            _cancel_quietly(provider, card.intent_id)
        CardIntent.objects.filter(pk=card.pk, status=CardIntentStatus.OPEN).update(status=CardIntentStatus.CANCELED)
    attempt = CardIntent.objects.filter(invoice=invoice).count()
    key = f"knotwork-invoice-{invoice.pk}-{attempt}-{invoice.currency}-{minor}"
    metadata = {"knotwork_invoice": str(invoice.pk), "knotwork_clinic": str(invoice.clinic_id), "invoice_number": invoice.number}
    remote = provider.create_payment_intent(amount=minor, currency=invoice.currency, idempotency_key=key, metadata=metadata)
    try:
        with transaction.atomic():
            card = CardIntent.objects.create(
                clinic_id=invoice.clinic_id, client_id=invoice.client_id, invoice=invoice, provider=provider.name,
                intent_id=remote.id, idempotency_key=key, amount=owed, currency=invoice.currency,
            )  # fmt: skip
            audit_record(action=Action.CREATE, obj=card, clinic=invoice.clinic, role="client", detail={"invoice": invoice.pk})
    except IntegrityError:
        # Another page load got there first (a real provider hands both the same intent for the
        # same key; one that does not leaves us a spare, which is cancelled): use the stored one.
        card = CardIntent.objects.get(invoice=invoice, idempotency_key=key)
        if card.intent_id != remote.id:
            _cancel_quietly(provider, remote.id)
            remote = provider.retrieve_payment_intent(card.intent_id)
    return Checkout(state="pay", amount=owed, currency=invoice.currency, client_secret=remote.client_secret, intent_id=remote.id)


def checkout_status(*, invoice: Invoice, intent_id: str, provider: PaymentProvider) -> tuple[str, Payment | None] | None:
    """For the return page: the provider's status of one of this invoice's intents and the payment
    recorded for it, if any. None when the intent is not this invoice's."""
    card = CardIntent.objects.filter(invoice=invoice, intent_id=intent_id).first()
    if card is None:
        return None
    remote = provider.retrieve_payment_intent(card.intent_id)
    return remote.status, Payment.objects.filter(intent_id=card.intent_id).first()


# --- Webhooks ---------------------------------------------------------------------------------


def _first_delivery(event: WebhookEvent, provider: PaymentProvider) -> bool:
    """Claim the event id; False when it was already processed (or is being, by a concurrent
    delivery, which this one then waits for on the unique index)."""
    try:
        with transaction.atomic():
            ProviderEvent.objects.create(provider=provider.name, event_id=event.id[:255], type=event.type[:100])
    except IntegrityError:
        return False
    return True


def _outcome(event: WebhookEvent, provider: PaymentProvider, outcome: str, payment: Payment | None = None) -> str:
    ProviderEvent.objects.filter(provider=provider.name, event_id=event.id[:255]).update(outcome=outcome[:300], payment=payment)
    return outcome


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


@transaction.atomic
def _intent_succeeded(event: WebhookEvent, provider: PaymentProvider) -> str:
    obj = event.object
    intent_id = _text(obj.get("id"))
    card = CardIntent.objects.filter(intent_id=intent_id).first() if intent_id else None
    if card is None and intent_id:
        from knotwork.billing import fees

        # A fee charged off-session whose worker died before it wrote the intent down.
        card = fees.adopt_intent(intent_id=intent_id, metadata=obj.get("metadata"), provider=provider)
        if card is None:
            from knotwork.billing import membership_billing

            # The same for a membership period's charge.
            card = membership_billing.adopt_intent(intent_id=intent_id, metadata=obj.get("metadata"), provider=provider)
    if card is None:
        return "ignored: not an intent Knotwork opened"
    _lock_clinic(card.clinic_id)
    if not _first_delivery(event, provider):
        return "duplicate: already processed"
    if Payment.objects.filter(intent_id=intent_id).exists():
        return _outcome(event, provider, "duplicate: the payment of this intent is already recorded")
    currency = _text(obj.get("currency")).upper()
    received = obj.get("amount_received") or obj.get("amount")
    amount = provider.from_minor_units(received, currency)  # type: ignore[arg-type]
    payment, _ = record_card_payment(card=card, amount=amount, currency=currency)
    return _outcome(event, provider, f"recorded payment {payment.pk} of {format_money(amount, currency)}", payment)


def record_card_payment(*, card: CardIntent, amount: Decimal, currency: str) -> tuple[Payment, bool]:
    """Record the money the provider received for one of Knotwork's intents, once: the webhook and
    the fee charge both come here, holding the clinic's money lock, so whichever is second finds
    the payment (``Payment.intent_id`` is unique besides). Returns the payment and whether it is new."""
    _lock_clinic(card.clinic_id)
    existing = Payment.objects.filter(intent_id=card.intent_id).first()
    if existing is not None:
        return existing, False
    invoice = Invoice.objects.get(pk=card.invoice_id)
    # Money received is always recorded: if the invoice can no longer take it (voided meanwhile),
    # it becomes the client's store credit, which the desk can refund.
    targets = [invoice] if invoice.status == InvoiceStatus.ISSUED and invoice.currency == currency else []
    payment = services.payment_record(
        clinic=card.clinic, client=card.client, actor=None, method=PaymentMethod.CARD_ONLINE, amount=amount, currency=currency,
        invoices=targets, reference=card.intent_id[:100], intent_id=card.intent_id,
    )  # fmt: skip
    CardIntent.objects.filter(pk=card.pk).update(status=CardIntentStatus.SUCCEEDED, payment=payment)
    from knotwork.billing import fees

    fees.card_payment_recorded(invoice_id=card.invoice_id, payment=payment)
    from knotwork.billing import deposits

    deposits.card_payment_recorded(invoice_id=card.invoice_id)  # an online booking's deposit books the time
    from knotwork.billing import shop

    shop.card_payment_recorded(invoice_id=card.invoice_id, payment=payment)  # an online order's receipt
    return payment, True


@transaction.atomic
def _charge_refunded(event: WebhookEvent, provider: PaymentProvider) -> str:
    """A refund made at the provider (its dashboard, or ours if our own write was lost): record
    whatever of the charge's refunded total the ledger does not show yet, once."""
    obj = event.object
    intent_id = _text(obj.get("payment_intent"))
    payment = Payment.objects.select_related("client").filter(intent_id=intent_id).first() if intent_id else None
    if payment is None:
        return "ignored: not a payment Knotwork recorded"
    _lock_clinic(payment.clinic_id)
    if not _first_delivery(event, provider):
        return "duplicate: already processed"
    refunded = provider.from_minor_units(obj.get("amount_refunded"), payment.currency)  # type: ignore[arg-type]
    due = refunded - selectors.payment_refunded(payment)
    if due <= 0:
        return _outcome(event, provider, "nothing new: every refund of this charge is recorded", payment)
    take = min(due, selectors.payment_refundable(payment))
    if take <= 0:
        log.error("charge refunded at the provider beyond what payment %s can give back (%s)", payment.pk, due)
        return _outcome(event, provider, f"not recorded: {due} refunded but nothing of payment {payment.pk} is left", payment)
    services.payment_refund(payment=payment, actor=None, amount=take, reason="Refunded at the card provider", provider_refund=event.id)
    return _outcome(event, provider, f"recorded a refund of {format_money(take, payment.currency)}", payment)


def _setup_succeeded(event: WebhookEvent, provider: PaymentProvider) -> str:
    from knotwork.billing import cardfile

    return cardfile.setup_succeeded_event(event=event, provider=provider, claim=_first_delivery, outcome=_outcome)


HANDLERS = {"payment_intent.succeeded": _intent_succeeded, "charge.refunded": _charge_refunded, "setup_intent.succeeded": _setup_succeeded}


def webhook_process(*, event: WebhookEvent, provider: PaymentProvider) -> str:
    """Act on one verified event and say what was done. Event types Knotwork does not use are
    acknowledged and forgotten; a refusal of the money services is kept with the event and logged
    (the provider would only retry it in vain)."""
    handler = HANDLERS.get(event.type)
    if handler is None:
        return "ignored: event type not used"
    try:
        return handler(event, provider)
    except (BillingError, ProviderError) as exc:
        log.error("payment provider event %s (%s) could not be recorded: %s", event.id, event.type, exc)
        if _first_delivery(event, provider):
            _outcome(event, provider, f"refused: {exc}")
        return f"refused: {exc}"


# --- Refunds from the desk --------------------------------------------------------------------


def refund_payment(*, payment: Payment, actor: User, amount: object, reason: str = "", provider: PaymentProvider | None = None) -> Decimal:
    """The desk's refund of any payment: an online card payment goes back to the card through its
    provider (and is recorded only if the provider accepted it); any other is recorded as given."""
    if payment.method != PaymentMethod.CARD_ONLINE:
        return services.payment_refund(payment=payment, actor=actor, amount=amount, reason=reason)
    provider = provider or get_provider()
    if provider is None:
        raise BillingError("Online card payments are not set up here, so this refund cannot be sent back to the card.")
    return _card_refund(payment=payment, actor=actor, amount=amount, reason=reason, provider=provider)


@transaction.atomic
def _card_refund(*, payment: Payment, actor: User, amount: object, reason: str, provider: PaymentProvider) -> Decimal:
    """Check, ask the provider, then write — all under the clinic's lock, so the provider's own
    ``charge.refunded`` for this refund waits and then finds it recorded. If the provider refuses,
    nothing is written; if this transaction is lost after the provider refunded, that webhook
    records it. The idempotency key (payment, refunded so far, amount) makes a retried request
    return the same refund instead of a second one."""
    value = _amount(amount, payment.currency)
    _lock_clinic(payment.clinic_id)
    limit = selectors.payment_refundable(payment)
    if value > limit:
        raise BillingError(f"At most {format_money(limit, payment.currency)} of this payment can be refunded.", field="amount")
    services.payment_refund_check(payment=payment, amount=value)  # a used gift card or package sold with it
    before = provider.to_minor_units(selectors.payment_refunded(payment), payment.currency)
    minor = provider.to_minor_units(value, payment.currency)
    try:
        refund = provider.refund(
            intent_id=payment.intent_id, amount=minor, idempotency_key=f"knotwork-refund-{payment.pk}-{before}-{minor}",
            metadata={"knotwork_payment": str(payment.pk)},
        )  # fmt: skip
    except ProviderError as exc:
        raise BillingError(f"The card provider did not refund: {exc}", field="amount") from exc
    if refund.status in ("failed", "canceled"):
        raise BillingError("The card provider refused the refund.", field="amount")
    return services.payment_refund(payment=payment, actor=actor, amount=value, reason=reason, provider_refund=refund.id)
