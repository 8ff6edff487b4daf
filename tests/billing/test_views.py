"""Money pages: who sees and does what (alice therapist, bob front desk, olivia owner, charlie of
clinic B, the client on the portal), the check-out flow, errors as form errors, audit, query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from knotwork.audit.models import AuditEvent
from knotwork.billing import selectors, services
from knotwork.billing.models import BillingSettings, Invoice, InvoiceStatus, Payment, TaxRate
from knotwork.lib.testing import make_client, make_user
from tests.billing.conftest import issued_invoice, make_appointment

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(money):
    """client_a's portal login."""
    user = make_user("ada@mail.example", mfa=False)
    money.client_a.portal_user = user
    money.client_a.save(update_fields=["portal_user"])
    return user


def _alices_invoice(world):
    invoice = services.invoice_from_appointment(appointment=world.appointment, actor=world.bob)
    return services.invoice_issue(invoice=invoice, actor=world.bob)


class CheckoutFlowTests:
    def test_the_desk_checks_out_adds_a_line_issues_and_takes_payment_in_one_flow(self, money, as_user):
        http = as_user(money.bob)
        r = http.post(reverse("appointment_checkout", args=[money.appointment.pk]))
        invoice = Invoice.objects.get()
        assert r.status_code == 302 and r["Location"] == reverse("invoice_detail", args=[invoice.pk])
        page = http.get(r["Location"])
        assert page.status_code == 200 and b"NMT session" in page.content and b"Issue GBP 60.00" in page.content
        r = http.post(
            reverse("invoice_line_add", args=[invoice.pk]),
            {"kind": "product", "description": "Trigger-point ball", "quantity": "1", "unit_price": "8.50", "tax_rate": money.vat.pk},
        )
        assert r.status_code == 302
        r = http.post(reverse("invoice_issue", args=[invoice.pk]), {"method": "card_terminal", "amount": "68.50", "reference": "T-1"})
        assert r.status_code == 302
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.ISSUED and invoice.number == "INV-000001"
        assert selectors.invoice_money(invoice).balance == 0
        page = http.get(reverse("invoice_detail", args=[invoice.pk]))
        assert b"Paid" in page.content and b"Void" in page.content and b"Issue a credit note" in page.content

    def test_a_bad_amount_comes_back_as_a_form_error_and_nothing_is_issued(self, money, as_user):
        http = as_user(money.bob)
        http.post(reverse("appointment_checkout", args=[money.appointment.pk]))
        invoice = Invoice.objects.get()
        for amount in ("-5", "abc", "99999999", "1.234"):
            r = http.post(reverse("invoice_issue", args=[invoice.pk]), {"method": "cash", "amount": amount})
            assert r.status_code == 400 and b"error-summary" in r.content
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.DRAFT and not Payment.objects.exists()

    def test_a_refused_payment_is_a_form_error_on_the_invoice(self, money, as_user):
        invoice = issued_invoice(money)
        r = as_user(money.bob).post(reverse("invoice_pay", args=[invoice.pk]), {"method": "store_credit", "amount": "10"})
        assert r.status_code == 400 and b"store credit" in r.content
        assert not Payment.objects.exists()


