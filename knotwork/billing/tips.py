"""Tips: money a client gives a therapist at check-out (docs/money.md, "Tips").

A tip is an invoice line of kind ``tip`` naming the therapist it is for (the appointment's
therapist unless another member of the clinic's staff is chosen). It carries no tax and no
discount (a database constraint holds both), and it is added to the draft before the invoice is
issued: an issued invoice is frozen, so a tip offered afterwards is refused with a message saying
so. The amount is typed as money or taken as a percentage of what the invoice's services and
add-ons come to, and is never more than that (100 %).

A tip is paid like the rest of the invoice with money, a gift card or store credit, but never with
a package session or a membership credit: those pay one session of a service, and
:func:`refuse_session_payment` keeps them off the part of the balance that is the tips.
Tips are money held for the therapist, not the clinic's sales: the sales and tax reports leave
them out and the tips report (``knotwork.billing.reports.tips``) shows them.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from knotwork.accounts.models import Membership, User
from knotwork.billing import money
from knotwork.billing.models import DocumentKind, Invoice, InvoiceLine, InvoiceStatus, LineKind

ZERO = Decimal("0.00")
PRESET_PERCENTS = (10, 15, 20)
MAX_PERCENT = Decimal(100)
# The lines a percentage tip is worked out on, and the most all tips on an invoice may come to.
TIPPED_KINDS = (LineKind.SERVICE, LineKind.ADDON)


def services_total(invoice: Invoice) -> Decimal:
    """What the invoice's services and add-ons come to, after their discounts and with their tax:
    the base of a percentage tip and the cap on all its tips."""
    found = InvoiceLine.objects.filter(invoice=invoice, kind__in=TIPPED_KINDS).aggregate(s=Sum("total"))["s"]
    return money.quantize(found or ZERO, invoice.currency)


def tips_total(invoice: Invoice) -> Decimal:
    found = InvoiceLine.objects.filter(invoice=invoice, kind=LineKind.TIP).aggregate(s=Sum("total"))["s"]
    return money.quantize(found or ZERO, invoice.currency)


def open_tips(invoice: Invoice) -> Decimal:
    """The invoice's tips not credited since: the part of its balance no package session or
    membership credit may pay."""
    found = InvoiceLine.objects.filter(invoice=invoice, kind=LineKind.TIP, credited_by__isnull=True).aggregate(s=Sum("total"))["s"]
    return money.quantize(found or ZERO, invoice.currency)


def parse_percent(raw: object) -> Decimal:
    """A percentage typed as text ("15" or "12.5"): above 0, at most 100, at most two places.

    Raises ``money.MoneyError`` with a sentence for the person typing it.
    """
    if isinstance(raw, bool | float) or not isinstance(raw, str | int | Decimal):
        raise money.MoneyError('Give the percentage as text, such as "15".')
    text = str(raw).strip()
    if not text or not all(c.isdigit() or c == "." for c in text) or text.count(".") > 1:
        raise money.MoneyError("Give the percentage as a number such as 10, 15 or 12.5.")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise money.MoneyError("Give the percentage as a number such as 10, 15 or 12.5.") from None
    if value <= 0:
        raise money.MoneyError("A tip's percentage must be more than 0.")
    if value > MAX_PERCENT:
        raise money.MoneyError("A tip can be at most 100 % of the services.")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise money.MoneyError("Give the percentage with at most two decimal places.")
    return value


PLAIN_DECIMAL = re.compile(r"^\d{1,9}(\.\d{1,2})?$")


def parse_tip_amount(raw: object, currency: str) -> Decimal:
    """A tip typed as money: plain digits with an optional decimal point ("5", "7.50"); an
    exponent ("1e3"), a sign or a JSON number is refused. Raises ``money.MoneyError``."""
    if isinstance(raw, float | bool):
        raise money.MoneyError('Amounts must be exact: send them as text such as "5.00".')
    text = str(raw).strip() if isinstance(raw, str | int | Decimal) else ""
    if text.startswith("-"):
        raise money.MoneyError("A tip cannot be negative.")
    if not PLAIN_DECIMAL.match(text):
        raise money.MoneyError("Enter the tip as an amount such as 5.00 (digits and a decimal point only).")
    return money.parse_amount(text, currency)


def percent_of(base: Decimal, percent: Decimal, currency: str) -> Decimal:
    """``percent`` % of ``base``, rounded half-up to the currency's minor unit."""
    return money.quantize(base * percent / Decimal(100), currency)


