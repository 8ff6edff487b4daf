"""Tips: added at check-out by amount or percentage, paid like the rest of the invoice but never
with a package session, kept out of sales and tax, reported per therapist, credited through the
credit-note path, checked by verify, and the same over the API."""

from __future__ import annotations

import csv
import io
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from knotwork.audit.models import AuditEvent
from knotwork.billing import prepaid, reports, services, tips
from knotwork.billing.forms import LineForm
from knotwork.billing.models import Invoice, InvoiceLine, LedgerEntry, LineKind, PackageProduct, Payment, PaymentMethod
from knotwork.billing.receipts import receipt_pdf
from knotwork.billing.services import BillingError, InvalidAmount, InvoiceLocked
from knotwork.billing.verify import verify_money
from tests.billing.conftest import make_appointment
from tests.billing.test_gift_cards import sold_card
from tests.billing.test_packages import sold_package
from tests.lib.pdf_text import pdf_text

pytestmark = pytest.mark.django_db
JSON = "application/json"


def draft(world, *, therapist=None):
    """Check-out of a 60.00 session (VAT included) by ``therapist`` (alice): the draft."""
    appointment = make_appointment(world.clinic_a, therapist or world.alice, world.client_a, world.session)
    return services.invoice_from_appointment(appointment=appointment, actor=world.bob)


def tip_line(invoice) -> InvoiceLine:
    return InvoiceLine.objects.get(invoice=invoice, kind=LineKind.TIP)


def _csv(response):
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def _period(world):
    today = timezone.localdate(timezone.now(), world.clinic_a.tz)
    return reports.Period(today.replace(day=1) if today.day > 1 else today, today)


@pytest.fixture
def product(money):
    p = PackageProduct.objects.create(clinic=money.clinic_a, name="Five sessions", sessions=5, price=D("250.00"), currency="GBP")
    p.services.set([money.session])
    return p


