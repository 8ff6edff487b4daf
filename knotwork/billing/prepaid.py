"""Writes for gift cards and packages: selling them, activating them when paid, spending them at
check-out, and the desk's one-step "settle" that combines them with money (docs/money.md).

Spending goes through ``services.payment_record`` (methods gift card and package session), so a
gift card or a package session is a payment like any other: it sits on the invoice's ledger, it
is audited, it can be refunded (back onto the card, or the session given back), and it mixes with
cash or card on the same invoice. What it does to the card or package is written here and in
``payment_record``, inside the same transaction and under the clinic's money lock.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.crypto import salted_hmac

from knotwork.accounts.models import User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.billing import money
from knotwork.billing.models import (
    HALF_CENT,
    ClientPackage,
    GiftCard,
    GiftCardEntry,
    GiftCardEntryKind,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    PackageEntry,
    PackageEntryKind,
    PackageProduct,
    Payment,
    PaymentMethod,
    PrepaidStatus,
)
from knotwork.billing.selectors import invoice_money, settings_for
from knotwork.billing.services import BillingError, InvalidAmount, _lock_clinic, _role, invoice_create, invoice_issue, invoice_line_add
from knotwork.clients.models import Client
from knotwork.lib.crypto import decrypt, encrypt

log = logging.getLogger(__name__)

# 32 symbols without 0/O and 1/I, so a code read aloud or copied from paper is not mistyped;
# 16 of them are 80 random bits: not guessable, even before the rate limit.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 16
_DIGEST_SALT = "knotwork.billing.gift-card-code"


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: object) -> str:
    """What the person typed, as stored: capitals, without spaces or hyphens; O read as 0 is not
    in the alphabet, so a typo stays a wrong code rather than someone else's."""
    text = str(raw or "")[:64].upper()
    return "".join(ch for ch in text if ch.isalnum())


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def code_digest(code: str) -> str:
    """HMAC-SHA256 of the normalised code under a key derived from SECRET_KEY: what the unique
    index holds. A copy of the database alone does not give anyone a spendable code."""
    return salted_hmac(_DIGEST_SALT, normalise_code(code), algorithm="sha256").hexdigest()


class PrepaidError(BillingError):
    """A gift card or package that cannot be used as asked (expired, empty, not covered...)."""


# --- Selling --------------------------------------------------------------------------------


def _sale_invoice(client: Client, actor: User, invoice: Invoice | None) -> Invoice:
    if invoice is None:
        return invoice_create(clinic=client.clinic, client=client, actor=actor)
    if invoice.client_id != client.pk or invoice.status != InvoiceStatus.DRAFT:
        raise BillingError("Add it to a draft invoice of the same client.", field="invoice")
    return invoice


@transaction.atomic
def gift_card_sell(
    *,
    client: Client,
    actor: User,
    amount: object,
    recipient_name: str = "",
    recipient_email: str = "",
    message: str = "",
    invoice: Invoice | None = None,
) -> tuple[GiftCard, str]:
    """A gift card bought by ``client``: a line on a draft invoice and a card waiting for that
    invoice to be paid. Returns the card and its code, which is never readable again in the clear
    except by the delivery e-mail sent when the card is paid for."""
    conf = settings_for(client.clinic)
    try:
        value = money.parse_amount(amount, conf.currency)
    except money.MoneyError as exc:
        raise InvalidAmount(str(exc), field="amount") from None
    invoice = _sale_invoice(client, actor, invoice)
    code = new_code()
    for_whom = f" for {recipient_name.strip()}" if recipient_name.strip() else ""
    line = invoice_line_add(
        invoice=invoice, actor=actor, kind=LineKind.GIFT_CARD, description=f"Gift card ····{code[-4:]}{for_whom}"[:200], unit_price=value
    )
    card = GiftCard.objects.create(
        clinic=client.clinic, code_digest=code_digest(code), code_encrypted=encrypt(code), last4=code[-4:], initial_value=value,
        currency=invoice.currency, purchaser=client, recipient_name=recipient_name.strip()[:120],
        recipient_email=recipient_email.strip()[:254], message=message.strip()[:300], invoice_line=line, created_by=actor,
    )  # fmt: skip
    audit_record(
        action=Action.CREATE,
        obj=card,
        actor=actor,
        role=_role(actor, client.clinic_id),
        detail={"invoice": invoice.pk, "value": str(value)},
    )
    return card, code


