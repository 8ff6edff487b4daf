"""A client's statement for a period, cross-checked against the ledger it is read from."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import models
from django.urls import reverse

from knotwork.audit.models import AuditEvent
from knotwork.billing.models import Invoice, LedgerEntry, LedgerKind, Payment
from knotwork.billing.selectors import cents, client_accounts
from knotwork.billing.statements import client_statement, statement_pdf
from knotwork.bookings.reports import Period
from tests.billing import test_receipts, test_reports, test_views
from tests.lib.pdf_text import pdf_text

pytestmark = pytest.mark.django_db

D = Decimal
# Fixtures shared with the receipt, report and page tests.
licensed = test_receipts.licensed  # alice's verified licence
books = test_reports.books  # a day of business at clinic A
portal = test_views.portal  # client_a's portal login
WEEKS_AGO = timedelta(days=40)


def _back_date(invoice: Invoice, by: timedelta) -> None:
    """Move an invoice, its payments and their ledger entries ``by`` into the past, behind the
    application's back (the ledger refuses updates through its own queryset)."""
    entries = LedgerEntry.objects.filter(models.Q(invoice=invoice) | models.Q(payment__ledger_entries__invoice=invoice)).distinct()
    for entry in list(entries):
        models.QuerySet.update(LedgerEntry.objects.filter(pk=entry.pk), at=entry.at - by)
    for payment in Payment.objects.filter(ledger_entries__invoice=invoice).distinct():
        Payment.objects.filter(pk=payment.pk).update(at=payment.at - by)
    models.QuerySet.update(Invoice.objects.filter(pk=invoice.pk), issued_at=invoice.issued_at - by)


def _sum(qs) -> Decimal:
    return cents(qs.aggregate(s=models.Sum("amount"))["s"] or D("0"))


@pytest.fixture
def history(books, licensed):
    """The day of business of test_reports, with INV-1 (paid in cash) and INV-6 (unpaid, 60.00)
    moved forty days back: the statement of the last week opens at 60.00 owed."""
    _back_date(books.inv1, WEEKS_AGO)
    _back_date(books.inv6, WEEKS_AGO)
    books.week = Period(books.today - timedelta(days=6), books.today)
    return books


class StatementTests:
    def test_the_opening_closing_and_every_total_match_the_ledger(self, history):
        w = history
        s = client_statement(w.client_a, w.week)
        start, end = w.week.bounds(w.clinic_a.tz)
        mine = LedgerEntry.objects.filter(client=w.client_a, currency="GBP")
        assert s.opening == _sum(mine.filter(at__lt=start)) == D("60.00")  # INV-6; INV-1 was paid
        assert s.closing == _sum(mine.filter(at__lt=end)) == client_accounts(w.client_a)[0].balance
        period = mine.filter(at__gte=start, at__lt=end)
        assert len(s.rows) == period.count() and s.rows[-1].balance == s.closing
        assert sum((r.amount for r in s.rows), D("0")) == s.closing - s.opening
        assert s.charged == _sum(period.filter(kind=LedgerKind.CHARGE))
        assert s.paid == -_sum(period.filter(kind=LedgerKind.PAYMENT))
        assert s.credited == -_sum(period.filter(kind__in=[LedgerKind.CREDIT, LedgerKind.VOID]))
        assert s.refunded == _sum(period.filter(kind=LedgerKind.REFUND)) == D("30.00")
        # Charged less everything that lowered the balance, plus refunds and credit used, is the movement.
        assert s.charged - s.paid - s.credited + s.refunded + s.credit_used == s.closing - s.opening
        # Grace's entries are hers alone.
        assert not any("Massage oil" in r.description for r in s.rows) and all(p.client_id == w.client_a.pk for p in s.payments)

    def test_every_treatment_of_the_period_is_listed_and_voids_and_products_are_not(self, history):
        w = history
        s = client_statement(w.client_a, w.week)
        numbers = [line.invoice.number for line in s.treatments]
        # Sessions on INV-1, 2, 3 (credited), 5, 6 and 9; INV-7 was voided; products are not treatments.
        expected = [i.number for i in (w.inv1, w.inv2, w.inv3, w.inv5, w.inv6, w.inv9)]
        assert sorted(numbers) == sorted(expected)
        assert [line.invoice_id for line in s.treatments if line.is_credited] == [w.inv3.pk]
        assert {line.description for line in s.treatments} == {"NMT session"}

    def test_a_period_after_everything_opens_and_closes_at_the_balance(self, history):
        w = history
        later = Period(w.today + timedelta(days=1), w.today + timedelta(days=30))
        s = client_statement(w.client_a, later)
        assert s.rows == [] and s.treatments == [] and s.opening == s.closing == client_accounts(w.client_a)[0].balance

    def test_the_pdf_prints_balances_treatments_practitioner_licence_and_payments(self, history):
        w = history
        s = client_statement(w.client_a, w.week)
        text = pdf_text(statement_pdf(s))
        for expected in (
            f"Statement {w.week.first:%d %b %Y} to {w.week.last:%d %b %Y}", "Clinic A Ltd", "GB123456789", "Ada Lovelace",
            "Opening balance", "GBP 60.00 owed", "Closing balance", f"GBP {s.closing:,.2f}",
            "Licensed Massage Therapist (State Board, Oregon), no. LMT-778899", "NMT session", "60 min", "credited",
            "Card (terminal)", "T-991", f"Invoice {w.inv2.number}", f"Credit note {w.cn1.number}", "Refund, Card (terminal), from",
        ):  # fmt: skip
            assert expected in text, expected
        assert "CPT" not in text and "ICD-10" not in text  # a plain statement carries no claim codes


