"""Receipts by e-mail over a real SMTP conversation (aiosmtpd on loopback): one per payment, with
the PDF attached, and nothing clinical in the message."""

from __future__ import annotations

import socket

import pytest
from django.db import connections
from django.urls import reverse

from knotwork.audit.models import AuditEvent
from knotwork.billing import receipt_email, services
from knotwork.billing.receipt_email import send_payment_receipt
from tests.billing.conftest import issued_invoice
from tests.lib import test_smtp_delivery
from tests.lib.pdf_text import pdf_text

pytestmark = pytest.mark.django_db
smtp = test_smtp_delivery.smtp  # a fixture: aiosmtpd on a loopback port


def _pay(world, invoice, amount="60.00", method="cash", **extra):
    return services.payment_record(
        clinic=world.clinic_a, client=world.client_a, actor=world.bob, method=method, amount=amount, currency="GBP",
        invoices=[invoice], **extra,
    )  # fmt: skip


def _attachments(message) -> list[tuple[str, bytes]]:
    return [(part.get_filename(), part.get_content()) for part in message.iter_attachments()]


def _body(message) -> str:
    return message.get_body(("plain",)).get_content()


class AutomaticReceiptTests:
    def test_a_payment_at_the_desk_e_mails_one_receipt_with_the_pdf(self, money, smtp, django_capture_on_commit_callbacks):
        invoice = issued_invoice(money)
        with django_capture_on_commit_callbacks(execute=True):
            payment = _pay(money, invoice, "75.00", reference="T-1")
        ((to, message),) = smtp.messages()
        assert to == [money.client_a.email] and message["Subject"] == "Receipt from Clinic A: GBP 75.00"
        body = _body(message)
        for expected in ("Hello Ada", "Amount: GBP 75.00", "Cash", invoice.number, "Kept as credit for your next visit: GBP 15.00"):
            assert expected in body, expected
        assert "warfarin" not in body.lower() and "Treatment" not in body  # nothing clinical, not even the line's description
        ((name, data),) = _attachments(message)
        assert name == f"receipt-{payment.pk}.pdf" and data.startswith(b"%PDF")
        text = pdf_text(data)
        assert "Payment receipt" in text and "GBP 75.00" in text and invoice.number in text
        # Run again (a retried task, a second worker): still one message.
        assert send_payment_receipt.call(payment.pk) == receipt_email.ALREADY_SENT
        assert send_payment_receipt.call(payment.pk) == receipt_email.ALREADY_SENT
        assert len(smtp.received) == 1
        sent = AuditEvent.objects.filter(object_type="billing.payment", object_id=str(payment.pk), detail__event="receipt_emailed")
        assert sent.count() == 1 and sent.get().action == "export"

    def test_a_client_who_opted_out_of_e_mail_or_has_no_address_gets_none(self, money, smtp, django_capture_on_commit_callbacks):
        money.client_a.reminders_by_email = False
        money.client_a.save(update_fields=["reminders_by_email"])
        with django_capture_on_commit_callbacks(execute=True):
            payment = _pay(money, issued_invoice(money))
        assert smtp.received == [] and send_payment_receipt.call(payment.pk) == receipt_email.OPTED_OUT
        money.client_a.email = ""
        money.client_a.save(update_fields=["email"])
        assert send_payment_receipt.call(payment.pk) == receipt_email.NO_ADDRESS and smtp.received == []

    def test_a_payment_rolled_back_sends_nothing_and_the_demo_clinic_sends_none(self, money, smtp, django_capture_on_commit_callbacks):
        invoice = issued_invoice(money)
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.BillingError):
            _pay(money, invoice, "10.00", method="store_credit")  # no store credit to spend: refused, rolled back
        money.clinic_a.is_demo = True
        money.clinic_a.save(update_fields=["is_demo"])
        with django_capture_on_commit_callbacks(execute=True):
            _pay(money, invoice)
        assert smtp.received == []

    def test_a_send_the_mail_server_refuses_is_not_counted_and_the_retry_sends_it(self, money, smtp, settings, as_user):
        payment = _pay(money, issued_invoice(money))
        port = settings.EMAIL_PORT
        with socket.socket() as probe:  # a port nothing listens on: the connection is refused
            probe.bind(("127.0.0.1", 0))
            settings.EMAIL_PORT = probe.getsockname()[1]
        with pytest.raises(OSError):
            send_payment_receipt.call(payment.pk)
        r = as_user(money.bob).post(reverse("payment_receipt_email", args=[payment.pk]), follow=True)
        assert "could not be sent" in r.content.decode()
        settings.EMAIL_PORT = port
        assert send_payment_receipt.call(payment.pk) == receipt_email.SENT
        assert send_payment_receipt.call(payment.pk) == receipt_email.ALREADY_SENT and len(smtp.received) == 1
        failed = AuditEvent.objects.filter(object_id=str(payment.pk), detail__event="receipt_email_failed")
        assert failed.count() == 2  # the task's attempt and the desk's


class SendButtonTests:
    def test_the_desk_sends_the_receipt_again_from_the_invoice_page(self, money, smtp, as_user, django_capture_on_commit_callbacks):
        invoice = issued_invoice(money)
        payment = _pay(money, invoice)  # no commit callbacks: nothing automatic here
        page = as_user(money.bob).get(reverse("invoice_detail", args=[invoice.pk]))
        assert b"Send receipt by e-mail" in page.content
        url = reverse("payment_receipt_email", args=[payment.pk])
        back = reverse("invoice_detail", args=[invoice.pk])
        r = as_user(money.bob).post(url, {"next": back}, follow=True)
        assert r.redirect_chain[-1][0] == back and f"Receipt e-mailed to {money.client_a.email}" in r.content.decode()
        as_user(money.bob).post(url, {"next": "https://evil.example/"})
        assert len(smtp.received) == 2  # sent on purpose, twice
        assert AuditEvent.objects.filter(object_id=str(payment.pk), detail__event="receipt_emailed", actor=money.bob).count() == 2

    def test_it_says_so_when_there_is_no_address_and_refuses_other_clinics_and_therapists(self, money, smtp, as_user):
        payment = _pay(money, issued_invoice(money))
        url = reverse("payment_receipt_email", args=[payment.pk])
        assert as_user(money.charlie).post(url).status_code == 404
        assert as_user(money.alice).post(url).status_code == 403
        assert as_user(money.bob).get(url).status_code == 405
        money.client_a.email = ""
        money.client_a.save(update_fields=["email"])
        r = as_user(money.bob).post(url, follow=True)
        assert "no e-mail address on file" in r.content.decode() and smtp.received == []


@pytest.mark.django_db(transaction=True)
class ConcurrentReceiptTests:
    def test_four_workers_at_once_send_one_receipt(self, money, smtp):
        from tests.bookings.test_concurrency import _race

        money.clinic_a.is_demo = True  # record the payment without its automatic receipt (this test is not in a transaction)
        money.clinic_a.save(update_fields=["is_demo"])
        payment = _pay(money, issued_invoice(money))
        money.clinic_a.is_demo = False
        money.clinic_a.save(update_fields=["is_demo"])

        def work(i: int) -> str:
            try:
                return send_payment_receipt.call(payment.pk)
            finally:
                connections.close_all()

        results = _race(work, 4)
        assert sorted(results) == [receipt_email.ALREADY_SENT] * 3 + [receipt_email.SENT]
        assert len(smtp.received) == 1
