"""Tips per therapist for a period: money held for them, kept out of sales and tax (docs/money.md, "Tips")."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from knotwork.accounts.models import Clinic, User
from knotwork.billing.models import DocumentKind, InvoiceLine, LineKind
from knotwork.billing.reports.common import _person
from knotwork.billing.reports.sales import issued_lines
from knotwork.billing.selectors import ZERO, cents
from knotwork.bookings.reports import Period


@dataclass
class TipRow:
    """The tips of one therapist (or the total) in one currency."""

    label: str
    currency: str
    key: str = ""
    count: int = 0
    tips: Decimal = ZERO
    credited: Decimal = ZERO
    credited_count: int = 0

    @property
    def net_after(self) -> Decimal:
        return self.tips - self.credited


@dataclass
class TipsReport:
    clinic: Clinic
    period: Period
    therapist: User | None
    by_therapist: list[TipRow]
    totals: list[TipRow] = field(default_factory=list)

    @property
    def multi_currency(self) -> bool:
        return len(self.totals) > 1


def tip_lines(clinic: Clinic, period: Period, therapist: User | None = None) -> QuerySet[InvoiceLine]:
    """Every tip line of the period's invoices and credit notes (issued, not void), in issue order."""
    return (
        issued_lines(clinic, period, therapist)
        .filter(kind=LineKind.TIP)
        .select_related("invoice__client", "therapist")
        .order_by("invoice__issued_at", "invoice__id", "position", "id")
    )


def tips_report(*, clinic: Clinic, period: Period, therapist: User | None = None) -> TipsReport:
    """Tips by therapist: given on invoices issued in the period, less tips credited by the period's
    credit notes (the sales report's conventions). One grouped query; a therapist's own only when
    ``therapist`` is given."""
    rows = (
        issued_lines(clinic, period, therapist)
        .filter(kind=LineKind.TIP)
        .values("invoice__currency", "invoice__kind", "therapist", "therapist__full_name", "therapist__email")
        .annotate(n=Count("pk"), s=Sum("total"))
        .order_by()
    )
    people: dict[tuple[str, str], TipRow] = {}
    totals: dict[str, TipRow] = {}
    for r in rows:
        currency, who = r["invoice__currency"], r["therapist"]
        label = _person(r["therapist__full_name"], r["therapist__email"]) if who else "No therapist"
        for row in (
            people.setdefault((currency, str(who or "")), TipRow(label, currency, str(who or ""))),
            totals.setdefault(currency, TipRow("Total", currency, "total")),
        ):
            if r["invoice__kind"] == DocumentKind.CREDIT_NOTE:
                row.credited += cents(r["s"])
                row.credited_count += r["n"]
            else:
                row.tips += cents(r["s"])
                row.count += r["n"]
    ordered = sorted(people.values(), key=lambda t: (t.currency, t.label == "No therapist", t.label.lower()))
    return TipsReport(clinic, period, therapist, ordered, [totals[c] for c in sorted(totals)])
