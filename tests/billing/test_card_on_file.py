"""A card on file against localstripe on loopback (tests/billing/stripe_peer.py), never a mock.

Where a browser would act, the tests do what Stripe.js does: confirm the set-up intent with a test
card on the peer. localstripe sends no ``setup_intent.succeeded`` of its own, so the event is built
around the peer's own set-up intent and signed here exactly as Stripe signs it.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from knotwork.accounts.models import Role
from knotwork.audit.models import AuditEvent
from knotwork.billing import cardfile
from knotwork.billing.models import CardSetup, CardSetupStatus, ProviderEvent, SavedCard, StripeCustomer
from knotwork.billing.providers import get_provider
from knotwork.lib.testing import make_client, make_staff, make_user
from tests.billing.test_stripe import deliver, signature

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(money):
    """client_a's portal login."""
    user = make_user("ada@mail.example", mfa=False)
    money.client_a.portal_user = user
    money.client_a.save(update_fields=["portal_user"])
    return user


def setup_event(peer, setup_id: str) -> dict:
    """A ``setup_intent.succeeded`` event around the peer's own set-up intent."""
    obj = peer.call("GET", f"/v1/setup_intents/{setup_id}")
    return {
        "id": f"evt_{uuid.uuid4().hex[:14]}",
        "object": "event",
        "type": "setup_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": obj},
    }


def confirm_setup(peer, setup_id: str, card: str = "pm_card_visa") -> dict:
    """What Stripe.js's confirmCardSetup does in the browser."""
    return peer.call("POST", f"/v1/setup_intents/{setup_id}/confirm", {"payment_method": card})


def save_card(peer, client, card: str = "pm_card_visa") -> SavedCard:
    """A card saved the whole way round: set-up opened, confirmed at the peer, signed webhook delivered."""
    setup = cardfile.setup_open(client=client, provider=get_provider())
    confirm_setup(peer, setup.id, card)
    response = deliver(setup_event(peer, setup.id))
    assert response.status_code == 200 and response.json()["outcome"].startswith("saved card"), response.content
    return SavedCard.objects.get(client=client)


