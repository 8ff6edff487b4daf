"""Buying gift cards and packages online (docs/money.md, "Buying online").

An order is an ordinary invoice, made and issued at once, whose lines are gift-card or package
lines, sold through the same ``prepaid.gift_card_sell`` / ``prepaid.package_sell`` the desk uses
and paid through the same online card payment as any portal invoice (``online.checkout_open``:
a PaymentIntent, Stripe.js on the page, nothing of the card in Knotwork). When the money is
recorded — by the signed webhook or by the page Stripe.js returns to, whichever comes first, both
through ``online.record_card_payment`` under the clinic's money lock and a unique intent id —
``payment_record`` activates the card or package as for any paid sale, the gift card's code is
e-mailed to the recipient, and the buyer gets a receipt.

What makes an invoice an order, with no column of its own: it has no appointment, only gift-card
and package lines, and was not made by a member of the clinic's staff (a buyer's portal login
made it, or nobody: a visitor who did not sign in). :func:`void_abandoned` voids the orders left
unpaid, so an abandoned payment leaves nothing active and nothing owing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from knotwork.accounts.models import Clinic, Membership, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.billing import money, online, prepaid
from knotwork.billing.client_text import money_text
from knotwork.billing.models import (
    CardIntent,
    CardIntentStatus,
    ClientPackage,
    DocumentKind,
    GiftCard,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    PackageProduct,
    Payment,
    PrepaidStatus,
)
from knotwork.billing.providers import PaymentProvider, ProviderError, get_provider
from knotwork.billing.selectors import invoice_money, settings_for
from knotwork.billing.services import BillingError, invoice_issue, invoice_void
from knotwork.clients.language import client_translation
from knotwork.clients.models import Client

log = logging.getLogger(__name__)

PREPAID_KINDS = (LineKind.GIFT_CARD, LineKind.PACKAGE)

ABANDON_AFTER = timedelta(minutes=60)
"""An order still unpaid this long after it was placed is voided by the sweep (a slow bank's
answer arrives well within it)."""

ABANDONED_REASON = "The online purchase was not completed: it was not paid."

DEFAULT_AMOUNTS = ("25", "50", "100")
DEFAULT_MINIMUM = "10"
DEFAULT_MAXIMUM = "500"
RESENDS_PER_HOUR = 3


class ShopError(BillingError):
    """An order that cannot be placed as asked (an amount out of range, a product not on sale...)."""


class Throttled(ShopError):
    """Too many orders (or re-sends) in the window: the views answer 429."""


# --- What is offered ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GiftCardOffer:
    """The values a gift card can be bought for online, in the clinic's currency."""

    currency: str
    amounts: tuple[Decimal, ...]
    minimum: Decimal
    maximum: Decimal

    def refuse(self, value: Decimal) -> str:
        """Why ``value`` cannot be bought, or "" when it can."""
        if value < self.minimum or value > self.maximum:
            low, high = money_text(self.minimum, self.currency), money_text(self.maximum, self.currency)
            return gettext("Choose an amount from %(low)s to %(high)s.") % {"low": low, "high": high}
        return ""


def _setting_amounts(name: str, default: Iterable[str] | str) -> list[str]:
    raw = getattr(settings, name, default)
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return [str(item).strip() for item in items if str(item).strip()]


def gift_card_offer(clinic: Clinic) -> GiftCardOffer:
    """The suggested values (``GIFT_CARD_AMOUNTS``) and the range a custom value must fall in
    (``GIFT_CARD_MIN_AMOUNT`` … ``GIFT_CARD_MAX_AMOUNT``), in the clinic's currency. Suggestions
    outside the range, or too precise for the currency, are left out."""
    currency = settings_for(clinic).currency
    low = money.parse_amount(_setting_amounts("GIFT_CARD_MIN_AMOUNT", DEFAULT_MINIMUM)[0], currency)
    high = money.parse_amount(_setting_amounts("GIFT_CARD_MAX_AMOUNT", DEFAULT_MAXIMUM)[0], currency)
    amounts: list[Decimal] = []
    for text in _setting_amounts("GIFT_CARD_AMOUNTS", DEFAULT_AMOUNTS):
        try:
            value = money.parse_amount(text, currency)
        except money.MoneyError:
            continue
        if low <= value <= high and value not in amounts:
            amounts.append(value)
    return GiftCardOffer(currency=currency, amounts=tuple(sorted(amounts)), minimum=low, maximum=high)


