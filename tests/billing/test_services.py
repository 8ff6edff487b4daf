from __future__ import annotations

from decimal import Decimal

import pytest

from knotwork.audit.models import AuditEvent
from knotwork.billing import selectors, services
from knotwork.billing.models import (
    AppendOnlyError,
    ImmutableInvoiceError,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LedgerEntry,
    LedgerKind,
    Payment,
)
from knotwork.billing.services import BillingError, InvalidAmount, InvoiceLocked
from knotwork.lib.testing import make_client
from tests.billing.conftest import issued_invoice

pytestmark = pytest.mark.django_db
D = Decimal


def pay(world, invoices, amount, method="card_terminal", currency="GBP", client=None):
    return services.payment_record(
        clinic=world.clinic_a, client=client or world.client_a, actor=world.bob, method=method, amount=amount, currency=currency,
        invoices=invoices,
    )  # fmt: skip


class CheckoutTests:
    def test_an_appointment_becomes_a_draft_priced_as_booked_with_what_a_receipt_needs(self, money):
        invoice = services.invoice_from_appointment(appointment=money.appointment, actor=money.bob)
        line = invoice.lines.get()
        assert invoice.status == InvoiceStatus.DRAFT and invoice.number == "" and invoice.currency == "GBP"
        assert (line.description, line.unit_price, line.therapist, line.duration_minutes) == ("NMT session", D("60.00"), money.alice, 60)
        assert line.service_date == money.appointment.local_start.date()
        assert (invoice.subtotal, invoice.tax_total, invoice.total) == (D("50.00"), D("10.00"), D("60.00"))

    def test_checking_out_twice_returns_the_same_invoice(self, money):
        first = services.invoice_from_appointment(appointment=money.appointment, actor=money.bob)
        assert services.invoice_from_appointment(appointment=money.appointment, actor=money.bob).pk == first.pk
        assert Invoice.objects.count() == 1

    def test_issue_and_pay_in_one_step_is_all_or_nothing(self, money):
        invoice = services.invoice_from_appointment(appointment=money.appointment, actor=money.bob)
        with pytest.raises(InvalidAmount):
            services.checkout_issue_and_pay(invoice=invoice, actor=money.bob, method="cash", amount="-5")
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.DRAFT and not LedgerEntry.objects.exists() and not Payment.objects.exists()
        issued, payment = services.checkout_issue_and_pay(invoice=invoice, actor=money.bob, method="cash", amount="60.00")
        assert issued.number == "INV-000001" and selectors.invoice_money(issued).balance == 0 and payment is not None


class NumberingTests:
    def test_numbers_are_given_at_issue_in_order_per_clinic_and_credit_notes_have_their_own_sequence(self, money):
        draft = services.invoice_create(clinic=money.clinic_a, client=money.client_a, actor=money.bob)
        first, second = issued_invoice(money), issued_invoice(money)
        assert (first.number, second.number) == ("INV-000001", "INV-000002")
        note = services.credit_note_create(invoice=first, actor=money.bob, reason="Wrong price")
        assert note.number == "CN-000001" and note.sequence == 1
        draft.refresh_from_db()
        assert draft.number == "" and draft.sequence is None

    def test_a_refused_issue_takes_no_number(self, money):
        empty = services.invoice_create(clinic=money.clinic_a, client=money.client_a, actor=money.bob)
        with pytest.raises(BillingError, match="at least one line"):
            services.invoice_issue(invoice=empty, actor=money.bob)
        assert issued_invoice(money).number == "INV-000001"

    def test_issuing_an_issued_invoice_again_is_a_conflict(self, money):
        invoice = issued_invoice(money)
        with pytest.raises(InvoiceLocked):
            services.invoice_issue(invoice=invoice, actor=money.bob)
        assert LedgerEntry.objects.filter(kind=LedgerKind.CHARGE).count() == 1