class TipAddTests:
    def test_a_tip_by_amount_is_an_untaxed_line_for_the_appointments_therapist(self, money):
        invoice = draft(money)
        line = tips.tip_add(invoice=invoice, actor=money.bob, amount="5.00")
        invoice.refresh_from_db()
        assert (line.kind, line.therapist, line.description) == ("tip", money.alice, f"Tip for {money.alice.display_name}")
        assert (line.total, line.net, line.tax, line.discount, line.tax_rate) == (D("5.00"), D("5.00"), D("0.00"), D("0.00"), None)
        assert (invoice.total, invoice.tax_total) == (D("65.00"), D("10.00"))
        event = AuditEvent.objects.filter(object_type="billing.invoice", object_id=str(invoice.pk)).latest("id")
        assert event.detail["line_added"] == line.pk and event.detail["tip"] == "5.00" and event.detail["therapist"] == money.alice.pk

    @pytest.mark.parametrize(("percent", "expected"), [("10", "6.00"), ("15", "9.00"), ("20", "12.00"), ("12.5", "7.50"), (15, "9.00")])
    def test_a_tip_by_percent_is_worked_out_on_the_services(self, money, percent, expected):
        invoice = draft(money)
        line = tips.tip_add(invoice=invoice, actor=money.bob, percent=percent)
        assert line.total == D(expected)
        event = AuditEvent.objects.filter(object_type="billing.invoice", object_id=str(invoice.pk)).latest("id")
        assert event.detail["percent"] == str(percent)

    def test_the_percentage_leaves_out_products_and_rounds_half_up(self, money):
        invoice = draft(money)
        services.invoice_line_add(invoice=invoice, actor=money.bob, kind=LineKind.PRODUCT, description="Ball", unit_price="8.50")
        services.invoice_line_add(invoice=invoice, actor=money.bob, kind=LineKind.ADDON, description="Hot stones", unit_price="0.10")
        assert tips.services_total(invoice) == D("60.10")
        assert tips.tip_add(invoice=invoice, actor=money.bob, percent="15").total == D("9.02")  # 9.015 → 9.02

    @pytest.mark.parametrize(
        ("amount", "percent", "words"),
        [
            ("-1", None, "negative"),
            ("1e3", None, "digits and a decimal point"),
            ("1E1", None, "digits and a decimal point"),
            ("abc", None, "digits and a decimal point"),
            ("0", None, "more than zero"),
            ("1.234", None, "digits and a decimal point"),
            ("60.01", None, "at most its services' total"),
            ("1000000000", None, "digits and a decimal point"),
            (1.5, None, "exact"),
            (None, "101", "at most 100"),
            (None, "0", "more than 0"),
            (None, "-5", "number such as"),
            (None, "1e1", "number such as"),
            (None, 12.5, "as text"),
            (None, "12.345", "two decimal places"),
            ("5", "10", "either as an amount"),
            (None, None, "either as an amount"),
        ],
    )
    def test_bad_amounts_are_refused_with_a_sentence_and_nothing_is_written(self, money, amount, percent, words):
        invoice = draft(money)
        events = AuditEvent.objects.count()
        with pytest.raises(InvalidAmount, match=words) as caught:
            tips.tip_add(invoice=invoice, actor=money.bob, amount=amount, percent=percent)
        assert caught.value.status == 400
        assert not InvoiceLine.objects.filter(kind=LineKind.TIP).exists() and AuditEvent.objects.count() == events
        invoice.refresh_from_db()
        assert invoice.total == D("60.00")

    def test_all_tips_together_come_to_at_most_the_services(self, money):
        invoice = draft(money)
        tips.tip_add(invoice=invoice, actor=money.bob, amount="40.00")
        with pytest.raises(InvalidAmount, match=r"GBP 20.00 more at most"):
            tips.tip_add(invoice=invoice, actor=money.bob, therapist=money.olivia, amount="20.01")
        assert tips.tip_add(invoice=invoice, actor=money.bob, therapist=money.olivia, amount="20.00").total == D("20.00")

    def test_one_tip_per_therapist_another_clinics_staff_and_no_therapist_are_refused(self, money):
        invoice = draft(money)
        tips.tip_add(invoice=invoice, actor=money.bob, amount="5")
        with pytest.raises(BillingError, match="already has a tip"):
            tips.tip_add(invoice=invoice, actor=money.bob, amount="5")
        with pytest.raises(BillingError, match="member of this clinic's staff") as caught:
            tips.tip_add(invoice=invoice, actor=money.bob, therapist=money.charlie, amount="5")
        assert caught.value.status == 422 and caught.value.field == "therapist"
        desk_sale = services.invoice_create(clinic=money.clinic_a, client=money.client_a, actor=money.bob)
        services.invoice_line_add(invoice=desk_sale, actor=money.bob, kind=LineKind.SERVICE, description="Session", unit_price="40")
        with pytest.raises(BillingError, match="Choose the therapist"):
            tips.tip_add(invoice=desk_sale, actor=money.bob, amount="4")

    def test_a_tip_needs_a_service_and_a_draft_whose_service_went_is_not_issued(self, money):
        desk_sale = services.invoice_create(clinic=money.clinic_a, client=money.client_a, actor=money.bob)
        services.invoice_line_add(invoice=desk_sale, actor=money.bob, kind=LineKind.PRODUCT, description="Ball", unit_price="8")
        with pytest.raises(BillingError, match="add the service"):
            tips.tip_add(invoice=desk_sale, actor=money.bob, therapist=money.alice, amount="1")
        invoice = draft(money)
        tips.tip_add(invoice=invoice, actor=money.bob, amount="5")
        services.invoice_line_remove(line=invoice.lines.get(kind=LineKind.SERVICE), actor=money.bob)
        with pytest.raises(BillingError, match="more than its services"):
            services.invoice_issue(invoice=invoice, actor=money.bob)
        assert Invoice.objects.get(pk=invoice.pk).is_draft

    def test_an_issued_invoice_takes_no_tip_a_409_saying_when_tips_are_added(self, money):
        invoice = services.invoice_issue(invoice=draft(money), actor=money.bob)
        with pytest.raises(InvoiceLocked, match="before the invoice is issued") as caught:
            tips.tip_add(invoice=invoice, actor=money.bob, amount="5")
        assert caught.value.status == 409 and invoice.number in caught.value.message

    def test_a_tip_line_cannot_carry_tax_or_a_discount_even_past_the_service(self, money):
        invoice = draft(money)
        with pytest.raises(BillingError, match="no tax"):
            services.invoice_line_add(
                invoice=invoice, actor=money.bob, kind=LineKind.TIP, description="Tip", unit_price="5", therapist=money.alice,
                tax_rate=money.vat,
            )  # fmt: skip
        with pytest.raises(BillingError, match="never discounted"):
            services.invoice_line_add(
                invoice=invoice, actor=money.bob, kind=LineKind.TIP, description="Tip", unit_price="5", therapist=money.alice, discount="1"
            )
        with pytest.raises(IntegrityError), transaction.atomic():  # the database holds the rule too
            InvoiceLine.objects.create(
                invoice=invoice, kind=LineKind.TIP, description="Tip", unit_price=D("5"), tax_percent=D("20"), net=D("4.17"),
                tax=D("0.83"), total=D("5.00"), therapist=money.alice,
            )  # fmt: skip
        assert "tip" not in dict(LineForm(clinic=money.clinic_a, currency="GBP").fields["kind"].choices)