@transaction.atomic
def package_sell(*, client: Client, product: PackageProduct, actor: User, invoice: Invoice | None = None) -> ClientPackage:
    """A package bought by ``client``: a line on a draft invoice; its sessions are granted when paid."""
    if product.clinic_id != client.clinic_id:
        raise BillingError("That package belongs to another clinic.", field="product")
    if not product.is_active:
        raise BillingError("That package is no longer sold.", field="product")
    conf = settings_for(client.clinic)
    if product.currency != conf.currency:
        raise BillingError(f"That package is priced in {product.currency} but the clinic invoices in {conf.currency}.", field="product")
    invoice = _sale_invoice(client, actor, invoice)
    tax_rate = product.tax_rate if product.tax_rate is not None and product.tax_rate.is_active else None
    line = invoice_line_add(
        invoice=invoice, actor=actor, kind=LineKind.PACKAGE, description=f"{product.name} ({product.sessions} sessions)"[:200],
        unit_price=product.price, tax_rate=tax_rate,
    )  # fmt: skip
    package = ClientPackage.objects.create(
        clinic=client.clinic, product=product, client=client, name=product.name, sessions_total=product.sessions,
        price=line.total, currency=invoice.currency, validity_days=product.validity_days, shareable=product.shareable,
        invoice_line=line, created_by=actor,
    )  # fmt: skip
    package.services.set(product.services.all())
    audit_record(action=Action.CREATE, obj=package, actor=actor, role=_role(actor, client.clinic_id), detail={"invoice": invoice.pk})
    return package


def forget_unsold(line: InvoiceLine) -> None:
    """A draft's gift card or package line is being removed: the card or package never existed."""
    GiftCard.objects.filter(invoice_line=line, status=PrepaidStatus.PENDING).delete()
    for package in ClientPackage.objects.filter(invoice_line=line, status=PrepaidStatus.PENDING):
        package.services.clear()
        package.delete()


# --- Activation (inside payment_record, under the clinic's lock) ----------------------------


def activate_paid(invoice: Invoice, actor: User | None) -> None:
    """The invoice is paid in full: its gift cards are loaded and its packages granted."""
    now = timezone.now()
    today = timezone.localdate(now, timezone=invoice.clinic.tz)
    conf = settings_for(invoice.clinic)
    role = _role(actor, invoice.clinic_id)
    for card in GiftCard.objects.select_for_update().filter(invoice_line__invoice=invoice, status=PrepaidStatus.PENDING):
        card.status, card.balance, card.activated_at = PrepaidStatus.ACTIVE, card.initial_value, now
        days = conf.gift_card_validity_days
        card.expires_on = today + timedelta(days=days) if days else None
        card.save(update_fields=["status", "balance", "activated_at", "expires_on"])
        GiftCardEntry.objects.create(
            clinic_id=card.clinic_id, gift_card=card, kind=GiftCardEntryKind.LOAD, amount=card.initial_value, currency=card.currency,
            created_by=actor, at=now,
        )  # fmt: skip
        audit_record(action=Action.UPDATE, obj=card, actor=actor, role=role, detail={"event": "activate", "invoice": invoice.pk})
        transaction.on_commit(partial(gift_card_deliver, card.pk), robust=True)
    for package in ClientPackage.objects.select_for_update().filter(invoice_line__invoice=invoice, status=PrepaidStatus.PENDING):
        package.status, package.sessions_left, package.activated_at = PrepaidStatus.ACTIVE, package.sessions_total, now
        package.expires_on = today + timedelta(days=package.validity_days) if package.validity_days else None
        package.save(update_fields=["status", "sessions_left", "activated_at", "expires_on"])
        PackageEntry.objects.create(
            clinic_id=package.clinic_id, package=package, kind=PackageEntryKind.GRANT, sessions=package.sessions_total,
            created_by=actor, at=now,
        )  # fmt: skip
        audit_record(action=Action.UPDATE, obj=package, actor=actor, role=role, detail={"event": "activate", "invoice": invoice.pk})
    from knotwork.billing.membership_billing import period_paid

    period_paid(invoice, actor)  # a membership period's fee paid: its credits are granted