class ConstraintTests:
    @pytest.mark.parametrize("price", ["0.06", "0.07", "0.41", "58.33", "999999.99"])
    def test_amounts_whose_parts_are_inexact_in_binary_still_satisfy_the_databases_checks(self, money, price):
        # SQLite keeps decimals as binary floats: 0.05 + 0.01 is not exactly 0.06 there (found by
        # the ledger property test); the CHECK constraints compare to within half a cent.
        invoice = issued_invoice(money, price=price)
        line = invoice.lines.get()
        assert line.net + line.tax == line.total == D(price)

    def test_the_database_still_refuses_a_line_whose_total_is_not_its_parts(self, money):
        from django.db import IntegrityError, transaction

        invoice = services.invoice_create(clinic=money.clinic_a, client=money.client_a, actor=money.bob)
        with pytest.raises(IntegrityError), transaction.atomic():
            InvoiceLine.objects.create(invoice=invoice, description="x", unit_price=D("10"), net=D("10"), tax=D("0"), total=D("10.01"))
        with pytest.raises(IntegrityError), transaction.atomic():
            InvoiceLine.objects.create(
                invoice=invoice, description="x", unit_price=D("10"), discount=D("10.01"), net=D("0"), tax=D("0"), total=D("0")
            )


class ImmutabilityTests:
    def test_services_refuse_to_change_an_issued_invoice(self, money):
        invoice = issued_invoice(money)
        with pytest.raises(InvoiceLocked):
            services.invoice_line_add(invoice=invoice, actor=money.bob, description="Extra", unit_price="5")
        with pytest.raises(InvoiceLocked):
            services.invoice_line_remove(line=invoice.lines.get(), actor=money.bob)

    def test_the_model_refuses_changes_behind_the_services_back(self, money):
        invoice = issued_invoice(money)
        invoice.total = D("1.00")
        with pytest.raises(ImmutableInvoiceError):
            invoice.save()
        with pytest.raises(ImmutableInvoiceError):
            invoice.delete()
        line = InvoiceLine.objects.get(invoice=invoice)
        line.description = "Something else"
        with pytest.raises(ImmutableInvoiceError):
            line.save()
        with pytest.raises(ImmutableInvoiceError):
            line.delete()

    def test_ledger_entries_cannot_be_changed_or_deleted(self, money):
        issued_invoice(money)
        entry = LedgerEntry.objects.get()
        entry.amount = D("1.00")
        with pytest.raises(AppendOnlyError):
            entry.save()
        with pytest.raises(AppendOnlyError):
            entry.delete()
        with pytest.raises(AppendOnlyError):
            LedgerEntry.objects.update(amount=D("2.00"))
        with pytest.raises(AppendOnlyError):
            LedgerEntry.objects.all().delete()


class VoidTests:
    def test_voiding_needs_a_reason_keeps_the_number_and_reverses_the_charge(self, money):
        invoice = issued_invoice(money)
        with pytest.raises(BillingError, match="reason"):
            services.invoice_void(invoice=invoice, actor=money.bob, reason="  ")
        voided = services.invoice_void(invoice=invoice, actor=money.bob, reason="Client was never here")
        assert (voided.status, voided.number, voided.void_reason) == (InvoiceStatus.VOID, "INV-000001", "Client was never here")
        assert [e.amount for e in LedgerEntry.objects.order_by("id")] == [D("60.00"), D("-60.00")]
        assert selectors.client_accounts(money.client_a)[0].balance == 0
        assert AuditEvent.objects.filter(object_type="billing.invoice", detail__event="void").exists()
        with pytest.raises(InvoiceLocked):
            services.invoice_void(invoice=voided, actor=money.bob, reason="again")
        assert issued_invoice(money).number == "INV-000002"

    def test_a_paid_invoice_is_refunded_or_credited_not_voided(self, money):
        invoice = issued_invoice(money)
        pay(money, [invoice], "10")
        with pytest.raises(BillingError, match="Refund them first"):
            services.invoice_void(invoice=invoice, actor=money.bob, reason="oops")