class StatementPageTests:
    def test_the_desk_reads_it_and_downloads_the_pdf_and_both_are_audited(self, history, as_user):
        w = history
        url = reverse("client_statement", args=[w.client_a.pk])
        query = {"from": w.week.first.isoformat(), "to": w.week.last.isoformat()}
        r = as_user(w.bob).get(url, query)
        assert r.status_code == 200 and b"Closing balance" in r.content and w.inv2.number.encode() in r.content
        pdf = as_user(w.bob).get(url, {**query, "format": "pdf"})
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf["Cache-Control"] == "private, no-store"
        assert "GBP 60.00 owed" in pdf_text(pdf.content)
        events = AuditEvent.objects.filter(object_type="clients.client", object_id=str(w.client_a.pk), detail__billing="statement")
        assert sorted(events.values_list("action", flat=True)) == ["export", "view"]

    def test_another_clinic_gets_404_a_therapist_403_and_bad_dates_400(self, history, as_user):
        w = history
        url = reverse("client_statement", args=[w.client_a.pk])
        assert as_user(w.charlie).get(url).status_code == 404
        assert as_user(w.alice).get(url).status_code == 403
        bad = as_user(w.bob).get(url, {"from": "2026-02-30", "to": "nonsense"})
        assert bad.status_code == 400 and b"Enter a valid date" in bad.content
        backwards = as_user(w.bob).get(url, {"from": "2026-05-01", "to": "2026-04-01"})
        assert backwards.status_code == 400 and b"on or before its end" in backwards.content

    def test_the_client_reads_only_their_own_statement(self, history, portal, as_user):
        w = history
        own = as_user(portal).get(reverse("portal_statement", args=[w.client_a.pk]), {"format": "pdf"})
        assert own.status_code == 200 and "Ada Lovelace" in pdf_text(own.content)
        assert as_user(portal).get(reverse("portal_statement", args=[w.grace.pk])).status_code == 404
        assert as_user(portal).get(reverse("portal_statement", args=[w.client_b.pk])).status_code == 404
        assert as_user(portal).get(reverse("client_statement", args=[w.client_a.pk])).status_code == 403  # a staff page
        assert as_user(w.bob).get(reverse("portal_statement", args=[w.client_a.pk])).status_code == 404
        assert AuditEvent.objects.filter(role="client", action="export", detail__billing="statement").exists()