def gift_card_deliver(card_id: int) -> None:
    """The e-mail with the code, to the recipient (or the buyer when no recipient address was
    given). Runs after the commit that activated the card; a failure is logged, not raised."""
    card = GiftCard.objects.select_related("clinic", "purchaser").get(pk=card_id)
    if card.delivered_at is not None:
        return  # already handed over
    if gift_card_send(card):
        GiftCard.objects.filter(pk=card.pk).update(delivered_at=timezone.now())


def gift_card_address(card: GiftCard) -> str:
    """Where the code goes: the recipient, or the buyer when no recipient address was given."""
    return card.recipient_email or card.purchaser.email


def gift_card_send(card: GiftCard) -> bool:
    """Send the code's e-mail now (the delivery, or the desk's re-send). False when there is
    nowhere to send it; the mail backend's errors are raised to the caller."""
    to = gift_card_address(card)
    if not to:
        return False
    from knotwork.billing.client_text import gift_card_message
    from knotwork.clients.language import client_translation
    from knotwork.lib.mail import send_email

    code = format_code(decrypt(card.code_encrypted))
    with client_translation(card.purchaser):  # the buyer's language: the recipient may not be a client
        subject, text = gift_card_message(card, code)
    send_email(to=to, subject=subject, text=text, clinic=card.clinic)
    return True


# --- Cancelling (called by the credit-note and refund services, under the clinic's lock) -----


def _sold_on(lines: list[InvoiceLine], statuses: tuple[str, ...]) -> tuple[list[GiftCard], list[ClientPackage]]:
    ids = [line.pk for line in lines if line.kind in (LineKind.GIFT_CARD, LineKind.PACKAGE)]
    if not ids:
        return [], []
    cards = list(GiftCard.objects.select_for_update().filter(invoice_line_id__in=ids, status__in=statuses).order_by("pk"))
    packages = list(ClientPackage.objects.select_for_update().filter(invoice_line_id__in=ids, status__in=statuses).order_by("pk"))
    return cards, packages


def _why(event: str) -> str:
    if event == "credit_note":
        return "A credit note credits the whole line, so it would give back value already spent."
    return "This refund would leave its sale unpaid and so give back value already spent; credit the other lines first."


def _used(item: GiftCard | ClientPackage, event: str) -> str:
    """Why this active card or package cannot be cancelled (it has been used), or ''."""
    if isinstance(item, GiftCard):
        if item.balance == item.initial_value:
            return ""
        left = money.format_money(item.balance, item.currency)
        what, of = f"Gift card {item.masked_code}", money.format_money(item.initial_value, item.currency)
    else:
        if item.sessions_left == item.sessions_total:
            return ""
        worth = money.format_money(item.session_value * item.sessions_left, item.currency)
        left = f"{item.sessions_left} session{'' if item.sessions_left == 1 else 's'} (worth {worth})"
        what, of = f"Package “{item.name}”", str(item.sessions_total)
    return f"{what} has already been used: {left} of {of} is left on it. {_why(event)} It stays active for what is left."