class CreditNoteTests:
    def test_a_credit_note_for_some_lines_reduces_what_is_owed_once_per_line(self, money):
        invoice = services.invoice_create(clinic=money.clinic_a, client=money.client_a, actor=money.bob)
        services.invoice_line_add(invoice=invoice, actor=money.bob, description="Session", unit_price="60", tax_rate=money.vat)
        ball = services.invoice_line_add(
            invoice=invoice, actor=money.bob, kind="product", description="Ball", unit_price="9", tax_rate=money.vat
        )
        invoice = services.invoice_issue(invoice=invoice, actor=money.bob)
        note = services.credit_note_create(invoice=invoice, actor=money.bob, line_ids=[ball.pk], reason="Ball returned")
        assert (note.kind, note.credit_for, note.total, note.tax_total) == ("credit_note", invoice, D("9.00"), D("1.50"))
        figures = selectors.invoice_money(invoice)
        assert (figures.credited, figures.balance) == (D("9.00"), D("60.00"))
        with pytest.raises(BillingError, match="not been credited"):
            services.credit_note_create(invoice=invoice, actor=money.bob, line_ids=[ball.pk], reason="again")
        rest = services.credit_note_create(invoice=invoice, actor=money.bob, reason="Cancelled")
        assert rest.number == "CN-000002" and selectors.invoice_money(invoice).balance == 0

    def test_crediting_a_paid_invoice_leaves_a_refund_due(self, money):
        invoice = issued_invoice(money)
        payment = pay(money, [invoice], "60")
        services.credit_note_create(invoice=invoice, actor=money.bob, reason="Session not given")
        assert selectors.invoice_money(invoice).refund_due == D("60.00")
        services.payment_refund(payment=payment, actor=money.bob, amount="60")
        assert selectors.invoice_money(invoice).balance == 0
        assert selectors.client_accounts(money.client_a)[0].balance == 0


class PaymentTests:
    def test_a_partial_payment_leaves_the_rest_owed(self, money):
        invoice = issued_invoice(money)
        pay(money, [invoice], "25.50")
        assert selectors.invoice_money(invoice) == selectors.InvoiceMoney(paid=D("25.50"), credited=D("0.00"), balance=D("34.50"))
        assert selectors.client_accounts(money.client_a)[0].balance == D("34.50")

    def test_one_payment_covers_several_invoices_in_order_and_the_rest_becomes_store_credit(self, money):
        first, second = issued_invoice(money), issued_invoice(money, price="30.00")
        pay(money, [first, second], "100")
        assert selectors.invoice_money(first).balance == 0 and selectors.invoice_money(second).balance == 0
        account = selectors.client_accounts(money.client_a)[0]
        assert (account.balance, account.store_credit) == (D("-10.00"), D("10.00"))

    def test_store_credit_pays_later_invoices_but_never_more_than_there_is(self, money):
        pay(money, [issued_invoice(money)], "70")
        later = issued_invoice(money, price="15.00")
        with pytest.raises(BillingError, match="only GBP 10.00"):
            pay(money, [later], "15", method="store_credit")
        pay(money, [later], "10", method="store_credit")
        assert selectors.store_credit(money.client_a, "GBP") == 0
        assert selectors.invoice_money(later).balance == D("5.00")

    @pytest.mark.parametrize(
        ("amount", "words"), [("0", "more than zero"), ("-3", "negative"), ("10000000", "more than"), ("1.001", "two decimal")]
    )
    def test_bad_amounts_are_refused_and_nothing_is_written(self, money, amount, words):
        invoice = issued_invoice(money)
        before = LedgerEntry.objects.count()
        with pytest.raises(InvalidAmount, match=words):
            pay(money, [invoice], amount)
        assert LedgerEntry.objects.count() == before and not Payment.objects.exists()

    def test_a_payment_in_another_currency_cannot_pay_the_invoice(self, money):
        invoice = issued_invoice(money)
        with pytest.raises(BillingError, match="in GBP"):
            pay(money, [invoice], "60", currency="EUR")
        assert not Payment.objects.exists()

    def test_drafts_and_other_clients_invoices_take_no_payment(self, money):
        draft = services.invoice_create(clinic=money.clinic_a, client=money.client_a, actor=money.bob)
        with pytest.raises(BillingError, match="not an issued invoice"):
            pay(money, [draft], "5")
        someone_else = make_client(money.clinic_a)
        with pytest.raises(BillingError, match="not this client's"):
            pay(money, [issued_invoice(money)], "5", client=someone_else)
        with pytest.raises(BillingError, match="not in this clinic"):
            pay(money, [], "5", client=money.client_b)


