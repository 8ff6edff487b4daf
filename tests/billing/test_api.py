"""The money API: same services and rules as the pages; every status in the project's error shape."""

from __future__ import annotations

import pytest

from knotwork.accounts.services import api_token_create
from knotwork.billing import services
from knotwork.billing.models import Invoice, InvoiceStatus, LedgerEntry, Payment
from tests.billing.conftest import issued_invoice

pytestmark = pytest.mark.django_db
JSON = "application/json"


def _post(http, url, body, **extra):
    return http.post(url, body, content_type=JSON, **extra)


def _error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body["error"]) == {"code", "message", "fields"}
    if code:
        assert body["error"]["code"] == code
    return body["error"]


class InvoiceApiTests:
    def test_the_desk_creates_and_issues_an_invoice_with_lines(self, money, as_user):
        body = {
            "client": money.client_a.pk,
            "lines": [{"description": "Ball", "unit_price": "8.50", "tax_rate": money.vat.pk}],
            "issue": True,
        }
        r = _post(as_user(money.bob), "/api/invoices", body)
        assert r.status_code == 201, r.content
        data = r.json()
        assert (data["number"], data["status"], data["total"], data["tax_total"], data["balance"]) == (
            "INV-000001",
            "issued",
            "8.50",
            "1.42",
            "8.50",
        )

    def test_check_out_by_api_starts_from_the_appointment(self, money, as_user):
        r = _post(as_user(money.bob), "/api/invoices", {"appointment": money.appointment.pk})
        assert r.status_code == 201 and r.json()["lines"][0]["description"] == "NMT session" and r.json()["status"] == "draft"

    @pytest.mark.parametrize(
        ("line", "field"),
        [
            ({"description": "x", "unit_price": "-1"}, "lines.0.unit_price"),
            ({"description": "x", "unit_price": "1.999"}, "lines.0.unit_price"),
            ({"description": "x", "unit_price": "99999999"}, "lines.0.unit_price"),
            ({"description": "x", "unit_price": "5", "discount": "6"}, "discount"),
        ],
    )
    def test_bad_amounts_are_400_naming_the_field_and_leave_no_draft(self, money, as_user, line, field):
        r = _post(as_user(money.bob), "/api/invoices", {"client": money.client_a.pk, "lines": [line]})
        error = _error(r, 400 if field.startswith("lines") else 422)
        assert field in error["fields"]
        assert not Invoice.objects.exists()

    def test_a_json_number_is_refused_as_an_amount(self, money, as_user):
        r = _post(as_user(money.bob), "/api/invoices", {"client": money.client_a.pk, "lines": [{"description": "x", "unit_price": 1.1}]})
        _error(r, 400, "validation_error")

    def test_reading_listing_and_the_pdf(self, money, as_user):
        invoice = issued_invoice(money)
        http = as_user(money.bob)
        assert http.get(f"/api/invoices/{invoice.pk}").json()["lines"][0]["total"] == "60.00"
        listed = http.get("/api/invoices", {"status": "issued"}).json()
        assert listed["count"] == 1 and listed["items"][0]["balance"] == "60.00"
        pdf = http.get(f"/api/invoices/{invoice.pk}/pdf")
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")

    def test_charlie_gets_404_and_alice_403_or_404(self, money, as_user):
        invoice = issued_invoice(money)
        charlie = as_user(money.charlie)
        for url in (f"/api/invoices/{invoice.pk}", f"/api/invoices/{invoice.pk}/pdf"):
            _error(charlie.get(url), 404, "not_found")
        _error(_post(charlie, "/api/invoices", {"client": money.client_a.pk}), 403)  # a therapist creates no invoices
        assert charlie.get("/api/invoices").json()["count"] == 0
        alice = as_user(money.alice)
        _error(alice.get(f"/api/invoices/{invoice.pk}"), 404)  # not her appointment
        _error(_post(alice, "/api/invoices", {"client": money.client_a.pk}), 403)

    def test_a_token_needs_the_right_scope_and_acts_for_its_clinic(self, money, client):
        reader = api_token_create(user=money.bob, clinic=money.clinic_a, name="r", scopes=["clients:read"]).secret
        auth = {"HTTP_AUTHORIZATION": f"Bearer {reader}"}
        assert client.get("/api/invoices", **auth).status_code == 200
        _error(client.post("/api/invoices", {"client": money.client_a.pk}, content_type=JSON, **auth), 403)
        _error(client.get("/api/invoices"), 401)