class VoidAndCreditPageTests:
    def test_voiding_asks_first_then_needs_a_reason(self, money, as_user):
        invoice = issued_invoice(money)
        http = as_user(money.bob)
        page = http.get(reverse("invoice_void", args=[invoice.pk]))
        assert page.status_code == 200 and b"Void INV-000001?" in page.content and b'name="reason"' in page.content
        assert http.post(reverse("invoice_void", args=[invoice.pk]), {"reason": ""}).status_code == 400
        assert http.post(reverse("invoice_void", args=[invoice.pk]), {"reason": "Entered twice"}).status_code == 302
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.VOID and invoice.void_reason == "Entered twice"

    def test_a_credit_note_for_chosen_lines_is_issued_from_the_page(self, money, as_user):
        invoice = issued_invoice(money)
        line = invoice.lines.get()
        r = as_user(money.bob).post(reverse("invoice_credit", args=[invoice.pk]), {"lines": [line.pk], "reason": "Not given"})
        note = Invoice.objects.get(kind="credit_note")
        assert r.status_code == 302 and note.number == "CN-000001" and note.total == invoice.total

    def test_refunding_above_what_was_paid_is_a_form_error(self, money, as_user):
        invoice = issued_invoice(money)
        payment = services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="60", currency="GBP", invoices=[invoice]
        )
        http = as_user(money.bob)
        assert http.get(reverse("payment_refund", args=[payment.pk])).status_code == 200
        r = http.post(reverse("payment_refund", args=[payment.pk]), {"amount": "60.01"})
        assert r.status_code == 400 and b"At most GBP 60.00" in r.content
        assert http.post(reverse("payment_refund", args=[payment.pk]), {"amount": "60"}).status_code == 302
        assert selectors.payment_refunded(payment) == 60


class StatusBadgeTests:
    @staticmethod
    def _pay(world, invoice, amount):
        services.payment_record(
            clinic=world.clinic_a, client=world.client_a, actor=world.bob, method="cash", amount=amount, currency="GBP", invoices=[invoice]
        )

    @staticmethod
    def _badge(page: bytes) -> str:
        return next(w for w in ("Refund due", "Part paid", "Unpaid", "Paid") if f">{w}</span>".encode() in page)

    def test_the_badge_follows_the_ledger_on_the_invoice_and_in_the_list(self, money, as_user):
        http = as_user(money.bob)
        invoice = issued_invoice(money)
        detail, listing = reverse("invoice_detail", args=[invoice.pk]), reverse("invoice_list")
        assert self._badge(http.get(detail).content) == "Unpaid"
        self._pay(money, invoice, "20")
        assert self._badge(http.get(detail).content) == "Part paid" and self._badge(http.get(listing).content) == "Part paid"
        self._pay(money, invoice, "40")
        assert self._badge(http.get(detail).content) == "Paid" and self._badge(http.get(listing).content) == "Paid"
        services.credit_note_create(invoice=invoice, actor=money.bob, reason="Session not given")
        page = http.get(listing).content
        assert b"Refund due" in page and b"GBP 60.00 to return" in page and b"GBP -60.00" not in page