class RefundTests:
    def test_refunds_are_full_or_partial_but_never_above_what_was_paid(self, money):
        invoice = issued_invoice(money)
        payment = pay(money, [invoice], "60")
        services.payment_refund(payment=payment, actor=money.bob, amount="20", reason="Shortened session")
        assert selectors.payment_refundable(payment) == D("40.00")
        with pytest.raises(BillingError, match="At most GBP 40.00"):
            services.payment_refund(payment=payment, actor=money.bob, amount="40.01")
        services.payment_refund(payment=payment, actor=money.bob, amount="40")
        assert selectors.payment_refunded(payment) == D("60.00") and selectors.payment_refundable(payment) == 0
        assert [e.kind for e in LedgerEntry.objects.filter(kind=LedgerKind.REFUND)] == ["refund", "refund"]
        assert selectors.invoice_money(invoice).balance == D("60.00")

    def test_store_credit_already_spent_cannot_be_refunded_again(self, money):
        overpaid = pay(money, [issued_invoice(money)], "80")
        pay(money, [issued_invoice(money, price="20.00")], "20", method="store_credit")
        assert selectors.payment_refundable(overpaid) == D("60.00")
        with pytest.raises(BillingError):
            services.payment_refund(payment=overpaid, actor=money.bob, amount="61")

    def test_a_store_credit_payment_is_refunded_to_store_credit(self, money):
        pay(money, [issued_invoice(money)], "70")
        later = issued_invoice(money, price="10.00")
        credit_payment = pay(money, [later], "10", method="store_credit")
        services.payment_refund(payment=credit_payment, actor=money.bob, amount="10")
        assert selectors.store_credit(money.client_a, "GBP") == D("10.00")
        assert selectors.invoice_money(later).balance == D("10.00")


class LedgerTests:
    def test_every_balance_is_the_sum_of_the_clients_entries(self, money):
        a, b = issued_invoice(money), issued_invoice(money, price="40.00")
        pay(money, [a], "60")
        pay(money, [b], "50")
        entries = LedgerEntry.objects.filter(client=money.client_a)
        total = sum(e.amount for e in entries)
        account = selectors.client_accounts(money.client_a)[0]
        assert account.balance == total == D("-10.00")
        assert account.store_credit == -sum(e.amount for e in entries if e.invoice_id is None) == D("10.00")
        listed = {i.pk: i.balance for i in selectors.client_invoices(money.client_a)}
        assert listed == {a.pk: D("0.00"), b.pk: D("0.00")}

    def test_every_money_write_is_audited(self, money):
        invoice = issued_invoice(money)
        payment = pay(money, [invoice], "60")
        services.payment_refund(payment=payment, actor=money.bob, amount="5")
        kinds = set(AuditEvent.objects.filter(object_type__startswith="billing.").values_list("object_type", "action"))
        assert {
            ("billing.invoice", "create"),
            ("billing.invoice", "update"),
            ("billing.payment", "create"),
            ("billing.payment", "update"),
        } <= kinds
