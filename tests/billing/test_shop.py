"""Buying gift cards and packages online (knotwork/billing/shop.py), against localstripe on
loopback for the card and aiosmtpd on loopback for the e-mail: the code reaches the recipient,
the receipt the buyer, once however the confirmation arrives; a declined card, an abandoned
payment, amounts out of range, another clinic's orders, the rate limit, the portal's packages,
and the desk's re-send."""

from __future__ import annotations

import re
import urllib.error
from datetime import timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from knotwork.audit.models import AuditEvent
from knotwork.billing import prepaid, shop
from knotwork.billing.models import (
    CardIntent,
    CardIntentStatus,
    ClientPackage,
    GiftCard,
    Invoice,
    InvoiceStatus,
    PackageProduct,
    Payment,
    PaymentMethod,
    PrepaidStatus,
    ProviderEvent,
)
from knotwork.billing.verify import verify_money
from knotwork.clients.models import Client
from knotwork.lib.testing import make_user
from tests.billing.conftest import Collector
from tests.billing.test_stripe import deliver, succeeded_event

pytestmark = pytest.mark.django_db

D = Decimal
CODE = re.compile(r"Code: ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})")


def order_form(**extra):
    data = {
        "amount": "50.00", "other_amount": "", "recipient_name": "Grace Hopper", "recipient_email": "grace@mail.example",
        "message": "Happy birthday!", "first_name": "Alan", "last_name": "Turing", "email": "alan@mail.example",
    }  # fmt: skip
    return {**data, **extra}


def place_order(http, clinic, **extra) -> Invoice:
    response = http.post(reverse("shop_gift_card", args=[clinic.slug]), order_form(**extra))
    assert response.status_code == 302, response.content.decode()[:3000]
    invoice = Invoice.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-2]))
    assert response["Location"] == reverse("shop_order_pay", args=[invoice.pk])
    return invoice


def open_intent(http, invoice) -> CardIntent:
    page = http.get(reverse("shop_order_pay", args=[invoice.pk]))
    assert page.status_code == 200, page.content.decode()[:2000]
    assert 'id="card-pay"' in page.content.decode()
    return CardIntent.objects.get(invoice=invoice, status=CardIntentStatus.OPEN)


def codes_in(mail: Collector) -> list[str]:
    return [m for text in mail.texts() for m in CODE.findall(text)]


@pytest.fixture
def product(money):
    p = PackageProduct.objects.create(
        clinic=money.clinic_a, name="Five sessions", sessions=5, price=D("250.00"), currency="GBP", validity_days=180
    )
    p.services.set([money.session])
    return p


@pytest.fixture
def portal(money):
    user = make_user("ada@mail.example", mfa=False)
    money.client_a.portal_user = user
    money.client_a.email = "ada@mail.example"
    money.client_a.save(update_fields=["portal_user", "email"])
    return user


