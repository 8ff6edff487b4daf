"""What clients owe (ageing) and what the clinic owes (prepaid liabilities, store credit)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from knotwork.accounts.models import Clinic
from knotwork.billing.fields import HALF_CENT
from knotwork.billing.models import (
    ClientPackage,
    DocumentKind,
    GiftCard,
    Invoice,
    InvoiceStatus,
    LedgerEntry,
    PrepaidStatus,
)
from knotwork.billing.prepaid_selectors import Liability, prepaid_liability, with_card_balance, with_sessions_remaining

# Money that came in now, and value paid for earlier (docs/money.md: gift-card and package
# payments are not takings; store credit was taken when it was created).
from knotwork.billing.reports.common import BUCKETS, RESTRICTED, _local, _name
from knotwork.billing.selectors import MONEY, ZERO, cents
from knotwork.bookings.reports import Period

# --- Ageing --------------------------------------------------------------------------------------


@dataclass
class AgedInvoice:
    id: int
    number: str
    client_id: int
    client: str
    issued_on: date
    due_on: date
    days_overdue: int
    bucket: int
    total: Decimal
    balance: Decimal
    currency: str


@dataclass
class AgeingRow:
    label: str
    currency: str
    client_id: int | None = None
    restricted: bool = False  # an erased record: no link to its account page
    invoices: int = 0
    buckets: list[Decimal] = field(default_factory=lambda: [ZERO] * len(BUCKETS))

    @property
    def total(self) -> Decimal:
        return sum(self.buckets, ZERO)


@dataclass
class AgeingReport:
    clinic: Clinic
    on: date
    invoices: list[AgedInvoice]
    clients: list[AgeingRow]
    totals: list[AgeingRow]

    @property
    def multi_currency(self) -> bool:
        return len(self.totals) > 1


def bucket_of(days_overdue: int) -> int:
    if days_overdue <= 0:
        return 0
    return min((days_overdue - 1) // 30 + 1, len(BUCKETS) - 1)


def _balance_at(cutoff: datetime) -> Any:
    """An invoice's ledger balance (its entries and its credit notes') counting entries before ``cutoff``."""
    own = LedgerEntry.objects.filter(invoice=OuterRef("pk"), at__lt=cutoff).order_by().values("invoice")
    notes = LedgerEntry.objects.filter(invoice__credit_for=OuterRef("pk"), at__lt=cutoff).order_by().values("invoice__credit_for")
    return Coalesce(Subquery(own.annotate(s=Sum("amount")).values("s"), output_field=MONEY), Value(ZERO), output_field=MONEY) + Coalesce(
        Subquery(notes.annotate(s=Sum("amount")).values("s"), output_field=MONEY), Value(ZERO), output_field=MONEY
    )


def ageing_report(*, clinic: Clinic, on: date) -> AgeingReport:
    """What each client owed at the end of ``on`` on invoices issued by then, by days past due:
    one query. An invoice voided later still counts on a day before its void."""
    _, cutoff = Period(on, on).bounds(clinic.tz)
    rows = (
        Invoice.objects.filter(
            clinic=clinic, kind=DocumentKind.INVOICE, status__in=[InvoiceStatus.ISSUED, InvoiceStatus.VOID], issued_at__lt=cutoff
        )
        .annotate(owed=_balance_at(cutoff))
        .filter(owed__gte=HALF_CENT)  # not > 0: SQLite sums decimals as binary floats
        .values("pk", "number", "client", "client__first_name", "client__last_name", "client__restricted_at", "issued_at",
                "due_on", "total", "owed", "currency")
        .order_by("issued_at", "pk")
    )  # fmt: skip
    invoices: list[AgedInvoice] = []
    clients: dict[tuple[str, int], AgeingRow] = {}
    totals: dict[str, AgeingRow] = {}
    for r in rows:
        issued = _local(r["issued_at"], clinic).date()
        due = r["due_on"] or issued
        days = (on - due).days
        item = AgedInvoice(
            id=r["pk"], number=r["number"], client_id=r["client"],
            client=_name(r["client__first_name"], r["client__last_name"], r["client__restricted_at"]), issued_on=issued, due_on=due,
            days_overdue=max(days, 0), bucket=bucket_of(days), total=cents(r["total"]), balance=cents(r["owed"]), currency=r["currency"],
        )  # fmt: skip
        invoices.append(item)
        for row in (
            clients.setdefault(
                (item.currency, item.client_id), AgeingRow(item.client, item.currency, item.client_id, item.client == RESTRICTED)
            ),
            totals.setdefault(item.currency, AgeingRow("Total", item.currency)),
        ):
            row.invoices += 1
            row.buckets[item.bucket] += item.balance
    ordered = sorted(clients.values(), key=lambda c: (c.currency, -c.total, c.label.lower()))
    return AgeingReport(clinic, on, invoices, ordered, [totals[c] for c in sorted(totals)])


# --- Liabilities ---------------------------------------------------------------------------------


@dataclass
class StoreCredit:
    currency: str
    amount: Decimal
    clients: int


@dataclass
class LiabilityReport:
    clinic: Clinic
    on: date
    prepaid: list[Liability]  # prepaid_selectors.prepaid_liability: the figures the settings page shows
    store_credit: list[StoreCredit]

    @property
    def empty(self) -> bool:
        return not (self.prepaid or self.store_credit)


def _store_credit_by_client(clinic: Clinic) -> Any:
    """Each client's store credit (minus the sum of their entries that name no invoice), where above zero."""
    return (
        LedgerEntry.objects.filter(clinic=clinic, invoice__isnull=True)
        .values("currency", "client", "client__first_name", "client__last_name", "client__restricted_at")
        .annotate(s=Sum("amount"))
        .filter(s__lte=-HALF_CENT)
        .order_by("currency", "client__last_name", "client__first_name", "client")
    )