class TipPaymentTests:
    def test_a_tip_is_paid_by_a_split_of_gift_card_and_card(self, money):
        _, code = sold_card(money, value="30.00")
        invoice = draft(money)
        tips.tip_add(invoice=invoice, actor=money.bob, percent="20")
        issued, payments = prepaid.invoice_settle(
            invoice=invoice, actor=money.bob, issue=True, gift_card_code=code, method=PaymentMethod.CARD_TERMINAL, amount="42.00"
        )
        assert [(p.method, p.amount) for p in payments] == [("gift_card", D("30.00")), ("card_terminal", D("42.00"))]
        assert services.invoice_money(issued).balance == D("0.00") and issued.total == D("72.00")
        assert verify_money().ok

    def test_a_package_session_pays_the_service_and_money_the_tip(self, money, product):
        package = sold_package(money, product)
        invoice = draft(money)
        tips.tip_add(invoice=invoice, actor=money.bob, amount="6.00")
        issued, payments = prepaid.invoice_settle(invoice=invoice, actor=money.bob, issue=True, package=package, method="cash", amount="6")
        assert [(p.method, p.amount) for p in payments] == [("package", D("60.00")), ("cash", D("6.00"))]
        assert services.invoice_money(issued).balance == D("0.00") and verify_money().ok

    def test_a_package_session_never_pays_a_tip(self, money, product):
        package = sold_package(money, product)
        invoice = draft(money)
        tips.tip_add(invoice=invoice, actor=money.bob, amount="10.00")
        issued = services.invoice_issue(invoice=invoice, actor=money.bob)
        services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="55.00", currency="GBP", invoices=[issued]
        )
        payments = Payment.objects.count()
        with pytest.raises(BillingError, match="never with a package session") as caught:
            prepaid.package_redeem(invoice=issued, package=package, actor=money.bob)
        assert caught.value.status == 422 and caught.value.field == "package"
        package.refresh_from_db()
        assert package.sessions_left == 5 and Payment.objects.count() == payments

    def test_the_check_out_page_refuses_a_package_for_the_tip_with_the_reason(self, money, product, as_user):
        package = sold_package(money, product)
        invoice = draft(money)
        tips.tip_add(invoice=invoice, actor=money.bob, amount="10.00")
        issued = services.invoice_issue(invoice=invoice, actor=money.bob)
        services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="60.00", currency="GBP", invoices=[issued]
        )
        r = as_user(money.bob).post(reverse("invoice_pay", args=[issued.pk]), {"package": package.pk, "method": "cash", "amount": ""})
        assert r.status_code == 400 and "never with a package session" in r.content.decode()


