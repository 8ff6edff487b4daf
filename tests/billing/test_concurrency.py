"""Desks issuing at the same moment: numbers without gaps or repeats, and one winner per invoice.

Each attempt runs in its own thread with its own database connection, released together by a
barrier, against a real (file or server) database — no test transaction hides the race (as in
tests/bookings/test_concurrency.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from knotwork.billing import selectors, services
from knotwork.billing.models import Invoice, InvoiceStatus, LedgerEntry, LedgerKind
from knotwork.billing.services import BillingError, InvoiceLocked
from knotwork.billing.verify import verify_money
from tests.bookings.test_concurrency import _race

pytestmark = pytest.mark.django_db(transaction=True)

ATTEMPTS = 20


def _drafts(world, n: int) -> list[Invoice]:
    drafts = []
    for _ in range(n):
        invoice = services.invoice_create(clinic=world.clinic_a, client=world.client_a, actor=world.bob)
        services.invoice_line_add(invoice=invoice, actor=world.bob, description="Session", unit_price="60")
        drafts.append(invoice)
    return drafts


class ConcurrentIssueTests:
    def test_twenty_desks_issuing_twenty_drafts_at_once_get_numbers_one_to_twenty(self, money):
        drafts = _drafts(money, ATTEMPTS)

        def issue(i: int) -> str:
            return services.invoice_issue(invoice=drafts[i], actor=money.bob).number

        numbers = _race(issue, ATTEMPTS)
        assert sorted(numbers) == [f"INV-{n:06d}" for n in range(1, ATTEMPTS + 1)]
        assert sorted(Invoice.objects.values_list("sequence", flat=True)) == list(range(1, ATTEMPTS + 1))
        assert verify_money().ok

    def test_twenty_desks_issuing_the_same_draft_let_exactly_one_through(self, money):
        (draft,) = _drafts(money, 1)

        def issue(i: int) -> str:
            try:
                services.invoice_issue(invoice=draft, actor=money.bob)
            except InvoiceLocked:
                return "conflict"
            return "issued"

        results = _race(issue, ATTEMPTS)
        assert results.count("issued") == 1 and results.count("conflict") == ATTEMPTS - 1
        draft.refresh_from_db()
        assert (draft.status, draft.number) == (InvoiceStatus.ISSUED, "INV-000001")
        assert LedgerEntry.objects.filter(kind=LedgerKind.CHARGE).count() == 1
        assert verify_money().ok

    def test_twenty_refunds_racing_for_one_payment_never_give_back_more_than_was_paid(self, money):
        (draft,) = _drafts(money, 1)
        invoice = services.invoice_issue(invoice=draft, actor=money.bob)
        payment = services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="60", currency="GBP", invoices=[invoice]
        )

        def refund(i: int) -> str:
            try:
                services.payment_refund(payment=payment, actor=money.bob, amount="25")
            except BillingError:
                return "refused"
            return "refunded"

        results = _race(refund, ATTEMPTS)
        assert results.count("refunded") == 2
        assert selectors.payment_refunded(payment) == Decimal("50.00")
        assert verify_money().ok


class MixedDeskTests:
    def test_check_outs_and_payments_racing_in_one_clinic_all_succeed_without_deadlock(self, money):
        drafts = _drafts(money, ATTEMPTS // 2)
        (open_one,) = _drafts(money, 1)
        issued = services.invoice_issue(invoice=open_one, actor=money.bob)

        def work(i: int) -> str:
            if i % 2 == 0:
                services.checkout_issue_and_pay(invoice=drafts[i // 2], actor=money.bob, method="cash", amount="60")
                return "checked out"
            services.payment_record(
                clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="card_terminal", amount="1", currency="GBP",
                invoices=[issued],
            )  # fmt: skip
            return "paid"

        results = _race(work, ATTEMPTS)
        assert results.count("checked out") == ATTEMPTS // 2 and results.count("paid") == ATTEMPTS // 2
        assert selectors.invoice_money(issued).balance == Decimal("50.00")
        assert verify_money().ok