class GiftCardPurchaseTests:
    def test_a_visitor_buys_a_gift_card_the_recipient_gets_the_code_and_the_buyer_a_receipt(
        self, money, stripe_on, smtp, django_capture_on_commit_callbacks
    ):
        visitor = HttpClient()
        page = visitor.get(reverse("shop_gift_card", args=[money.clinic_a.slug]))
        assert page.status_code == 200
        text = page.content.decode()
        assert "GBP 25.00" in text and "GBP 100.00" in text and "Another amount" in text
        invoice = place_order(visitor, money.clinic_a)
        card = GiftCard.objects.get(invoice_line__invoice=invoice)
        buyer = card.purchaser
        assert (buyer.first_name, buyer.last_name, buyer.email, buyer.portal_user_id) == ("Alan", "Turing", "alan@mail.example", None)
        assert buyer.clinic_id == money.clinic_a.pk
        assert (card.status, card.initial_value, card.recipient_email) == (PrepaidStatus.PENDING, D("50.00"), "grace@mail.example")
        assert invoice.status == InvoiceStatus.ISSUED and invoice.total == D("50.00")

        pay = visitor.get(reverse("shop_order_pay", args=[invoice.pk]))
        assert pay.status_code == 200 and "no-store" in pay["Cache-Control"]
        assert "script-src" in pay["Content-Security-Policy"] and "https://js.stripe.com" in pay["Content-Security-Policy"]
        intent = CardIntent.objects.get(invoice=invoice)
        assert stripe_on.call("GET", f"/v1/payment_intents/{intent.intent_id}")["amount"] == 5000
        stripe_on.confirm_with_test_card(intent.intent_id)  # what Stripe.js does with the card typed in

        with django_capture_on_commit_callbacks(execute=True):
            done = visitor.get(reverse("shop_order_done", args=[invoice.pk]), {"payment_intent": intent.intent_id})
        assert done.status_code == 200 and "Thank you" in done.content.decode()
        card.refresh_from_db()
        assert (card.status, card.balance) == (PrepaidStatus.ACTIVE, D("50.00")) and card.delivered_at is not None
        [payment] = Payment.objects.all()
        assert (payment.method, payment.amount, payment.client_id) == (PaymentMethod.CARD_ONLINE, D("50.00"), buyer.pk)

        to_grace = [t for t in smtp.texts() if t.startswith("grace@mail.example")]
        to_alan = [t for t in smtp.texts() if t.startswith("alan@mail.example")]
        assert len(to_grace) == 1 and len(to_alan) == 1 and len(smtp.texts()) == 2
        [code] = codes_in(smtp)
        assert prepaid.code_digest(code) == card.code_digest  # the code that works is the one e-mailed
        assert "Happy birthday!" in to_grace[0] and "Alan Turing has given you a gift card" in to_grace[0]
        assert "Your receipt" in to_alan[0] and "GBP 50.00" in to_alan[0] and invoice.number in to_alan[0]
        assert code not in to_alan[0]  # the buyer's receipt does not carry the code

        # The webhook arriving afterwards finds the payment recorded: nothing more, no second e-mail.
        with django_capture_on_commit_callbacks(execute=True):
            answer = deliver(succeeded_event(stripe_on, intent.intent_id))
        assert answer.status_code == 200 and "duplicate" in answer.json()["outcome"]
        assert Payment.objects.count() == 1 and len(smtp.texts()) == 2
        assert AuditEvent.objects.filter(object_type="billing.invoice", object_id=str(invoice.pk), detail__event="online_order").exists()
        assert AuditEvent.objects.filter(object_type="billing.invoice", object_id=str(invoice.pk), action="view").count() == 2
        assert verify_money().findings == []

    def test_the_webhook_delivered_twice_before_the_return_makes_one_card_one_payment_one_email(
        self, money, stripe_on, smtp, django_capture_on_commit_callbacks
    ):
        visitor = HttpClient()
        invoice = place_order(visitor, money.clinic_a, amount="other", other_amount="42.50")
        intent = open_intent(visitor, invoice)
        stripe_on.confirm_with_test_card(intent.intent_id)
        event = succeeded_event(stripe_on, intent.intent_id)
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                assert deliver(event).status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            done = visitor.get(reverse("shop_order_done", args=[invoice.pk]), {"payment_intent": intent.intent_id})
        assert "is recorded" in done.content.decode()
        card = GiftCard.objects.get()
        assert (card.status, card.balance) == (PrepaidStatus.ACTIVE, D("42.50"))
        assert Payment.objects.count() == 1 and ProviderEvent.objects.count() == 1
        assert len(codes_in(smtp)) == 1 and len(smtp.texts()) == 2
        assert verify_money().findings == []

    def test_a_declined_card_activates_nothing_and_the_buyer_can_try_again(self, money, stripe_on, smtp):
        visitor = HttpClient()
        invoice = place_order(visitor, money.clinic_a)
        intent = open_intent(visitor, invoice)
        with pytest.raises(urllib.error.HTTPError) as declined:  # the peer answers 402 card_declined, as Stripe does
            stripe_on.confirm_with_test_card(intent.intent_id, card="pm_card_chargeCustomerFail")
        assert declined.value.code == 402
        assert stripe_on.call("GET", f"/v1/payment_intents/{intent.intent_id}")["status"] == "requires_payment_method"
        done = visitor.get(reverse("shop_order_done", args=[invoice.pk]), {"payment_intent": intent.intent_id})
        assert done.status_code == 200 and "did not go through" in done.content.decode() and "Try again" in done.content.decode()
        card = GiftCard.objects.get()
        assert card.status == PrepaidStatus.PENDING and card.balance == 0
        assert Payment.objects.count() == 0 and smtp.texts() == []
        # "Try again" offers the same intent for another card (localstripe cannot confirm an intent
        # a second time, so the second card itself is not played here).
        assert open_intent(visitor, invoice).pk == intent.pk

    def test_an_abandoned_payment_is_cancelled_and_its_invoice_voided_and_nothing_is_active(self, money, stripe_on, smtp):
        visitor = HttpClient()
        invoice = place_order(visitor, money.clinic_a)
        intent = open_intent(visitor, invoice)
        assert shop.void_abandoned() == 0  # not yet: the buyer may still be typing
        later = timezone.now() + shop.ABANDON_AFTER + timedelta(minutes=1)
        assert shop.void_abandoned(now=later) == 1
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.VOID and invoice.void_reason == shop.ABANDONED_REASON
        assert stripe_on.call("GET", f"/v1/payment_intents/{intent.intent_id}")["status"] == "canceled"
        assert CardIntent.objects.get(pk=intent.pk).status == CardIntentStatus.CANCELED
        card = GiftCard.objects.get()
        assert card.status == PrepaidStatus.PENDING and card.balance == 0
        pay = visitor.get(reverse("shop_order_pay", args=[invoice.pk]))
        assert "Nothing is left to pay" in pay.content.decode()
        assert shop.void_abandoned(now=later) == 0 and verify_money().findings == []
        assert smtp.texts() == []

    def test_the_reminder_sweep_voids_abandoned_orders(self, money, stripe_on):
        from django.core.management import call_command

        invoice = place_order(HttpClient(), money.clinic_a)
        # Placed two hours ago (the issue date moved back behind the application, as time passing would).
        Invoice.objects.filter(pk=invoice.pk).update(issued_at=timezone.now() - timedelta(hours=2))
        call_command("send_reminders", "--now")
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.VOID and GiftCard.objects.get().status == PrepaidStatus.PENDING

    def test_a_payment_whose_webhook_never_came_is_recorded_by_the_sweep_rather_than_voided(
        self, money, stripe_on, smtp, django_capture_on_commit_callbacks
    ):
        visitor = HttpClient()
        invoice = place_order(visitor, money.clinic_a)
        intent = open_intent(visitor, invoice)
        stripe_on.confirm_with_test_card(intent.intent_id)
        with django_capture_on_commit_callbacks(execute=True):
            assert shop.void_abandoned(now=timezone.now() + shop.ABANDON_AFTER + timedelta(minutes=1)) == 0
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.ISSUED and GiftCard.objects.get().status == PrepaidStatus.ACTIVE
        assert len(codes_in(smtp)) == 1

    @pytest.mark.parametrize(
        ("extra", "field"),
        [
            ({"amount": "other", "other_amount": "5.00"}, "other_amount"),
            ({"amount": "other", "other_amount": "500.01"}, "other_amount"),
            ({"amount": "other", "other_amount": "1e3"}, "other_amount"),
            ({"amount": "other", "other_amount": "12.345"}, "other_amount"),
            ({"amount": "other", "other_amount": ""}, "other_amount"),
            ({"amount": "999.00"}, "amount"),  # not one of the offered values
            ({"recipient_email": "not-an-address"}, "recipient_email"),
            ({"first_name": ""}, "first_name"),
        ],
    )
    def test_an_amount_out_of_range_or_a_bad_field_is_refused_and_nothing_is_created(self, money, stripe_on, extra, field):
        response = HttpClient().post(reverse("shop_gift_card", args=[money.clinic_a.slug]), order_form(**extra))
        assert response.status_code == 400
        assert f'id="id_{field}_error"' in response.content.decode()
        assert not Invoice.objects.exists() and not GiftCard.objects.exists() and not Client.objects.filter(last_name="Turing").exists()

    def test_the_service_refuses_an_amount_out_of_range_too(self, money, stripe_on):
        with pytest.raises(shop.ShopError, match="from GBP 10.00 to GBP 500.00"):
            shop.gift_card_order(clinic=money.clinic_a, user=None, amount=D("9.99"), recipient_name="G", recipient_email="g@mail.example",
                                 first_name="A", last_name="T", email="a@mail.example")  # fmt: skip

    def test_the_offered_values_and_range_come_from_the_settings(self, money, stripe_on, settings):
        settings.GIFT_CARD_AMOUNTS, settings.GIFT_CARD_MIN_AMOUNT, settings.GIFT_CARD_MAX_AMOUNT = "30, 60, 2000, x", "20", "1000"
        offer = shop.gift_card_offer(money.clinic_a)
        assert (offer.amounts, offer.minimum, offer.maximum) == ((D("30.00"), D("60.00")), D("20.00"), D("1000.00"))

    def test_a_signed_in_client_buys_on_their_own_record_without_giving_their_name(self, money, portal, stripe_on):
        http = HttpClient()
        http.force_login(portal)
        page = http.get(reverse("shop_gift_card", args=[money.clinic_a.slug])).content.decode()
        assert 'name="first_name"' not in page and 'name="email"' not in page and "Ada Lovelace" in page
        invoice = place_order(http, money.clinic_a, first_name="", last_name="", email="")
        assert invoice.client_id == money.client_a.pk and GiftCard.objects.get().purchaser_id == money.client_a.pk
        assert Client.objects.filter(clinic=money.clinic_a).count() == 1
        # The order is the buyer's own: their login reaches it from any browser.
        other_browser = HttpClient()
        other_browser.force_login(portal)
        assert other_browser.get(reverse("shop_order_pay", args=[invoice.pk])).status_code == 200

    def test_the_clinics_own_staff_are_sent_to_the_desk_sale(self, money, stripe_on):
        http = HttpClient()
        http.force_login(money.bob)
        response = http.post(reverse("shop_gift_card", args=[money.clinic_a.slug]), order_form())
        assert response.status_code == 400 and "from the client&#x27;s account page" in response.content.decode()
        assert not Invoice.objects.exists() and not Client.objects.filter(portal_user=money.bob).exists()

    def test_without_online_payments_the_page_says_so_and_the_profile_has_no_link(self, money):
        response = HttpClient().post(reverse("shop_gift_card", args=[money.clinic_a.slug]), order_form())
        assert response.status_code == 404 and "cannot be bought online" in response.content.decode()
        assert not Invoice.objects.exists()
        link = Template("{% load shop %}{% gift_card_link clinic %}").render(Context({"clinic": money.clinic_a}))
        assert "Buy a gift card" not in link

    def test_the_profile_link_leads_to_the_clinics_gift_card_page(self, money, stripe_on):
        link = Template("{% load shop %}{% gift_card_link clinic %}").render(Context({"clinic": money.clinic_a}))
        assert "Buy a gift card" in link and reverse("shop_gift_card", args=[money.clinic_a.slug]) in link