class TipPageTests:
    def test_the_desk_adds_a_tip_by_button_or_amount_at_check_out(self, money, as_user):
        invoice = draft(money)
        http = as_user(money.bob)
        page = http.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
        assert 'name="percent" value="15"' in page and "GBP 9.00" in page and "Other tip (GBP)" in page
        assert page.count('id="id_amount"') == 1 and page.count('id="id_tip_amount"') == 1  # beside the issue form's amount
        r = http.post(reverse("invoice_tip_add", args=[invoice.pk]), {"therapist": money.alice.pk, "percent": "15", "amount": ""})
        assert r.status_code == 302 and tip_line(invoice).total == D("9.00")
        r = http.post(reverse("invoice_tip_add", args=[invoice.pk]), {"therapist": money.olivia.pk, "percent": "10", "amount": "3.50"})
        assert r.status_code == 302  # an amount typed wins over the button Enter presses
        assert InvoiceLine.objects.get(invoice=invoice, therapist=money.olivia).total == D("3.50")

    @pytest.mark.parametrize(
        ("data", "words"),
        [({"amount": "1e3"}, "digits and a decimal point"), ({"amount": "-2"}, "cannot be negative"), ({"amount": "61"}, "at most"),
         ({"percent": "150"}, "at most 100"), ({}, "Press a percentage or enter an amount")],
    )  # fmt: skip
    def test_bad_tips_come_back_as_a_400_form_error(self, money, as_user, data, words):
        invoice = draft(money)
        r = as_user(money.bob).post(reverse("invoice_tip_add", args=[invoice.pk]), {"therapist": money.alice.pk, **data})
        assert r.status_code == 400 and words in r.content.decode()
        assert not InvoiceLine.objects.filter(kind=LineKind.TIP).exists()

    def test_an_issued_invoice_shows_the_refusal(self, money, as_user):
        invoice = services.invoice_issue(invoice=draft(money), actor=money.bob)
        r = as_user(money.bob).post(
            reverse("invoice_tip_add", args=[invoice.pk]), {"therapist": money.alice.pk, "amount": "5"}, follow=True
        )
        assert r.redirect_chain[-1][0] == reverse("invoice_detail", args=[invoice.pk])
        assert "before the invoice is issued" in r.content.decode() and not InvoiceLine.objects.filter(kind=LineKind.TIP).exists()

    def test_another_clinic_gets_a_404_a_therapist_a_403_and_a_visitor_the_sign_in(self, money, as_user, client):
        invoice = draft(money)
        url = reverse("invoice_tip_add", args=[invoice.pk])
        assert client.post(url, {"amount": "5"}).status_code == 302
        assert as_user(money.charlie).post(url, {"therapist": money.charlie.pk, "amount": "5"}).status_code == 404
        assert as_user(money.alice).post(url, {"therapist": money.alice.pk, "amount": "5"}).status_code in (403, 404)
        assert not InvoiceLine.objects.filter(kind=LineKind.TIP).exists()

    def test_the_receipt_prints_the_tip_for_its_therapist(self, money):
        invoice = draft(money)
        tips.tip_add(invoice=invoice, actor=money.bob, amount="7.00")
        text = pdf_text(receipt_pdf(services.invoice_issue(invoice=invoice, actor=money.bob)))
        assert f"Tip for {money.alice.display_name}" in text and "GBP 7.00" in text and "GBP 67.00" in text

    def test_a_superbill_claims_the_treatment_and_leaves_the_tip_out(self, money):
        from knotwork.billing.receipts import payment_receipt_pdf

        invoice = draft(money)
        tips.tip_add(invoice=invoice, actor=money.bob, amount="7.00")
        issued = services.invoice_issue(invoice=invoice, actor=money.bob)
        text = pdf_text(receipt_pdf(issued, superbill=True))
        assert "Tip for" not in text and "Of which tips" in text and "GBP 7.00" in text
        payment = services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="67.00", currency="GBP", invoices=[issued]
        )
        paid = pdf_text(payment_receipt_pdf(payment, superbill=True))
        assert "Tip for" not in paid and "Paid towards" in paid and "Of which tips" not in paid


