"""Receipts by e-mail: after a payment is recorded — at the desk, online, or a fee charged to the
saved card — the client gets the payment receipt PDF by e-mail, once (docs/money.md, "Receipts
for insurers").

**Once per payment.** ``payment_record`` calls :func:`on_payment_recorded`, which enqueues the
``send_payment_receipt`` task after the commit (a rolled-back payment sends nothing). The task
claims the send in a short transaction: it locks the payment row, looks for the audit event a
receipt leaves (``export`` of the payment with ``event = receipt_emailed``) and writes it when there
is none; then it sends. Two workers, a retried task or a second enqueue therefore send one
message. A send the mail server refuses writes ``receipt_email_failed``, so a retry may send
again; a worker killed between its claim and the send leaves the receipt unsent (the desk's button
sends it). The desk's "Send receipt by e-mail" button sends on purpose, audited the same way.

An order paid in the online shop is left to the shop's own receipt (``knotwork.billing.shop``).

**Who gets it.** The client's own e-mail address, when there is one and the client still accepts
e-mail from the clinic (``Client.reminders_by_email``, the one e-mail preference a client sets;
the desk's button is an explicit request and goes regardless). The demo clinic sends none.

**What it says.** Amount, date, method, invoice numbers, what was kept as credit and, for a fee,
which appointment it was for and the card's brand and last four digits. Nothing clinical: the
attached PDF is the plain payment receipt (no diagnosis codes; superbills are downloaded).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django_tasks import task

from knotwork.audit.models import Action, AuditEvent
from knotwork.audit.services import audit_record
from knotwork.billing import money
from knotwork.billing.client_text import money_text
from knotwork.billing.models import Fee, FeeKind, FeeStatus, Payment, SavedCard
from knotwork.billing.receipts import payment_receipt_pdf
from knotwork.billing.selectors import invoices_paid_by, payment_refunded
from knotwork.clients.language import client_translation, clinic_translation
from knotwork.lib.mail import send_email
from knotwork.lib.urls import absolute_url

log = logging.getLogger(__name__)

SENT_EVENT, FAILED_EVENT = "receipt_emailed", "receipt_email_failed"
SENT, ALREADY_SENT, NO_ADDRESS, OPTED_OUT, GONE = "sent", "already sent", "no address", "opted out", "gone"
SHOP_ORDER = "shop order"
FEE_WORDS: dict[str, Any] = {FeeKind.LATE_CANCEL: gettext_lazy("late cancellation fee"), FeeKind.NO_SHOW: gettext_lazy("no-show fee")}


def on_payment_recorded(payment: Payment) -> None:
    """Called by ``payment_record`` inside its transaction: the receipt goes after the commit."""
    if payment.clinic.is_demo:
        return
    payment_id = payment.pk
    transaction.on_commit(lambda: send_payment_receipt.enqueue(payment_id))


def already_sent(payment: Payment) -> bool:
    """An automatic receipt was claimed for the payment and its sending did not fail."""
    events = AuditEvent.objects.filter(object_type=Payment._meta.label_lower, object_id=str(payment.pk), action=Action.EXPORT)
    events = events.filter(detail__again=False)
    return events.filter(detail__event=SENT_EVENT).count() > events.filter(detail__event=FAILED_EVENT).count()


def _shop_order(payment: Payment) -> bool:
    """An order paid in the online shop gets the shop's own receipt (knotwork.billing.shop)."""
    from knotwork.billing.shop import orders

    paid = [invoice.pk for invoice, _ in invoices_paid_by(payment)]
    return bool(paid) and orders().filter(pk__in=paid).count() == len(paid)


def receipt_message(payment: Payment) -> dict[str, Any]:
    """Subject, text and attachment of the receipt e-mail; the subject and text in the client's
    language (the PDF stays in the clinic's, like every invoice and receipt)."""
    with client_translation(payment.client):
        return _receipt_message(payment)