def packages_on_sale(clinic: Clinic) -> QuerySet[PackageProduct]:
    """The clinic's package products a client can buy from the portal (active, in its currency)."""
    currency = settings_for(clinic).currency
    return PackageProduct.objects.filter(clinic=clinic, is_active=True, currency=currency).prefetch_related("services").order_by("name")


def throttled(bucket: str, who: str, *, limit: int, window: int) -> bool:
    """True once ``who`` has done ``bucket`` more than ``limit`` times in ``window`` seconds;
    counted in the shared cache, so it holds across processes."""
    key = f"billing:shop:{bucket}:{who}"
    cache.add(key, 0, timeout=window)
    try:
        return int(cache.incr(key)) > limit
    except ValueError:  # the counter expired between add and incr
        return False


def orders_throttled(who: str) -> bool:
    """Orders placed from one address (or one login) per hour: ``SHOP_ORDERS_PER_HOUR``, default 10."""
    return throttled("order", who, limit=int(getattr(settings, "SHOP_ORDERS_PER_HOUR", 10)), window=3600)


# --- Who buys ----------------------------------------------------------------------------------


def buyer_for(*, clinic: Clinic, user: User | None, first_name: str, last_name: str, email: str) -> Client:
    """The client an order is invoiced to. A signed-in person gets their own record at the clinic,
    created on their first order exactly as on their first booking (``client_for_booking``). A
    visitor who does not sign in becomes a new client record with the name and e-mail they gave:
    never matched to an existing record by e-mail, since anyone can type anyone's address."""
    from knotwork.bookings.services import BookingError, client_for_booking

    if user is not None:
        try:
            return client_for_booking(clinic=clinic, user=user, first_name=first_name, last_name=last_name)[0]
        except BookingError as exc:
            raise ShopError(exc.message, field="first_name") from None
    client = Client(clinic=clinic, first_name=first_name.strip()[:80], last_name=last_name.strip()[:80], email=email.strip()[:254])
    try:
        client.full_clean()
    except ValidationError as exc:
        raise ShopError("; ".join(exc.messages), field="email") from None
    client.save()
    audit_record(
        action=Action.CREATE, obj=client, role="client", detail={"fields": ["first_name", "last_name", "email"], "via": "online_order"}
    )
    return client


# --- Placing an order --------------------------------------------------------------------------


