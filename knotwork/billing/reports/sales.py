"""Sales by month, therapist and service; prepaid sales apart as liabilities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from knotwork.accounts.models import Clinic, User
from knotwork.billing.models import (
    DocumentKind,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LedgerEntry,
    LedgerKind,
    LineKind,
    PaymentMethod,
)

# Money that came in now, and value paid for earlier (docs/money.md: gift-card and package
# payments are not takings; store credit was taken when it was created).
from knotwork.billing.reports.common import PREPAID_LINES, AfterCredits, _person, clinic_currency
from knotwork.billing.selectors import ZERO, cents
from knotwork.bookings.reports import Period, _months

# --- Sales ---------------------------------------------------------------------------------------


@dataclass
class SalesRow(AfterCredits):
    """Invoiced and credited figures of one group (a therapist, a service, a month, a total)."""

    label: str
    currency: str
    key: str = ""
    net: Decimal = ZERO
    tax: Decimal = ZERO
    gross: Decimal = ZERO
    credited_net: Decimal = ZERO
    credited_tax: Decimal = ZERO
    credited_gross: Decimal = ZERO

    def add(self, kind: str, net: Decimal, tax: Decimal, gross: Decimal) -> None:
        if kind == DocumentKind.CREDIT_NOTE:
            self.credited_net += net
            self.credited_tax += tax
            self.credited_gross += gross
        else:
            self.net += net
            self.tax += tax
            self.gross += gross

    @property
    def gross_after(self) -> Decimal:
        return self.gross - self.credited_gross


@dataclass
class SalesReport(AfterCredits):
    clinic: Clinic
    period: Period
    therapist: User | None
    by_therapist: list[SalesRow]
    by_service: list[SalesRow]
    by_month: list[SalesRow]
    totals: list[SalesRow]  # revenue, one per currency
    prepaid_sold: list[SalesRow]  # gift cards and packages sold: liabilities
    tips: list[SalesRow]  # tips, held for therapists: not sales (the tips report has them per therapist)
    redeemed: list[tuple[str, str, Decimal]]  # (currency, method label, value used net of refunds)
    voided: list[tuple[str, int, Decimal]]  # (currency, invoices, gross) issued in the period, since voided

    @property
    def currencies(self) -> list[str]:
        return sorted({r.currency for r in [*self.totals, *self.prepaid_sold]})

    @property
    def multi_currency(self) -> bool:
        return len(self.currencies) > 1

    @property
    def empty(self) -> bool:
        return not (self.totals or self.prepaid_sold or self.redeemed or self.tips)


def issued_lines(clinic: Clinic, period: Period, therapist: User | None = None) -> QuerySet[InvoiceLine]:
    """Lines of the invoices and credit notes issued in the period and not void."""
    start, end = period.bounds(clinic.tz)
    qs = InvoiceLine.objects.filter(
        invoice__clinic=clinic, invoice__status=InvoiceStatus.ISSUED, invoice__issued_at__gte=start, invoice__issued_at__lt=end
    )
    return qs.filter(therapist=therapist) if therapist is not None else qs


def sales_report(*, clinic: Clinic, period: Period, therapist: User | None = None) -> SalesReport:
    """Revenue by therapist, service and month, prepaid sales and tips apart: one grouped query over the
    lines, and one each for prepaid value used and for voids (both left out of a therapist's report)."""
    tz = clinic.tz
    rows = (
        issued_lines(clinic, period, therapist)
        .annotate(month=TruncMonth("invoice__issued_at", tzinfo=tz))
        .values("invoice__currency", "invoice__kind", "kind", "therapist", "therapist__full_name", "therapist__email",
                "service", "service__name", "month")
        .annotate(net=Sum("net"), tax=Sum("tax"), gross=Sum("total"))
        .order_by()
    )  # fmt: skip
    groups: dict[str, dict[tuple[str, str], SalesRow]] = {k: {} for k in ("therapist", "service", "month", "total", "prepaid", "tips")}
    kinds = dict(LineKind.choices)

    def bump(group: str, key: str, label: str, row: dict[str, Any]) -> None:
        currency = row["invoice__currency"]
        found = groups[group].setdefault((currency, key), SalesRow(label=label, currency=currency, key=key))
        found.add(row["invoice__kind"], cents(row["net"]), cents(row["tax"]), cents(row["gross"]))

    for row in rows:
        if row["kind"] in PREPAID_LINES:
            bump("prepaid", row["kind"], f"{kinds[row['kind']]}s sold", row)
            continue
        if row["kind"] == LineKind.TIP:
            bump("tips", "tips", "Tips", row)
            continue
        who = row["therapist"]
        bump("therapist", str(who or ""), _person(row["therapist__full_name"], row["therapist__email"]) if who else "No therapist", row)
        service = row["service"]
        bump("service", f"s{service}" if service else f"k{row['kind']}", row["service__name"] if service else kinds[row["kind"]], row)
        month = timezone.localtime(row["month"], tz).date() if isinstance(row["month"], datetime) else row["month"]
        bump("month", month.isoformat(), f"{month:%b %Y}", row)
        bump("total", "total", "Total", row)

    by_month = []
    for currency in sorted({c for c, _ in groups["total"]}) or [clinic_currency(clinic)]:
        for month in _months(period.first.replace(day=1), period.last):
            by_month.append(groups["month"].get((currency, month.isoformat())) or SalesRow(f"{month:%b %Y}", currency, month.isoformat()))

    def ordered(group: str) -> list[SalesRow]:
        return sorted(groups[group].values(), key=lambda r: (r.currency, r.label in ("No therapist",), r.label.lower()))

    return SalesReport(
        clinic=clinic, period=period, therapist=therapist, by_therapist=ordered("therapist"), by_service=ordered("service"),
        by_month=by_month if groups["total"] else [], totals=ordered("total"), prepaid_sold=ordered("prepaid"), tips=ordered("tips"),
        redeemed=[] if therapist else _redeemed(clinic, period), voided=[] if therapist else _voided(clinic, period),
    )  # fmt: skip


def _redeemed(clinic: Clinic, period: Period) -> list[tuple[str, str, Decimal]]:
    """Gift-card and package value used in the period, net of refunds (from the ledger)."""
    start, end = period.bounds(clinic.tz)
    rows = (
        LedgerEntry.objects.filter(
            clinic=clinic, kind__in=[LedgerKind.PAYMENT, LedgerKind.REFUND], at__gte=start, at__lt=end,
            payment__method__in=[PaymentMethod.GIFT_CARD, PaymentMethod.PACKAGE, PaymentMethod.MEMBERSHIP],
        )
        .values("currency", "payment__method")
        .annotate(s=Sum("amount"))
        .order_by("currency", "payment__method")
    )  # fmt: skip
    labels = dict(PaymentMethod.choices)
    return [(r["currency"], labels[r["payment__method"]], cents(-r["s"])) for r in rows]


def _voided(clinic: Clinic, period: Period) -> list[tuple[str, int, Decimal]]:
    start, end = period.bounds(clinic.tz)
    rows = (
        Invoice.objects.filter(clinic=clinic, status=InvoiceStatus.VOID, issued_at__gte=start, issued_at__lt=end)
        .values("currency")
        .annotate(n=Count("pk"), s=Sum("total"))
        .order_by("currency")
    )
    return [(r["currency"], r["n"], cents(r["s"])) for r in rows]


def sales_journal(clinic: Clinic, period: Period, therapist: User | None = None) -> QuerySet[InvoiceLine]:
    """Every line of the period's invoices and credit notes, in issue order: the CSV journal."""
    return (
        issued_lines(clinic, period, therapist)
        .select_related("invoice__client", "therapist", "service", "tax_rate")
        .order_by("invoice__issued_at", "invoice__id", "position", "id")
    )