def _receipt_message(payment: Payment) -> dict[str, Any]:
    paid = invoices_paid_by(payment)
    applied = sum((amount for _, amount in paid), money.ZERO)
    kept = payment.amount - applied - payment_refunded(payment)
    fee = (
        Fee.objects.filter(invoice__in=[i for i, _ in paid]).exclude(status=FeeStatus.WAIVED).select_related("appointment__service").first()
    )
    context = {
        "payment": payment, "client": payment.client, "clinic": payment.clinic, "invoices": [i for i, _ in paid],
        "amount": money_text(payment.amount, payment.currency),
        "kept": money_text(kept, payment.currency) if kept > 0 else "",
        "at": timezone.localtime(payment.at, payment.clinic.tz),
        "fee": fee, "fee_words": str(FEE_WORDS.get(fee.kind, gettext_lazy("fee"))) if fee else "",
        "card": SavedCard.objects.filter(client_id=payment.client_id).first() if fee else None,
        "link": absolute_url(reverse("portal_invoices", args=[payment.client_id])),
    }  # fmt: skip
    what = f"{context['fee_words']}, {context['amount']}" if fee else context["amount"]
    text = render_to_string("billing/email/payment_receipt.txt", context)
    subject = gettext("Receipt from %(clinic)s: %(what)s") % {"clinic": payment.clinic.name, "what": what}
    with clinic_translation():
        pdf = payment_receipt_pdf(payment)
    return {"subject": subject, "text": text, "attachments": [(f"receipt-{payment.pk}.pdf", pdf, "application/pdf")]}


def payment_receipt_send(*, payment: Payment, actor: Any = None, role: str = "system", again: bool = False) -> str:
    """E-mail the payment's receipt to the client. Automatic sends (``again=False``) happen once
    per payment and respect the client's e-mail preference; the desk's button (``again=True``)
    sends whenever asked. Returns what happened (``SENT``, ``ALREADY_SENT``, ``NO_ADDRESS``, …).

    The message (and its PDF) is made first and sent after a short transaction that claims the
    send, so no lock is held while the mail server answers (on SQLite a write transaction holds
    the whole database). A send that fails is recorded, which frees the claim for a retry.
    """
    outcome, message = _claim(payment=payment, actor=actor, role=role, again=again)
    if outcome != SENT:
        return outcome
    try:
        send_email(**message)
    except Exception:
        audit_record(
            action=Action.EXPORT, obj=payment, clinic=payment.clinic_id, actor=actor, role=role,
            detail={"event": FAILED_EVENT, "format": "email", "again": again},
        )  # fmt: skip
        raise
    return SENT


def _refusal(payment: Payment, again: bool) -> str:
    client = payment.client
    if not client.email or client.restricted_at is not None:
        return NO_ADDRESS
    if not again and not client.reminders_by_email:
        return OPTED_OUT
    if not again and _shop_order(payment):
        return SHOP_ORDER
    return ""


def _claim(*, payment: Payment, actor: Any, role: str, again: bool) -> tuple[str, dict[str, Any]]:
    fresh = Payment.objects.select_related("clinic", "client").filter(pk=payment.pk).first()
    if fresh is None:
        return GONE, {}
    payment = fresh
    refused = _refusal(payment, again) or (ALREADY_SENT if not again and already_sent(payment) else "")
    if refused:
        return refused, {}
    message = {**receipt_message(payment), "to": payment.client.email, "clinic": payment.clinic}
    with transaction.atomic():
        # The payment's row lock queues concurrent senders; the first one's claim stops the rest.
        Payment.objects.select_for_update().filter(pk=payment.pk).first()
        if not again and already_sent(payment):
            return ALREADY_SENT, {}
        audit_record(
            action=Action.EXPORT, obj=payment, clinic=payment.clinic_id, actor=actor, role=role,
            detail={"event": SENT_EVENT, "format": "email", "again": again},
        )  # fmt: skip
    return SENT, message


@task()
def send_payment_receipt(payment_id: int) -> str:
    """The automatic receipt (see the module docstring); safe to run twice."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        return GONE
    return payment_receipt_send(payment=payment)
