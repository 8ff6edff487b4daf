"""A client books a deposit-protected session online and pays through Stripe.js, in chromium.

Stripe.js here is localstripe's own fake (served by the Stripe peer the test starts on loopback,
tests/billing/stripe_peer.py): it draws plain inputs instead of Stripe's iframe and confirms the
set-up against the peer, which then charges the saved card for the deposit."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from knotwork.billing.models import BillingSettings, FeePolicy, Invoice, Payment, SavedCard, TaxRate
from knotwork.billing.selectors import invoice_money
from knotwork.billing.verify import verify_money
from knotwork.bookings.models import Appointment, AppointmentStatus, Availability, BookingPolicy, Service
from knotwork.lib.testing import make_user, make_world
from tests.browser.session import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_client_books_a_session_with_a_deposit_paid_through_stripe_js(page, live_server, stripe_js):
    world = make_world()
    clinic = world.clinic_a
    vat = TaxRate.objects.create(clinic=clinic, name="VAT standard", rate=Decimal("20"))
    BillingSettings.objects.create(clinic=clinic, legal_name="Clinic A Ltd", default_tax_rate=vat)
    FeePolicy.objects.create(clinic=clinic, no_show_basis="fixed", no_show_value=Decimal("30.00"))
    BookingPolicy.objects.create(clinic=clinic, min_notice_minutes=60, horizon_days=90)
    for weekday in range(5):
        Availability.objects.create(clinic=clinic, therapist=world.alice, weekday=weekday, start_time=time(9), end_time=time(17))
    service = Service.objects.create(
        clinic=clinic, name="NMT session", duration_minutes=60, price=Decimal("80.00"), currency="GBP",
        payment_policy=Service.PaymentPolicy.DEPOSIT, deposit_amount=Decimal("25.00"),
    )  # fmt: skip
    ada = make_user("ada@mail.example", mfa=False)
    world.client_a.portal_user = ada
    world.client_a.save(update_fields=["portal_user"])

    sign_in(page, live_server, ada)
    page.goto(f"/book/{clinic.slug}/{world.alice.pk}/{service.pk}/")
    page.get_by_role("link", name="Later →").click()
    page.locator("button.slot").first.click()
    expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
    expect(page.get_by_text("25.00 GBP")).to_be_visible()
    page.get_by_label("I agree to the cancellation policy").check()
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.get_by_role("heading", name="Pay the deposit")).to_be_visible()
    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill("4242424242424242")
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("34")
    card.get_by_placeholder("cvc").fill("123")
    card.get_by_placeholder("postal_code").fill("BS1 4DJ")
    page.get_by_role("button", name="Pay 25.00 GBP").click()

    expect(page.get_by_text("Your deposit is paid and your appointment is booked.")).to_be_visible()
    appointment = Appointment.objects.get(client=world.client_a)
    assert appointment.status == AppointmentStatus.CONFIRMED
    invoice = Invoice.objects.get(appointment=appointment)
    assert [p.amount for p in Payment.objects.all()] == [Decimal("25.00")]
    assert invoice_money(invoice).balance == Decimal("55.00")
    assert SavedCard.objects.get(client=world.client_a).last4 == "4242"
    assert verify_money().findings == []
    assert [e for e in page.console_errors if "localstripe" not in e] == [], page.console_errors