class SavingTests:
    def test_the_portal_opens_a_set_up_intent_for_a_customer_created_on_demand(self, money, portal, as_user, stripe_on):
        http = as_user(portal)
        page = http.get(reverse("portal_card", args=[money.client_a.pk]))
        assert page.status_code == 200
        setup = CardSetup.objects.get(client=money.client_a)
        customer = StripeCustomer.objects.get(client=money.client_a)
        remote = stripe_on.call("GET", f"/v1/setup_intents/{setup.setup_intent_id}")
        assert (remote["customer"], remote["usage"], remote["status"]) == (customer.customer_id, "off_session", "requires_payment_method")
        assert remote["metadata"] == {"knotwork_client": str(money.client_a.pk), "knotwork_clinic": str(money.clinic_a.pk)}
        html = page.content.decode()
        assert f'data-client-secret="{remote["client_secret"]}"' in html and '<script src="https://js.stripe.com/v3/"></script>' in html
        assert "no-store" in page["Cache-Control"] and "https://js.stripe.com" in page["Content-Security-Policy"]
        # Reloading reuses the open set-up and the customer.
        assert http.get(reverse("portal_card", args=[money.client_a.pk])).status_code == 200
        assert CardSetup.objects.count() == 1 and StripeCustomer.objects.count() == 1

    def test_the_signed_webhook_keeps_the_card_once_and_never_its_number(self, money, portal, stripe_on):
        setup = cardfile.setup_open(client=money.client_a, provider=get_provider())
        confirm_setup(stripe_on, setup.id)
        event = setup_event(stripe_on, setup.id)
        first = deliver(event)
        assert first.status_code == 200 and first.json()["outcome"].startswith("saved card")
        card = SavedCard.objects.get()
        customer = StripeCustomer.objects.get(client=money.client_a).customer_id
        assert (card.client_id, card.clinic_id, card.customer_id) == (money.client_a.pk, money.clinic_a.pk, customer)
        assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 12, 2030)
        assert str(card) == "Visa ending 4242"
        assert stripe_on.call("GET", f"/v1/payment_methods/{card.payment_method_id}")["customer"] == customer
        stored = json.dumps(list(SavedCard.objects.values()), default=str)
        assert "4242424242424242" not in stored and "cvc" not in stored
        assert deliver(event).json()["outcome"].startswith("duplicate")
        assert SavedCard.objects.count() == 1 and ProviderEvent.objects.filter(type="setup_intent.succeeded").count() == 1
        assert CardSetup.objects.get().status == CardSetupStatus.SUCCEEDED
        audit = AuditEvent.objects.get(object_type="billing.savedcard", action="create")
        assert audit.role == "system" and audit.detail["client"] == money.client_a.pk

    def test_the_return_page_reads_the_set_up_back_from_stripe_and_the_webhook_then_finds_it_kept(self, money, portal, as_user, stripe_on):
        http = as_user(portal)
        http.get(reverse("portal_card", args=[money.client_a.pk]))
        setup = CardSetup.objects.get()
        url = reverse("portal_card_return", args=[money.client_a.pk]) + f"?setup_intent={setup.setup_intent_id}"
        assert http.get(url).status_code == 302 and not SavedCard.objects.exists()  # not confirmed yet: nothing kept
        confirm_setup(stripe_on, setup.setup_intent_id)
        page = http.get(url, follow=True)
        assert b"Your Visa ending 4242 is saved." in page.content and b"Remove card" in page.content
        assert deliver(setup_event(stripe_on, setup.setup_intent_id)).json()["outcome"] == f"saved card {SavedCard.objects.get().pk}"
        assert SavedCard.objects.count() == 1

    def test_a_card_the_bank_refuses_to_save_is_not_kept(self, money, portal, stripe_on):
        setup = cardfile.setup_open(client=money.client_a, provider=get_provider())
        with pytest.raises(Exception, match="402"):
            confirm_setup(stripe_on, setup.id, "pm_card_visa_chargeDeclined")
        assert deliver(setup_event(stripe_on, setup.id)).json()["outcome"].startswith("nothing to save")
        assert not SavedCard.objects.exists()

    def test_a_webhook_that_cannot_reach_stripe_leaves_the_event_for_a_redelivery(self, money, portal, stripe_on, settings):
        setup = cardfile.setup_open(client=money.client_a, provider=get_provider())
        confirm_setup(stripe_on, setup.id)
        event = setup_event(stripe_on, setup.id)
        settings.STRIPE_API_BASE = "http://127.0.0.1:1"  # nothing listens on port 1
        assert deliver(event).json()["outcome"].startswith("not saved yet")
        assert not SavedCard.objects.exists() and not ProviderEvent.objects.exists()
        settings.STRIPE_API_BASE = stripe_on.url
        assert deliver(event).json()["outcome"].startswith("saved card")

    def test_a_bad_signature_keeps_nothing(self, money, portal, stripe_on):
        setup = cardfile.setup_open(client=money.client_a, provider=get_provider())
        confirm_setup(stripe_on, setup.id)
        body = json.dumps(setup_event(stripe_on, setup.id)).encode()
        assert deliver({}, header=signature(body, secret="whsec_other"), body=body).status_code == 400
        assert not SavedCard.objects.exists() and not ProviderEvent.objects.exists()

    def test_saving_another_card_replaces_the_first_and_detaches_it(self, money, portal, stripe_on, django_capture_on_commit_callbacks):
        first = save_card(stripe_on, money.client_a)
        with django_capture_on_commit_callbacks(execute=True):
            second = save_card(stripe_on, money.client_a, "pm_card_chargeCustomerFail")
        assert SavedCard.objects.get().pk == second.pk and second.last4 == "0341"
        assert stripe_on.call("GET", f"/v1/payment_methods/{first.payment_method_id}")["customer"] is None

    def test_without_stripe_keys_the_page_says_it_is_not_set_up(self, money, portal, as_user, settings):
        settings.STRIPE_SECRET_KEY = settings.STRIPE_PUBLISHABLE_KEY = settings.STRIPE_WEBHOOK_SECRET = ""
        page = as_user(portal).get(reverse("portal_card", args=[money.client_a.pk]))
        assert page.status_code == 200 and b"not set up" in page.content and b"js.stripe.com/v3" not in page.content
        assert not CardSetup.objects.exists()


