"""Reads: one invoice or payment for a user, lists, and every balance — each derived from the ledger.

Signs (see LedgerEntry): a client's balance is the sum of their entries, positive when they owe;
store credit is minus the sum of the entries that name no invoice; an invoice's balance is the
sum of its own entries and its credit notes' entries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from knotwork.accounts.models import Capability, Clinic, Membership
from knotwork.accounts.permissions import membership_for, require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.billing.models import (
    BillingSettings,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    LedgerEntry,
    LedgerKind,
    Payment,
    PaymentMethod,
)
from knotwork.clients.models import Client

ZERO = Decimal("0.00")
# The type of a ledger sum in annotations (subqueries and Coalesce need it spelled out).
MONEY: Any = DecimalField(max_digits=12, decimal_places=2)


def settings_for(clinic: Clinic) -> BillingSettings:
    """The clinic's billing settings, created with defaults (the clinic's name and address) on first use."""
    found, _ = BillingSettings.objects.select_related("clinic", "default_tax_rate").get_or_create(clinic=clinic)
    return found


def cents(value: Decimal) -> Decimal:
    """Two places, whatever the database's SUM returned (SQLite drops trailing zeros)."""
    return Decimal(value).quantize(Decimal("0.01"))


def _sum(qs: QuerySet[LedgerEntry]) -> Decimal:
    return cents(qs.aggregate(s=Sum("amount"))["s"] or ZERO)


def may_take_payments(membership: Membership | None) -> bool:
    return membership is not None and membership.can(Capability.TAKE_PAYMENTS)


def get_invoice_for_user(
    user: Any, invoice_id: int, *, write: bool = False, audit: bool = True, clinic_id: int | None = None
) -> tuple[Invoice, Membership | None]:
    """The invoice if ``user`` may reach it, with the membership that grants it.

    Owner and front desk reach every invoice of their clinic and may change them; a therapist
    reads only issued invoices for their own appointments (writing is a 403); the client reads their own
    issued ones (no membership). Anyone else — another clinic's staff included — gets a 404.
    """
    qs = Invoice.objects.select_related("clinic", "client", "appointment", "credit_for", "created_by").filter(pk=invoice_id)
    if clinic_id is not None:
        qs = qs.filter(clinic_id=clinic_id)
    invoice = qs.first()
    if invoice is None or invoice.client.restricted_at is not None:
        raise Http404("No such invoice")
    membership = membership_for(user, invoice.clinic_id)
    if membership is None:
        own = getattr(user, "is_authenticated", False) and invoice.client.portal_user_id == user.pk
        if not own or write or invoice.status == InvoiceStatus.DRAFT:
            raise Http404("No such invoice")
        if audit:
            audit_record(action=Action.VIEW, obj=invoice, role="client")
        return invoice, None
    require(membership, Capability.VIEW_DEMOGRAPHICS)
    if not may_take_payments(membership):
        own = invoice.appointment is not None and invoice.appointment.therapist_id == user.pk
        if not own or invoice.status == InvoiceStatus.DRAFT:
            raise Http404("No such invoice")
        if write:
            require(membership, Capability.TAKE_PAYMENTS)
    if audit and not write:
        audit_record(action=Action.VIEW, obj=invoice, role=membership.role)
    return invoice, membership


def get_payment_for_user(
    user: Any, payment_id: int, *, write: bool = False, audit: bool = True, clinic_id: int | None = None
) -> tuple[Payment, Membership]:
    """A payment for owner and front desk of its clinic; a 404 for anyone else, a 403 for a therapist."""
    qs = Payment.objects.select_related("clinic", "client", "received_by").filter(pk=payment_id)
    if clinic_id is not None:
        qs = qs.filter(clinic_id=clinic_id)
    payment = qs.first()
    if payment is None or payment.client.restricted_at is not None:
        raise Http404("No such payment")
    membership = require(membership_for(user, payment.clinic_id), Capability.TAKE_PAYMENTS)
    if audit and not write:
        audit_record(action=Action.VIEW, obj=payment, role=membership.role)
    return payment, membership