class IsolationTests:
    def test_an_order_is_reachable_only_from_the_browser_that_placed_it(self, money, stripe_on, portal):
        invoice = place_order(HttpClient(), money.clinic_a)
        intent = CardIntent.objects.filter(invoice=invoice).first()
        anonymous, charlie, ada = HttpClient(), HttpClient(), HttpClient()
        charlie.force_login(money.charlie)
        ada.force_login(portal)  # a client of the same clinic, but not the buyer
        for http in (anonymous, charlie, ada):
            assert http.get(reverse("shop_order_pay", args=[invoice.pk])).status_code == 404
            assert http.get(reverse("shop_order_done", args=[invoice.pk]), {"payment_intent": "pi_x"}).status_code == 404
        assert intent is None and not CardIntent.objects.exists()  # nobody else opened an intent on it

    def test_a_desk_invoice_is_not_an_order_and_another_orders_intent_is_a_404(self, money, stripe_on):
        from tests.billing.conftest import issued_invoice

        desk = issued_invoice(money)
        buyer = HttpClient()
        mine = place_order(buyer, money.clinic_a)
        theirs = place_order(HttpClient(), money.clinic_a, email="eve@mail.example")
        session = buyer.session
        session["knotwork_shop_orders"] = [mine.pk, desk.pk]  # a forged session still reaches orders only
        session.save()
        assert buyer.get(reverse("shop_order_pay", args=[desk.pk])).status_code == 404
        open_intent(buyer, mine)
        assert buyer.get(reverse("shop_order_done", args=[theirs.pk]), {"payment_intent": "pi_x"}).status_code == 404
        assert buyer.get(reverse("shop_order_done", args=[mine.pk]), {"payment_intent": "pi_not_this_one"}).status_code == 404

    def test_a_clinic_b_package_cannot_be_bought_through_clinic_a_and_charlie_cannot_open_adas_shop(
        self, money, stripe_on, portal, product
    ):
        other = PackageProduct.objects.create(clinic=money.clinic_b, name="B pack", sessions=3, price=D("90.00"), currency="GBP")
        http = HttpClient()
        http.force_login(portal)
        assert http.post(reverse("portal_shop", args=[money.client_a.pk]), {"product": other.pk}).status_code == 404
        product.is_active = False
        product.save(update_fields=["is_active"])
        assert http.post(reverse("portal_shop", args=[money.client_a.pk]), {"product": product.pk}).status_code == 404
        charlie = HttpClient()
        charlie.force_login(money.charlie)
        assert charlie.get(reverse("portal_shop", args=[money.client_a.pk])).status_code == 404
        assert charlie.post(reverse("portal_shop", args=[money.client_a.pk]), {"product": product.pk}).status_code == 404
        assert not Invoice.objects.exists()

    def test_an_unknown_clinic_is_a_404(self, money, stripe_on):
        assert HttpClient().get(reverse("shop_gift_card", args=["no-such-clinic"])).status_code == 404


