"""End-of-day reconciliation by payment method, and refunds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum

from knotwork.accounts.models import Clinic
from knotwork.billing.models import (
    InvoiceLine,
    LedgerEntry,
    LedgerKind,
    Payment,
    PaymentMethod,
)

# Money that came in now, and value paid for earlier (docs/money.md: gift-card and package
# payments are not takings; store credit was taken when it was created).
from knotwork.billing.reports.common import MONEY_METHODS, PREPAID_METHODS, RESTRICTED, _local, _name, _person, clinic_currency
from knotwork.billing.selectors import ZERO, cents
from knotwork.bookings.reports import Period

# --- End-of-day reconciliation -------------------------------------------------------------------


@dataclass
class MethodRow:
    method: str
    label: str
    currency: str
    payments: int = 0
    received: Decimal = ZERO
    refunds: int = 0  # payments refunded that day (one refund may touch several invoices)
    refunded: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.received - self.refunded

    @property
    def prepaid(self) -> bool:
        return self.method in PREPAID_METHODS


@dataclass
class DayPayment:
    id: int
    at: datetime
    numbers: str
    client: str
    therapists: str
    method: str
    amount: Decimal
    currency: str
    reference: str
    taken_by: str


@dataclass
class DayRefund:
    at: datetime
    number: str  # the invoice it came off, or "Store credit"
    client: str
    method: str
    amount: Decimal
    currency: str
    reason: str
    by: str
    payment_id: int


@dataclass
class DayReport:
    clinic: Clinic
    day: date
    methods: list[MethodRow]
    payments: list[DayPayment]
    refunds: list[DayRefund]

    def _total(self, label: str, prepaid: bool) -> list[MethodRow]:
        out: dict[str, MethodRow] = {}
        for m in self.methods:
            if m.prepaid == prepaid:
                t = out.setdefault(m.currency, MethodRow(method="", label=label, currency=m.currency))
                t.payments, t.received = t.payments + m.payments, t.received + m.received
                t.refunds, t.refunded = t.refunds + m.refunds, t.refunded + m.refunded
        return list(out.values())

    @property
    def money_totals(self) -> list[MethodRow]:
        return self._total("Money taken", False)

    @property
    def prepaid_totals(self) -> list[MethodRow]:
        return self._total("Prepaid value used", True)

    @property
    def multi_currency(self) -> bool:
        return len({m.currency for m in self.methods}) > 1


def day_report(*, clinic: Clinic, day: date) -> DayReport:
    """Payments and refunds of one local day by method, and each of them: seven queries."""
    start, end = Period(day, day).bounds(clinic.tz)
    labels = dict(PaymentMethod.choices)
    found: dict[tuple[str, str], MethodRow] = {}
    currency = clinic_currency(clinic)
    for method in (*MONEY_METHODS, *PREPAID_METHODS):
        found[(currency, method)] = MethodRow(method, labels[method], currency)
    payments = Payment.objects.filter(clinic=clinic, at__gte=start, at__lt=end)
    for r in payments.values("currency", "method").annotate(n=Count("pk"), s=Sum("amount")).order_by():
        row = found.setdefault((r["currency"], r["method"]), MethodRow(r["method"], labels[r["method"]], r["currency"]))
        row.payments, row.received = r["n"], cents(r["s"])
    refunds = LedgerEntry.objects.filter(clinic=clinic, kind=LedgerKind.REFUND, at__gte=start, at__lt=end)
    for r in refunds.values("currency", "payment__method").annotate(n=Count("payment", distinct=True), s=Sum("amount")).order_by():
        method = r["payment__method"]
        row = found.setdefault((r["currency"], method), MethodRow(method, labels[method], r["currency"]))
        row.refunds, row.refunded = r["n"], cents(r["s"])
    order: dict[str, int] = {str(m): i for i, m in enumerate((*MONEY_METHODS, *PREPAID_METHODS))}
    methods = sorted(found.values(), key=lambda m: (m.currency != currency, m.currency, order.get(m.method, 99)))
    return DayReport(clinic, day, methods, _day_payments(clinic, payments), _day_refunds(clinic, refunds))


def _day_payments(clinic: Clinic, payments: QuerySet[Payment]) -> list[DayPayment]:
    applied = LedgerEntry.objects.filter(payment__in=payments.values("pk"), kind=LedgerKind.PAYMENT, invoice__isnull=False)
    numbers: dict[int, list[str]] = defaultdict(list)
    invoices_of: dict[int, set[int]] = defaultdict(set)
    for pay, invoice, number in applied.values_list("payment", "invoice", "invoice__number").order_by("invoice__number"):
        if number not in numbers[pay]:
            numbers[pay].append(number)
        invoices_of[pay].add(invoice)
    people: dict[int, set[str]] = defaultdict(set)
    lines = InvoiceLine.objects.filter(invoice__in=applied.values("invoice"), therapist__isnull=False)
    for invoice, name, email in lines.values_list("invoice", "therapist__full_name", "therapist__email").distinct():
        people[invoice].add(_person(name, email))
    labels = dict(PaymentMethod.choices)
    rows = payments.values(
        "pk", "at", "method", "amount", "currency", "reference", "client__first_name", "client__last_name", "client__restricted_at",
        "received_by__full_name", "received_by__email",
    ).order_by("at", "pk")  # fmt: skip
    return [
        DayPayment(
            id=r["pk"], at=_local(r["at"], clinic), numbers=", ".join(numbers[r["pk"]]),
            client=_name(r["client__first_name"], r["client__last_name"], r["client__restricted_at"]),
            therapists=", ".join(sorted({p for i in invoices_of[r["pk"]] for p in people[i]})), method=labels[r["method"]],
            amount=cents(r["amount"]), currency=r["currency"], reference=r["reference"],
            taken_by=_taker(r),
        )
        for r in rows
    ]  # fmt: skip


def _taker(row: Mapping[str, Any]) -> str:
    if row["received_by__email"]:
        return _person(row["received_by__full_name"], row["received_by__email"])
    return "Online" if row["method"] == PaymentMethod.CARD_ONLINE else ""


def _day_refunds(clinic: Clinic, refunds: QuerySet[LedgerEntry]) -> list[DayRefund]:
    return [refund_line(clinic, e) for e in refund_rows(refunds)]


# --- Refunds -------------------------------------------------------------------------------------


def refund_entries(clinic: Clinic, period: Period) -> QuerySet[LedgerEntry]:
    start, end = period.bounds(clinic.tz)
    return LedgerEntry.objects.filter(clinic=clinic, kind=LedgerKind.REFUND, at__gte=start, at__lt=end)


def refund_rows(qs: QuerySet[LedgerEntry]) -> QuerySet[LedgerEntry]:
    return qs.select_related("payment", "client", "invoice", "created_by").order_by("at", "id")


def refund_line(clinic: Clinic, e: LedgerEntry) -> DayRefund:
    by = e.created_by.display_name if e.created_by else "Card provider"
    client = RESTRICTED if e.client.restricted_at else e.client.full_name
    return DayRefund(
        at=_local(e.at, clinic), number=e.invoice.number if e.invoice else "Store credit", client=client,
        method=e.payment.get_method_display() if e.payment else "", amount=cents(e.amount), currency=e.currency, reason=e.note, by=by,
        payment_id=e.payment_id or 0,
    )  # fmt: skip


def refund_totals(qs: QuerySet[LedgerEntry]) -> list[MethodRow]:
    """Refunds per currency and method of the payment refunded; money given back is the non-prepaid ones."""
    labels = dict(PaymentMethod.choices)
    rows = qs.values("currency", "payment__method").annotate(n=Count("payment", distinct=True), s=Sum("amount"))
    return [
        MethodRow(r["payment__method"], labels[r["payment__method"]], r["currency"], refunds=r["n"], refunded=cents(r["s"]))
        for r in rows.order_by("currency", "payment__method")
    ]
