"""A client's statement for a period: what was charged, paid, credited and refunded between two
dates, with the balance before and after, and every treatment of the period — for the client's
own records or an insurer (docs/money.md, "Receipts for insurers").

Everything is read from the ledger (``LedgerEntry``, signed in the client's debt), so the opening
balance is the sum of the client's entries before the first day, the closing balance the sum up
to the end of the last day, and the rows between add up from one to the other. Dates are local
to the clinic. One statement is in one currency (the clinic's, unless asked otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext

from knotwork.billing.client_text import method_words
from knotwork.billing.models import (
    DocumentKind,
    InvoiceLine,
    InvoiceStatus,
    LedgerEntry,
    LedgerKind,
    LineKind,
    Payment,
)
from knotwork.billing.money import format_money
from knotwork.billing.receipts import _diagnoses, _document, _lines_table, _party_facts, _practitioners
from knotwork.billing.reports.common import clinic_currency, money_period
from knotwork.billing.selectors import ZERO, cents, settings_for
from knotwork.billing.superbill import claim_for
from knotwork.bookings.reports import Period, ReportError
from knotwork.clients.models import Client

TREATMENT_KINDS = (LineKind.SERVICE, LineKind.ADDON)


@dataclass(frozen=True)
class Row:
    """One ledger entry of the period, with the balance after it."""

    at: datetime
    kind: str
    description: str
    amount: Decimal  # signed: positive adds to what the client owes
    balance: Decimal

    @property
    def charge(self) -> Decimal | None:
        return self.amount if self.amount > 0 else None

    @property
    def credit(self) -> Decimal | None:
        return -self.amount if self.amount < 0 else None


@dataclass
class Statement:
    client: Client
    currency: str
    period: Period
    opening: Decimal
    rows: list[Row]
    treatments: list[InvoiceLine]
    payments: list[Payment]
    totals: dict[str, Decimal] = field(default_factory=dict)  # by ledger kind, as signed sums

    @property
    def closing(self) -> Decimal:
        return cents(self.opening + sum((r.amount for r in self.rows), ZERO))

    @property
    def charged(self) -> Decimal:
        return self.totals.get(LedgerKind.CHARGE, ZERO)

    @property
    def paid(self) -> Decimal:
        return -self.totals.get(LedgerKind.PAYMENT, ZERO)

    @property
    def credited(self) -> Decimal:
        """Credit notes, voids and store credit created (what lowered the balance other than payments)."""
        return -(self.totals.get(LedgerKind.CREDIT, ZERO) + self.totals.get(LedgerKind.VOID, ZERO))

    @property
    def refunded(self) -> Decimal:
        return self.totals.get(LedgerKind.REFUND, ZERO)

    @property
    def credit_used(self) -> Decimal:
        return self.totals.get(LedgerKind.REDEMPTION, ZERO)


def statement_period(first: date | None, last: date | None, preset: str, *, client: Client) -> Period:
    """The period asked for (this month by default; presets and the two-year limit of the money
    reports). Raises ReportError naming the parameter at fault."""
    return money_period(first, last, preset, today=timezone.localdate(timezone=client.clinic.tz))


def _describe(entry: LedgerEntry) -> str:
    """The entry in words, in the active language: the client's on the portal, the clinic's on the PDF."""
    invoice, payment = entry.invoice, entry.payment
    number = invoice.number if invoice is not None else ""
    method = method_words(payment.method) if payment is not None else ""
    if entry.kind == LedgerKind.CHARGE:
        return gettext("Invoice %(number)s") % {"number": number}
    if entry.kind == LedgerKind.VOID:
        return gettext("Invoice %(number)s voided") % {"number": number}
    if entry.kind == LedgerKind.PAYMENT:
        if payment is not None and payment.reference:
            return gettext("Payment, %(method)s (%(reference)s), on %(number)s") % {
                "method": method, "reference": payment.reference, "number": number}  # fmt: skip
        return gettext("Payment, %(method)s, on %(number)s") % {"method": method, "number": number}
    if entry.kind == LedgerKind.REFUND:
        if number:
            return gettext("Refund, %(method)s, from %(number)s") % {"method": method, "number": number}
        return gettext("Refund, %(method)s, from store credit") % {"method": method}
    if entry.kind == LedgerKind.REDEMPTION:
        return gettext("Store credit used")
    if invoice is not None:
        if invoice.credit_for:
            return gettext("Credit note %(number)s for %(invoice)s") % {"number": number, "invoice": invoice.credit_for.number}
        return gettext("Credit note %(number)s") % {"number": number}
    return gettext("Kept as store credit") if payment is not None and entry.amount < 0 else gettext("Store credit")


def client_statement(client: Client, period: Period, currency: str | None = None) -> Statement:
    """The client's ledger between the period's two local dates (both included)."""
    currency = currency or clinic_currency(client.clinic)
    start, end = period.bounds(client.clinic.tz)
    entries = LedgerEntry.objects.filter(client=client, currency=currency)
    opening = cents(entries.filter(at__lt=start).aggregate(s=Sum("amount"))["s"] or ZERO)
    rows: list[Row] = []
    balance, totals = opening, dict[str, Decimal]()
    in_period = entries.filter(at__gte=start, at__lt=end).select_related("invoice__credit_for", "payment").order_by("at", "id")
    for entry in in_period:
        balance += entry.amount
        totals[entry.kind] = totals.get(entry.kind, ZERO) + entry.amount
        local = timezone.localtime(entry.at, client.clinic.tz)
        rows.append(Row(at=local, kind=entry.kind, description=_describe(entry), amount=entry.amount, balance=cents(balance)))
    credited = InvoiceLine.objects.filter(credits_line=OuterRef("pk"), invoice__status=InvoiceStatus.ISSUED)
    treatments = (
        InvoiceLine.objects.filter(
            invoice__client=client, invoice__kind=DocumentKind.INVOICE, invoice__status=InvoiceStatus.ISSUED,
            invoice__currency=currency, kind__in=TREATMENT_KINDS,
        )
        .filter(Q(service_date__range=(period.first, period.last)) | Q(service_date__isnull=True, invoice__issued_at__range=(start, end)))
        .annotate(is_credited=Exists(credited))
        .select_related("invoice", "therapist", "service")
        .order_by("service_date", "invoice__issued_at", "position", "id")
    )  # fmt: skip
    payments = Payment.objects.filter(client=client, currency=currency, at__gte=start, at__lt=end).order_by("at", "id")
    return Statement(
        client=client, currency=currency, period=period, opening=opening, rows=rows, treatments=list(treatments),
        payments=list(payments), totals={k: cents(v) for k, v in totals.items()},
    )  # fmt: skip


def statement_pdf(statement: Statement, *, superbill: bool = False) -> bytes:
    """The statement as a PDF; a US superbill adds the codes (knotwork.billing.superbill)."""
    client, cur, period = statement.client, statement.currency, statement.period
    conf = settings_for(client.clinic)
    span = f"{period.first:%d %b %Y} to {period.last:%d %b %Y}"
    doc = _document(conf, f"{'Superbill - statement' if superbill else 'Statement'} {span}")
    doc.facts(
        [
            *_party_facts(conf, client, superbill=superbill),
            ("Period", span),
            ("Opening balance", _balance(statement.opening, cur)),
            ("Charged", format_money(statement.charged, cur)),
            ("Paid", format_money(statement.paid, cur)),
            *([("Credited", format_money(statement.credited, cur))] if statement.credited else []),
            *([("Refunded", format_money(statement.refunded, cur))] if statement.refunded else []),
            *([("Store credit used", format_money(statement.credit_used, cur))] if statement.credit_used else []),
            ("Closing balance", _balance(statement.closing, cur)),
        ]
    )
    lines = statement.treatments
    claim = claim_for(lines, client, client.clinic_id) if superbill else None
    _practitioners(doc, lines, client.clinic_id, None, claim)
    if claim:
        _diagnoses(doc, claim)
    if lines:
        _lines_table(doc, lines, cur, claim, title="Treatments in the period")
    else:
        doc.section("Treatments in the period")
        doc.paragraph("No treatments in this period.", muted=True)
    if statement.payments:
        doc.section("Payments received")
        doc.table(
            ["Date", "Method", "Reference", "Amount"],
            [[f"{timezone.localtime(p.at, client.clinic.tz):%d %b %Y}", p.get_method_display(), p.reference or "-",
              format_money(p.amount, cur)] for p in statement.payments],
        )  # fmt: skip
    doc.section("Account activity")
    rows = [[f"{period.first:%d %b %Y}", "Opening balance", "", "", format_money(statement.opening, cur)]]
    rows += [
        [f"{r.at:%d %b %Y}", r.description, format_money(r.charge, cur) if r.charge else "",
         format_money(r.credit, cur) if r.credit else "", format_money(r.balance, cur)]
        for r in statement.rows
    ]  # fmt: skip
    rows.append([f"{period.last:%d %b %Y}", "Closing balance", "", "", format_money(statement.closing, cur)])
    doc.table(["Date", "Entry", "Charges", "Payments and credits", "Balance"], rows, widths=(24, 62, 28, 30, 30))
    doc.paragraph("A positive balance is owed to the clinic; a negative one is owed to you.", muted=True, size=8.5)
    return doc.output()


def _balance(amount: Decimal, cur: str) -> str:
    if amount > 0:
        return f"{format_money(amount, cur)} owed"
    if amount < 0:
        return f"{format_money(-amount, cur)} in credit"
    return format_money(ZERO, cur)


def statement_filename(statement: Statement, *, superbill: bool) -> str:
    p = statement.period
    return f"{'superbill' if superbill else 'statement'}-{statement.client.pk}-{p.first:%Y%m%d}-{p.last:%Y%m%d}"


__all__ = ["ReportError", "Statement", "client_statement", "statement_pdf", "statement_period"]