class PaymentApiTests:
    def test_a_payment_pays_invoices_in_order_and_keeps_the_rest_as_store_credit(self, money, as_user):
        a, b = issued_invoice(money), issued_invoice(money, price="30.00")
        r = _post(
            as_user(money.bob), "/api/payments",
            {"client": money.client_a.pk, "method": "card_terminal", "amount": "100.00", "currency": "GBP", "invoices": [b.pk, a.pk]},
        )  # fmt: skip
        assert r.status_code == 201, r.content
        assert (r.json()["amount"], r.json()["refundable"]) == ("100.00", "100.00")

    def test_a_retried_payment_with_its_idempotency_key_is_recorded_once(self, money, as_user):
        invoice = issued_invoice(money)
        http = as_user(money.bob)
        body = {"client": money.client_a.pk, "method": "cash", "amount": "20.00", "currency": "GBP", "invoices": [invoice.pk]}
        first = _post(http, "/api/payments", body, HTTP_IDEMPOTENCY_KEY="pay-1")
        again = _post(http, "/api/payments", body, HTTP_IDEMPOTENCY_KEY="pay-1")
        assert (first.status_code, again.status_code) == (201, 201) and first.json()["id"] == again.json()["id"]
        assert Payment.objects.count() == 1
        other = _post(http, "/api/payments", {**body, "amount": "25.00"}, HTTP_IDEMPOTENCY_KEY="pay-1")
        _error(other, 422, "idempotency_key_reused")
        refused = _post(http, "/api/payments", {**body, "currency": "EUR"}, HTTP_IDEMPOTENCY_KEY="pay-2")
        assert (
            refused.status_code == 422
            and _post(http, "/api/payments", {**body, "currency": "EUR"}, HTTP_IDEMPOTENCY_KEY="pay-2").json() == refused.json()
        )
        assert Payment.objects.count() == 1

    @pytest.mark.parametrize(
        ("amount", "currency", "status", "field"),
        [("0", "GBP", 400, "amount"), ("-5", "GBP", 400, "amount"), ("1e9", "GBP", 400, "amount"), ("10", "gbp", 400, "currency"),
         ("10", "EUR", 422, "currency")],
    )  # fmt: skip
    def test_bad_payments_are_clear_errors_and_write_nothing(self, money, as_user, amount, currency, status, field):
        invoice = issued_invoice(money)
        before = LedgerEntry.objects.count()
        body = {"client": money.client_a.pk, "method": "cash", "amount": amount, "currency": currency, "invoices": [invoice.pk]}
        error = _error(_post(as_user(money.bob), "/api/payments", body), status)
        assert field in error["fields"]
        assert LedgerEntry.objects.count() == before and not Payment.objects.exists()

    def test_refunds_stop_at_what_was_paid(self, money, as_user):
        invoice = issued_invoice(money)
        payment = services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="60", currency="GBP", invoices=[invoice]
        )
        http = as_user(money.bob)
        r = _post(http, f"/api/payments/{payment.pk}/refund", {"amount": "45", "reason": "short session"})
        assert r.status_code == 200 and r.json()["refunded"] == "45.00" and r.json()["refundable"] == "15.00"
        error = _error(_post(http, f"/api/payments/{payment.pk}/refund", {"amount": "15.01"}), 422)
        assert "At most GBP 15.00" in error["message"] and "amount" in error["fields"]
        assert http.get("/api/payments").json()["items"][0]["refunded"] == "45.00"

    def test_other_clinics_and_therapists_cannot_touch_payments(self, money, as_user):
        invoice = issued_invoice(money)
        payment = services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="60", currency="GBP", invoices=[invoice]
        )
        _error(_post(as_user(money.charlie), f"/api/payments/{payment.pk}/refund", {"amount": "1"}), 404)
        body = {"client": money.client_a.pk, "method": "cash", "amount": "5", "currency": "GBP"}
        _error(_post(as_user(money.charlie), "/api/payments", body), 403)
        _error(_post(as_user(money.alice), f"/api/payments/{payment.pk}/refund", {"amount": "1"}), 403)
        _error(as_user(money.alice).get("/api/payments"), 403)
        assert LedgerEntry.objects.filter(kind="refund").count() == 0

    def test_an_issued_invoice_refuses_new_lines_over_the_api_too(self, money, as_user):
        invoice = issued_invoice(money)
        assert invoice.status == InvoiceStatus.ISSUED
        r = _post(as_user(money.bob), "/api/invoices", {"appointment": money.appointment.pk, "client": money.client_b.pk})
        _error(r, 422)


class OpenApiTests:
    def test_every_money_operation_documents_its_error_statuses(self, money, client):
        schema = client.get("/api/openapi.json").json()
        for path, method in (("/api/invoices", "get"), ("/api/invoices", "post"), ("/api/invoices/{invoice_id}", "get"),
                             ("/api/invoices/{invoice_id}/pdf", "get"), ("/api/payments", "get"), ("/api/payments", "post"),
                             ("/api/payments/{payment_id}/refund", "post")):  # fmt: skip
            documented = set(schema["paths"][path][method]["responses"])
            assert {"200", "400", "401", "403", "404", "422"} <= documented | {"200"} and {"400", "401", "403", "404"} <= documented, path
