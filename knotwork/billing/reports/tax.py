"""The tax summary: net and tax per rate billed, credit notes subtracted."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from knotwork.accounts.models import Clinic
from knotwork.billing.models import (
    DocumentKind,
    LineKind,
)

# --- Tax summary ---------------------------------------------------------------------------------
from knotwork.billing.reports.common import AfterCredits

# Money that came in now, and value paid for earlier (docs/money.md: gift-card and package
# payments are not takings; store credit was taken when it was created).
from knotwork.billing.reports.sales import issued_lines
from knotwork.billing.selectors import ZERO, cents
from knotwork.bookings.reports import Period


@dataclass
class TaxRow(AfterCredits):
    label: str
    percent: Decimal | None
    currency: str
    net: Decimal = ZERO
    tax: Decimal = ZERO
    credited_net: Decimal = ZERO
    credited_tax: Decimal = ZERO


@dataclass
class TaxReport:
    clinic: Clinic
    period: Period
    rates: list[TaxRow]
    totals: list[TaxRow]

    @property
    def multi_currency(self) -> bool:
        return len(self.totals) > 1


def tax_report(*, clinic: Clinic, period: Period) -> TaxReport:
    """Per tax rate (the percent each line was billed at, and its rate's name): taxable net and
    tax of the period's invoices, less its credit notes. Every line counts, prepaid sales too,
    since the tax on them was invoiced, except tips: held for therapists, never taxed. One query."""
    rows = (
        issued_lines(clinic, period)
        .exclude(kind=LineKind.TIP)
        .values("invoice__currency", "invoice__kind", "tax_percent", "tax_rate__name")
        .annotate(net=Sum("net"), tax=Sum("tax"))
        .order_by()
    )
    rates: dict[tuple[str, Decimal, str], TaxRow] = {}
    totals: dict[str, TaxRow] = {}
    for r in rows:
        percent = cents(r["tax_percent"])
        name = r["tax_rate__name"] or ("No tax" if percent == 0 else f"{percent.normalize():f}%")
        currency = r["invoice__currency"]
        for row in (
            rates.setdefault((currency, percent, name), TaxRow(name, percent, currency)),
            totals.setdefault(currency, TaxRow("Total", None, currency)),
        ):
            if r["invoice__kind"] == DocumentKind.CREDIT_NOTE:
                row.credited_net += cents(r["net"])
                row.credited_tax += cents(r["tax"])
            else:
                row.net += cents(r["net"])
                row.tax += cents(r["tax"])
    ordered = sorted(rates.values(), key=lambda t: (t.currency, -(t.percent or ZERO), t.label))
    return TaxReport(clinic, period, ordered, [totals[c] for c in sorted(totals)])
