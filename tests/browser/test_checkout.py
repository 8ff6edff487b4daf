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


def test_the_desk_checks_out_a_visit_with_a_package_session_and_the_add_on_by_card(page, live_server):
    from knotwork.billing import prepaid, services
    from knotwork.billing.models import ClientPackage, PackageProduct, Payment

    world = make_world()
    vat = TaxRate.objects.create(clinic=world.clinic_a, name="VAT standard", rate=Decimal("20"))
    BillingSettings.objects.create(clinic=world.clinic_a, legal_name="Clinic A Ltd", default_tax_rate=vat)
    session = Service.objects.create(clinic=world.clinic_a, name="NMT session", duration_minutes=60, price=Decimal("60.00"))
    product = PackageProduct.objects.create(
        clinic=world.clinic_a, name="Five sessions", sessions=5, price=Decimal("250.00"), currency="GBP", validity_days=180
    )
    product.services.set([session])
    package = prepaid.package_sell(client=world.client_a, product=product, actor=world.bob)
    sale = services.invoice_issue(invoice=package.invoice_line.invoice, actor=world.bob)
    services.payment_record(
        clinic=world.clinic_a, client=world.client_a, actor=world.bob, method="cash", amount=sale.total, currency="GBP", invoices=[sale]
    )
    appointment = make_appointment(world.clinic_a, world.alice, world.client_a, session)

    sign_in(page, live_server, world.bob)
    page.goto(f"/appointments/{appointment.pk}/")
    page.get_by_role("button", name="Check out").click()
    page.get_by_label("Kind").select_option("product")
    page.get_by_label("Description").fill("Trigger-point ball")
    page.get_by_label("Unit price").fill("8.50")
    page.get_by_label("Tax rate").select_option(label=str(vat))
    page.get_by_role("button", name="Add line").click()
    expect(page.get_by_role("button", name="Issue GBP 68.50")).to_be_visible()
    page.get_by_label("Use a package session").select_option(
        label="Five sessions — 5 of 5 left, until " + f"{ClientPackage.objects.get().expires_on:%d %b %Y}"
    )
    page.get_by_label("Payment method").select_option("card_terminal")
    page.get_by_label("Amount (GBP)").fill("8.50")
    page.get_by_role("button", name="Issue GBP 68.50").click()
    expect(page.get_by_text("issued and the payment recorded")).to_be_visible()
    invoice = Invoice.objects.get(appointment=appointment)
    assert selectors.invoice_money(invoice).balance == 0
    taken = sorted((p.method, p.amount) for p in Payment.objects.exclude(method="cash"))  # cash paid for the package itself
    assert taken == [("card_terminal", Decimal("8.50")), ("package", Decimal("60.00"))]
    assert ClientPackage.objects.get().sessions_left == 4
    assert page.console_errors == [], page.console_errors
