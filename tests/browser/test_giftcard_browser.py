"""A visitor buys a gift card from a therapist's public profile, in chromium.

Stripe.js is localstripe's stand-in, served by the Stripe peer the test starts on loopback
(tests/billing/stripe_peer.py): the page loads it under its own Content-Security-Policy and it
mounts its card inputs. The stand-in has no Payment Element confirmation (``confirmPayment``), so
the one step Stripe.js performs — confirming the intent with the card — is done against the peer
as Stripe.js would, and the browser then follows the return address Stripe.js would send it to."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from knotwork.billing import prepaid
from knotwork.billing.models import CardIntent, GiftCard, Payment, PrepaidStatus
from knotwork.billing.verify import verify_money
from knotwork.directory.selectors import profile_url
from tests.directory.conftest import BRISTOL, therapist_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visitor_buys_a_gift_card_from_a_therapists_profile(page, live_server, settings, stripe_js):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    rhea = therapist_at("Rhea Quayle", BRISTOL)

    page.goto(profile_url(rhea))
    page.get_by_role("link", name="Buy a gift card").click()
    expect(page.get_by_role("heading", name="Give a gift card")).to_be_visible()
    page.get_by_label("GBP 50.00").check()
    page.get_by_label("Recipient's name").fill("Grace Hopper")
    page.get_by_label("Recipient's e-mail").fill("grace@mail.example")
    page.get_by_label("Message (optional)").fill("For your shoulders.")
    page.get_by_label("Your first name").fill("Alan")
    page.get_by_label("Your last name").fill("Turing")
    page.get_by_label("Your e-mail").fill("alan@mail.example")
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.get_by_role("heading", name="Pay by card")).to_be_visible()
    expect(page.get_by_text("for Grace Hopper")).to_be_visible()
    # The stand-in Stripe.js loaded under the page's policy and drew its card inputs.
    expect(page.locator("#card-element").get_by_placeholder("number")).to_be_visible()
    expect(page.get_by_role("button", name="Pay GBP 50.00")).to_be_visible()

    intent = CardIntent.objects.get()
    stripe_js.confirm_with_test_card(intent.intent_id)  # Stripe.js's confirmPayment with the card typed in
    return_url = page.locator("#card-pay").get_attribute("data-return-url")
    assert return_url is not None
    page.goto(f"{return_url}?payment_intent={intent.intent_id}")

    expect(page.get_by_text("Thank you: your payment of GBP 50.00 is recorded.")).to_be_visible()
    expect(page.get_by_text("The gift card's code is on its way to Grace Hopper by e-mail.")).to_be_visible()
    card = GiftCard.objects.get()
    assert (card.status, card.balance, card.purchaser.email) == (PrepaidStatus.ACTIVE, 50, "alan@mail.example")
    assert Payment.objects.count() == 1
    [to_grace] = [m for m in mail.outbox if m.to == ["grace@mail.example"]]
    code = re.search(r"Code: (\S+)", to_grace.body)
    assert code is not None and prepaid.code_digest(code.group(1)) == card.code_digest
    assert [m.to for m in mail.outbox if m.to != ["grace@mail.example"]] == [["alan@mail.example"]]
    assert verify_money().findings == []
