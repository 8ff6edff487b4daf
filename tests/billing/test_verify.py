from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection

from knotwork.billing import services
from knotwork.billing.models import InvoiceLine, LedgerEntry
from knotwork.billing.verify import verify_money
from tests.billing.conftest import issued_invoice

pytestmark = pytest.mark.django_db


def _book(world):
    """A little of everything: paid, part-paid, overpaid, credited, voided, refunded, a draft."""
    a, b, c, d = (issued_invoice(world) for _ in range(4))
    p = services.payment_record(
        clinic=world.clinic_a, client=world.client_a, actor=world.bob, method="cash", amount="90", currency="GBP", invoices=[a, b]
    )
    services.payment_record(
        clinic=world.clinic_a, client=world.client_a, actor=world.bob, method="card_terminal", amount="100", currency="GBP", invoices=[c]
    )
    services.credit_note_create(invoice=b, actor=world.bob, reason="Not given")
    services.invoice_void(invoice=d, actor=world.bob, reason="Duplicate")
    services.payment_refund(payment=p, actor=world.bob, amount="10")
    services.invoice_from_appointment(appointment=world.appointment, actor=world.bob)
    return a, b, c, d


def _sql(statement: str, params: list) -> None:
    with connection.cursor() as cur:
        cur.execute(statement, params)


def _run() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("money", "verify", stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


class MoneyVerifyTests:
    def test_a_clean_book_verifies_and_the_command_exits_zero(self, money):
        _book(money)
        report = verify_money()
        assert report.ok, report.findings
        code, text = _run()
        assert code == 0 and "consistent" in text and "6 invoices" in text

    def test_a_line_total_altered_in_the_database_is_found(self, money):
        a, *_ = _book(money)
        line = InvoiceLine.objects.filter(invoice=a).first()
        _sql("UPDATE billing_invoiceline SET total = total + 1, net = net + 1 WHERE id = %s", [line.pk])
        code, text = _run()
        assert code == 1 and "INV-000001" in text and "its figures give" in text and "its lines add up" in text

    def test_a_removed_ledger_entry_is_found(self, money):
        a, *_ = _book(money)
        charge = LedgerEntry.objects.get(invoice=a, kind="charge")
        _sql("DELETE FROM billing_ledgerentry WHERE id = %s", [charge.pk])
        code, text = _run()
        assert code == 1 and "should have one charge entry" in text

    def test_a_gap_in_the_numbering_is_found(self, money):
        _, b, c, _ = _book(money)
        _sql("UPDATE billing_invoice SET sequence = 9, number = 'INV-000009' WHERE id = %s", [c.pk])
        code, text = _run()
        assert code == 1 and "missing (a gap): [3, " in text

    def test_a_payment_that_does_not_add_up_is_found(self, money):
        _book(money)
        from knotwork.billing.models import Payment

        p = Payment.objects.order_by("id").first()
        _sql("UPDATE billing_payment SET amount = amount + 5 WHERE id = %s", [p.pk])
        report = verify_money()
        assert not report.ok and any(f"payment {p.pk}" in str(f) for f in report.findings)