class RemovingTests:
    def test_the_client_removes_their_card_and_it_is_detached_at_stripe(
        self, money, portal, as_user, stripe_on, django_capture_on_commit_callbacks
    ):
        card = save_card(stripe_on, money.client_a)
        with django_capture_on_commit_callbacks(execute=True):
            r = as_user(portal).post(reverse("portal_card_remove", args=[money.client_a.pk]))
        assert r.status_code == 302 and not SavedCard.objects.exists()
        assert stripe_on.call("GET", f"/v1/payment_methods/{card.payment_method_id}")["customer"] is None
        audit = AuditEvent.objects.get(object_type="billing.savedcard", action="delete")
        assert (audit.role, audit.actor_id, audit.detail["why"]) == ("client", portal.pk, "removed")

    def test_erasing_the_client_forgets_the_card_and_detaches_it_at_stripe(
        self, money, portal, stripe_on, django_capture_on_commit_callbacks
    ):
        from knotwork.accounts.models import Membership
        from knotwork.clients.erasure import client_erase

        card = save_card(stripe_on, money.client_a)
        owner = Membership.objects.select_related("clinic", "user").filter(clinic=money.clinic_a, role=Role.OWNER).first()
        with django_capture_on_commit_callbacks(execute=True):
            client_erase(client=money.client_a, membership=owner, actor=owner.user)
        assert not SavedCard.objects.exists()
        assert stripe_on.call("GET", f"/v1/payment_methods/{card.payment_method_id}")["customer"] is None

    def test_the_desk_sees_the_card_on_the_account_page_and_removes_it(self, money, portal, as_user, stripe_on):
        save_card(stripe_on, money.client_a)
        page = as_user(money.bob).get(reverse("client_account", args=[money.client_a.pk]))
        assert page.status_code == 200 and b"Visa ending 4242" in page.content and b"12/2030" in page.content
        url = reverse("client_card_remove", args=[money.client_a.pk])
        assert as_user(money.alice).post(url).status_code == 403  # a therapist takes no payments
        assert as_user(money.charlie).post(url).status_code == 404  # another clinic
        assert SavedCard.objects.exists()
        assert as_user(money.bob).post(url).status_code == 302 and not SavedCard.objects.exists()
        audit = AuditEvent.objects.get(object_type="billing.savedcard", action="delete")
        assert (audit.role, audit.actor_id) == (Role.FRONT_DESK, money.bob.pk)
        assert as_user(money.bob).post(url).status_code == 302  # nothing left to remove: said so
        assert AuditEvent.objects.filter(object_type="billing.savedcard", action="delete").count() == 1

    def test_the_portal_shows_the_saved_card_beside_the_invoices(self, money, portal, as_user, stripe_on):
        page = as_user(portal).get(reverse("portal_invoices", args=[money.client_a.pk]))
        assert b"Save a card" not in page.content  # no fee policy and no card: nothing to say
        save_card(stripe_on, money.client_a)
        page = as_user(portal).get(reverse("portal_invoices", args=[money.client_a.pk]))
        assert b"Visa ending 4242, expires 12/2030" in page.content


class IsolationTests:
    def test_another_client_staff_and_another_clinic_cannot_reach_a_card(self, money, portal, as_user, stripe_on):
        card = save_card(stripe_on, money.client_a)
        setup = CardSetup.objects.get(client=money.client_a)
        other = make_user("ben@mail.example", mfa=False)
        ben = make_client(money.clinic_a, portal_user=other)
        dora = make_staff("dora@b.example", money.clinic_b, Role.FRONT_DESK)
        for user in (other, money.bob, money.charlie, dora):
            http = as_user(user)
            assert http.get(reverse("portal_card", args=[money.client_a.pk])).status_code == 404
            assert http.post(reverse("portal_card_remove", args=[money.client_a.pk])).status_code == 404
        # Ben cannot make his own return page keep (or reveal) Ada's set-up.
        ben_return = reverse("portal_card_return", args=[ben.pk]) + f"?setup_intent={setup.setup_intent_id}"
        page = as_user(other).get(ben_return, follow=True)
        assert b"The card was not saved." in page.content and b"4242" not in page.content
        assert not SavedCard.objects.filter(client=ben).exists()
        assert b"4242" not in as_user(other).get(reverse("portal_card", args=[ben.pk])).content
        assert as_user(dora).post(reverse("client_card_remove", args=[money.client_a.pk])).status_code == 404
        assert as_user(dora).get(reverse("client_account", args=[money.client_a.pk])).status_code == 404
        assert HttpClient().post(reverse("portal_card_remove", args=[money.client_a.pk])).status_code == 302  # to sign-in
        assert SavedCard.objects.get().pk == card.pk