def tip_options(invoice: Invoice) -> dict[str, Any]:
    """What the check-out's tip step shows: the services' total, each preset percentage with the
    amount it comes to, and the tips already on the draft."""
    base = services_total(invoice)
    added = tips_total(invoice)
    presets = [(p, percent_of(base, Decimal(p), invoice.currency)) for p in PRESET_PERCENTS]
    return {"base": base, "presets": presets, "added": added, "room": max(base - added, ZERO)}


def tip_staff(clinic_id: int) -> list[User]:
    """Who a tip can be for: the clinic's active staff, therapists first."""
    rows = Membership.objects.active().filter(clinic_id=clinic_id).select_related("user").order_by("user__full_name", "user__email")
    members = list(rows)
    members.sort(key=lambda m: m.role != "therapist")
    return [m.user for m in members if m.user.is_active]


def is_clinic_staff(user: User, clinic_id: int) -> bool:
    return Membership.objects.active().filter(clinic_id=clinic_id, user=user, user__is_active=True).exists()


def tip_description(therapist: User) -> str:
    return f"Tip for {therapist.display_name}"[:200]


def check_tip_line(*, invoice: Invoice, therapist: User | None, price: Decimal, discount: Decimal, quantity: int, taxed: bool) -> None:
    """Refuse a tip line that breaks a rule: ``BillingError`` (422) for who and what,
    ``InvalidAmount`` (400) for an amount out of bounds. The invoice is a locked draft
    (``services.invoice_line_add`` calls this)."""
    from knotwork.billing.services import BillingError, InvalidAmount

    if therapist is None:
        raise BillingError("Choose the therapist the tip is for.", field="therapist")
    if not is_clinic_staff(therapist, invoice.clinic_id):
        raise BillingError("A tip can only be for a member of this clinic's staff.", field="therapist")
    if taxed:
        raise BillingError("A tip carries no tax.", field="tax_rate")
    if discount:
        raise BillingError("A tip is never discounted.", field="discount")
    if quantity != 1:
        raise BillingError("A tip is one line of one amount.", field="quantity")
    if price <= 0:
        raise InvalidAmount("A tip must be more than zero.", field="amount")
    if InvoiceLine.objects.filter(invoice=invoice, kind=LineKind.TIP, therapist=therapist).exists():
        who = therapist.display_name
        raise BillingError(f"This invoice already has a tip for {who}; remove it to change the amount.", field="therapist")
    base = services_total(invoice)
    if base <= 0:
        raise BillingError("A tip goes with a treatment: add the service to the invoice first.", field="amount")
    room = base - tips_total(invoice)
    if price > room:
        cap, left = money.format_money(base, invoice.currency), money.format_money(max(room, ZERO), invoice.currency)
        raise InvalidAmount(f"Tips on this invoice can come to at most its services' total ({cap}): {left} more at most.", field="amount")


