"""Cancelling a gift card or package when its sale is credited (a credit note) or refunded:
an unused one is cancelled with its ledger taken to zero, a used one refuses with what is left,
a cancelled one cannot be spent or looked up as usable, the reports and verify agree, pages show
it, and a redemption racing the cancellation lets exactly one through."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from knotwork.audit.models import AuditEvent
from knotwork.billing import prepaid, prepaid_selectors, selectors, services
from knotwork.billing.models import (
    ClientPackage,
    GiftCard,
    GiftCardEntry,
    GiftCardEntryKind,
    PackageEntry,
    PackageEntryKind,
    PackageProduct,
    Payment,
    PaymentMethod,
    PrepaidStatus,
)
from knotwork.billing.prepaid import PrepaidError
from knotwork.billing.reports import balances
from knotwork.billing.services import BillingError
from knotwork.billing.verify import verify_money
from tests.billing.conftest import issued_invoice, make_appointment
from tests.bookings.test_concurrency import _race


def sold_card(world, *, value: str = "100.00", paid: bool = True):
    card, code = prepaid.gift_card_sell(client=world.client_a, actor=world.bob, amount=value, recipient_name="Sam")
    invoice = services.invoice_issue(invoice=card.invoice_line.invoice, actor=world.bob)
    payment = None
    if paid:
        payment = services.payment_record(
            clinic=world.clinic_a, client=world.client_a, actor=world.bob, method="cash", amount=invoice.total, currency="GBP",
            invoices=[invoice],
        )  # fmt: skip
    card.refresh_from_db()
    return card, code, payment


@pytest.fixture
def product(money):
    p = PackageProduct.objects.create(clinic=money.clinic_a, name="Five sessions", sessions=5, price=Decimal("250.00"), currency="GBP")
    p.services.set([money.session])
    return p


def sold_package(world, product, *, paid: bool = True):
    package = prepaid.package_sell(client=world.client_a, product=product, actor=world.bob)
    invoice = services.invoice_issue(invoice=package.invoice_line.invoice, actor=world.bob)
    payment = None
    if paid:
        payment = services.payment_record(
            clinic=world.clinic_a, client=world.client_a, actor=world.bob, method="card_terminal", amount=invoice.total,
            currency="GBP", invoices=[invoice],
        )  # fmt: skip
    package.refresh_from_db()
    return package, payment


def credit_line(world, item, reason="Bought by mistake"):
    line = item.invoice_line
    return services.credit_note_create(invoice=line.invoice, actor=world.bob, line_ids=[line.pk], reason=reason)


def visit_invoice(world):
    appointment = make_appointment(world.clinic_a, world.alice, world.client_a, world.session)
    invoice = services.invoice_from_appointment(appointment=appointment, actor=world.bob)
    return services.invoice_issue(invoice=invoice, actor=world.bob)


@pytest.mark.django_db
class GiftCardCancelTests:
    def test_crediting_an_unused_card_cancels_it_and_takes_its_balance_to_zero(self, money):
        card, code, _ = sold_card(money)
        note = credit_line(money, card)
        card.refresh_from_db()
        assert (card.status, card.balance, prepaid_selectors.card_balance(card)) == (PrepaidStatus.CANCELLED, 0, 0)
        assert card.cancelled_at is not None
        cancel = GiftCardEntry.objects.get(gift_card=card, kind=GiftCardEntryKind.CANCEL)
        assert (cancel.amount, cancel.payment_id, cancel.created_by) == (Decimal("-100.00"), None, money.bob)
        event = AuditEvent.objects.filter(object_type="billing.giftcard", object_id=str(card.pk)).order_by("id").last()
        assert event.detail["event"] == "cancel" and event.detail["because"] == "credit_note" and event.detail["document"] == note.pk
        # The invoice was paid: now it shows the refund due, as any credit note on a paid invoice.
        assert selectors.invoice_money(card.invoice_line.invoice).balance == Decimal("-100.00")
        assert verify_money().ok

    def test_a_cancelled_card_cannot_be_spent_and_its_lookup_says_cancelled(self, money, client):
        card, code, _ = sold_card(money)
        credit_line(money, card)
        invoice = issued_invoice(money)
        with pytest.raises(PrepaidError, match="cancelled"):
            prepaid.invoice_settle(invoice=invoice, actor=money.bob, gift_card_code=code)
        with pytest.raises(PrepaidError, match="cancelled"):
            services.payment_record(
                clinic=money.clinic_a, client=money.client_a, actor=money.bob, method=PaymentMethod.GIFT_CARD, amount="10",
                currency="GBP", invoices=[invoice], gift_card=card,
            )  # fmt: skip
        assert not Payment.objects.filter(method=PaymentMethod.GIFT_CARD).exists()
        r = client.get(f"/api/gift-cards/{prepaid.format_code(code)}/balance")
        assert r.status_code == 409 and r.json()["error"]["code"] == "cancelled"

    def test_the_desk_lookup_and_the_card_page_say_cancelled(self, money, as_user):
        card, code, _ = sold_card(money)
        credit_line(money, card)
        http = as_user(money.bob)
        r = http.post("/gift-cards/", {"code": prepaid.format_code(code)})
        assert r.status_code == 400 and b"This gift card was cancelled" in r.content
        page = http.get(f"/gift-cards/{card.pk}/")
        assert page.status_code == 200 and b"Cancelled" in page.content and b"E-mail the code again" not in page.content
        assert b"Cancelled" in http.get(f"/clients/{money.client_a.pk}/account/").content

    def test_crediting_a_partly_spent_card_is_refused_with_what_is_left(self, money):
        card, code, _ = sold_card(money)
        prepaid.invoice_settle(invoice=issued_invoice(money, price="30.00"), actor=money.bob, gift_card_code=code)
        with pytest.raises(PrepaidError, match=r"GBP 70\.00 of GBP 100\.00 is left") as refused:
            credit_line(money, card)
        assert refused.value.field == "lines"
        card.refresh_from_db()
        assert (card.status, card.balance) == (PrepaidStatus.ACTIVE, Decimal("70.00"))
        assert not card.invoice_line.invoice.credit_notes.exists()  # nothing half-written
        assert verify_money().ok

    def test_the_credit_note_page_shows_the_refusal_and_keeps_the_form(self, money, as_user):
        card, code, _ = sold_card(money)
        prepaid.invoice_settle(invoice=issued_invoice(money, price="30.00"), actor=money.bob, gift_card_code=code)
        invoice = card.invoice_line.invoice
        r = as_user(money.bob).post(f"/invoices/{invoice.pk}/credit-note/", {"lines": [card.invoice_line_id], "reason": "Returned"})
        assert r.status_code == 400 and b"GBP 70.00 of GBP 100.00 is left" in r.content

    def test_crediting_a_card_not_yet_paid_for_cancels_it_and_paying_the_rest_never_loads_it(self, money):
        card, _, _ = sold_card(money, paid=False)
        invoice = card.invoice_line.invoice
        credit_line(money, card)
        card.refresh_from_db()
        assert (card.status, card.balance) == (PrepaidStatus.CANCELLED, 0)
        assert not GiftCardEntry.objects.filter(gift_card=card).exists()
        assert selectors.invoice_money(invoice).balance == 0
        assert verify_money().ok

    def test_refunding_a_card_sale_cancels_the_unused_card(self, money):
        card, _, payment = sold_card(money, value="40.00")
        services.payment_refund(payment=payment, actor=money.bob, amount="40.00", reason="Changed their mind")
        card.refresh_from_db()
        assert (card.status, card.balance) == (PrepaidStatus.CANCELLED, 0)
        # The invoice owes again until its line is credited; crediting the cancelled card's line
        # is allowed and settles it.
        invoice = card.invoice_line.invoice
        assert selectors.invoice_money(invoice).balance == Decimal("40.00")
        credit_line(money, card, reason="Card cancelled and refunded")
        assert selectors.invoice_money(invoice).balance == 0
        assert GiftCardEntry.objects.filter(gift_card=card, kind=GiftCardEntryKind.CANCEL).count() == 1
        assert verify_money().ok

    def test_refunding_a_spent_card_sale_is_refused_with_what_is_left(self, money):
        card, code, payment = sold_card(money, value="40.00")
        prepaid.invoice_settle(invoice=issued_invoice(money, price="15.00"), actor=money.bob, gift_card_code=code)
        with pytest.raises(PrepaidError, match=r"GBP 25\.00 of GBP 40\.00 is left"):
            services.payment_refund(payment=payment, actor=money.bob, amount="40.00")
        with pytest.raises(PrepaidError, match="already been used"):
            services.payment_refund_check(payment=payment, amount="5.00")
        assert selectors.payment_refunded(payment) == 0
        card.refresh_from_db()
        assert card.status == PrepaidStatus.ACTIVE
        # The card provider's own refund (no actor) is recorded all the same; the card stays.
        services.payment_refund(payment=payment, actor=None, amount="40.00", reason="at the provider", provider_refund="evt_1")
        card.refresh_from_db()
        assert card.status == PrepaidStatus.ACTIVE and selectors.payment_refunded(payment) == Decimal("40.00")
        assert AuditEvent.objects.filter(object_type="billing.giftcard", object_id=str(card.pk), detail__event="cancel_refused").exists()
        assert verify_money().ok

    def test_refunding_a_service_credited_first_leaves_the_card_alone(self, money):
        card, _ = prepaid.gift_card_sell(client=money.client_a, actor=money.bob, amount="50")
        invoice = card.invoice_line.invoice
        services.invoice_line_add(invoice=invoice, actor=money.bob, description="Treatment", unit_price="60.00")
        invoice = services.invoice_issue(invoice=invoice, actor=money.bob)
        payment = services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="110.00", currency="GBP",
            invoices=[invoice],
        )  # fmt: skip
        treatment = invoice.lines.get(description="Treatment")
        services.credit_note_create(invoice=invoice, actor=money.bob, line_ids=[treatment.pk], reason="Session cut short")
        services.payment_refund(payment=payment, actor=money.bob, amount="60.00")
        card.refresh_from_db()
        assert (card.status, card.balance) == (PrepaidStatus.ACTIVE, Decimal("50.00"))
        assert verify_money().ok


@pytest.mark.django_db
class PackageCancelTests:
    def test_refunding_a_package_sale_cancels_the_package(self, money, product):
        package, payment = sold_package(money, product)
        services.payment_refund(payment=payment, actor=money.bob, amount="250.00", reason="Moved away")
        package.refresh_from_db()
        assert (package.status, package.sessions_left, prepaid_selectors.package_remaining(package)) == (PrepaidStatus.CANCELLED, 0, 0)
        cancel = PackageEntry.objects.get(package=package, kind=PackageEntryKind.CANCEL)
        assert (cancel.sessions, cancel.payment_id) == (-5, None)
        assert not prepaid_selectors.usable_packages(money.client_a).exists()
        with pytest.raises(PrepaidError, match="cancelled"):
            prepaid.package_redeem(invoice=visit_invoice(money), package=package, actor=money.bob)
        assert AuditEvent.objects.filter(object_type="billing.clientpackage", object_id=str(package.pk), detail__because="refund").exists()
        assert verify_money().ok

    def test_crediting_an_unused_package_cancels_it(self, money, product):
        package, _ = sold_package(money, product)
        credit_line(money, package)
        package.refresh_from_db()
        assert (package.status, package.sessions_left) == (PrepaidStatus.CANCELLED, 0)
        assert verify_money().ok

    def test_crediting_a_partly_used_package_is_refused_with_the_sessions_left(self, money, product):
        package, payment = sold_package(money, product)
        prepaid.package_redeem(invoice=visit_invoice(money), package=package, actor=money.bob)
        with pytest.raises(PrepaidError, match=r"4 sessions \(worth GBP 200\.00\) of 5 is left"):
            credit_line(money, package)
        with pytest.raises(PrepaidError, match="4 sessions"):
            services.payment_refund(payment=payment, actor=money.bob, amount="250.00")
        package.refresh_from_db()
        assert (package.status, package.sessions_left) == (PrepaidStatus.ACTIVE, 4)
        assert verify_money().ok

    def test_a_session_given_back_makes_the_package_unused_again_and_cancellable(self, money, product):
        package, _ = sold_package(money, product)
        session = prepaid.package_redeem(invoice=visit_invoice(money), package=package, actor=money.bob)
        services.payment_refund(payment=session, actor=money.bob, amount=session.amount)
        credit_line(money, package)
        package.refresh_from_db()
        assert package.status == PrepaidStatus.CANCELLED
        assert PackageEntry.objects.get(package=package, kind=PackageEntryKind.CANCEL).sessions == -5
        assert verify_money().ok

    def test_the_package_page_and_the_liability_report_show_it_cancelled(self, money, product, as_user):
        package, _ = sold_package(money, product)
        card, _, _ = sold_card(money, value="30.00")
        credit_line(money, package)
        http = as_user(money.olivia)
        page = http.get(f"/packages/{package.pk}/")
        assert page.status_code == 200 and b"Cancelled" in page.content
        (row,) = prepaid_selectors.prepaid_liability(money.clinic_a)
        assert (row.packages, row.package_count, row.cancelled_packages) == (Decimal("0.00"), 0, 1)
        assert (row.gift_cards, row.cancelled_gift_cards) == (Decimal("30.00"), 0)
        rows = balances.liability_rows(money.clinic_a)
        assert ["package", f"P{package.pk}"] == rows[-1][:2] and rows[-1][6] == "cancelled" and rows[-1][7] == 0
        report = http.get("/billing/reports/liabilities/")
        assert report.status_code == 200 and b"0 gift cards and 1 package, owed nothing" in report.content

    def test_another_clinic_gets_404(self, money, product, as_user):
        package, payment = sold_package(money, product)
        card, _, _ = sold_card(money)
        charlie = as_user(money.charlie)
        assert charlie.get(f"/packages/{package.pk}/").status_code == 404
        assert charlie.get(f"/gift-cards/{card.pk}/").status_code == 404
        invoice = package.invoice_line.invoice
        r = charlie.post(f"/invoices/{invoice.pk}/credit-note/", {"lines": [package.invoice_line_id], "reason": "x"})
        assert r.status_code == 404
        assert charlie.post(f"/payments/{payment.pk}/refund/", {"amount": "250.00"}).status_code == 404
        package.refresh_from_db()
        card.refresh_from_db()
        assert package.status == card.status == PrepaidStatus.ACTIVE


@pytest.mark.django_db
class CancelVerifyTests:
    def test_verify_catches_a_cancelled_card_that_still_holds_value(self, money):
        card, _, _ = sold_card(money)
        credit_line(money, card)
        assert verify_money().ok
        GiftCardEntry.objects.create(
            clinic_id=card.clinic_id, gift_card=card, kind=GiftCardEntryKind.REFUND, amount=Decimal("5.00"), currency="GBP",
            payment=Payment.objects.filter(client=money.client_a).first(),
        )  # fmt: skip
        report = verify_money()
        assert not report.ok and any("cancelled" in str(f) for f in report.findings)

    def test_verify_catches_a_package_cancelled_behind_the_ledgers_back(self, money, product):
        package, _ = sold_package(money, product)
        with connection.cursor() as cur:
            cur.execute("UPDATE billing_clientpackage SET status = 'cancelled', sessions_left = 0 WHERE id = %s", [package.pk])
        report = verify_money()
        assert not report.ok and any("cancelled" in str(f) for f in report.findings)

    def test_the_database_refuses_a_cancel_entry_that_names_a_payment_or_adds_value(self, money):
        from django.db import IntegrityError, transaction

        card, _, payment = sold_card(money)
        with pytest.raises(IntegrityError), transaction.atomic():
            GiftCardEntry.objects.create(
                clinic_id=card.clinic_id, gift_card=card, kind=GiftCardEntryKind.CANCEL, amount=Decimal("-1.00"), currency="GBP",
                payment=payment,
            )  # fmt: skip
        with pytest.raises(IntegrityError), transaction.atomic():
            GiftCardEntry.objects.create(
                clinic_id=card.clinic_id, gift_card=card, kind=GiftCardEntryKind.CANCEL, amount=Decimal("1.00"), currency="GBP"
            )
        with pytest.raises(IntegrityError), transaction.atomic():
            GiftCard.objects.filter(pk=card.pk).update(status=PrepaidStatus.CANCELLED)  # still holds 100.00


@pytest.mark.django_db(transaction=True)
class CancelRaceTests:
    def test_a_redemption_racing_the_credit_note_lets_exactly_one_through(self, money):
        card, code, _ = sold_card(money, value="60.00")
        invoice = issued_invoice(money, price="20.00")

        def act(i: int) -> str:
            try:
                if i == 0:
                    credit_line(money, card)
                    return "cancelled"
                prepaid.invoice_settle(invoice=invoice, actor=money.bob, gift_card_code=code, gift_card_amount=Decimal("20.00"))
                return "spent"
            except BillingError:
                return "refused"

        results = _race(act, 2)
        assert sorted(results) in (["cancelled", "refused"], ["refused", "spent"])
        card.refresh_from_db()
        if "cancelled" in results:
            assert (card.status, card.balance) == (PrepaidStatus.CANCELLED, 0)
            assert not Payment.objects.filter(method=PaymentMethod.GIFT_CARD).exists()
        else:
            assert (card.status, card.balance) == (PrepaidStatus.ACTIVE, Decimal("40.00"))
            assert not card.invoice_line.invoice.credit_notes.exists()
        assert verify_money().ok

    def test_a_package_session_racing_the_refund_lets_exactly_one_through(self, money):
        product = PackageProduct.objects.create(
            clinic=money.clinic_a, name="Three sessions", sessions=3, price=Decimal("150.00"), currency="GBP"
        )
        product.services.set([money.session])
        package, payment = sold_package(money, product)
        visit = visit_invoice(money)

        def act(i: int) -> str:
            try:
                if i == 0:
                    services.payment_refund(payment=payment, actor=money.bob, amount="150.00")
                    return "cancelled"
                prepaid.package_redeem(invoice=visit, package=package, actor=money.bob)
                return "used"
            except BillingError:
                return "refused"

        results = _race(act, 2)
        assert sorted(results) in (["cancelled", "refused"], ["refused", "used"])
        package.refresh_from_db()
        assert package.status == (PrepaidStatus.CANCELLED if "cancelled" in results else PrepaidStatus.ACTIVE)
        assert ClientPackage.objects.filter(pk=package.pk, sessions_left=0 if "cancelled" in results else 2).exists()
        assert verify_money().ok
