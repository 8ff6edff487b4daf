"""Whatever the desk does, in whatever order, the books stay consistent: hypothesis plays random
sequences of issue / pay / store-credit / refund / credit-note / void, refusals included, and
after each sequence `verify` is clean and every balance agrees with every other."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knotwork.billing import selectors, services
from knotwork.billing.models import DocumentKind, Invoice, Payment
from knotwork.billing.services import BillingError
from knotwork.billing.verify import verify_money
from tests.billing.conftest import issued_invoice

pytestmark = pytest.mark.django_db
D = Decimal

amounts = st.decimals(min_value=D("0.01"), max_value=D("150.00"), places=2)
operation = st.one_of(
    st.tuples(st.just("issue"), amounts),
    st.tuples(st.just("pay"), amounts, st.integers(0, 5)),
    st.tuples(st.just("credit_pay"), amounts, st.integers(0, 5)),
    st.tuples(st.just("refund"), amounts, st.integers(0, 5)),
    st.tuples(st.just("credit_note"), st.integers(0, 5)),
    st.tuples(st.just("void"), st.integers(0, 5)),
)


def _pick(rows: list, n: int):
    return rows[n % len(rows)] if rows else None


def _play(world, op) -> None:
    invoices = list(Invoice.objects.filter(kind=DocumentKind.INVOICE).order_by("id"))
    payments = list(Payment.objects.order_by("id"))
    kind = op[0]
    if kind == "issue":
        issued_invoice(world, price=str(op[1]))
    elif kind in ("pay", "credit_pay"):
        target = _pick(invoices, op[2])
        services.payment_record(
            clinic=world.clinic_a, client=world.client_a, actor=world.bob, method="store_credit" if kind == "credit_pay" else "cash",
            amount=op[1], currency="GBP", invoices=[target] if target else [],
        )  # fmt: skip
    elif kind == "refund" and payments:
        services.payment_refund(payment=_pick(payments, op[2]), actor=world.bob, amount=op[1])
    elif kind == "credit_note" and invoices:
        services.credit_note_create(invoice=_pick(invoices, op[1]), actor=world.bob, reason="property test")
    elif kind == "void" and invoices:
        services.invoice_void(invoice=_pick(invoices, op[1]), actor=world.bob, reason="property test")


class LedgerPropertyTests:
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(ops=st.lists(operation, min_size=1, max_size=12))
    def test_any_sequence_of_desk_actions_keeps_the_books_consistent(self, money, ops):
        with transaction.atomic():
            for op in ops:
                # A refusal must leave nothing behind; verify below proves it.
                with contextlib.suppress(BillingError):
                    _play(money, op)
            report = verify_money()
            assert report.ok, report.findings
            accounts = selectors.client_accounts(money.client_a)
            if accounts:
                (account,) = accounts
                invoices = Invoice.objects.filter(kind=DocumentKind.INVOICE)
                assert account.balance == sum((selectors.invoice_money(i).balance for i in invoices), D("0.00")) - account.store_credit
                assert account.store_credit >= 0
            for payment in Payment.objects.all():
                assert D("0.00") <= selectors.payment_refunded(payment) <= payment.amount
                assert selectors.payment_refundable(payment) <= payment.amount - selectors.payment_refunded(payment)
            transaction.set_rollback(True)
