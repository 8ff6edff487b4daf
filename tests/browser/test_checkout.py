"""The front desk checks out a visit — adds an item, issues the invoice and takes the payment in
one step — and the client downloads the receipt from the portal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from knotwork.billing import selectors
from knotwork.billing.models import BillingSettings, Invoice, TaxRate
from knotwork.bookings.models import Service
from knotwork.lib.testing import make_user, make_world
from tests.billing.conftest import make_appointment
from tests.browser.test_visit import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_desk_checks_out_a_visit_and_the_client_downloads_the_receipt(page, live_server, browser):
    world = make_world()
    vat = TaxRate.objects.create(clinic=world.clinic_a, name="VAT standard", rate=Decimal("20"))
    BillingSettings.objects.create(clinic=world.clinic_a, legal_name="Clinic A Ltd", tax_number="GB123456789", default_tax_rate=vat)
    session = Service.objects.create(clinic=world.clinic_a, name="NMT session", duration_minutes=60, price=Decimal("60.00"))
    appointment = make_appointment(world.clinic_a, world.alice, world.client_a, session)
    portal = make_user("ada@mail.example", mfa=False)
    world.client_a.portal_user = portal
    world.client_a.save(update_fields=["portal_user"])

    sign_in(page, live_server, world.bob)
    page.goto(f"/appointments/{appointment.pk}/")
    page.get_by_role("button", name="Check out").click()
    expect(page.get_by_role("heading", name="Invoice (draft)")).to_be_visible()
    page.get_by_label("Kind").select_option("product")
    page.get_by_label("Description").fill("Trigger-point ball")
    page.get_by_label("Unit price").fill("8.50")
    page.get_by_label("Tax rate").select_option(label=str(vat))
    page.get_by_role("button", name="Add line").click()
    expect(page.get_by_role("button", name="Issue GBP 68.50")).to_be_visible()
    page.get_by_label("Method").select_option("cash")
    page.get_by_label("Amount (GBP)").fill("68.50")
    page.get_by_role("button", name="Issue GBP 68.50").click()
    expect(page.get_by_text("INV-000001 issued and the payment recorded.")).to_be_visible()
    invoice = Invoice.objects.get()
    assert selectors.invoice_money(invoice).balance == 0
    page.get_by_role("link", name="Void…").click()
    expect(page.get_by_role("heading", name="Void INV-000001?")).to_be_visible()
    page.get_by_role("link", name="Keep it").click()
    assert page.console_errors == [], page.console_errors

    client_context = browser.new_context(base_url=live_server.url)
    client_page = client_context.new_page()
    sign_in(client_page, live_server, portal)
    client_page.goto("/")
    client_page.get_by_role("link", name="My invoices").click()
    expect(client_page.get_by_role("cell", name="INV-000001", exact=True)).to_be_visible()
    with client_page.expect_download() as download:
        client_page.get_by_role("link", name="Download PDF of INV-000001").click()
    assert download.value.suggested_filename == "INV-000001.pdf"
    client_context.close()
