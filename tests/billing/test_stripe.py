"""Online card payments against a real Stripe protocol peer: localstripe on loopback, started by
the tests themselves (tests/billing/stripe_peer.py), never a mock.

The peer plays Stripe (intents, test cards, charges, refunds, events) and, where a browser would
act, the tests do what Stripe.js does (attach ``pm_card_visa`` and confirm). Webhooks are signed
here exactly as Stripe signs them (``t=<time>,v1=<HMAC-SHA256 of "<time>.<body>">``); the last
test lets localstripe sign and deliver one itself to a live server.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from knotwork.audit.models import AuditEvent
from knotwork.billing import online, selectors, services
from knotwork.billing.models import (
    BillingSettings,
    CardIntent,
    CardIntentStatus,
    LedgerEntry,
    LedgerKind,
    Payment,
    PaymentMethod,
    ProviderEvent,
)
from knotwork.billing.providers import ProviderError, from_stripe_minor_units, get_provider, stripe_minor_units
from knotwork.billing.services import BillingError
from knotwork.billing.verify import verify_money
from knotwork.lib.testing import make_client, make_user
from tests.billing.conftest import issued_invoice
from tests.bookings.test_concurrency import _race

WEBHOOK_SECRET = "whsec_knotwork_tests"


@pytest.fixture
def portal(money):
    """client_a's portal login."""
    user = make_user("ada@mail.example", mfa=False)
    money.client_a.portal_user = user
    money.client_a.save(update_fields=["portal_user"])
    return user


def signature(body: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """The Stripe-Signature header, computed the way Stripe computes it."""
    stamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def deliver(event: dict, *, header: str | None = None, body: bytes | None = None):
    """POST an event to the webhook as Stripe would: anonymous, no CSRF token, signed."""
    body = body if body is not None else json.dumps(event).encode()
    headers = {"Stripe-Signature": header if header is not None else signature(body)}
    return HttpClient().post(reverse("stripe_webhook"), data=body, content_type="application/json", headers=headers)


def open_intent(http, invoice) -> CardIntent:
    page = http.get(reverse("portal_invoice_pay", args=[invoice.pk]))
    assert page.status_code == 200, page.content
    return CardIntent.objects.filter(invoice=invoice, status=CardIntentStatus.OPEN).get()


def succeeded_event(peer, intent_id: str) -> dict:
    """The peer's own payment_intent.succeeded event for the intent."""
    (event,) = [e for e in peer.events("payment_intent.succeeded") if e["data"]["object"]["id"] == intent_id]
    return event


def charge_refunded_event(peer, intent_id: str) -> dict:
    """localstripe keeps refunds but sends no charge.refunded: build the event around its charge."""
    intent = peer.call("GET", f"/v1/payment_intents/{intent_id}")
    charge = intent["latest_charge"]
    charge = peer.call("GET", f"/v1/charges/{charge if isinstance(charge, str) else charge['id']}")
    return {
        "id": f"evt_{uuid.uuid4().hex[:14]}",
        "object": "event",
        "type": "charge.refunded",
        "created": int(time.time()),
        "data": {"object": charge},
    }


def paid_online(money, portal, as_user, stripe_on, *, price: str = "60.00"):
    """An invoice paid by card: intent opened from the portal, confirmed on the peer, webhook delivered."""
    invoice = issued_invoice(money, price=price)
    card = open_intent(as_user(portal), invoice)
    stripe_on.confirm_with_test_card(card.intent_id)
    assert deliver(succeeded_event(stripe_on, card.intent_id)).status_code == 200
    return invoice, Payment.objects.get(intent_id=card.intent_id)


class MinorUnitTests:
    def test_amounts_go_to_stripe_as_whole_minor_units_by_stripes_own_currency_table(self):
        assert stripe_minor_units(Decimal("60.00"), "GBP") == 6000
        assert stripe_minor_units(Decimal("0.07"), "EUR") == 7
        assert stripe_minor_units(Decimal("6000.00"), "JPY") == 6000
        assert stripe_minor_units(Decimal("1500.00"), "ISK") == 150000  # whole krónur, still sent times 100
        assert from_stripe_minor_units(6000, "JPY") == Decimal("6000.00")
        assert from_stripe_minor_units(1999, "GBP") == Decimal("19.99")

    def test_floats_and_fractions_stripe_cannot_take_are_refused(self):
        with pytest.raises(TypeError):
            stripe_minor_units(60.0, "GBP")  # type: ignore[arg-type]
        with pytest.raises(ProviderError):
            stripe_minor_units(Decimal("10.50"), "JPY")
        with pytest.raises(ProviderError):
            from_stripe_minor_units("600", "GBP")  # type: ignore[arg-type]

    @given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2), st.sampled_from(["GBP", "EUR", "USD"]))
    def test_every_two_place_amount_survives_the_round_trip(self, amount, currency):
        assert from_stripe_minor_units(stripe_minor_units(amount, currency), currency) == amount


