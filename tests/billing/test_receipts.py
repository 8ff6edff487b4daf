"""The receipt PDF carries what an insurer asks for."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from knotwork.billing import services
from knotwork.billing.receipts import receipt_pdf
from knotwork.directory.models import Credential, CredentialStatus, TherapistProfile
from tests.lib.pdf_text import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def licensed(money):
    profile = TherapistProfile.objects.create(user=money.alice, clinic=money.clinic_a, display_name="Alice Example")
    Credential.objects.create(
        profile=profile, kind=Credential.Kind.LICENCE, title="Licensed Massage Therapist", issuer="State Board", jurisdiction="Oregon",
        number="LMT-778899", expires_on=timezone.localdate() + timedelta(days=300), status=CredentialStatus.VERIFIED,
    )  # fmt: skip
    Credential.objects.create(
        profile=profile, kind=Credential.Kind.OTHER, title="Unchecked course", issuer="Somewhere", number="PENDING-42",
        status=CredentialStatus.PENDING,
    )  # fmt: skip
    return money


class ReceiptTests:
    def test_it_names_the_clinic_tax_number_practitioner_licence_treatment_fee_and_payment(self, licensed):
        invoice = services.invoice_from_appointment(appointment=licensed.appointment, actor=licensed.bob)
        invoice, _ = services.checkout_issue_and_pay(
            invoice=invoice, actor=licensed.bob, method="card_terminal", amount="60", reference="T-9"
        )
        text = pdf_text(receipt_pdf(invoice))
        for expected in (
            "Receipt INV-000001",
            "Clinic A Ltd",
            "1 High Street, Bristol",
            "GB123456789",
            "Ada Lovelace",
            "Licensed Massage Therapist (State Board, Oregon), no. LMT-778899",
            "NMT session",
            "60 min",
            licensed.appointment.local_start.strftime("%d %b %Y"),
            "GBP 60.00",
            "Card (terminal)",
            "T-9",
        ):
            assert expected in text, expected
        assert "PENDING-42" not in text  # only verified credentials are printed

    def test_an_unpaid_invoice_says_invoice_and_shows_the_balance_due(self, licensed):
        invoice = services.invoice_issue(
            invoice=services.invoice_from_appointment(appointment=licensed.appointment, actor=licensed.bob), actor=licensed.bob
        )
        text = pdf_text(receipt_pdf(invoice))
        assert "Invoice INV-000001" in text and "Balance due" in text

    def test_names_outside_latin_1_still_render(self, licensed):
        licensed.client_a.first_name = "Zoë 漢"
        licensed.client_a.save(update_fields=["first_name"])
        invoice = services.invoice_issue(
            invoice=services.invoice_from_appointment(appointment=licensed.appointment, actor=licensed.bob), actor=licensed.bob
        )
        text = pdf_text(receipt_pdf(invoice))
        assert "Zoë \ufffd Lovelace" in text  # DejaVu Sans has no glyph for 漢: a visible mark, not a gap

    def test_the_staff_download_is_a_pdf_and_is_audited(self, licensed, as_user):
        from knotwork.audit.models import AuditEvent

        invoice = services.invoice_issue(
            invoice=services.invoice_from_appointment(appointment=licensed.appointment, actor=licensed.bob), actor=licensed.bob
        )
        r = as_user(licensed.bob).get(reverse("invoice_pdf", args=[invoice.pk]))
        assert r.status_code == 200 and r.content.startswith(b"%PDF") and 'filename="INV-000001.pdf"' in r["Content-Disposition"]
        assert AuditEvent.objects.filter(object_type="billing.invoice", action="export", actor=licensed.bob).exists()


class PaymentReceiptTests:
    def test_a_payment_receipt_names_the_payment_the_invoices_it_paid_and_their_treatments(self, licensed, as_user):
        from knotwork.audit.models import AuditEvent
        from knotwork.billing.receipts import payment_receipt_pdf

        invoice = services.invoice_issue(
            invoice=services.invoice_from_appointment(appointment=licensed.appointment, actor=licensed.bob), actor=licensed.bob
        )
        payment = services.payment_record(
            clinic=licensed.clinic_a, client=licensed.client_a, actor=licensed.bob, method="bank_transfer", amount="75",
            currency="GBP", invoices=[invoice], reference="BACS 991",
        )  # fmt: skip
        text = pdf_text(payment_receipt_pdf(payment))
        for expected in ("Payment receipt", "GB123456789", "Bank transfer (BACS 991)", "GBP 75.00", "Kept as store credit", "GBP 15.00",
                         "INV-000001", "LMT-778899", "NMT session", "60 min"):  # fmt: skip
            assert expected in text, expected
        r = as_user(licensed.bob).get(reverse("payment_receipt", args=[payment.pk]))
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        assert AuditEvent.objects.filter(object_type="billing.payment", action="export").exists()
        assert as_user(licensed.charlie).get(reverse("payment_receipt", args=[payment.pk])).status_code == 404
        assert as_user(licensed.alice).get(reverse("payment_receipt", args=[payment.pk])).status_code == 403