def prepaid_cancel(
    *,
    lines: list[InvoiceLine],
    actor: User | None,
    event: str,
    document: Invoice | None = None,
    strict: bool = True,
    statuses: tuple[str, ...] = (PrepaidStatus.PENDING, PrepaidStatus.ACTIVE),
) -> int:
    """Cancel the gift cards and packages sold on ``lines`` because their sale is being credited or
    refunded. Must run inside that service's transaction, after the clinic's money lock.

    A card or package not paid for yet is simply cancelled (it was never usable); a paid one that
    was never used gets a ``cancel`` entry taking what is on it to zero. One that has been used
    cannot be cancelled, since a credit note or a refund would give back value already spent:
    ``strict`` refuses with how much is left; without it (a refund the card provider has already
    made) it is left active and the audit trail says so. Returns how many were cancelled."""
    cards, packages = _sold_on(lines, statuses)
    now = timezone.now()
    field = "lines" if event == "credit_note" else "amount"
    detail: dict[str, Any] = {"event": "cancel", "because": event, **({"document": document.pk} if document else {})}
    done = 0
    for card in cards:
        role = _role(actor, card.clinic_id)
        refusal = _used(card, event) if card.status == PrepaidStatus.ACTIVE else ""
        if refusal:
            if strict:
                raise PrepaidError(refusal, field=field)
            audit_record(
                action=Action.UPDATE,
                obj=card,
                actor=actor,
                role=role,
                detail={**detail, "event": "cancel_refused", "left": str(card.balance)},
            )
            continue
        value = card.balance
        # Conditional, like spending: a redemption that slipped in first leaves nothing to update.
        taken = GiftCard.objects.filter(pk=card.pk, status=card.status, balance=value).update(
            status=PrepaidStatus.CANCELLED, balance=Decimal("0.00"), cancelled_at=now
        )
        if not taken:
            raise PrepaidError(f"Gift card {card.masked_code} was used at the same moment; try again.", field=field)
        if value > 0:
            GiftCardEntry.objects.create(
                clinic_id=card.clinic_id, gift_card=card, kind=GiftCardEntryKind.CANCEL, amount=-value, currency=card.currency,
                created_by=actor, at=now,
            )  # fmt: skip
        audit_record(action=Action.UPDATE, obj=card, actor=actor, role=role, detail={**detail, "was": card.status, "value": str(value)})
        done += 1
    for package in packages:
        role = _role(actor, package.clinic_id)
        refusal = _used(package, event) if package.status == PrepaidStatus.ACTIVE else ""
        if refusal:
            if strict:
                raise PrepaidError(refusal, field=field)
            audit_record(
                action=Action.UPDATE, obj=package, actor=actor, role=role,
                detail={**detail, "event": "cancel_refused", "left": package.sessions_left},
            )  # fmt: skip
            continue
        sessions = package.sessions_left
        taken = ClientPackage.objects.filter(pk=package.pk, status=package.status, sessions_left=sessions).update(
            status=PrepaidStatus.CANCELLED, sessions_left=0, cancelled_at=now
        )
        if not taken:
            raise PrepaidError(f"Package “{package.name}” was used at the same moment; try again.", field=field)
        if sessions > 0:
            PackageEntry.objects.create(
                clinic_id=package.clinic_id, package=package, kind=PackageEntryKind.CANCEL, sessions=-sessions, created_by=actor, at=now
            )
        audit_record(
            action=Action.UPDATE, obj=package, actor=actor, role=role, detail={**detail, "was": package.status, "sessions": sessions}
        )
        done += 1
    return done


def refund_check(invoice: Invoice, take: Decimal) -> None:
    """Refuse, before anything is written or sent to a card provider, a refund of ``take`` off
    ``invoice`` that would leave it owing while a gift card or package sold on it has been used."""
    if invoice_money(invoice).balance + take <= 0:
        return
    open_lines = InvoiceLine.objects.filter(invoice=invoice, credited_by__isnull=True)
    items: list[GiftCard | ClientPackage] = [
        *GiftCard.objects.filter(invoice_line__in=open_lines, status=PrepaidStatus.ACTIVE),
        *ClientPackage.objects.filter(invoice_line__in=open_lines, status=PrepaidStatus.ACTIVE),
    ]
    for item in items:
        refusal = _used(item, "refund")
        if refusal:
            raise PrepaidError(refusal, field="amount")