# --- Derived amounts ------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceMoney:
    paid: Decimal  # payments less refunds
    credited: Decimal  # by issued credit notes
    balance: Decimal  # what is still owed (negative: the client is owed money on it)

    @property
    def is_paid(self) -> bool:
        return self.balance <= 0

    @property
    def refund_due(self) -> Decimal:
        return max(-self.balance, ZERO)


def invoice_money(invoice: Invoice) -> InvoiceMoney:
    entries = LedgerEntry.objects.filter(Q(invoice=invoice) | Q(invoice__credit_for=invoice))
    by_kind = {row["kind"]: row["s"] for row in entries.values("kind").annotate(s=Sum("amount")).order_by()}
    paid = -(by_kind.get(LedgerKind.PAYMENT, ZERO) + by_kind.get(LedgerKind.REFUND, ZERO))
    credited = -by_kind.get(LedgerKind.CREDIT, ZERO) if invoice.kind == DocumentKind.INVOICE else ZERO
    return InvoiceMoney(paid=cents(paid), credited=cents(credited), balance=cents(sum(by_kind.values(), ZERO)))


def with_balance(qs: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Annotate ``balance`` (ledger-derived, see invoice_money) in the same query."""
    own = LedgerEntry.objects.filter(invoice=OuterRef("pk")).order_by().values("invoice").annotate(s=Sum("amount")).values("s")
    credits = (
        LedgerEntry.objects.filter(invoice__credit_for=OuterRef("pk"))
        .order_by()
        .values("invoice__credit_for")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    return qs.annotate(
        balance=Coalesce(Subquery(own, output_field=MONEY), Value(ZERO), output_field=MONEY)
        + Coalesce(Subquery(credits, output_field=MONEY), Value(ZERO), output_field=MONEY)
    )


@dataclass(frozen=True)
class Account:
    currency: str
    balance: Decimal  # positive: the client owes; negative: the clinic owes the client
    store_credit: Decimal

    @property
    def in_credit(self) -> Decimal:
        return max(-self.balance, ZERO)


def client_accounts(client: Client) -> list[Account]:
    """One account per currency the client has entries in (normally one)."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    credit: dict[str, Decimal] = defaultdict(lambda: ZERO)
    rows = LedgerEntry.objects.filter(client=client).values("currency", "invoice").annotate(s=Sum("amount")).order_by()
    for row in rows:
        totals[row["currency"]] += row["s"]
        if row["invoice"] is None:
            credit[row["currency"]] -= row["s"]
    return [Account(currency=c, balance=cents(totals[c]), store_credit=cents(credit[c])) for c in sorted(totals)]


def store_credit(client: Client, currency: str) -> Decimal:
    return -_sum(LedgerEntry.objects.filter(client=client, currency=currency, invoice__isnull=True))


@dataclass(frozen=True)
class Pocket:
    """Part of a payment that can still be refunded: what went to one invoice, or to store credit."""

    invoice_id: int | None
    amount: Decimal


def payment_pockets(payment: Payment) -> list[Pocket]:
    """Where a payment's money sits now, net of refunds (store credit first, then invoices newest first)."""
    pockets: dict[int | None, Decimal] = defaultdict(lambda: ZERO)
    for entry in LedgerEntry.objects.filter(payment=payment).order_by("id"):
        if entry.kind == LedgerKind.PAYMENT or (entry.kind == LedgerKind.REFUND and entry.invoice_id is not None):
            pockets[entry.invoice_id] -= entry.amount
        elif (
            entry.invoice_id is None
            and payment.method != PaymentMethod.STORE_CREDIT
            and entry.kind in (LedgerKind.CREDIT, LedgerKind.REFUND)
        ):
            pockets[None] -= entry.amount
    ordered = sorted(pockets.items(), key=lambda kv: (kv[0] is not None, -(kv[0] or 0)))
    return [Pocket(invoice_id=k, amount=cents(v)) for k, v in ordered if v > 0]


def payment_refunded(payment: Payment) -> Decimal:
    return _sum(LedgerEntry.objects.filter(payment=payment, kind=LedgerKind.REFUND))


def payment_refundable(payment: Payment) -> Decimal:
    pockets = payment_pockets(payment)
    total = sum((p.amount for p in pockets if p.invoice_id is not None), ZERO)
    credit = next((p.amount for p in pockets if p.invoice_id is None), ZERO)
    # Store credit already spent on other invoices is no longer there to give back.
    return total + min(credit, max(store_credit(payment.client, payment.currency), ZERO))


def payments_for_invoice(invoice: Invoice) -> list[dict[str, Any]]:
    """Each payment towards the invoice, with what it put on it (net of refunds)."""
    rows = (
        LedgerEntry.objects.filter(invoice=invoice, kind__in=[LedgerKind.PAYMENT, LedgerKind.REFUND])
        .values("payment")
        .annotate(s=Sum("amount"))
        .order_by("payment")
    )
    applied = {r["payment"]: cents(-r["s"]) for r in rows}
    payments = Payment.objects.filter(pk__in=applied).select_related("received_by").order_by("at", "id")
    return [{"payment": p, "applied": applied[p.pk]} for p in payments]


def invoices_paid_by(payment: Payment) -> list[tuple[Invoice, Decimal]]:
    """The invoices a payment went to, with what it left on each (net of refunds), oldest first."""
    rows = (
        LedgerEntry.objects.filter(payment=payment, invoice__isnull=False, kind__in=[LedgerKind.PAYMENT, LedgerKind.REFUND])
        .values("invoice")
        .annotate(s=Sum("amount"))
        .order_by("invoice")
    )
    applied = {r["invoice"]: cents(-r["s"]) for r in rows}
    invoices = Invoice.objects.filter(pk__in=applied).select_related("clinic").order_by("issued_at", "id")
    return [(i, applied[i.pk]) for i in invoices]


# --- Lists ----------------------------------------------------------------------------------


def invoice_list(*, membership: Membership, search: str = "", status: str = "") -> QuerySet[Invoice]:
    """The clinic's invoices, newest first; a therapist's list holds only their own appointments'."""
    require(membership, Capability.VIEW_DEMOGRAPHICS)
    qs = Invoice.objects.for_clinic(membership.clinic).filter(client__restricted_at__isnull=True)
    if not may_take_payments(membership):
        qs = qs.filter(appointment__therapist=membership.user).exclude(status=InvoiceStatus.DRAFT)
    if status in InvoiceStatus.values:
        qs = qs.filter(status=status)
    for word in search.split()[:5]:
        qs = qs.filter(Q(number__icontains=word) | Q(client__first_name__icontains=word) | Q(client__last_name__icontains=word))
    return with_balance(qs.select_related("client", "appointment__therapist")).order_by("-created_at", "-id")


def client_invoices(client: Client, *, issued_only: bool = False) -> QuerySet[Invoice]:
    qs = Invoice.objects.filter(client=client)
    if issued_only:
        qs = qs.exclude(status=InvoiceStatus.DRAFT)
    return with_balance(qs.select_related("credit_for")).order_by("-created_at", "-id")


def client_payments(client: Client) -> QuerySet[Payment]:
    refunded = (
        LedgerEntry.objects.filter(payment=OuterRef("pk"), kind=LedgerKind.REFUND)
        .order_by()
        .values("payment")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    return (
        Payment.objects.filter(client=client)
        .select_related("received_by")
        .annotate(refunded=Coalesce(Subquery(refunded, output_field=MONEY), Value(ZERO), output_field=MONEY))
        .order_by("-at", "-id")
    )