class RateLimitTests:
    def test_a_connection_placing_too_many_orders_gets_429_and_nothing_more_is_created(self, money, stripe_on, settings):
        settings.SHOP_ORDERS_PER_HOUR = 2
        visitor = HttpClient()
        place_order(visitor, money.clinic_a)
        place_order(visitor, money.clinic_a)
        refused = visitor.post(reverse("shop_gift_card", args=[money.clinic_a.slug]), order_form())
        assert refused.status_code == 429 and "Too many orders" in refused.content.decode()
        assert Invoice.objects.count() == 2 and GiftCard.objects.count() == 2
        incomplete = visitor.post(reverse("shop_gift_card", args=[money.clinic_a.slug]), order_form(amount="other"))
        assert incomplete.status_code == 400  # an incomplete form is answered as such, not counted


class PortalPackageTests:
    def test_a_client_buys_a_package_from_the_portal_and_sees_its_sessions(
        self, money, stripe_on, portal, product, smtp, django_capture_on_commit_callbacks
    ):
        http = HttpClient()
        http.force_login(portal)
        invoices = http.get(reverse("portal_invoices", args=[money.client_a.pk])).content.decode()
        assert reverse("portal_shop", args=[money.client_a.pk]) in invoices
        page = http.get(reverse("portal_shop", args=[money.client_a.pk]))
        assert page.status_code == 200 and "Five sessions" in page.content.decode() and "GBP 250.00" in page.content.decode()
        response = http.post(reverse("portal_shop", args=[money.client_a.pk]), {"product": product.pk})
        assert response.status_code == 302
        package = ClientPackage.objects.get()
        invoice = package.invoice_line.invoice
        assert response["Location"] == reverse("shop_order_pay", args=[invoice.pk])
        assert (package.client_id, package.status, invoice.status) == (money.client_a.pk, PrepaidStatus.PENDING, InvoiceStatus.ISSUED)
        intent = open_intent(http, invoice)
        assert stripe_on.call("GET", f"/v1/payment_intents/{intent.intent_id}")["amount"] == 25000
        stripe_on.confirm_with_test_card(intent.intent_id)
        with django_capture_on_commit_callbacks(execute=True):
            done = http.get(reverse("shop_order_done", args=[invoice.pk]), {"payment_intent": intent.intent_id})
        assert "Five sessions is ready: 5 of 5 sessions left" in done.content.decode()
        package.refresh_from_db()
        assert (package.status, package.sessions_left) == (PrepaidStatus.ACTIVE, 5) and package.expires_on is not None
        mine = http.get(reverse("portal_invoices", args=[money.client_a.pk])).content.decode()
        assert "5 of 5 sessions left" in mine
        [receipt] = smtp.texts()
        assert receipt.startswith("ada@mail.example") and "Five sessions: 5 of 5 sessions ready to use" in receipt
        assert verify_money().findings == []

    def test_a_package_order_never_paid_is_voided_and_grants_nothing(self, money, stripe_on, portal, product):
        http = HttpClient()
        http.force_login(portal)
        http.post(reverse("portal_shop", args=[money.client_a.pk]), {"product": product.pk})
        assert shop.void_abandoned(now=timezone.now() + shop.ABANDON_AFTER + timedelta(minutes=1)) == 1
        package = ClientPackage.objects.get()
        assert package.status == PrepaidStatus.PENDING and package.sessions_left == 0
        assert package.invoice_line.invoice.status == InvoiceStatus.VOID

    def test_without_online_payments_the_portal_shop_sells_nothing(self, money, portal, product):
        http = HttpClient()
        http.force_login(portal)
        assert "sold at the desk" in http.get(reverse("portal_shop", args=[money.client_a.pk])).content.decode()
        http.post(reverse("portal_shop", args=[money.client_a.pk]), {"product": product.pk})
        assert not Invoice.objects.exists()


