"""Gift cards: sold on an invoice, loaded when it is paid, spent in part or alongside money at
check-out, refunded back onto the card, looked up by code (rate-limited), verified, and raced."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection

from knotwork.accounts.models import Role
from knotwork.audit.models import AuditEvent
from knotwork.billing import prepaid, prepaid_selectors, selectors, services
from knotwork.billing.models import (
    BillingSettings,
    GiftCard,
    GiftCardEntry,
    LedgerEntry,
    Payment,
    PaymentMethod,
    PrepaidStatus,
)
from knotwork.billing.prepaid import PrepaidError
from knotwork.billing.services import BillingError
from knotwork.billing.verify import verify_money
from knotwork.lib.appendonly import AppendOnlyError
from knotwork.lib.testing import make_staff
from tests.billing.conftest import issued_invoice
from tests.bookings.test_concurrency import _race

JSON = "application/json"


def sold_card(world, *, value: str = "100.00", paid: bool = True, **extra):
    """A gift card bought by client_a, its invoice issued and (by default) paid in cash."""
    card, code = prepaid.gift_card_sell(client=world.client_a, actor=world.bob, amount=value, recipient_name="Sam", **extra)
    invoice = services.invoice_issue(invoice=card.invoice_line.invoice, actor=world.bob)
    if paid:
        services.payment_record(
            clinic=world.clinic_a, client=world.client_a, actor=world.bob, method="cash", amount=invoice.total, currency="GBP",
            invoices=[invoice],
        )  # fmt: skip
    card.refresh_from_db()
    return card, code


def pay_with_card(world, invoice, code, amount=None):
    return prepaid.invoice_settle(invoice=invoice, actor=world.bob, gift_card_code=code, gift_card_amount=amount)


@pytest.mark.django_db
class GiftCardSaleTests:
    def test_the_code_is_sixteen_unambiguous_characters_and_only_its_hmac_and_ciphertext_are_stored(self, money):
        card, code = prepaid.gift_card_sell(client=money.client_a, actor=money.bob, amount="50")
        assert re.fullmatch(r"[2-9A-HJ-NP-Z]{16}", code)
        assert card.code_digest == prepaid.code_digest(code) and code not in card.code_digest
        assert code not in card.code_encrypted and card.last4 == code[-4:]
        assert prepaid.format_code(code).count("-") == 3
        assert len({prepaid.new_code() for _ in range(200)}) == 200

    def test_a_sold_card_waits_for_its_invoice_to_be_paid_then_is_loaded_and_e_mailed(self, money, django_capture_on_commit_callbacks):
        card, code = prepaid.gift_card_sell(
            client=money.client_a, actor=money.bob, amount="80", recipient_name="Sam", recipient_email="sam@mail.example"
        )
        line = card.invoice_line
        assert (line.kind, line.total, card.status, card.balance) == ("gift_card", Decimal("80.00"), PrepaidStatus.PENDING, 0)
        invoice = services.invoice_issue(invoice=line.invoice, actor=money.bob)
        services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="30", currency="GBP", invoices=[invoice]
        )
        card.refresh_from_db()
        assert card.status == PrepaidStatus.PENDING  # paid in part: not yet
        with django_capture_on_commit_callbacks(execute=True):
            services.payment_record(
                clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="card_terminal", amount="50", currency="GBP",
                invoices=[invoice],
            )  # fmt: skip
        card.refresh_from_db()
        assert (card.status, card.balance, card.expires_on) == (PrepaidStatus.ACTIVE, Decimal("80.00"), None)
        assert prepaid_selectors.card_balance(card) == Decimal("80.00")
        (gift,) = [m for m in mail.outbox if m.to == ["sam@mail.example"]]  # the buyer also gets the payment's receipt
        assert prepaid.format_code(code) in gift.body and card.delivered_at is not None
        assert AuditEvent.objects.filter(object_type="billing.giftcard", object_id=str(card.pk)).count() == 2  # create, activate

    def test_the_clinic_policy_gives_cards_an_expiry(self, money):
        BillingSettings.objects.filter(clinic=money.clinic_a).update(gift_card_validity_days=365)
        card, _ = sold_card(money)
        assert card.expires_on is not None and card.expires_on > card.activated_at.date() + timedelta(days=360)

    def test_removing_the_line_from_the_draft_forgets_the_card(self, money):
        card, _ = prepaid.gift_card_sell(client=money.client_a, actor=money.bob, amount="50")
        services.invoice_line_remove(line=card.invoice_line, actor=money.bob)
        assert not GiftCard.objects.exists()

    def test_a_bad_value_is_refused(self, money):
        for value in ("0", "-5", "1.234", "abc"):
            with pytest.raises(BillingError):
                prepaid.gift_card_sell(client=money.client_a, actor=money.bob, amount=value)
        assert not GiftCard.objects.exists()


@pytest.mark.django_db
class GiftCardRedemptionTests:
    def test_partial_redemption_leaves_the_rest_on_the_card(self, money):
        card, code = sold_card(money)
        invoice = issued_invoice(money, price="60.00")
        _, payments = pay_with_card(money, invoice, code)
        card.refresh_from_db()
        assert [p.method for p in payments] == [PaymentMethod.GIFT_CARD] and payments[0].amount == Decimal("60.00")
        assert card.balance == prepaid_selectors.card_balance(card) == Decimal("40.00")
        assert selectors.invoice_money(invoice).balance == 0
        assert AuditEvent.objects.filter(object_type="billing.payment", object_id=str(payments[0].pk)).exists()
        assert verify_money().ok

    def test_split_payment_part_gift_card_part_card_terminal(self, money):
        card, code = sold_card(money, value="25.00")
        invoice = issued_invoice(money, price="60.00")
        _, payments = prepaid.invoice_settle(
            invoice=invoice, actor=money.bob, gift_card_code=prepaid.format_code(code).lower(), method="card_terminal", amount="35.00"
        )
        assert [(p.method, p.amount) for p in payments] == [("gift_card", Decimal("25.00")), ("card_terminal", Decimal("35.00"))]
        card.refresh_from_db()
        assert card.balance == 0 and selectors.invoice_money(invoice).balance == 0
        assert verify_money().ok

    def test_check_out_issues_and_takes_the_gift_card_in_one_step(self, money):
        card, code = sold_card(money)
        draft = services.invoice_from_appointment(appointment=money.appointment, actor=money.bob)
        invoice, payments = prepaid.invoice_settle(invoice=draft, actor=money.bob, issue=True, gift_card_code=code)
        assert invoice.number and payments[0].amount == Decimal("60.00")

    def test_more_than_the_balance_is_refused_and_nothing_is_written(self, money):
        card, code = sold_card(money, value="20.00")
        invoice = issued_invoice(money)
        before = (Payment.objects.count(), LedgerEntry.objects.count(), GiftCardEntry.objects.count())
        with pytest.raises(PrepaidError, match="Not enough on the gift card") as err:
            pay_with_card(money, invoice, code, amount=Decimal("30.00"))
        assert err.value.field == "gift_card_amount"
        assert (Payment.objects.count(), LedgerEntry.objects.count(), GiftCardEntry.objects.count()) == before

    def test_more_than_the_invoice_owes_is_refused(self, money):
        _, code = sold_card(money)
        invoice = issued_invoice(money, price="10.00")
        with pytest.raises(BillingError, match="only what the chosen invoices still owe"):
            pay_with_card(money, invoice, code, amount=Decimal("15.00"))

    def test_an_expired_card_is_refused(self, money):
        card, code = sold_card(money)
        GiftCard.objects.filter(pk=card.pk).update(expires_on=card.activated_at.date() - timedelta(days=1))
        with pytest.raises(PrepaidError, match="expired"):
            pay_with_card(money, issued_invoice(money), code)

    def test_a_card_in_another_currency_is_refused(self, money):
        card, code = sold_card(money)
        GiftCard.objects.filter(pk=card.pk).update(currency="EUR")
        with pytest.raises(PrepaidError, match="in EUR"):
            pay_with_card(money, issued_invoice(money), code)

    def test_an_unpaid_card_a_wrong_code_and_another_clinics_card_cannot_be_used(self, money):
        _, unpaid = sold_card(money, paid=False)
        invoice = issued_invoice(money)
        for code in (unpaid, "ABCD-EFGH-JKLM-NPQR", ""):
            if code:
                with pytest.raises(PrepaidError, match="No gift card with that code"):
                    pay_with_card(money, invoice, code)
        with pytest.raises(PrepaidError):
            prepaid.gift_card_for_code(sold_card(money)[1], money.clinic_b.pk)

    def test_refunding_a_gift_card_payment_puts_the_value_back_on_the_card(self, money):
        card, code = sold_card(money)
        invoice = issued_invoice(money, price="60.00")
        _, (payment,) = pay_with_card(money, invoice, code)
        services.payment_refund(payment=payment, actor=money.bob, amount="20.00")
        card.refresh_from_db()
        assert card.balance == prepaid_selectors.card_balance(card) == Decimal("60.00")
        assert selectors.invoice_money(invoice).balance == Decimal("20.00")
        assert verify_money().ok

    def test_the_card_ledger_is_append_only(self, money):
        card, _ = sold_card(money)
        entry = card.entries.get()
        with pytest.raises(AppendOnlyError):
            entry.save()
        with pytest.raises(AppendOnlyError):
            GiftCardEntry.objects.all().delete()


@pytest.mark.django_db
class GiftCardVerifyTests:
    def test_verify_is_clean_then_reports_a_tampered_balance(self, money):
        card, code = sold_card(money)
        pay_with_card(money, issued_invoice(money), code)
        assert verify_money().ok
        GiftCard.objects.filter(pk=card.pk).update(balance=Decimal("99.00"))
        findings = [str(f) for f in verify_money().findings or []]
        assert any("balance says 99.00 but its ledger adds up to 40.00" in f for f in findings), findings

    def test_verify_reports_an_entry_slipped_into_the_ledger(self, money):
        card, _ = sold_card(money)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {GiftCardEntry._meta.db_table} SET amount = 150 WHERE gift_card_id = %s", [card.pk])  # noqa: S608  (a model's table name, no input)
        findings = [str(f) for f in verify_money().findings or []]
        assert any("ledger adds up to 150.00" in f for f in findings), findings


@pytest.mark.django_db
class GiftCardPageTests:
    def test_the_desk_sells_a_card_and_sees_the_code_once(self, money, as_user):
        http = as_user(money.bob)
        r = http.post(f"/clients/{money.client_a.pk}/gift-cards/new/", {"amount": "40", "recipient_name": "Sam"})
        assert r.status_code == 200 and r["Cache-Control"] == "no-store"
        card = GiftCard.objects.get()
        code = prepaid.format_code(prepaid.decrypt(card.code_encrypted))
        assert code in r.content.decode()
        detail = http.get(f"/gift-cards/{card.pk}/")
        assert detail.status_code == 200 and code not in detail.content.decode() and card.last4 in detail.content.decode()

    def test_a_bad_sale_keeps_what_was_typed(self, money, as_user):
        r = as_user(money.bob).post(f"/clients/{money.client_a.pk}/gift-cards/new/", {"amount": "-4", "recipient_name": "Sam Carter"})
        assert r.status_code == 400 and b"Sam Carter" in r.content and not GiftCard.objects.exists()

    def test_the_list_searches_and_the_lookup_finds_the_card(self, money, as_user):
        card, code = sold_card(money)
        http = as_user(money.bob)
        assert b"Sam" in http.get("/gift-cards/", {"q": "sam"}).content
        assert b"No gift card matches" in http.get("/gift-cards/", {"q": "nobody"}).content
        r = http.post("/gift-cards/", {"code": prepaid.format_code(code)})
        assert r.status_code == 302 and r["Location"] == f"/gift-cards/{card.pk}/"
        wrong = http.post("/gift-cards/", {"code": "AAAA-BBBB-CCCC-DDDD"})
        assert wrong.status_code == 400 and b"No gift card with that code" in wrong.content

    def test_check_out_form_takes_a_gift_card_and_money_for_the_rest(self, money, as_user):
        card, code = sold_card(money, value="25.00")
        invoice = issued_invoice(money)
        r = as_user(money.bob).post(
            f"/invoices/{invoice.pk}/pay/", {"gift_card_code": code, "method": "cash", "amount": "35.00", "reference": ""}
        )
        assert r.status_code == 302
        assert selectors.invoice_money(invoice).balance == 0

    def test_a_refused_gift_card_on_the_pay_form_keeps_the_form_and_records_nothing(self, money, as_user):
        _, code = sold_card(money, value="10.00")
        invoice = issued_invoice(money)
        r = as_user(money.bob).post(
            f"/invoices/{invoice.pk}/pay/", {"gift_card_code": code, "gift_card_amount": "20", "method": "cash", "amount": "40"}
        )
        assert r.status_code == 400 and b"Not enough on the gift card" in r.content and code.encode() in r.content
        assert not Payment.objects.filter(method__in=["gift_card", "cash"], ledger_entries__invoice=invoice).exists()

    def test_charlie_gets_404_and_alice_403(self, money, as_user):
        card, _ = sold_card(money)
        assert as_user(money.charlie).get(f"/gift-cards/{card.pk}/").status_code == 404
        assert as_user(money.charlie).get(f"/clients/{money.client_a.pk}/gift-cards/new/").status_code == 404
        assert as_user(money.alice).get(f"/gift-cards/{card.pk}/").status_code == 403
        assert as_user(money.alice).get("/gift-cards/").status_code == 403


@pytest.mark.django_db
class GiftCardApiTests:
    def test_staff_create_and_list_cards(self, money, as_user):
        http = as_user(money.bob)
        r = http.post("/api/gift-cards", {"client": money.client_a.pk, "amount": "30.00", "recipient_name": "Sam"}, content_type=JSON)
        assert r.status_code == 201, r.content
        body = r.json()
        assert body["status"] == "pending" and re.fullmatch(r"([2-9A-HJ-NP-Z]{4}-){3}[2-9A-HJ-NP-Z]{4}", body["code"])
        listed = http.get("/api/gift-cards").json()
        assert listed["count"] == 1 and "code" not in listed["items"][0]

    @pytest.mark.parametrize(
        ("body", "status"),
        [({"amount": "-1"}, 400), ({"amount": 5}, 400), ({"amount": "5", "recipient_email": "nope"}, 400), ({"client": 999999}, 404)],
    )
    def test_bad_requests(self, money, as_user, body, status):
        payload = {"client": money.client_a.pk, "amount": "10", **body}
        r = as_user(money.bob).post("/api/gift-cards", payload, content_type=JSON)
        assert r.status_code == status, r.content
        assert set(r.json()["error"]) == {"code", "message", "fields"}

    def test_roles_and_tenancy(self, money, as_user, client):
        assert client.get("/api/gift-cards").status_code == 401
        assert as_user(money.alice).get("/api/gift-cards").status_code == 403
        r = as_user(money.charlie).post("/api/gift-cards", {"client": money.client_a.pk, "amount": "10"}, content_type=JSON)
        assert r.status_code == 403  # a therapist may not sell, whichever clinic
        desk_b = make_staff("desk-b@mail.example", money.clinic_b, Role.FRONT_DESK)
        r = as_user(desk_b).post("/api/gift-cards", {"client": money.client_a.pk, "amount": "10"}, content_type=JSON)
        assert r.status_code == 404 and not GiftCard.objects.exists()

    def test_the_public_balance_shows_only_balance_currency_and_expiry(self, money, client):
        card, code = sold_card(money)
        pay_with_card(money, issued_invoice(money), code)
        r = client.get(f"/api/gift-cards/{prepaid.format_code(code)}/balance")
        assert r.status_code == 200 and r.json() == {"balance": "40.00", "currency": "GBP", "expires_on": None}
        assert client.get("/api/gift-cards/ABCDEFGHJKLMNPQR/balance").status_code == 404
        _, unpaid = sold_card(money, paid=False)
        missing = client.get(f"/api/gift-cards/{unpaid}/balance")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"

    def test_the_balance_lookup_is_rate_limited(self, money, client, settings):
        settings.GIFT_CARD_LOOKUPS_PER_MINUTE = 3
        _, code = sold_card(money)
        statuses = [client.get(f"/api/gift-cards/{code}/balance").status_code for _ in range(3)]
        statuses += [client.get("/api/gift-cards/WRONGWRONGWRONGW/balance").status_code]
        assert statuses == [200, 200, 200, 429]
        limited = client.get(f"/api/gift-cards/{code}/balance")
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"

    def test_the_desk_lookup_is_rate_limited_too(self, money, as_user, settings):
        settings.GIFT_CARD_LOOKUPS_PER_MINUTE = 2
        http = as_user(money.bob)
        for _ in range(2):
            http.post("/gift-cards/", {"code": "AAAA-BBBB-CCCC-DDDD"})
        assert b"Too many codes" in http.post("/gift-cards/", {"code": "AAAA-BBBB-CCCC-DDDD"}).content


@pytest.mark.django_db(transaction=True)
class GiftCardRaceTests:
    def test_two_desks_spending_the_same_balance_at_once_let_exactly_one_through(self, money):
        card, code = sold_card(money, value="60.00")
        invoices = [issued_invoice(money, price="60.00") for _ in range(8)]

        def spend(i: int) -> str:
            try:
                pay_with_card(money, invoices[i], code, amount=Decimal("60.00"))
            except BillingError:
                return "refused"
            return "paid"

        results = _race(spend, len(invoices))
        assert results.count("paid") == 1 and results.count("refused") == len(invoices) - 1
        card.refresh_from_db()
        assert card.balance == 0 and prepaid_selectors.card_balance(card) == 0
        assert Payment.objects.filter(method=PaymentMethod.GIFT_CARD).count() == 1
        assert verify_money().ok