def liability_report(*, clinic: Clinic) -> LiabilityReport:
    credit: dict[str, StoreCredit] = {}
    for r in _store_credit_by_client(clinic):
        row = credit.setdefault(r["currency"], StoreCredit(r["currency"], ZERO, 0))
        row.amount += cents(-r["s"])
        row.clients += 1
    today = timezone.localdate(timezone.now(), timezone=clinic.tz)
    return LiabilityReport(clinic, today, prepaid_liability(clinic), [credit[c] for c in sorted(credit)])


def liability_rows(clinic: Clinic) -> list[list[Any]]:
    """One row per card, package and client holding value (CSV): kind, reference, client,
    description, sessions left, expires on, state, amount, currency; cancelled cards and packages
    too, at zero. Five queries."""
    today = timezone.localdate(timezone.now(), timezone=clinic.tz)
    out: list[list[Any]] = []
    cards = with_card_balance(GiftCard.objects.filter(clinic=clinic, status=PrepaidStatus.ACTIVE).select_related("purchaser"))
    for card in cards.order_by("created_at", "pk"):
        balance = cents(card.ledger_balance)  # type: ignore[attr-defined]
        if balance > 0:
            state = "expired" if card.expired_on(today) else "active"
            who = RESTRICTED if card.purchaser.restricted_at else card.purchaser.full_name
            out.append(["gift_card", card.masked_code, who, card.recipient_name, "", card.expires_on, state, balance, card.currency])
    packages = with_sessions_remaining(ClientPackage.objects.filter(clinic=clinic, status=PrepaidStatus.ACTIVE).select_related("client"))
    for package in packages.order_by("created_at", "pk"):
        left = int(package.remaining)  # type: ignore[attr-defined]
        if left > 0:
            state = "expired" if package.expired_on(today) else "active"
            who = RESTRICTED if package.client.restricted_at else package.client.full_name
            value = package.session_value * left
            out.append(["package", f"P{package.pk}", who, package.name, left, package.expires_on, state, value, package.currency])
    gone = {"clinic": clinic, "status": PrepaidStatus.CANCELLED}
    cancelled: tuple[GiftCard | ClientPackage, ...] = (
        *GiftCard.objects.filter(**gone).select_related("purchaser").order_by("cancelled_at", "pk"),
        *ClientPackage.objects.filter(**gone).select_related("client").order_by("cancelled_at", "pk"),
    )
    for item in cancelled:  # owed nothing: listed so the CSV accounts for every card and package sold
        if isinstance(item, GiftCard):
            who = RESTRICTED if item.purchaser.restricted_at else item.purchaser.full_name
            out.append(["gift_card", item.masked_code, who, item.recipient_name, "", item.expires_on, "cancelled", ZERO, item.currency])
        else:
            who = RESTRICTED if item.client.restricted_at else item.client.full_name
            out.append(["package", f"P{item.pk}", who, item.name, 0, item.expires_on, "cancelled", ZERO, item.currency])
    for r in _store_credit_by_client(clinic):
        who = _name(r["client__first_name"], r["client__last_name"], r["client__restricted_at"])
        out.append(["store_credit", f"C{r['client']}", who, "Store credit", "", None, "active", cents(-r["s"]), r["currency"]])
    return out