def prepaid_unpaid_by_refund(invoice: Invoice, actor: User | None, *, strict: bool) -> int:
    """A refund has left ``invoice`` owing: the active gift cards and packages sold on its lines not
    credited are no longer paid for, so they are cancelled (or, when used, the refund refused).
    One still waiting for the invoice to be paid stays waiting."""
    if invoice_money(invoice).balance <= 0:
        return 0
    lines = list(invoice.lines.filter(kind__in=(LineKind.GIFT_CARD, LineKind.PACKAGE), credited_by__isnull=True))
    return prepaid_cancel(lines=lines, actor=actor, event="refund", strict=strict, statuses=(PrepaidStatus.ACTIVE,))


# --- Spending (called by payment_record, under the clinic's lock) ---------------------------


def gift_card_check(card: GiftCard, *, clinic_id: int, currency: str, value: Decimal) -> GiftCard:
    """Re-read the card under lock and refuse what it cannot pay."""
    card = GiftCard.objects.select_for_update(of=("self",)).select_related("clinic").get(pk=card.pk)
    if card.clinic_id == clinic_id and card.status == PrepaidStatus.CANCELLED:
        raise PrepaidError("This gift card has been cancelled: its sale was credited or refunded.", field="gift_card_code")
    if card.clinic_id != clinic_id or card.status != PrepaidStatus.ACTIVE:
        raise PrepaidError("No gift card with that code can be used here.", field="gift_card_code")
    if card.expired_on(timezone.localdate(timezone.now(), timezone=card.clinic.tz)):
        raise PrepaidError(f"This gift card expired on {card.expires_on:%d %b %Y}.", field="gift_card_code")
    if card.currency != currency:
        raise PrepaidError(f"This gift card is in {card.currency}; it cannot pay an invoice in {currency}.", field="gift_card_code")
    if value > card.balance:
        raise PrepaidError(
            f"Not enough on the gift card: it holds {money.format_money(card.balance, card.currency)}.", field="gift_card_amount"
        )
    return card


def gift_card_spend(card: GiftCard, payment: Payment, actor: User | None) -> None:
    # The conditional UPDATE is the last word: of two desks that both read enough on the card,
    # only one finds the balance still there when its UPDATE runs.
    taken = GiftCard.objects.filter(pk=card.pk, status=PrepaidStatus.ACTIVE, balance__gt=payment.amount - HALF_CENT).update(
        balance=F("balance") - payment.amount
    )
    if not taken:
        raise PrepaidError("Not enough on the gift card: it was spent at the same moment.", field="gift_card_amount")
    GiftCardEntry.objects.create(
        clinic_id=card.clinic_id, gift_card=card, kind=GiftCardEntryKind.REDEMPTION, amount=-payment.amount,
        currency=payment.currency, payment=payment, created_by=actor,
    )  # fmt: skip


def gift_card_restore(payment: Payment, value: Decimal, actor: User | None) -> None:
    """A gift-card payment refunded: the value goes back onto the card it came from."""
    entry = GiftCardEntry.objects.filter(payment=payment, kind=GiftCardEntryKind.REDEMPTION).first()
    if entry is None:
        raise BillingError("This gift-card payment names no gift card.")
    if GiftCard.objects.filter(pk=entry.gift_card_id, status=PrepaidStatus.CANCELLED).exists():
        raise BillingError("The gift card this payment came from has been cancelled; refund it another way.", field="amount")
    GiftCard.objects.select_for_update().filter(pk=entry.gift_card_id).first()
    GiftCard.objects.filter(pk=entry.gift_card_id).update(balance=F("balance") + value)
    GiftCardEntry.objects.create(
        clinic_id=payment.clinic_id, gift_card_id=entry.gift_card_id, kind=GiftCardEntryKind.REFUND, amount=value,
        currency=payment.currency, payment=payment, created_by=actor,
    )  # fmt: skip


def covered_line(invoice: Invoice, package: ClientPackage) -> InvoiceLine | None:
    """The first service line of the invoice the package covers that still has a session unpaid by a package."""
    from knotwork.billing.membership import credits_used_on

    services = set(package.services.values_list("pk", flat=True))
    member_used = credits_used_on(invoice)  # sessions paid by a membership credit
    lines = invoice.lines.filter(kind=LineKind.SERVICE, service__isnull=False).annotate(used=Sum("package_entries__sessions"))
    for line in lines.order_by("position", "id"):
        if line.service_id in services and -(line.used or 0) + member_used.get(line.pk, 0) < line.quantity:
            return line
    return None


