"""Deposits and prepayment when a client books online (docs/money.md, "Deposits and prepayment").

A service whose payment policy is a deposit or prepayment is booked in three steps:

1. **Keep the hold.** The client confirms the held time; instead of booking it, Knotwork keeps
   the hold for them for :data:`HOLD_MINUTES` more and issues the visit's invoice (the service
   at the booked price, the invoice a check-out would use later), so the deposit is a part
   payment of the visit and the rest is paid at the desk.
2. **Take the card.** The client saves a card through Stripe (the card-on-file set-up, see
   :mod:`knotwork.billing.cardfile`) or uses the one they saved before, and Knotwork charges the
   deposit to it at once, under an idempotency key made of the invoice, the card and the amount.
3. **Book.** When the money is recorded (by the charge's answer, or by the webhook if it answers
   first; :func:`card_payment_recorded` runs for both) the hold becomes a confirmed booking. If the
   hold lapsed meanwhile and someone else took the time, the deposit is refunded in full to the
   card and the invoice voided, and the client is asked to choose another time.

A hold whose deposit never comes lapses like any hold; :func:`void_unpaid` (run with the reminder
sweep) voids its invoice so it is not left owing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.billing import fees, services
from knotwork.billing.models import CardIntent, CardIntentStatus, Invoice, InvoiceStatus, Payment, SavedCard
from knotwork.billing.providers import CardDeclined, PaymentProvider, ProviderError
from knotwork.billing.selectors import invoice_money, payment_refundable
from knotwork.bookings import services as bookings
from knotwork.bookings.models import Appointment, AppointmentStatus
from knotwork.clients.models import Client

log = logging.getLogger(__name__)

HOLD_MINUTES = 15
"""How long a held time stays the client's while they pay for it."""

LAPSED_REASON = "The online booking was not completed: the deposit was not paid."
LAPSED_MESSAGE = "This booking lapsed before the deposit was paid. Please choose a time again."
TAKEN_REASON = "The time was taken while the deposit was being paid; the deposit was refunded."


@dataclass(frozen=True)
class Outcome:
    state: str
    """``booked`` | ``processing`` | ``declined`` | ``no_card`` | ``unreachable`` | ``refunded`` | ``gone``"""
    message: str = ""
    appointment: Appointment | None = None


def amount_due(appointment: Appointment) -> Decimal:
    """What booking ``appointment`` takes by card at once."""
    return appointment.service.paid_when_booking(appointment.price)


def deposit_needed(appointment: Appointment) -> bool:
    return appointment.service.takes_payment_when_booking and amount_due(appointment) > 0


@transaction.atomic
def deposit_start(*, hold: Appointment, token: str, client: Client, user: Any, policy: str) -> Invoice:
    """Keep the hold for ``client`` while they pay, and issue the visit's invoice. ``policy`` is the
    cancellation sentence they were shown and agreed to; it is kept in the audit trail."""
    hold = bookings.hold_keep_for_payment(hold=hold, token=token, client=client, minutes=HOLD_MINUTES)
    invoice = services.invoice_from_appointment(appointment=hold, actor=user)
    if invoice.status == InvoiceStatus.DRAFT:
        invoice = services.invoice_issue(invoice=invoice, actor=user)
    detail = {"event": "deposit_started", "invoice": invoice.pk, "due": str(amount_due(hold)), "policy_agreed": policy}
    audit_record(action=Action.UPDATE, obj=hold, actor=user, role="client", detail=detail)
    return invoice


def still_due(invoice: Invoice) -> Decimal:
    """What is still to pay of the booking's deposit (or prepayment) on ``invoice``."""
    appointment = invoice.appointment
    if appointment is None:
        return Decimal("0.00")
    money = invoice_money(invoice)
    return max(min(amount_due(appointment) - money.paid, money.balance), Decimal("0.00"))


def deposit_charge(*, invoice: Invoice, provider: PaymentProvider) -> Outcome:
    """Charge what is still due of the deposit to the client's saved card, then book.

    Safe to repeat: the idempotency key is the invoice, the card and the amount, so a second
    press, or a retry after the provider's answer was lost, is the same charge to the provider."""
    invoice = Invoice.objects.select_related("appointment", "appointment__service", "client", "clinic").get(pk=invoice.pk)
    if invoice.status != InvoiceStatus.ISSUED:
        return Outcome("gone", LAPSED_MESSAGE)
    due = still_due(invoice)
    if due <= 0:
        return settle(invoice)
    card = SavedCard.objects.filter(client_id=invoice.client_id).first()
    if card is None:
        return Outcome("no_card", "Save a card to pay the deposit.")
    minor = provider.to_minor_units(due, invoice.currency)
    key = f"knotwork-deposit-{invoice.pk}-{card.payment_method_id}-{invoice.currency}-{minor}"
    metadata = {
        "knotwork_invoice": str(invoice.pk), "knotwork_clinic": str(invoice.clinic_id), "invoice_number": invoice.number,
        "knotwork_deposit": str(invoice.appointment_id),
    }  # fmt: skip
    try:
        remote = provider.charge_saved_card(
            customer_id=card.customer_id, payment_method_id=card.payment_method_id, amount=minor, currency=invoice.currency,
            idempotency_key=key, metadata=metadata,
        )  # fmt: skip
    except CardDeclined as exc:
        audit_record(
            action=Action.UPDATE,
            obj=invoice,
            clinic=invoice.clinic_id,
            role="client",
            detail={"event": "deposit_declined", "code": exc.code},
        )
        return Outcome("declined", "Your card was declined. Try another card, or contact the clinic.")
    except ProviderError:
        return Outcome("unreachable", "Card payments cannot be reached just now. Please try again in a minute.")
    with transaction.atomic():
        card_intent, _ = CardIntent.objects.get_or_create(
            intent_id=remote.id,
            defaults={
                "clinic_id": invoice.clinic_id, "client_id": invoice.client_id, "invoice": invoice, "provider": provider.name,
                "idempotency_key": key, "amount": provider.from_minor_units(remote.amount, remote.currency), "currency": remote.currency,
            },
        )  # fmt: skip
        if remote.status == "succeeded":
            from knotwork.billing import online

            online.record_card_payment(
                card=card_intent, amount=provider.from_minor_units(remote.amount, remote.currency), currency=remote.currency
            )
    if remote.status == "succeeded":
        return settle(invoice)
    if remote.status in ("processing", "requires_capture"):
        return Outcome("processing", "Your bank is still confirming the payment. This page will show the booking when it does.")
    try:
        provider.cancel_payment_intent(remote.id)
    except ProviderError:
        log.warning("could not cancel deposit intent %s", remote.id)
    return Outcome("declined", "Your bank asked for an approval this page cannot give. Try another card, or contact the clinic.")