@pytest.fixture
def tipped(money):
    """Two check-outs issued and paid today: alice's session with a 15 % tip (card), olivia's
    with a 5.00 tip (cash)."""
    first = draft(money)
    tips.tip_add(invoice=first, actor=money.bob, percent="15")
    money.first, _ = prepaid.invoice_settle(invoice=first, actor=money.bob, issue=True, method="card_terminal", amount="69.00")
    second = draft(money, therapist=money.olivia)
    tips.tip_add(invoice=second, actor=money.bob, amount="5")
    money.second, _ = prepaid.invoice_settle(invoice=second, actor=money.bob, issue=True, method="cash", amount="65.00")
    money.period = _period(money)
    return money


class TipReportTests:
    def test_sales_and_tax_leave_the_tips_out_and_the_tips_report_sums_them(self, tipped):
        sales = reports.sales_report(clinic=tipped.clinic_a, period=tipped.period)
        assert (sales.totals[0].gross, sales.totals[0].net, sales.totals[0].tax) == (D("120.00"), D("100.00"), D("20.00"))
        assert {r.label: r.gross for r in sales.by_therapist} == {
            tipped.alice.display_name: D("60.00"),
            tipped.olivia.display_name: D("60.00"),
        }
        assert "Tip" not in {r.label for r in sales.by_service} and [(t.label, t.gross) for t in sales.tips] == [("Tips", D("14.00"))]
        tax = reports.tax_report(clinic=tipped.clinic_a, period=tipped.period)
        assert (tax.totals[0].net, tax.totals[0].tax) == (D("100.00"), D("20.00")) and [r.label for r in tax.rates] == ["VAT standard"]
        report = reports.tips_report(clinic=tipped.clinic_a, period=tipped.period)
        assert [(r.label, r.count, r.tips) for r in report.by_therapist] == [
            (tipped.alice.display_name, 1, D("9.00")), (tipped.olivia.display_name, 1, D("5.00"))
        ]  # fmt: skip
        assert report.totals[0].tips == D("14.00")
        # what the client was charged is sales plus tips
        charged = sum(e.amount for e in LedgerEntry.objects.filter(kind="charge", invoice__in=[tipped.first, tipped.second]))
        assert charged == sales.totals[0].gross + sales.tips[0].gross

    def test_end_of_day_counts_the_money_taken_tips_included(self, tipped):
        day = reports.day_report(clinic=tipped.clinic_a, day=timezone.localdate(timezone.now(), tipped.clinic_a.tz))
        assert day.money_totals[0].received == D("134.00")

    def test_the_tips_csv_parses_and_matches_the_page(self, tipped, as_user):
        http = as_user(tipped.olivia)
        query = {"from": tipped.period.first.isoformat(), "to": tipped.period.last.isoformat()}
        page = http.get(reverse("money_report_tips"), query)
        assert page.status_code == 200 and "Each tip" in page.content.decode()
        rows = _csv(http.get(reverse("money_report_tips"), {**query, "format": "csv"}))
        assert [(r["therapist"], r["tips"], r["count"], r["net_after_credits"], r["currency"]) for r in rows] == [
            (tipped.alice.display_name, "9.00", "1", "9.00", "GBP"), (tipped.olivia.display_name, "5.00", "1", "5.00", "GBP")
        ]  # fmt: skip
        lines = _csv(http.get(reverse("money_report_tips"), {**query, "format": "csv", "section": "lines"}))
        assert sum(D(r["amount"]) for r in lines) == D("14.00") and {r["number"] for r in lines} == {
            tipped.first.number,
            tipped.second.number,
        }
        sales = _csv(http.get(reverse("money_report_sales"), {**query, "format": "csv", "section": "therapist"}))
        assert sum(D(r["gross"]) for r in sales) == D("120.00")
        assert http.get(reverse("money_report_tips"), {**query, "format": "csv", "section": "nope"}).status_code == 404
        assert http.get(reverse("money_report_tips"), {"from": "2026-13-01"}).status_code == 400
        exports = AuditEvent.objects.filter(object_type="billing.money_report", action="export", detail__report="tips")
        assert exports.count() == 2

    def test_a_therapist_sees_only_their_own_tips(self, tipped, as_user):
        query = {"from": tipped.period.first.isoformat(), "to": tipped.period.last.isoformat()}
        http = as_user(tipped.alice)
        rows = _csv(http.get(reverse("money_report_tips"), {**query, "format": "csv"}))
        assert [(r["therapist"], r["tips"]) for r in rows] == [(tipped.alice.display_name, "9.00")]
        page = http.get(reverse("money_report_tips"), query).content.decode()
        assert tipped.first.number in page and tipped.second.number not in page and "Your own tips only" in page
        other = as_user(tipped.charlie).get(reverse("money_report_tips"), {**query, "format": "csv"})
        assert _csv(other) == []
        assert as_user(tipped.bob).get(reverse("money_report_tips"), query).status_code == 200

    def test_the_tips_page_costs_the_same_queries_with_more_tips(self, tipped, as_user):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        http = as_user(tipped.olivia)
        query = {"from": tipped.period.first.isoformat(), "to": tipped.period.last.isoformat()}
        http.get(reverse("money_report_tips"), query)  # warm the session and the clinic's rows
        with CaptureQueriesContext(connection) as before:
            assert http.get(reverse("money_report_tips"), query).status_code == 200
        for therapist in (tipped.alice, tipped.olivia, tipped.alice):
            invoice = draft(tipped, therapist=therapist)
            tips.tip_add(invoice=invoice, actor=tipped.bob, amount="3")
            services.invoice_issue(invoice=invoice, actor=tipped.bob)
        with CaptureQueriesContext(connection) as after:
            page = http.get(reverse("money_report_tips"), query)
        assert page.content.decode().count("GBP 3.00") == 3 and len(after) == len(before)

    def test_a_credit_note_on_the_tip_line_credits_it_and_the_refund_goes_through(self, tipped):
        line = tip_line(tipped.first)
        note = services.credit_note_create(invoice=tipped.first, actor=tipped.bob, line_ids=[line.pk], reason="Tip keyed twice")
        assert (note.total, note.tax_total, note.lines.get().kind) == (D("9.00"), D("0.00"), "tip")
        assert services.invoice_money(tipped.first).balance == D("-9.00")
        payment = Payment.objects.get(method="card_terminal")
        services.payment_refund(payment=payment, actor=tipped.bob, amount="9.00", reason="Tip keyed twice")
        assert services.invoice_money(tipped.first).balance == D("0.00")
        report = reports.tips_report(clinic=tipped.clinic_a, period=tipped.period)
        alice = report.by_therapist[0]
        assert (alice.tips, alice.credited, alice.net_after, alice.credited_count) == (D("9.00"), D("9.00"), D("0.00"), 1)
        assert reports.sales_report(clinic=tipped.clinic_a, period=tipped.period).totals[0].credited_gross == D("0.00")
        assert reports.tax_report(clinic=tipped.clinic_a, period=tipped.period).totals[0].credited_net == D("0.00")
        assert verify_money().ok

    def test_verify_is_clean_and_catches_a_tip_without_its_therapist(self, tipped):
        assert verify_money().ok
        InvoiceLine.objects.filter(pk=tip_line(tipped.second).pk).update(therapist=None)  # behind the services' back
        findings = [str(f) for f in verify_money().findings or []]
        assert any(tipped.second.number in f and "tip line" in f for f in findings)