@transaction.atomic
def tip_add(*, invoice: Invoice, actor: User, therapist: User | None = None, amount: object = None, percent: object = None) -> InvoiceLine:
    """Add a tip to a draft at check-out: ``amount`` as money, or ``percent`` of the services.

    The therapist is the appointment's unless another is named. An issued invoice is refused
    (409): it is frozen, and a tip is added before issuing. Written through
    ``services.invoice_line_add`` (locks, totals, the audit event with the tip's detail).
    """
    from knotwork.billing.services import BillingError, InvalidAmount, InvoiceLocked, _locked, invoice_line_add

    invoice = _locked(invoice)
    if invoice.status != InvoiceStatus.DRAFT or invoice.kind != DocumentKind.INVOICE:
        raise InvoiceLocked(
            f"{invoice.number or 'This document'} has been issued and can no longer change, so no tip can be added to it. "
            "A tip is added at check-out, before the invoice is issued.",
            field="amount",
        )
    if therapist is None and invoice.appointment_id is not None:
        therapist = invoice.appointment.therapist if invoice.appointment else None
    if (amount in (None, "")) == (percent in (None, "")):
        raise InvalidAmount("Give the tip either as an amount or as a percentage of the services.", field="amount")
    base = services_total(invoice)
    try:
        if percent not in (None, ""):
            rate = parse_percent(percent)
            value = percent_of(base, rate, invoice.currency)
            if value <= 0:
                raise BillingError("A tip goes with a treatment: add the service to the invoice first.", field="percent")
        else:
            rate, value = None, parse_tip_amount(amount, invoice.currency)
    except money.MoneyError as exc:
        raise InvalidAmount(str(exc), field="percent" if percent not in (None, "") else "amount") from None
    detail: dict[str, Any] = {"tip": str(value), "therapist": therapist and therapist.pk}
    if rate is not None:
        detail["percent"] = str(rate)
    local_day = timezone.localdate(invoice.appointment.starts_at, timezone=invoice.clinic.tz) if invoice.appointment else None
    return invoice_line_add(
        invoice=invoice, actor=actor, kind=LineKind.TIP, description=tip_description(therapist) if therapist else "Tip",
        unit_price=value, therapist=therapist, service_date=local_day, audit_detail=detail,
    )  # fmt: skip


def tips_over_cap(invoice: Invoice) -> str:
    """A sentence when the draft's tips are more than its services now come to (a service was
    removed after the tip was added), else an empty string. Issuing refuses such a draft."""
    tips = tips_total(invoice)
    if tips and tips > services_total(invoice):
        return "The tips on this invoice are more than its services now come to: remove the tip and add it again."
    return ""


def refuse_session_payment(invoice: Invoice, value: Decimal) -> str:
    """A sentence when a package session or membership credit of ``value`` would pay part of the
    invoice's tips, else an empty string."""
    from knotwork.billing.selectors import invoice_money

    tips = open_tips(invoice)
    if not tips:
        return ""
    payable = invoice_money(invoice).balance - tips
    if value > payable:
        return (
            "A tip is paid with money, a gift card or store credit, never with a package session or membership credit: "
            f"what is left to pay here ({money.format_money(max(payable, ZERO), invoice.currency)} besides the tip) is not enough."
        )
    return ""


def session_paid_over_tips(invoice_ids: list[int]) -> dict[int, Decimal]:
    """For ``knotwork money verify``: invoices whose package-session and membership-credit payments
    (net of refunds) come to more than their lines other than tips, with that excess."""
    from knotwork.billing.models import LedgerEntry, LedgerKind, PaymentMethod

    paid = dict(
        LedgerEntry.objects.filter(
            invoice_id__in=invoice_ids,
            kind__in=[LedgerKind.PAYMENT, LedgerKind.REFUND],
            payment__method__in=[PaymentMethod.PACKAGE, PaymentMethod.MEMBERSHIP],
        )
        .values_list("invoice_id")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    other = dict(
        InvoiceLine.objects.filter(invoice_id__in=invoice_ids)
        .filter(~Q(kind=LineKind.TIP))
        .values_list("invoice_id")
        .annotate(s=Sum("total"))
        .order_by()
    )
    out = {}
    for invoice_id, entries in paid.items():
        excess = -entries - (other.get(invoice_id) or ZERO)
        if excess > Decimal("0.005"):
            out[invoice_id] = excess
    return out