@pytest.mark.django_db
class PortalPayTests:
    def test_the_client_sees_pay_now_only_on_an_issued_invoice_that_still_owes(self, money, portal, as_user, stripe_on):
        unpaid = issued_invoice(money)
        paid = issued_invoice(money, price="30.00")
        services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="30", currency="GBP", invoices=[paid]
        )
        page = as_user(portal).get(reverse("portal_invoices", args=[money.client_a.pk]))
        assert page.status_code == 200
        assert reverse("portal_invoice_pay", args=[unpaid.pk]).encode() in page.content
        assert reverse("portal_invoice_pay", args=[paid.pk]).encode() not in page.content
        assert "js.stripe.com" not in page["Content-Security-Policy"]  # only the pay page widens the policy

    def test_the_pay_page_opens_an_intent_for_the_balance_in_minor_units_and_loads_stripe_js(self, money, portal, as_user, stripe_on):
        invoice = issued_invoice(money)
        page = as_user(portal).get(reverse("portal_invoice_pay", args=[invoice.pk]))
        assert page.status_code == 200
        card = CardIntent.objects.get(invoice=invoice)
        remote = stripe_on.call("GET", f"/v1/payment_intents/{card.intent_id}")
        assert (remote["amount"], remote["currency"], remote["status"]) == (6000, "gbp", "requires_payment_method")
        assert remote["metadata"]["knotwork_invoice"] == str(invoice.pk)
        assert (card.amount, card.currency, card.client_id) == (Decimal("60.00"), "GBP", money.client_a.pk)
        html = page.content.decode()
        assert f'data-client-secret="{remote["client_secret"]}"' in html and 'data-publishable-key="pk_test_knotwork"' in html
        assert '<script src="https://js.stripe.com/v3/"></script>' in html and 'name="cardnumber"' not in html
        csp = page["Content-Security-Policy"]
        directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
        assert directives["script-src"][0] == "'self'" and "https://js.stripe.com" in directives["script-src"]
        assert directives["frame-src"] == ["https://js.stripe.com", "https://hooks.stripe.com"]
        assert directives["connect-src"] == ["'self'", "https://api.stripe.com"]
        assert "no-store" in page["Cache-Control"]
        assert AuditEvent.objects.filter(object_type="billing.cardintent", object_id=str(card.pk), role="client").exists()

    def test_reloading_the_page_reuses_the_same_intent(self, money, portal, as_user, stripe_on):
        invoice = issued_invoice(money)
        http = as_user(portal)
        first = http.get(reverse("portal_invoice_pay", args=[invoice.pk])).content
        second = http.get(reverse("portal_invoice_pay", args=[invoice.pk])).content
        assert CardIntent.objects.filter(invoice=invoice).count() == 1
        secret = CardIntent.objects.get().intent_id + "_secret_"
        assert secret.encode() in first and first.count(secret.encode()) == second.count(secret.encode()) == 1

    def test_a_part_payment_at_the_desk_retires_the_old_intent_and_opens_one_for_the_rest(self, money, portal, as_user, stripe_on):
        invoice = issued_invoice(money)
        old = open_intent(as_user(portal), invoice)
        services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="20", currency="GBP", invoices=[invoice]
        )
        new = open_intent(as_user(portal), invoice)
        assert new.intent_id != old.intent_id and new.amount == Decimal("40.00")
        assert stripe_on.call("GET", f"/v1/payment_intents/{new.intent_id}")["amount"] == 4000
        assert stripe_on.call("GET", f"/v1/payment_intents/{old.intent_id}")["status"] == "canceled"
        old.refresh_from_db()
        assert old.status == CardIntentStatus.CANCELED

    def test_a_yen_invoice_is_charged_in_whole_yen(self, money, portal, as_user, stripe_on):
        BillingSettings.objects.filter(clinic=money.clinic_a).update(currency="JPY")
        invoice = issued_invoice(money, price="6000")
        card = open_intent(as_user(portal), invoice)
        remote = stripe_on.call("GET", f"/v1/payment_intents/{card.intent_id}")
        assert (remote["amount"], remote["currency"]) == (6000, "jpy")
        stripe_on.confirm_with_test_card(card.intent_id)
        assert deliver(succeeded_event(stripe_on, card.intent_id)).status_code == 200
        payment = Payment.objects.get(intent_id=card.intent_id)
        assert (payment.amount, payment.currency) == (Decimal("6000.00"), "JPY")
        assert selectors.invoice_money(invoice).balance == 0

    def test_another_client_staff_and_another_clinic_get_404_and_a_draft_is_404(self, money, portal, as_user, stripe_on):
        invoice = issued_invoice(money)
        url = reverse("portal_invoice_pay", args=[invoice.pk])
        other = make_user("ben@mail.example", mfa=False)
        make_client(money.clinic_a, portal_user=other)
        for user in (other, money.bob, money.charlie):
            assert as_user(user).get(url).status_code == 404
        draft = services.invoice_create(clinic=money.clinic_a, client=money.client_a, actor=money.bob)
        assert as_user(portal).get(reverse("portal_invoice_pay", args=[draft.pk])).status_code == 404
        assert HttpClient().get(url).status_code == 302  # anonymous: to the sign-in page
        assert not CardIntent.objects.exists()

    def test_without_stripe_keys_there_is_no_button_and_the_pages_say_it_is_not_set_up(self, money, portal, as_user, settings):
        settings.STRIPE_SECRET_KEY = settings.STRIPE_PUBLISHABLE_KEY = settings.STRIPE_WEBHOOK_SECRET = ""
        invoice = issued_invoice(money)
        http = as_user(portal)
        listing = http.get(reverse("portal_invoices", args=[money.client_a.pk]))
        assert b"Pay now" not in listing.content and b"Online card payment is not set up" in listing.content
        page = http.get(reverse("portal_invoice_pay", args=[invoice.pk]))
        assert page.status_code == 200 and b"Online card payment is not set up" in page.content
        assert b"js.stripe.com/v3" not in page.content
        assert deliver({"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {}}}).status_code == 404
        assert not CardIntent.objects.exists()

    def test_an_unreachable_stripe_is_a_polite_503_page_not_a_500(self, money, portal, as_user, stripe_on, settings):
        settings.STRIPE_API_BASE = "http://127.0.0.1:1"  # nothing listens on port 1
        invoice = issued_invoice(money)
        page = as_user(portal).get(reverse("portal_invoice_pay", args=[invoice.pk]))
        assert page.status_code == 503 and b"not available right now" in page.content
        assert not CardIntent.objects.exists()

    def test_the_desk_cannot_record_an_online_card_payment_by_hand(self, money, as_user):
        invoice = issued_invoice(money)
        r = as_user(money.bob).post(reverse("invoice_pay", args=[invoice.pk]), {"method": "card_online", "amount": "60"})
        assert r.status_code == 400 and not Payment.objects.exists()
        with pytest.raises(BillingError):
            services.payment_record(
                clinic=money.clinic_a, client=money.client_a, actor=money.bob, method=PaymentMethod.CARD_ONLINE, amount="60",
                currency="GBP", invoices=[invoice],
            )  # fmt: skip


@pytest.mark.django_db
class WebhookTests:
    def test_a_card_payment_confirmed_on_stripe_is_recorded_once_from_the_signed_event(self, money, portal, as_user, stripe_on):
        invoice = issued_invoice(money)
        card = open_intent(as_user(portal), invoice)
        confirmed = stripe_on.confirm_with_test_card(card.intent_id)
        assert confirmed["status"] == "succeeded"
        event = succeeded_event(stripe_on, card.intent_id)

        r = deliver(event)
        assert r.status_code == 200 and r.json()["outcome"].startswith("recorded payment")
        payment = Payment.objects.get()
        assert (payment.method, payment.amount, payment.currency) == ("card_online", Decimal("60.00"), "GBP")
        assert payment.intent_id == card.intent_id and payment.received_by is None
        entries = list(LedgerEntry.objects.filter(payment=payment).values_list("kind", "amount", "invoice"))
        assert entries == [(LedgerKind.PAYMENT, Decimal("-60.00"), invoice.pk)]
        assert selectors.invoice_money(invoice).balance == 0
        audit = AuditEvent.objects.get(object_type="billing.payment", object_id=str(payment.pk))
        assert (audit.role, audit.actor_label, audit.detail["intent"]) == ("system", "system", card.intent_id)
        card.refresh_from_db()
        assert (card.status, card.payment_id) == (CardIntentStatus.SUCCEEDED, payment.pk)

        again = deliver(event)
        assert again.status_code == 200 and again.json()["outcome"].startswith("duplicate")
        assert Payment.objects.count() == 1 and LedgerEntry.objects.filter(kind=LedgerKind.PAYMENT).count() == 1
        assert ProviderEvent.objects.get().event_id == event["id"]
        assert verify_money().ok

    def test_another_event_for_an_intent_already_recorded_records_nothing(self, money, portal, as_user, stripe_on):
        invoice, payment = paid_online(money, portal, as_user, stripe_on)
        replay = succeeded_event(stripe_on, payment.intent_id) | {"id": "evt_sent_again_with_a_new_id"}
        assert deliver(replay).json()["outcome"].startswith("duplicate")
        assert Payment.objects.count() == 1 and selectors.invoice_money(invoice).balance == 0

    def test_a_bad_signature_is_400_and_records_nothing(self, money, portal, as_user, stripe_on):
        invoice = issued_invoice(money)
        card = open_intent(as_user(portal), invoice)
        stripe_on.confirm_with_test_card(card.intent_id)
        event = succeeded_event(stripe_on, card.intent_id)
        body = json.dumps(event).encode()
        tampered = body.replace(b'"amount": 6000', b'"amount": 9000')
        stale = int(time.time()) - 3600
        for header, payload in (
            (signature(body, secret="whsec_someone_else"), body),
            (signature(body), tampered),
            ("", body),
            ("t=abc,v1=00", body),
            (signature(body, at=stale), body),
            (signature(b"not json"), b"not json"),
        ):
            assert deliver(event, header=header, body=payload).status_code == 400
        assert not Payment.objects.exists() and not ProviderEvent.objects.exists()
        assert HttpClient().get(reverse("stripe_webhook")).status_code == 405

    def test_events_knotwork_did_not_start_are_acknowledged_and_ignored(self, money, stripe_on):
        foreign = stripe_on.call("POST", "/v1/payment_intents", {"amount": 500, "currency": "gbp"})
        stripe_on.confirm_with_test_card(foreign["id"])
        assert deliver(succeeded_event(stripe_on, foreign["id"])).json()["outcome"].startswith("ignored")
        assert deliver({"id": "evt_x", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}).status_code == 200
        assert not Payment.objects.exists()

    def test_the_return_page_reads_the_status_back_from_stripe_and_records_nothing(self, money, portal, as_user, stripe_on):
        invoice = issued_invoice(money)
        http = as_user(portal)
        card = open_intent(http, invoice)
        url = reverse("portal_invoice_pay_return", args=[invoice.pk]) + f"?payment_intent={card.intent_id}"
        assert b"did not go through" in http.get(url).content
        stripe_on.confirm_with_test_card(card.intent_id)
        page = http.get(url)
        assert page.status_code == 200 and b"went through" in page.content and not Payment.objects.exists()
        deliver(succeeded_event(stripe_on, card.intent_id))
        assert b"GBP 60.00 is recorded" in http.get(url).content
        assert http.get(reverse("portal_invoice_pay_return", args=[invoice.pk]) + "?payment_intent=pi_other").status_code == 404
        assert as_user(money.charlie).get(url).status_code == 404

    def test_a_paid_invoice_page_says_nothing_is_owed(self, money, portal, as_user, stripe_on):
        invoice, _ = paid_online(money, portal, as_user, stripe_on)
        page = as_user(portal).get(reverse("portal_invoice_pay", args=[invoice.pk]))
        assert page.status_code == 200 and b"Nothing is owed" in page.content


@pytest.mark.django_db
class RefundTests:
    def test_the_desk_refunds_an_online_payment_through_stripe_and_it_is_recorded_once(self, money, portal, as_user, stripe_on):
        invoice, payment = paid_online(money, portal, as_user, stripe_on)
        page = as_user(money.bob).get(reverse("payment_refund", args=[payment.pk]))
        assert b"sent back to the same card through Stripe" in page.content
        r = as_user(money.bob).post(reverse("payment_refund", args=[payment.pk]), {"amount": "25.00", "reason": "Session shortened"})
        assert r.status_code == 302
        refunds = stripe_on.call("GET", f"/v1/refunds?payment_intent={payment.intent_id}")["data"]
        assert [(x["amount"], x["currency"], x["metadata"]["knotwork_payment"]) for x in refunds] == [(2500, "gbp", str(payment.pk))]
        assert selectors.payment_refunded(payment) == Decimal("25.00") and selectors.invoice_money(invoice).balance == Decimal("25.00")
        audit = AuditEvent.objects.filter(object_type="billing.payment", object_id=str(payment.pk), detail__event="refund").get()
        assert audit.detail["provider_refund"] == refunds[0]["id"] and audit.actor_id == money.bob.pk
        # Stripe then reports the refund; the ledger already has it.
        assert deliver(charge_refunded_event(stripe_on, payment.intent_id)).json()["outcome"].startswith("nothing new")
        assert LedgerEntry.objects.filter(kind=LedgerKind.REFUND).count() == 1
        assert verify_money().ok

    def test_a_refund_made_at_stripe_is_recorded_once_from_charge_refunded(self, money, portal, as_user, stripe_on):
        invoice, payment = paid_online(money, portal, as_user, stripe_on)
        stripe_on.call("POST", "/v1/refunds", {"payment_intent": payment.intent_id, "amount": 1000})  # the Stripe dashboard
        event = charge_refunded_event(stripe_on, payment.intent_id)
        assert deliver(event).json()["outcome"] == "recorded a refund of GBP 10.00"
        assert deliver(event).json()["outcome"].startswith("duplicate")
        assert list(LedgerEntry.objects.filter(kind=LedgerKind.REFUND).values_list("amount", "invoice")) == [(Decimal("10.00"), invoice.pk)]
        assert selectors.invoice_money(invoice).balance == Decimal("10.00")

    def test_a_refund_stripe_refuses_records_nothing(self, money, portal, as_user, stripe_on, settings):
        _, payment = paid_online(money, portal, as_user, stripe_on)
        settings.STRIPE_API_BASE = "http://127.0.0.1:1"
        r = as_user(money.bob).post(reverse("payment_refund", args=[payment.pk]), {"amount": "60.00"})
        assert r.status_code == 400 and b"did not refund" in r.content
        assert not LedgerEntry.objects.filter(kind=LedgerKind.REFUND).exists()
        with pytest.raises(BillingError):
            services.payment_refund(payment=payment, actor=money.bob, amount="10")  # never without the provider
        settings.STRIPE_API_BASE = stripe_on.url
        with pytest.raises(BillingError, match="At most GBP 60.00"):
            online.refund_payment(payment=payment, actor=money.bob, amount="60.01")
        assert stripe_on.call("GET", f"/v1/refunds?payment_intent={payment.intent_id}")["data"] == []


@pytest.mark.django_db(transaction=True)
class ConcurrentDeliveryTests:
    def test_eight_simultaneous_deliveries_of_one_payment_record_exactly_one(self, money, stripe_on):
        invoice = issued_invoice(money)
        checkout = online.checkout_open(invoice=invoice, provider=get_provider())
        stripe_on.confirm_with_test_card(checkout.intent_id)
        event = succeeded_event(stripe_on, checkout.intent_id)
        # Half are retries of the event, half a second event for the same intent.
        events = [event if i % 2 else event | {"id": event["id"] + "_b"} for i in range(8)]
        outcomes = _race(lambda i: deliver(events[i]).json()["outcome"], 8)
        assert sum(o.startswith("recorded") for o in outcomes) == 1
        assert Payment.objects.count() == 1 and LedgerEntry.objects.filter(kind=LedgerKind.PAYMENT).count() == 1
        assert ProviderEvent.objects.count() == 2 and verify_money().ok


@pytest.mark.django_db(transaction=True)
class EndToEndTests:
    def test_localstripe_signs_and_delivers_the_event_itself_and_the_payment_is_recorded(self, money, live_server, settings):
        from tests.billing.stripe_peer import SECRET_KEY, start_peer

        peer = start_peer()  # its own peer, so no other test's payments reach this live server
        try:
            settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = SECRET_KEY, "pk_test_knotwork"
            settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_API_BASE = WEBHOOK_SECRET, peer.url
            peer.register_webhook("knotwork", live_server.url + reverse("stripe_webhook"), WEBHOOK_SECRET, ["payment_intent.succeeded"])
            invoice = issued_invoice(money)
            checkout = online.checkout_open(invoice=invoice, provider=get_provider())
            peer.confirm_with_test_card(checkout.intent_id)
            deadline = time.monotonic() + 10  # localstripe waits a second before sending
            while not Payment.objects.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            peer.stop()
        payment = Payment.objects.get()
        assert (payment.intent_id, payment.amount, payment.method) == (checkout.intent_id, Decimal("60.00"), "card_online")
        assert selectors.invoice_money(invoice).balance == 0 and verify_money().ok