class TipApiTests:
    def test_check_out_with_a_tip_and_issue_in_one_request(self, money, as_user):
        appointment = make_appointment(money.clinic_a, money.alice, money.client_a, money.session)
        body = {"appointment": appointment.pk, "lines": [{"kind": "tip", "percent": "20"}], "issue": True}
        r = as_user(money.bob).post("/api/invoices", body, content_type=JSON)
        assert r.status_code == 201, r.content
        data = r.json()
        tip = next(line for line in data["lines"] if line["kind"] == "tip")
        assert (data["total"], data["tax_total"], data["status"]) == ("72.00", "10.00", "issued")
        assert (tip["total"], tip["tax"], tip["therapist"], tip["description"]) == (
            "12.00", "0.00", money.alice.pk, f"Tip for {money.alice.display_name}"
        )  # fmt: skip
        again = as_user(money.bob).get(f"/api/invoices/{data['id']}").json()
        assert again["lines"] == data["lines"]

    def test_a_tip_on_a_draft_then_the_issued_invoice_refuses_one(self, money, as_user):
        invoice = draft(money)
        http = as_user(money.bob)
        r = http.post(f"/api/invoices/{invoice.pk}/tips", {"therapist": money.olivia.pk, "amount": "4.50"}, content_type=JSON)
        assert r.status_code == 201, r.content
        assert [(line["kind"], line["therapist"], line["total"]) for line in r.json()["lines"]][-1] == ("tip", money.olivia.pk, "4.50")
        services.invoice_issue(invoice=invoice, actor=money.bob)
        r = http.post(f"/api/invoices/{invoice.pk}/tips", {"amount": "1"}, content_type=JSON)
        assert r.status_code == 409 and "before the invoice is issued" in r.json()["error"]["message"]

    @pytest.mark.parametrize(
        ("body", "status", "field"),
        [({"amount": "-1"}, 400, "amount"), ({"amount": "1e3"}, 400, "amount"), ({"amount": "100"}, 400, "amount"),
         ({"percent": "101"}, 400, "percent"), ({"amount": 5}, 400, None), ({"percent": 15.0}, 400, None),
         ({"amount": "5", "percent": "10"}, 400, "amount"), ({"therapist": 999999, "amount": "5"}, 422, "therapist"),
         ({"amount": "5", "tip": "x"}, 400, None)],
    )  # fmt: skip
    def test_bad_tips_are_4xx_with_the_projects_error_shape(self, money, as_user, body, status, field):
        invoice = draft(money)
        r = as_user(money.bob).post(f"/api/invoices/{invoice.pk}/tips", body, content_type=JSON)
        assert r.status_code == status, r.content
        error = r.json()["error"]
        assert set(error) == {"code", "message", "fields"} and error["message"]
        if field:
            assert field in error["fields"]
        assert not InvoiceLine.objects.filter(kind=LineKind.TIP).exists()

    def test_a_bad_tip_line_leaves_no_draft_behind(self, money, as_user):
        appointment = make_appointment(money.clinic_a, money.alice, money.client_a, money.session)
        body = {"appointment": appointment.pk, "lines": [{"kind": "tip", "unit_price": "1e3"}]}
        r = as_user(money.bob).post("/api/invoices", body, content_type=JSON)
        assert r.status_code == 400 and "lines.0.unit_price" in r.json()["error"]["fields"]
        body["lines"] = [{"kind": "tip", "unit_price": "5", "tax_rate": money.vat.pk}]
        r = as_user(money.bob).post("/api/invoices", body, content_type=JSON)
        assert r.status_code == 422 and "lines.0.tax_rate" in r.json()["error"]["fields"]
        assert not Invoice.objects.filter(appointment=appointment).exists()

    def test_another_clinic_gets_a_404_and_a_therapist_a_404_or_403(self, money, as_user):
        invoice = draft(money)
        url = f"/api/invoices/{invoice.pk}/tips"
        assert as_user(money.charlie).post(url, {"amount": "5"}, content_type=JSON).status_code == 404
        assert as_user(money.alice).post(url, {"amount": "5"}, content_type=JSON).status_code == 404  # a draft is the desk's
        services.invoice_issue(invoice=invoice, actor=money.bob)
        assert as_user(money.alice).post(url, {"amount": "5"}, content_type=JSON).status_code == 403  # her own, but read-only
        assert not InvoiceLine.objects.filter(kind=LineKind.TIP).exists()

    def test_the_openapi_schema_documents_tips(self, money, client):
        schema = client.get("/api/openapi.json").json()
        operation = schema["paths"]["/api/invoices/{invoice_id}/tips"]["post"]
        assert {"201", "400", "401", "403", "404", "409", "422"} <= set(operation["responses"])
        components = schema["components"]["schemas"]
        assert "tip" in components["LineIn"]["properties"]["kind"]["enum"]
        assert {"therapist", "percent"} <= set(components["LineIn"]["properties"])
        assert set(components["TipIn"]["properties"]) == {"therapist", "amount", "percent"}