def package_amount(invoice: Invoice, line: InvoiceLine) -> Decimal:
    """What one session of the line comes to, but never more than the invoice still owes."""
    unit = (line.total / line.quantity).quantize(Decimal("0.01"))
    return min(unit, invoice_money(invoice).balance)


def _family_check(package: ClientPackage, client: Client) -> None:
    """Someone other than the buyer: only the buyer's family, at the time of use, and only with a shareable package."""
    from knotwork.clients.family import same_family

    if not package.shareable:
        raise PrepaidError("Only the client who bought this package can use its sessions.", field="package")
    buyer = Client.objects.only("pk", "clinic_id", "first_name", "last_name").get(pk=package.client_id)
    if not same_family(client, buyer):
        raise PrepaidError(
            f"Only the buyer's family can use this package: {client.full_name} is not linked to {buyer.full_name} as family. "
            "Link them on the client page first.",
            field="package",
        )


def package_check(package: ClientPackage, *, invoice: Invoice, client: Client) -> tuple[ClientPackage, InvoiceLine]:
    package = ClientPackage.objects.select_for_update(of=("self",)).select_related("clinic").get(pk=package.pk)
    if package.clinic_id == invoice.clinic_id and package.status == PrepaidStatus.CANCELLED:
        raise PrepaidError("This package has been cancelled: its sale was credited or refunded.", field="package")
    if package.clinic_id != invoice.clinic_id or package.status != PrepaidStatus.ACTIVE:
        raise PrepaidError("That package cannot be used here.", field="package")
    if package.client_id != client.pk:
        _family_check(package, client)
    if package.expired_on(timezone.localdate(timezone.now(), timezone=package.clinic.tz)):
        raise PrepaidError(f"This package expired on {package.expires_on:%d %b %Y}.", field="package")
    if package.currency != invoice.currency:
        raise PrepaidError(f"This package was bought in {package.currency}; the invoice is in {invoice.currency}.", field="package")
    if package.sessions_left < 1:
        raise PrepaidError("This package has no sessions left.", field="package")
    line = covered_line(invoice, package)
    if line is None:
        raise PrepaidError("This package does not cover any service on this invoice (or it is already paid by a package).", field="package")
    return package, line


def package_spend(package: ClientPackage, line: InvoiceLine, payment: Payment, actor: User | None) -> None:
    taken = ClientPackage.objects.filter(pk=package.pk, status=PrepaidStatus.ACTIVE, sessions_left__gte=1).update(
        sessions_left=F("sessions_left") - 1
    )
    if not taken:
        raise PrepaidError("This package has no sessions left: the last one was used at the same moment.", field="package")
    PackageEntry.objects.create(
        clinic_id=package.clinic_id, package=package, kind=PackageEntryKind.USE, sessions=-1, payment=payment, invoice_line=line,
        created_by=actor,
    )  # fmt: skip


def package_restore(payment: Payment, value: Decimal, actor: User | None) -> None:
    """A package-session payment refunded: refunded whole, and the session goes back on the package."""
    if value != payment.amount:
        raise BillingError(f"A package session is given back whole: refund {money.format_money(payment.amount, payment.currency)}.",
                           field="amount")  # fmt: skip
    entry = PackageEntry.objects.filter(payment=payment, kind=PackageEntryKind.USE).first()
    if entry is None:
        raise BillingError("This package payment names no package.")
    if ClientPackage.objects.filter(pk=entry.package_id, status=PrepaidStatus.CANCELLED).exists():
        raise BillingError("The package this session came from has been cancelled; refund it another way.", field="amount")
    ClientPackage.objects.select_for_update().filter(pk=entry.package_id).first()
    ClientPackage.objects.filter(pk=entry.package_id).update(sessions_left=F("sessions_left") + 1)
    PackageEntry.objects.create(
        clinic_id=payment.clinic_id, package_id=entry.package_id, kind=PackageEntryKind.RESTORE, sessions=1, payment=payment,
        invoice_line_id=entry.invoice_line_id, created_by=actor,
    )  # fmt: skip


