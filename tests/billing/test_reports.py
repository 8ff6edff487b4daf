"""The owner's money reports (knotwork/billing/reports/, report_views.py): hand-computed figures
on a small day of business, cross-checked against the ledger the way `knotwork money verify`
sums it; who may read which report; CSV files that parse; audit; query counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from knotwork.accounts.models import Role
from knotwork.audit.models import AuditEvent
from knotwork.billing import prepaid, reports, services
from knotwork.billing.models import (
    BillingSettings,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    LedgerEntry,
    LedgerKind,
    LineKind,
    PackageProduct,
    TaxRate,
)
from knotwork.billing.selectors import cents
from knotwork.billing.verify import verify_money
from knotwork.lib.testing import make_client, make_staff
from tests.billing.conftest import make_appointment

D = Decimal


def _visit(world, therapist, *, client=None):
    """An issued invoice for one NMT session (60.00, 20% VAT included) given by ``therapist``."""
    appointment = make_appointment(world.clinic_a, therapist, client or world.client_a, world.session)
    draft = services.invoice_from_appointment(appointment=appointment, actor=world.bob)
    return draft


def _pay(world, invoice, method, amount, *, client=None, **extra):
    return services.payment_record(
        clinic=world.clinic_a, client=client or world.client_a, actor=world.bob, method=method, amount=amount, currency="GBP",
        invoices=[invoice], **extra,
    )  # fmt: skip


@pytest.fixture
def books(money):
    """One day at clinic A (GBP, prices include 20% VAT); the figures the tests expect are worked out in the comments."""
    w, bob = money, money.bob
    issue = services.invoice_issue
    # INV-1: alice's session, 60.00 (50.00 + 10.00 VAT), paid in cash.
    w.inv1 = issue(invoice=_visit(w, w.alice), actor=bob)
    _pay(w, w.inv1, "cash", "60.00")
    # INV-2: olivia's session 60.00 and a foam roller 24.00 (20.00 + 4.00), no therapist: 84.00.
    draft = _visit(w, w.olivia)
    services.invoice_line_add(
        invoice=draft, actor=bob, kind=LineKind.PRODUCT, description="Foam roller", unit_price="24.00", tax_rate=w.vat
    )
    w.inv2 = issue(invoice=draft, actor=bob)
    # Paid 100.00 on the card terminal: 16.00 becomes store credit; 30.00 refunded (16.00 off the
    # credit, then 14.00 off INV-2, which owes 14.00 again).
    w.card = _pay(w, w.inv2, "card_terminal", "100.00", reference="T-991")
    services.payment_refund(payment=w.card, actor=bob, amount="30.00", reason="Roller returned")
    # INV-3: alice's session, credited in full by CN-1.
    w.inv3 = issue(invoice=_visit(w, w.alice), actor=bob)
    w.cn1 = services.credit_note_create(invoice=w.inv3, actor=bob, reason="Wrong client")
    # INV-4: a 100.00 gift card (no tax), paid by bank transfer.
    card, w.code = prepaid.gift_card_sell(client=w.client_a, actor=bob, amount="100.00", recipient_name="Sam")
    w.inv4 = issue(invoice=card.invoice_line.invoice, actor=bob)
    _pay(w, w.inv4, "bank_transfer", "100.00")
    # INV-5: alice's session, 40.00 from the gift card and 20.00 cash.
    w.inv5 = issue(invoice=_visit(w, w.alice), actor=bob)
    prepaid.invoice_settle(invoice=w.inv5, actor=bob, gift_card_code=w.code, gift_card_amount=D("40.00"), method="cash", amount="20.00")
    # INV-6: alice's session, unpaid and due 45 days ago (the 31-60 days bucket).
    w.inv6 = issue(invoice=_visit(w, w.alice), actor=bob)
    Invoice.objects.filter(pk=w.inv6.pk).update(due_on=timezone.localdate(timezone.now(), w.clinic_a.tz) - timedelta(days=45))
    # INV-7: alice's session, voided: in no figure but the voided count.
    w.inv7 = services.invoice_void(invoice=issue(invoice=_visit(w, w.alice), actor=bob), actor=bob, reason="Issued by mistake")
    # INV-8: a package of three sessions, 150.00 (no tax), paid in cash; INV-9: alice's session paid by one of them (60.00).
    product = PackageProduct.objects.create(clinic=w.clinic_a, name="Three sessions", sessions=3, price=D("150.00"), currency="GBP")
    product.services.set([w.session])
    package = prepaid.package_sell(client=w.client_a, product=product, actor=bob)
    w.inv8 = issue(invoice=package.invoice_line.invoice, actor=bob)
    _pay(w, w.inv8, "cash", "150.00")
    package.refresh_from_db()
    w.inv9 = issue(invoice=_visit(w, w.alice), actor=bob)
    prepaid.invoice_settle(invoice=w.inv9, actor=bob, package=package)
    # INV-10: Grace buys massage oil, 12.00 (10.00 + 2.00), pays 20.00 cash: 8.00 store credit.
    w.grace = make_client(w.clinic_a, first_name="Grace", last_name="Hopper")
    draft = services.invoice_create(clinic=w.clinic_a, client=w.grace, actor=bob)
    services.invoice_line_add(
        invoice=draft, actor=bob, kind=LineKind.PRODUCT, description="Massage oil", unit_price="12.00", tax_rate=w.vat
    )
    w.inv10 = issue(invoice=draft, actor=bob)
    _pay(w, w.inv10, "cash", "20.00", client=w.grace)
    w.today = timezone.localdate(timezone.now(), w.clinic_a.tz)
    w.period = reports.Period(w.today - timedelta(days=1), w.today + timedelta(days=1))
    return w


def _csv(response):
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def _money_entries(w, **filters):
    return LedgerEntry.objects.filter(clinic=w.clinic_a, **filters)


def _ledger_sum(qs) -> Decimal:
    return cents(qs.aggregate(s=Sum("amount"))["s"] or D(0))


@pytest.mark.django_db
class SalesFiguresTests:
    def test_the_books_are_consistent_before_anything_is_reported(self, books):
        assert verify_money().ok, verify_money().findings

    def test_revenue_is_invoiced_less_credited_with_prepaid_sales_and_voids_apart(self, books):
        r = reports.sales_report(clinic=books.clinic_a, period=books.period)
        (total,) = r.totals
        assert (total.gross, total.net, total.tax) == (D("396.00"), D("330.00"), D("66.00"))
        assert (total.credited_gross, total.credited_net, total.credited_tax) == (D("60.00"), D("50.00"), D("10.00"))
        assert (total.gross_after, total.net_after, total.tax_after) == (D("336.00"), D("280.00"), D("56.00"))
        assert {(p.label, p.gross) for p in r.prepaid_sold} == {("Gift cards sold", D("100.00")), ("Packages sold", D("150.00"))}
        assert r.redeemed == [("GBP", "Gift card", D("40.00")), ("GBP", "Package session", D("60.00"))]
        assert r.voided == [("GBP", 1, D("60.00"))]

    def test_by_therapist_and_by_service_add_up_to_the_total(self, books):
        r = reports.sales_report(clinic=books.clinic_a, period=books.period)
        people = {row.label: (row.gross, row.credited_gross, row.net_after) for row in r.by_therapist}
        assert people == {
            books.alice.display_name: (D("300.00"), D("60.00"), D("200.00")),
            books.olivia.display_name: (D("60.00"), D("0.00"), D("50.00")),
            "No therapist": (D("36.00"), D("0.00"), D("30.00")),
        }
        assert {row.label: row.gross_after for row in r.by_service} == {"NMT session": D("300.00"), "Product": D("36.00")}
        for rows in (r.by_therapist, r.by_service, r.by_month):
            assert sum(row.gross_after for row in rows) == r.totals[0].gross_after

    def test_invoiced_and_credited_match_the_ledgers_charge_and_credit_entries(self, books):
        r = reports.sales_report(clinic=books.clinic_a, period=books.period)
        start, end = books.period.bounds(books.clinic_a.tz)
        issued = {"invoice__status": InvoiceStatus.ISSUED, "invoice__issued_at__gte": start, "invoice__issued_at__lt": end}
        charges = _ledger_sum(_money_entries(books, kind=LedgerKind.CHARGE, invoice__kind=DocumentKind.INVOICE, **issued))
        credits = _ledger_sum(_money_entries(books, kind=LedgerKind.CREDIT, invoice__kind=DocumentKind.CREDIT_NOTE, **issued))
        assert charges == r.totals[0].gross + sum(p.gross for p in r.prepaid_sold)
        assert -credits == r.totals[0].credited_gross + sum(p.credited_gross for p in r.prepaid_sold)
        redeemed = -_ledger_sum(
            _money_entries(books, kind__in=[LedgerKind.PAYMENT, LedgerKind.REFUND], payment__method__in=["gift_card", "package"])
        )
        assert redeemed == sum(v for _, _, v in r.redeemed)

    def test_a_therapists_report_holds_only_the_lines_that_name_them(self, books):
        r = reports.sales_report(clinic=books.clinic_a, period=books.period, therapist=books.alice)
        assert [row.label for row in r.by_therapist] == [books.alice.display_name]
        assert (r.totals[0].gross, r.totals[0].credited_gross, r.totals[0].net_after) == (D("300.00"), D("60.00"), D("200.00"))
        assert r.prepaid_sold == [] and r.redeemed == [] and r.voided == []

    def test_a_period_before_the_sales_is_empty_and_months_are_listed_for_the_chart(self, books):
        earlier = reports.Period(books.today - timedelta(days=70), books.today - timedelta(days=2))
        r = reports.sales_report(clinic=books.clinic_a, period=earlier)
        assert r.empty and r.by_month == [] and r.totals == []
        r = reports.sales_report(clinic=books.clinic_a, period=reports.Period(books.today - timedelta(days=62), books.today))
        assert len(r.by_month) >= 3 and r.by_month[-1].gross == D("396.00")

    def test_presets_give_this_month_last_month_and_this_year(self):
        from datetime import date

        today = date(2026, 3, 15)
        assert reports.money_period(None, None, "", today=today) == reports.Period(date(2026, 3, 1), today)
        assert reports.money_period(None, None, "last_month", today=today) == reports.Period(date(2026, 2, 1), date(2026, 2, 28))
        assert reports.money_period(None, None, "this_year", today=today) == reports.Period(date(2026, 1, 1), today)
        with pytest.raises(reports.ReportError):
            reports.money_period(date(2026, 3, 2), date(2026, 3, 1), "", today=today)

    def test_a_tax_exclusive_clinic_reports_tax_on_top_of_the_price(self, money):
        b = money.clinic_b
        owner = make_staff("owen@b.example", b, Role.OWNER)
        vat = TaxRate.objects.create(clinic=b, name="VAT", rate=D("20.00"))
        BillingSettings.objects.create(clinic=b, prices_include_tax=False, default_tax_rate=vat)
        draft = services.invoice_create(clinic=b, client=money.client_b, actor=owner)
        services.invoice_line_add(
            invoice=draft, actor=owner, description="Session", unit_price="50.00", tax_rate=vat, therapist=money.charlie
        )
        services.invoice_issue(invoice=draft, actor=owner)
        today = timezone.localdate(timezone.now(), b.tz)
        period = reports.Period(today - timedelta(days=1), today + timedelta(days=1))
        (total,) = reports.sales_report(clinic=b, period=period).totals
        assert (total.net, total.tax, total.gross) == (D("50.00"), D("10.00"), D("60.00"))
        (rate,) = reports.tax_report(clinic=b, period=period).rates
        assert (rate.label, rate.percent, rate.net, rate.tax) == ("VAT", D("20.00"), D("50.00"), D("10.00"))

    def test_rows_in_a_second_currency_are_kept_apart(self, books):
        BillingSettings.objects.filter(clinic=books.clinic_a).update(currency="EUR")
        draft = services.invoice_create(clinic=books.clinic_a, client=books.grace, actor=books.bob)
        services.invoice_line_add(invoice=draft, actor=books.bob, kind=LineKind.PRODUCT, description="Oil", unit_price="10.00")
        services.invoice_issue(invoice=draft, actor=books.bob)
        r = reports.sales_report(clinic=books.clinic_a, period=books.period)
        assert r.multi_currency
        assert {(t.currency, t.gross) for t in r.totals} == {("EUR", D("10.00")), ("GBP", D("396.00"))}
        assert {(t.currency, t.tax) for t in reports.tax_report(clinic=books.clinic_a, period=books.period).totals} == {
            ("EUR", D("0.00")),
            ("GBP", D("66.00")),
        }


@pytest.mark.django_db
class OtherReportsTests:
    def test_the_day_counts_money_taken_and_prepaid_value_used_by_method(self, books):
        r = reports.day_report(clinic=books.clinic_a, day=books.today)
        by = {m.method: (m.payments, m.received, m.refunds, m.refunded) for m in r.methods}
        assert by["cash"] == (4, D("250.00"), 0, D("0.00"))
        assert by["card_terminal"] == (1, D("100.00"), 1, D("30.00"))
        assert by["bank_transfer"] == (1, D("100.00"), 0, D("0.00"))
        assert by["cheque"] == (0, D("0.00"), 0, D("0.00"))
        assert by["gift_card"] == (1, D("40.00"), 0, D("0.00")) and by["package"] == (1, D("60.00"), 0, D("0.00"))
        (money_total,) = r.money_totals
        assert (money_total.payments, money_total.received, money_total.refunded, money_total.net) == (
            6,
            D("450.00"),
            D("30.00"),
            D("420.00"),
        )
        (prepaid_total,) = r.prepaid_totals
        assert prepaid_total.net == D("100.00")
        card_row = next(p for p in r.payments if p.method == "Card (terminal)")
        assert (card_row.numbers, card_row.client, card_row.reference, card_row.taken_by) == (
            books.inv2.number,
            "Ada Lovelace",
            "T-991",
            books.bob.display_name,
        )
        assert card_row.therapists == books.olivia.display_name
        assert sorted((f.number, f.amount) for f in r.refunds) == sorted([("Store credit", D("16.00")), (books.inv2.number, D("14.00"))])

    def test_the_days_takings_match_the_ledgers_payment_and_refund_entries(self, books):
        r = reports.day_report(clinic=books.clinic_a, day=books.today)
        money_methods = list(reports.MONEY_METHODS)
        # What a payment brought in is what it put on invoices plus what it left as store credit (verify's rule).
        brought = -_ledger_sum(_money_entries(books, kind__in=[LedgerKind.PAYMENT, LedgerKind.CREDIT], payment__method__in=money_methods))
        assert brought == r.money_totals[0].received
        assert _ledger_sum(_money_entries(books, kind=LedgerKind.REFUND)) == sum(m.refunded for m in r.methods)
        assert reports.day_report(clinic=books.clinic_a, day=books.today - timedelta(days=1)).payments == []

    def test_ageing_buckets_what_is_owed_by_days_past_due_and_matches_the_ledger(self, books):
        r = reports.ageing_report(clinic=books.clinic_a, on=books.today)
        assert [(i.number, i.bucket, i.balance) for i in r.invoices] == [
            (books.inv2.number, 0, D("14.00")),
            (books.inv6.number, 2, D("60.00")),
        ]
        (ada,) = r.clients
        assert ada.buckets == [D("14.00"), D("0.00"), D("60.00"), D("0.00"), D("0.00")] and ada.total == D("74.00")
        # No invoice is overpaid here, so what is owed is every entry that names an invoice.
        assert r.totals[0].total == _ledger_sum(_money_entries(books, invoice__isnull=False))
        assert reports.ageing_report(clinic=books.clinic_a, on=books.today - timedelta(days=1)).invoices == []

    def test_buckets_are_current_then_thirty_day_steps(self):
        assert [reports.bucket_of(d) for d in (-3, 0, 1, 30, 31, 60, 61, 90, 91, 400)] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]

    def test_liabilities_reuse_the_prepaid_figures_and_add_store_credit(self, books):
        r = reports.liability_report(clinic=books.clinic_a)
        (gbp,) = r.prepaid
        assert (gbp.gift_cards, gbp.packages, gbp.package_sessions, gbp.total) == (D("60.00"), D("100.00"), 2, D("160.00"))
        assert [(s.amount, s.clients) for s in r.store_credit] == [(D("8.00"), 1)]
        assert -_ledger_sum(_money_entries(books, invoice__isnull=True)) == D("8.00")

    def test_the_tax_summary_is_per_rate_less_credit_notes(self, books):
        r = reports.tax_report(clinic=books.clinic_a, period=books.period)
        rows = {t.label: (t.percent, t.net, t.tax, t.credited_net, t.credited_tax, t.net_after, t.tax_after) for t in r.rates}
        assert rows == {
            "VAT standard": (D("20.00"), D("330.00"), D("66.00"), D("50.00"), D("10.00"), D("280.00"), D("56.00")),
            "No tax": (D("0.00"), D("250.00"), D("0.00"), D("0.00"), D("0.00"), D("250.00"), D("0.00")),
        }
        (total,) = r.totals
        invoiced = Invoice.objects.filter(clinic=books.clinic_a, status=InvoiceStatus.ISSUED)
        assert (
            total.tax_after
            == invoiced.filter(kind="invoice").aggregate(s=Sum("tax_total"))["s"]
            - invoiced.filter(kind="credit_note").aggregate(s=Sum("tax_total"))["s"]
        )

    def test_refunds_are_listed_per_entry_and_totalled_per_payment_method(self, books):
        entries = reports.refund_entries(books.clinic_a, books.period)
        (row,) = reports.refund_totals(entries)
        assert (row.method, row.refunds, row.refunded) == ("card_terminal", 1, D("30.00"))
        lines = [reports.refund_line(books.clinic_a, e) for e in reports.refund_rows(entries)]
        assert {(f.reason, f.by, f.method) for f in lines} == {("Roller returned", books.bob.display_name, "Card (terminal)")}


@pytest.mark.django_db
class PagesTests:
    PAGES = ("money_reports", "money_report_day", "money_report_sales", "money_report_ageing", "money_report_liabilities",
             "money_report_tax", "money_report_refunds")  # fmt: skip

    @pytest.mark.parametrize("who", ["olivia", "bob"])
    def test_owner_and_front_desk_see_every_report(self, books, as_user, who):
        http = as_user(getattr(books, who))
        for name in self.PAGES:
            response = http.get(reverse(name))
            assert response.status_code == 200, name
        page = http.get(reverse("money_report_sales"), {"from": books.period.first, "to": books.period.last}).content.decode()
        assert "336.00" in page and "<svg" not in page  # one month: no chart
        assert "Gift cards sold" in page and books.alice.display_name in page
        day = http.get(reverse("money_report_day")).content.decode()
        assert "420.00" in day and books.inv2.number in day and "T-991" in day

    def test_a_therapist_sees_only_their_own_sales_and_no_other_report(self, books, as_user):
        http = as_user(books.alice)
        page = http.get(reverse("money_report_sales"), {"from": books.period.first, "to": books.period.last})
        assert page.status_code == 200
        text = page.content.decode()
        assert "200.00" in text and "336.00" not in text and books.olivia.display_name not in text and "Gift cards sold" not in text
        rows = _csv(http.get(reverse("money_report_sales"), {"format": "csv", "section": "lines", "from": books.period.first}))
        assert {r["therapist"] for r in rows} == {books.alice.display_name}
        for name in self.PAGES[3:] + ("money_report_day",):
            assert http.get(reverse(name)).status_code == 403, name
        assert "End of day" not in http.get(reverse("money_reports")).content.decode()

    def test_another_clinics_staff_see_none_of_clinic_as_money(self, books, as_user):
        other_owner = make_staff("owen@b.example", books.clinic_b, Role.OWNER)
        http = as_user(other_owner)
        for name in self.PAGES:
            response = http.get(reverse(name))
            assert response.status_code == 200
            assert "Ada Lovelace" not in response.content.decode() and books.inv2.number not in response.content.decode()
        assert _csv(http.get(reverse("money_report_day"), {"format": "csv"})) == []
        assert as_user(books.charlie).get(reverse("money_report_day")).status_code == 403
        charlie_sales = as_user(books.charlie).get(reverse("money_report_sales")).content.decode()
        assert "396.00" not in charlie_sales and "Nothing was invoiced" in charlie_sales

    def test_anonymous_visitors_are_sent_to_sign_in(self, client):
        for name in self.PAGES:
            response = client.get(reverse(name))
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_bad_dates_and_unknown_sections_are_clear_errors_not_500s(self, books, as_user):
        http = as_user(books.olivia)
        assert http.get(reverse("money_report_sales"), {"from": "2026-02-30"}).status_code == 400
        bad = http.get(reverse("money_report_tax"), {"from": "2026-03-02", "to": "2026-03-01"})
        assert bad.status_code == 400 and "on or before" in bad.content.decode()
        assert http.get(reverse("money_report_refunds"), {"from": "1200-01-01"}).status_code == 400
        assert http.get(reverse("money_report_day"), {"day": "yesterday"}).status_code == 400
        assert http.get(reverse("money_report_ageing"), {"day": "0001-01-01"}).status_code == 400
        assert http.get(reverse("money_report_sales"), {"preset": "forever"}).status_code == 400
        assert http.get(reverse("money_report_sales"), {"format": "csv", "section": "nope"}).status_code == 404

    def test_every_page_view_and_download_is_audited_once(self, books, as_user):
        http = as_user(books.bob)
        for name in self.PAGES[1:]:
            before = AuditEvent.objects.filter(object_type="billing.money_report").count()
            http.get(reverse(name))
            http.get(reverse(name), {"format": "csv", "section": "month"})
            events = list(AuditEvent.objects.filter(object_type="billing.money_report").order_by("id")[before:])
            assert [e.action for e in events] == ["view", "export"], name
            assert events[0].clinic_id == books.clinic_a.pk and events[0].actor_id == books.bob.pk

    def test_each_page_and_download_costs_the_same_queries_however_many_rows(self, books, as_user, django_assert_max_num_queries):
        http = as_user(books.olivia)
        csv_params = {"format": "csv", "section": "lines"}
        asks = [(name, {}) for name in self.PAGES[1:]] + [(name, csv_params) for name in self.PAGES[1:]]

        def fetch(name, params):
            response = http.get(reverse(name), params)
            assert response.status_code == 200, name
            if response.streaming:
                b"".join(response.streaming_content)

        counts = []
        for name, params in asks:
            with django_assert_max_num_queries(40) as captured:
                fetch(name, params)
            counts.append(len(captured.captured_queries))
        for _ in range(4):  # more of everything: invoices, payments, refunds, credit notes, debtors
            inv = services.invoice_issue(invoice=_visit(books, books.alice), actor=books.bob)
            pay = _pay(books, inv, "cash", "70.00")
            services.payment_refund(payment=pay, actor=books.bob, amount="5.00")
            services.credit_note_create(invoice=services.invoice_issue(invoice=_visit(books, books.olivia), actor=books.bob),
                                        actor=books.bob, reason="Goodwill")  # fmt: skip
            services.invoice_issue(invoice=_visit(books, books.olivia, client=make_client(books.clinic_a)), actor=books.bob)
        for (name, params), before in zip(asks, counts, strict=True):
            with django_assert_max_num_queries(before):
                fetch(name, params)


@pytest.mark.django_db
class CsvTests:
    def _get(self, http, name, **params):
        response = http.get(reverse(name), {"format": "csv", **params})
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        return _csv(response)

    def test_the_sales_journal_sums_to_the_report_with_credit_notes_negative(self, books, as_user):
        http = as_user(books.olivia)
        rows = self._get(http, "money_report_sales", section="lines", **{"from": books.period.first, "to": books.period.last})
        assert set(rows[0]) >= {"date", "number", "client", "description", "net", "tax", "gross", "currency", "tax_rate"}
        revenue = [r for r in rows if r["line_kind"] not in ("gift_card", "package")]
        assert sum(D(r["gross"]) for r in revenue) == D("336.00")
        assert sum(D(r["net"]) for r in revenue) == D("280.00") and sum(D(r["tax"]) for r in revenue) == D("56.00")
        assert {r["number"] for r in rows if D(r["gross"]) < 0} == {books.cn1.number}
        assert books.inv7.number not in {r["number"] for r in rows}
        assert all(r["gross"].count(".") == 1 and len(r["gross"].split(".")[1]) == 2 for r in rows)

    def test_grouped_sales_tax_day_ageing_liabilities_and_refunds_parse_and_add_up(self, books, as_user):
        http = as_user(books.bob)
        span = {"from": books.period.first, "to": books.period.last}
        by_month = self._get(http, "money_report_sales", section="month", **span)
        assert sum(D(r["gross_after_credits"]) for r in by_month) == D("336.00") and by_month[0]["currency"] == "GBP"
        by_therapist = self._get(http, "money_report_sales", section="therapist", **span)
        assert sum(D(r["credited_gross"]) for r in by_therapist) == D("60.00")
        tax = self._get(http, "money_report_tax", **span)
        assert sum(D(r["tax_after_credits"]) for r in tax) == D("56.00")
        day = self._get(http, "money_report_day")
        assert sum(D(r["amount"]) for r in day if r["method"] not in ("Gift card", "Package session", "Store credit")) == D("420.00")
        assert {r["type"] for r in day} == {"payment", "refund"}
        ageing = self._get(http, "money_report_ageing")
        assert [(r["number"], r["bucket"], r["balance"]) for r in ageing] == [
            (books.inv2.number, "Current", "14.00"),
            (books.inv6.number, "31–60 days", "60.00"),
        ]
        liabilities = self._get(http, "money_report_liabilities")
        assert sorted((r["kind"], r["amount"], r["sessions_left"]) for r in liabilities) == [
            ("gift_card", "60.00", ""),
            ("package", "100.00", "2"),
            ("store_credit", "8.00", ""),
        ]
        refunds = self._get(http, "money_report_refunds", **span)
        assert sum(D(r["amount"]) for r in refunds) == D("30.00") and {r["reason"] for r in refunds} == {"Roller returned"}

    def test_zero_decimal_currencies_print_whole_units(self):
        assert str(reports.amount_text(D("1200.00"), "JPY")) == "1200"
        assert str(reports.amount_text(D("12.5"), "GBP")) == "12.50"
        assert str(reports.amount_text(D("-0.00"), "GBP")) == "0.00"

    def test_a_client_name_that_looks_like_a_formula_is_neutralised(self, books, as_user):
        books.grace.first_name = "=HYPERLINK(1)"
        books.grace.save(update_fields=["first_name"])
        rows = self._get(as_user(books.bob), "money_report_day")
        assert any(r["client"].startswith("'=HYPERLINK") for r in rows)