@transaction.atomic
def gift_card_order(
    *,
    clinic: Clinic,
    user: User | None,
    amount: Decimal,
    recipient_name: str,
    recipient_email: str,
    message: str = "",
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> tuple[Invoice, GiftCard]:
    """A gift card bought online: the buyer's client record, the card (pending) on a new invoice,
    issued so it can be paid. Nothing is usable until the payment is recorded."""
    offer = gift_card_offer(clinic)
    try:
        value = money.parse_amount(amount, offer.currency)
    except money.MoneyError as exc:
        raise ShopError(str(exc), field="amount") from None
    if problem := offer.refuse(value):
        raise ShopError(problem, field="amount")
    _refuse_staff(clinic.pk, user)
    buyer = buyer_for(clinic=clinic, user=user, first_name=first_name, last_name=last_name, email=email)
    card, _ = prepaid.gift_card_sell(
        client=buyer, actor=user, amount=value, recipient_name=recipient_name, recipient_email=recipient_email,  # type: ignore[arg-type]
        message=message,
    )  # fmt: skip
    invoice = _issue(card.invoice_line.invoice, user, detail={"gift_card": card.pk})
    return invoice, card


@transaction.atomic
def package_order(*, client: Client, product: PackageProduct, user: User) -> tuple[Invoice, ClientPackage]:
    """A package bought from the portal by the client themselves: the package (pending) on a new
    invoice, issued so it can be paid; its sessions are granted when the payment is recorded."""
    if product.clinic_id != client.clinic_id or not product.is_active:
        raise ShopError(gettext("That package is not on sale."), field="product")
    _refuse_staff(client.clinic_id, user)
    package = prepaid.package_sell(client=client, product=product, actor=user)
    invoice = _issue(package.invoice_line.invoice, user, detail={"package": package.pk})
    return invoice, package


def _refuse_staff(clinic_id: int, user: User | None) -> None:
    """The clinic's own staff sell at the desk (the client's account page): an invoice they make is
    a desk sale, paid at the desk, never an online order."""
    if user is not None and Membership.objects.filter(clinic_id=clinic_id, user=user).exists():
        raise ShopError("Staff of this clinic sell gift cards and packages from the client's account page.")


def _issue(invoice: Invoice, user: User | None, *, detail: dict[str, Any]) -> Invoice:
    invoice = invoice_issue(invoice=invoice, actor=user)  # type: ignore[arg-type]
    audit_record(action=Action.UPDATE, obj=invoice, actor=user, role="client", detail={"event": "online_order", **detail})
    return invoice


# --- Which invoices are orders -----------------------------------------------------------------


def orders() -> QuerySet[Invoice]:
    """Invoices placed through the shop (see the module docstring)."""
    staff = Membership.objects.filter(clinic=OuterRef("clinic"), user=OuterRef("created_by"))
    other_lines = InvoiceLine.objects.filter(invoice=OuterRef("pk")).exclude(kind__in=PREPAID_KINDS)
    prepaid_lines = InvoiceLine.objects.filter(invoice=OuterRef("pk"), kind__in=PREPAID_KINDS)
    return Invoice.objects.filter(kind=DocumentKind.INVOICE, appointment__isnull=True).filter(
        Exists(prepaid_lines), ~Exists(other_lines), ~Exists(staff)
    )


def order_for(invoice_id: int, *, session_orders: Iterable[int], user: Any) -> Invoice | None:
    """The order, if this browser placed it (its session remembers it) or it is the signed-in
    person's own; None for anyone else, who gets a 404."""
    rows = orders().select_related("clinic", "client").filter(pk=invoice_id)
    invoice = rows.first()
    if invoice is None:
        return None
    mine = getattr(user, "is_authenticated", False) and invoice.client.portal_user_id == user.pk
    if not (mine or invoice.pk in set(session_orders)):
        return None
    audit_record(action=Action.VIEW, obj=invoice, role="client", detail={"online_order": True})
    return invoice


@dataclass(frozen=True)
class OrderView:
    """What an order holds, for its pages and the receipt."""

    invoice: Invoice
    gift_cards: list[GiftCard]
    packages: list[ClientPackage]


def order_contents(invoice: Invoice) -> OrderView:
    cards = list(GiftCard.objects.filter(invoice_line__invoice=invoice).order_by("pk"))
    packages = list(ClientPackage.objects.filter(invoice_line__invoice=invoice).order_by("pk"))
    return OrderView(invoice=invoice, gift_cards=cards, packages=packages)


# --- Paying --------------------------------------------------------------------------------------


def order_status(*, invoice: Invoice, intent_id: str, provider: PaymentProvider) -> tuple[str, Payment | None] | None:
    """For the page Stripe.js returns to: the intent's status read back from the provider (never
    from the browser) and, when it succeeded, the payment — recorded here if the webhook has not
    done it yet, through the webhook's own path, so it is recorded once whichever comes first.
    None when the intent is not this order's."""
    card = CardIntent.objects.select_related("clinic", "client").filter(invoice=invoice, intent_id=intent_id).first()
    if card is None:
        return None
    remote = provider.retrieve_payment_intent(card.intent_id)
    payment = Payment.objects.filter(intent_id=card.intent_id).first()
    if remote.status == "succeeded" and payment is None:
        with transaction.atomic():
            amount = provider.from_minor_units(remote.amount, remote.currency)
            payment, _ = online.record_card_payment(card=card, amount=amount, currency=remote.currency)
    return remote.status, payment


def card_payment_recorded(*, invoice_id: int | None, payment: Payment) -> None:
    """Called (inside the recording transaction) for every online card payment: an order paid in
    full gets its receipt e-mailed to the buyer after the commit."""
    if invoice_id is None or not orders().filter(pk=invoice_id).exists():
        return
    transaction.on_commit(partial(send_receipt, invoice_id, payment.pk), robust=True)


def send_receipt(invoice_id: int, payment_id: int) -> bool:
    """The buyer's receipt: what was bought, what was paid, where the gift card's code went."""
    invoice = Invoice.objects.select_related("clinic", "client").filter(pk=invoice_id).first()
    payment = Payment.objects.filter(pk=payment_id).first()
    if invoice is None or payment is None or not invoice.client.email or invoice_money(invoice).balance > 0:
        return False
    from knotwork.lib.mail import send_email

    with client_translation(invoice.client):  # the buyer's language
        text, subject = _receipt_text(invoice, payment)
    send_email(to=invoice.client.email, subject=subject, text=text, clinic=invoice.clinic)
    return True


def _receipt_text(invoice: Invoice, payment: Payment) -> tuple[str, str]:
    from knotwork.lib.urls import absolute_url

    contents = order_contents(invoice)
    context = {
        "invoice": invoice, "payment": payment, "client": invoice.client, "clinic": invoice.clinic, "contents": contents,
        "amount": money_text(payment.amount, payment.currency),
        "lines": [(ln.description, money_text(ln.total, invoice.currency)) for ln in invoice.lines.order_by("position", "id")],
        "link": absolute_url(reverse("portal_invoices", args=[invoice.client_id])) if invoice.client.portal_user_id else "",
    }  # fmt: skip
    text = render_to_string("billing/email/shop_receipt.txt", context)
    return text, gettext("Your receipt from %(clinic)s") % {"clinic": invoice.clinic.name}


# --- Abandoned orders ----------------------------------------------------------------------------


def _retire_intents(invoice: Invoice, provider: PaymentProvider | None) -> bool:
    """Make sure no payment of the order can still arrive: each open intent is asked about and
    cancelled at the provider. False when money is (or may be) on its way, or the provider could
    not be asked; the order is then left for the next sweep."""
    open_intents = list(CardIntent.objects.select_related("clinic", "client").filter(invoice=invoice, status=CardIntentStatus.OPEN))
    if open_intents and provider is None:
        return False
    for card in open_intents:
        assert provider is not None
        try:
            remote = provider.retrieve_payment_intent(card.intent_id)
            if remote.status == "succeeded":  # paid after all: record it, which activates the order
                with transaction.atomic():
                    online.record_card_payment(
                        card=card, amount=provider.from_minor_units(remote.amount, remote.currency), currency=remote.currency
                    )
                return False
            if remote.status in online.UNDER_WAY:
                return False
            if remote.status != "canceled" and provider.cancel_payment_intent(card.intent_id).status != "canceled":
                return False
        except ProviderError as exc:
            log.warning("could not settle intent %s of abandoned order %s: %s", card.intent_id, invoice.pk, exc)
            return False
        CardIntent.objects.filter(pk=card.pk, status=CardIntentStatus.OPEN).update(status=CardIntentStatus.CANCELED)
    return True


def void_abandoned(*, now: datetime | None = None, provider: PaymentProvider | None = None) -> int:
    """Void the orders still unpaid :data:`ABANDON_AFTER` after they were placed, once their
    payment intents are cancelled at the provider. Their gift cards and packages stay pending,
    so nothing of them can ever be used; the buyer owes nothing. Run with the reminder sweep."""
    cutoff = (now or timezone.now()) - ABANDON_AFTER
    provider = provider or get_provider()
    voided = 0
    for invoice in orders().filter(status=InvoiceStatus.ISSUED, issued_at__lt=cutoff).select_related("clinic"):
        if invoice_money(invoice).paid > 0 or not _retire_intents(invoice, provider):
            continue
        try:
            invoice_void(invoice=invoice, actor=None, reason=ABANDONED_REASON)  # type: ignore[arg-type]
        except BillingError:
            continue  # paid or changed meanwhile
        voided += 1
    return voided


# --- The desk's re-send ------------------------------------------------------------------------


def gift_card_resend(*, card: GiftCard, membership: Membership) -> str:
    """E-mail a paid card's code again, to where it went the first time (the recipient, else the
    buyer). At most :data:`RESENDS_PER_HOUR` an hour per card. Returns the address used."""
    if card.status != PrepaidStatus.ACTIVE:
        raise ShopError("This card is not paid for yet: its code is e-mailed when it is.")
    to = prepaid.gift_card_address(card)
    if not to:
        raise ShopError("Neither the recipient nor the buyer has an e-mail address. Add one to the buyer's record first.")
    if throttled("resend", str(card.pk), limit=RESENDS_PER_HOUR, window=3600):
        raise Throttled(f"This card's e-mail was sent {RESENDS_PER_HOUR} times in the last hour. Try again later.")
    try:
        prepaid.gift_card_send(card)
    except Exception as exc:  # the mail backend's own errors (SMTP, DNS...): the desk is told, nothing else changes
        log.warning("re-sending gift card %s failed: %s", card.pk, exc)
        raise ShopError("The e-mail could not be sent just now. Try again in a few minutes.") from None
    with transaction.atomic():
        GiftCard.objects.filter(pk=card.pk).update(delivered_at=timezone.now())
        audit_record(
            action=Action.UPDATE, obj=card, role=membership.role,
            detail={"event": "resend", "to": "recipient" if card.recipient_email else "buyer"},
        )  # fmt: skip
    return to