def card_payment_recorded(*, invoice_id: int | None) -> None:
    """Called (inside the recording transaction) whenever an online card payment is recorded: book
    the hold the invoice was issued for once its deposit is covered."""
    if invoice_id is None:
        return
    invoice = Invoice.objects.select_related("appointment", "appointment__service").filter(pk=invoice_id).first()
    if (
        invoice is not None
        and invoice.appointment is not None
        and invoice.appointment.status in (AppointmentStatus.HELD, AppointmentStatus.EXPIRED)
    ):
        transaction.on_commit(lambda: settle(invoice))


def settle(invoice: Invoice) -> Outcome:
    """Book the hold once its deposit is paid; refund the deposit if the time has gone meanwhile."""
    with transaction.atomic():
        appointment = (
            Appointment.objects.select_for_update(of=("self",))  # the client is a nullable join
            .select_related("client", "service", "clinic")
            .filter(pk=invoice.appointment_id or 0)
            .first()
        )
        if appointment is None:
            return Outcome("gone", "This booking no longer exists.")
        if appointment.status not in (AppointmentStatus.HELD, AppointmentStatus.EXPIRED):
            done = appointment.status in (AppointmentStatus.CONFIRMED, AppointmentStatus.REQUESTED)
            return Outcome("booked" if done else "gone", "", appointment if done else None)
        invoice.refresh_from_db()
        if invoice.status != InvoiceStatus.ISSUED:  # voided after the hold lapsed unpaid: nothing books it now
            return Outcome("gone", LAPSED_MESSAGE)
        if still_due(invoice) > 0:
            return Outcome("processing", "The deposit has not been received yet.")
        user = appointment.client.portal_user if appointment.client is not None else None
        try:
            with transaction.atomic():
                booked = bookings.hold_confirm_paid(hold=appointment, actor=bookings.Actor(user=user))
        except bookings.BookingError as exc:
            failure = exc
        else:
            return Outcome("booked", "", booked)
    return _refund_taken(invoice, failure)


def _refund_taken(invoice: Invoice, failure: Exception) -> Outcome:
    """The time went while the deposit was being paid: give the money back and void the invoice."""
    from knotwork.billing import online

    log.info("deposit for invoice %s paid but the booking failed (%s): refunding", invoice.pk, failure)
    paid = Payment.objects.filter(card_intent__invoice=invoice, card_intent__status=CardIntentStatus.SUCCEEDED)
    for payment in paid:
        refundable = payment_refundable(payment)
        if refundable > 0:
            online.refund_payment(payment=payment, actor=None, amount=refundable, reason=TAKEN_REASON)  # type: ignore[arg-type]
    invoice.refresh_from_db()
    if invoice.status == InvoiceStatus.ISSUED and invoice_money(invoice).paid <= 0:
        services.invoice_void(invoice=invoice, actor=None, reason=TAKEN_REASON)  # type: ignore[arg-type]
    return Outcome("refunded", "Sorry: someone else booked this time while you were paying. Your deposit has been refunded to your card.")


VOID_AFTER = timedelta(minutes=30)
"""A lapsed hold's invoice is voided this long after the hold ended, so a payment still on its way
(a bank's slow answer) finds the invoice and can still book the time if it is free."""


def void_unpaid(*, now: datetime | None = None) -> int:
    """Void the invoices of online bookings whose hold lapsed before any deposit was paid."""
    cutoff = (now or timezone.now()) - VOID_AFTER
    lapsed = Invoice.objects.filter(
        Q(appointment__status=AppointmentStatus.EXPIRED) | Q(appointment__status=AppointmentStatus.HELD),
        status=InvoiceStatus.ISSUED, appointment__hold_expires_at__lt=cutoff,
    ).exclude(appointment__service__payment_policy__in=fees.CARD_CHOICES)  # fmt: skip
    voided = 0
    for invoice in lapsed.select_related("appointment"):
        if invoice_money(invoice).paid > 0 or CardIntent.objects.filter(invoice=invoice, status=CardIntentStatus.OPEN).exists():
            continue
        try:
            services.invoice_void(invoice=invoice, actor=None, reason=LAPSED_REASON)  # type: ignore[arg-type]
        except services.BillingError:
            continue
        voided += 1
    return voided