class PermissionTests:
    def test_therapists_read_their_own_appointments_invoices_only_and_change_nothing(self, money, as_user):
        own = _alices_invoice(money)
        other_therapist = make_client(money.clinic_a)
        by_hand = services.invoice_create(clinic=money.clinic_a, client=other_therapist, actor=money.bob)
        http = as_user(money.alice)
        assert http.get(reverse("invoice_detail", args=[own.pk])).status_code == 200
        assert http.get(reverse("invoice_pdf", args=[own.pk])).status_code == 200
        assert http.get(reverse("invoice_detail", args=[by_hand.pk])).status_code == 404
        draft_of_hers = services.invoice_from_appointment(
            appointment=make_appointment(money.clinic_a, money.alice, money.client_a, money.session, days_ago=3), actor=money.bob
        )
        assert http.get(reverse("invoice_detail", args=[draft_of_hers.pk])).status_code == 404
        assert http.post(reverse("invoice_void", args=[own.pk]), {"reason": "x"}).status_code == 403
        assert http.post(reverse("invoice_pay", args=[own.pk]), {"method": "cash", "amount": "1"}).status_code == 403
        assert http.post(reverse("appointment_checkout", args=[money.appointment.pk])).status_code == 403
        assert http.get(reverse("client_account", args=[money.client_a.pk])).status_code == 403
        listed = http.get(reverse("invoice_list"))
        assert own.number.encode() in listed.content and b"Draft invoice" not in listed.content
        own.refresh_from_db()
        assert own.status == InvoiceStatus.ISSUED and not Payment.objects.exists()

    def test_charlie_gets_404_for_everything_of_clinic_a(self, money, as_user):
        invoice = issued_invoice(money)
        payment = services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="10", currency="GBP", invoices=[invoice]
        )
        http = as_user(money.charlie)
        for name in ("invoice_detail", "invoice_pdf", "invoice_void", "invoice_credit"):
            assert http.get(reverse(name, args=[invoice.pk])).status_code == 404, name
        for name in ("invoice_pay", "invoice_issue", "invoice_line_add", "invoice_void"):
            assert http.post(reverse(name, args=[invoice.pk]), {"reason": "x", "amount": "1", "method": "cash"}).status_code == 404, name
        assert http.get(reverse("payment_refund", args=[payment.pk])).status_code == 404
        assert http.post(reverse("payment_refund", args=[payment.pk]), {"amount": "1"}).status_code == 404
        assert http.get(reverse("client_account", args=[money.client_a.pk])).status_code == 404
        assert http.post(reverse("appointment_checkout", args=[money.appointment.pk])).status_code == 404
        assert http.post(reverse("invoice_new"), {"client": money.client_a.pk}).status_code == 404
        assert invoice.number.encode() not in http.get(reverse("invoice_list")).content
        assert selectors.payment_refunded(payment) == 0

    def test_only_the_owner_edits_billing_settings(self, money, as_user):
        assert as_user(money.bob).get(reverse("billing_settings")).status_code == 403
        assert as_user(money.alice).get(reverse("billing_settings")).status_code == 403
        http = as_user(money.olivia)
        assert http.get(reverse("billing_settings")).status_code == 200
        r = http.post(
            reverse("billing_settings"),
            {"form": "settings", "legal_name": "A Ltd", "currency": "EUR", "prices_include_tax": "on", "invoice_prefix": "A-",
             "credit_note_prefix": "A-", "payment_terms_days": "14"},
        )  # fmt: skip
        assert r.status_code == 200 and b"prefix of their own" in r.content
        r = http.post(reverse("billing_settings"), {"form": "tax_rate", "name": "GST", "rate": "5"})
        assert r.status_code == 302 and TaxRate.objects.filter(clinic=money.clinic_a, name="GST").exists()
        r = http.post(
            reverse("billing_settings"),
            {"form": "settings", "legal_name": "A Ltd", "currency": "EUR", "invoice_prefix": "A-", "credit_note_prefix": "AC-",
             "payment_terms_days": "30", "tax_number": "DE123"},
        )  # fmt: skip
        assert r.status_code == 302
        conf = BillingSettings.objects.get(clinic=money.clinic_a)
        assert (conf.currency, conf.prices_include_tax, conf.invoice_prefix) == ("EUR", False, "A-")

    def test_settings_are_created_with_defaults_on_first_use(self, world, as_user):
        assert not BillingSettings.objects.exists()
        assert as_user(world.olivia).get(reverse("billing_settings")).status_code == 200
        conf = BillingSettings.objects.get(clinic=world.clinic_a)
        assert (conf.currency, conf.invoice_prefix, conf.display_name) == ("GBP", "INV-", "Clinic A")


class ClientAccountTests:
    def test_the_account_shows_balance_invoices_payments_and_store_credit_and_is_audited(self, money, as_user):
        invoice = issued_invoice(money)
        services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="70", currency="GBP", invoices=[invoice]
        )
        r = as_user(money.bob).get(reverse("client_account", args=[money.client_a.pk]))
        assert r.status_code == 200
        assert b"GBP 10.00 in the client" in r.content and b"INV-000001" in r.content and b"Cash" in r.content
        assert AuditEvent.objects.filter(object_type="clients.client", detail__billing="account", actor=money.bob).exists()

    def test_an_empty_account_says_so(self, money, as_user):
        r = as_user(money.bob).get(reverse("client_account", args=[money.client_a.pk]))
        assert b"No charges or payments yet" in r.content and b"No invoices yet" in r.content

    def test_the_client_page_links_to_the_account_for_the_desk(self, money, as_user):
        assert (
            reverse("client_account", args=[money.client_a.pk]).encode()
            in as_user(money.bob).get(reverse("client_detail", args=[money.client_a.pk])).content
        )