class ResendTests:
    @pytest.fixture
    def card(self, money, stripe_on, django_capture_on_commit_callbacks):
        visitor = HttpClient()
        invoice = place_order(visitor, money.clinic_a)
        intent = open_intent(visitor, invoice)
        stripe_on.confirm_with_test_card(intent.intent_id)
        with django_capture_on_commit_callbacks(execute=True):
            visitor.get(reverse("shop_order_done", args=[invoice.pk]), {"payment_intent": intent.intent_id})
        return GiftCard.objects.get()

    def test_the_desk_re_sends_the_code_audited_and_at_most_three_times_an_hour(self, money, card, smtp):
        desk = HttpClient()
        desk.force_login(money.bob)
        page = desk.get(reverse("gift_card_detail", args=[card.pk])).content.decode()
        assert "E-mail the code again" in page
        for _ in range(shop.RESENDS_PER_HOUR):
            response = desk.post(reverse("gift_card_resend", args=[card.pk]), follow=True)
            assert response.status_code == 200 and "e-mailed again to grace@mail.example" in response.content.decode()
        refused = desk.post(reverse("gift_card_resend", args=[card.pk]))
        assert refused.status_code == 429 and "3 times in the last hour" in refused.content.decode()
        codes = codes_in(smtp)
        assert len(codes) == shop.RESENDS_PER_HOUR and prepaid.code_digest(codes[0]) == card.code_digest
        events = AuditEvent.objects.filter(object_type="billing.giftcard", object_id=str(card.pk), detail__event="resend")
        assert events.count() == shop.RESENDS_PER_HOUR and {e.role for e in events} == {"front_desk"}

    def test_a_card_not_paid_for_is_not_sent_and_others_cannot_send(self, money, stripe_on, smtp):
        invoice = place_order(HttpClient(), money.clinic_a)
        card = GiftCard.objects.get(invoice_line__invoice=invoice)
        desk = HttpClient()
        desk.force_login(money.bob)
        response = desk.post(reverse("gift_card_resend", args=[card.pk]), follow=True)
        assert "not paid for yet" in response.content.decode()
        therapist, charlie = HttpClient(), HttpClient()
        therapist.force_login(money.alice)
        charlie.force_login(money.charlie)
        assert therapist.post(reverse("gift_card_resend", args=[card.pk])).status_code == 403
        assert charlie.post(reverse("gift_card_resend", args=[card.pk])).status_code == 404
        assert desk.get(reverse("gift_card_resend", args=[card.pk])).status_code == 405
        assert smtp.texts() == []