# --- The desk's check-out ---------------------------------------------------------------------


def gift_card_for_code(code: str, clinic_id: int) -> GiftCard:
    """The clinic's card with that code. The digest is computed and one indexed query made
    whatever was typed, so a wrong code takes the path a right one does."""
    card = GiftCard.objects.filter(code_digest=code_digest(code), clinic_id=clinic_id).first()
    if card is not None and card.status == PrepaidStatus.CANCELLED:
        when = f" on {timezone.localtime(card.cancelled_at, card.clinic.tz):%d %b %Y}" if card.cancelled_at else ""
        message = f"This gift card was cancelled{when}: its sale was credited or refunded. It cannot be used."
        raise PrepaidError(message, field="gift_card_code")
    if card is None or card.status != PrepaidStatus.ACTIVE:
        raise PrepaidError("No gift card with that code can be used here. Check the code.", field="gift_card_code")
    return card


@transaction.atomic
def package_redeem(*, invoice: Invoice, package: ClientPackage, actor: User | None) -> Payment:
    """One session of a covered service on the invoice, paid by the package."""
    from knotwork.billing.services import payment_record

    _lock_clinic(invoice.clinic_id)
    locked = Invoice.objects.select_related("clinic", "client").get(pk=invoice.pk)
    _, line = package_check(package, invoice=locked, client=locked.client)
    value = package_amount(locked, line)
    if value <= 0:
        raise PrepaidError("Nothing is owed on this invoice.", field="package")
    return payment_record(
        clinic=locked.clinic, client=locked.client, actor=actor, method=PaymentMethod.PACKAGE, amount=value, currency=locked.currency,
        invoices=[locked], package=package,
    )  # fmt: skip


@transaction.atomic
def invoice_settle(
    *,
    invoice: Invoice,
    actor: User,
    issue: bool = False,
    package: ClientPackage | None = None,
    membership: Any = None,
    gift_card_code: str = "",
    gift_card_amount: Decimal | None = None,
    method: str = "",
    amount: object = None,
    reference: str = "",
) -> tuple[Invoice, list[Payment]]:
    """Check-out at the desk in one transaction: issue (if asked), then a membership credit, then a package session, then a
    gift card (by default as much of what is owed as it holds), then money for the rest. Any
    refusal undoes all of it, so the desk can correct the form and try again."""
    from knotwork.billing.services import payment_record

    if issue:
        invoice = invoice_issue(invoice=invoice, actor=actor)
    payments: list[Payment] = []
    if membership is not None:
        from knotwork.billing.membership import credit_redeem

        payments.append(credit_redeem(invoice=invoice, membership=membership, actor=actor))
    if package is not None:
        payments.append(package_redeem(invoice=invoice, package=package, actor=actor))
    if normalise_code(gift_card_code):
        card = gift_card_for_code(gift_card_code, invoice.clinic_id)
        owed = invoice_money(invoice).balance
        if owed <= 0:
            raise PrepaidError("Nothing is left to pay on this invoice.", field="gift_card_code")
        value = gift_card_amount if gift_card_amount is not None else min(card.balance, owed)
        if value <= 0:
            raise PrepaidError("This gift card has nothing left on it.", field="gift_card_code")
        payments.append(
            payment_record(
                clinic=invoice.clinic,
                client=invoice.client,
                actor=actor,
                method=PaymentMethod.GIFT_CARD,
                amount=value,
                currency=invoice.currency,
                invoices=[invoice],
                gift_card=card,
            )  # fmt: skip
        )
    if amount is not None:
        payments.append(
            payment_record(
                clinic=invoice.clinic,
                client=invoice.client,
                actor=actor,
                method=method,
                amount=amount,
                currency=invoice.currency,
                invoices=[invoice],
                reference=reference,
            )  # fmt: skip
        )
    invoice.refresh_from_db()
    return invoice, payments