class PortalTests:
    def test_the_client_sees_their_issued_invoices_and_downloads_the_receipt(self, money, portal, as_user):
        invoice = issued_invoice(money)
        draft = services.invoice_create(clinic=money.clinic_a, client=money.client_a, actor=money.bob)
        http = as_user(portal)
        page = http.get(reverse("portal_invoices", args=[money.client_a.pk]))
        assert page.status_code == 200 and b"INV-000001" in page.content
        pdf = http.get(reverse("portal_invoice_pdf", args=[invoice.pk]))
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf["Content-Type"] == "application/pdf"
        assert AuditEvent.objects.filter(object_type="billing.invoice", action="export", role="client").exists()
        assert http.get(reverse("portal_invoice_pdf", args=[draft.pk])).status_code == 404
        assert http.get(reverse("invoice_detail", args=[invoice.pk])).status_code == 302
        assert http.post(reverse("invoice_pay", args=[invoice.pk]), {"method": "cash", "amount": "1"}).status_code == 404

    def test_another_client_and_staff_get_404_on_the_portal(self, money, portal, as_user):
        invoice = issued_invoice(money)
        other = make_user("someone@mail.example", mfa=False)
        assert as_user(other).get(reverse("portal_invoice_pdf", args=[invoice.pk])).status_code == 404
        assert as_user(other).get(reverse("portal_invoices", args=[money.client_a.pk])).status_code == 404
        assert as_user(money.bob).get(reverse("portal_invoice_pdf", args=[invoice.pk])).status_code == 404


class ListPageTests:
    def test_the_invoice_list_searches_filters_and_pages(self, money, as_user):
        for _ in range(3):
            issued_invoice(money)
        services.invoice_create(clinic=money.clinic_a, client=money.client_a, actor=money.bob)
        http = as_user(money.bob)
        found = http.get(reverse("invoice_list"), {"q": "INV-000002"}).content
        assert b">INV-000002</a>" in found and b"INV-000001" not in found and b"INV-000003" not in found
        assert b"Lovelace" in http.get(reverse("invoice_list"), {"q": "lovelace"}).content
        assert b"No invoice matches" in http.get(reverse("invoice_list"), {"q": "nobody"}).content
        drafts = http.get(reverse("invoice_list"), {"status": "draft"})
        assert b"INV-0000" not in drafts.content and b"Draft invoice" in drafts.content

    def test_the_invoice_list_costs_the_same_queries_for_3_or_25_invoices(self, money, as_user, django_assert_max_num_queries):
        http = as_user(money.bob)
        for _ in range(3):
            issued_invoice(money)
        http.get(reverse("invoice_list"))
        with django_assert_max_num_queries(25) as few:
            assert http.get(reverse("invoice_list")).status_code == 200
        for n in range(22):
            make_appointment(money.clinic_a, money.alice, make_client(money.clinic_a), money.session, days_ago=n + 2)
            issued_invoice(money)
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert http.get(reverse("invoice_list")).status_code == 200

    def test_the_account_page_costs_the_same_queries_for_1_or_10_invoices(self, money, as_user, django_assert_max_num_queries):
        http = as_user(money.bob)
        issued_invoice(money)
        url = reverse("client_account", args=[money.client_a.pk])
        with django_assert_max_num_queries(30) as few:
            http.get(url)
        for _ in range(9):
            invoice = issued_invoice(money)
            services.payment_record(
                clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="5", currency="GBP", invoices=[invoice]
            )
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert http.get(url).status_code == 200

    def test_the_portal_list_costs_the_same_queries_for_1_or_10_invoices(self, money, portal, as_user, django_assert_max_num_queries):
        http = as_user(portal)
        issued_invoice(money)
        url = reverse("portal_invoices", args=[money.client_a.pk])
        with django_assert_max_num_queries(30) as few:
            http.get(url)
        for _ in range(9):
            issued_invoice(money)
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert http.get(url).status_code == 200
