"""Packages: products, selling one, sessions granted when paid, a session paying for a covered
service at check-out, expiry, sharing, refunds giving the session back, the liability report,
verify, the API, the pages and the double-redemption race."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from knotwork.accounts.models import Role, User
from knotwork.audit.models import AuditEvent
from knotwork.billing import prepaid, prepaid_selectors, selectors, services
from knotwork.billing.models import ClientPackage, PackageEntry, PackageProduct, Payment, PaymentMethod, PrepaidStatus
from knotwork.billing.prepaid import PrepaidError
from knotwork.billing.services import BillingError
from knotwork.billing.verify import verify_money
from knotwork.bookings.models import Service
from knotwork.lib.testing import make_client, make_staff
from tests.billing.conftest import make_appointment
from tests.bookings.test_concurrency import _race

JSON = "application/json"


def selectors_today(package):
    return prepaid_selectors.today_at(package.clinic)


@pytest.fixture
def product(money):
    p = PackageProduct.objects.create(
        clinic=money.clinic_a, name="Five sessions", sessions=5, price=Decimal("250.00"), currency="GBP", validity_days=180
    )
    p.services.set([money.session])
    return p


def sold_package(world, product, *, client=None, paid: bool = True) -> ClientPackage:
    client = client or world.client_a
    package = prepaid.package_sell(client=client, product=product, actor=world.bob)
    invoice = services.invoice_issue(invoice=package.invoice_line.invoice, actor=world.bob)
    if paid:
        services.payment_record(
            clinic=world.clinic_a, client=client, actor=world.bob, method="card_terminal", amount=invoice.total, currency="GBP",
            invoices=[invoice],
        )  # fmt: skip
    package.refresh_from_db()
    return package


def visit_invoice(world, *, client=None, service=None, issue: bool = True):
    """An invoice for one session of ``service`` (the NMT session by default)."""
    service = service or world.session
    appointment = make_appointment(world.clinic_a, world.alice, client or world.client_a, service)
    invoice = services.invoice_from_appointment(appointment=appointment, actor=world.bob)
    return services.invoice_issue(invoice=invoice, actor=world.bob) if issue else invoice


@pytest.mark.django_db
class PackageSaleTests:
    def test_a_sold_package_is_granted_its_sessions_when_its_invoice_is_paid(self, money, product):
        package = sold_package(money, product, paid=False)
        assert (package.status, package.sessions_left, package.invoice_line.kind) == (PrepaidStatus.PENDING, 0, "package")
        invoice = package.invoice_line.invoice
        services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="250", currency="GBP", invoices=[invoice]
        )
        package.refresh_from_db()
        assert (package.status, package.sessions_left, prepaid_selectors.package_remaining(package)) == (PrepaidStatus.ACTIVE, 5, 5)
        today = selectors_today(package)
        assert package.expires_on == today + timedelta(days=180)
        assert list(package.services.all()) == [money.session]
        assert AuditEvent.objects.filter(object_type="billing.clientpackage", object_id=str(package.pk)).count() == 2

    def test_a_withdrawn_product_or_another_clinics_is_not_sold(self, money, product):
        product.is_active = False
        product.save()
        with pytest.raises(BillingError, match="no longer sold"):
            prepaid.package_sell(client=money.client_a, product=product, actor=money.bob)
        with pytest.raises(BillingError, match="another clinic"):
            prepaid.package_sell(client=money.client_b, product=product, actor=money.charlie)


@pytest.mark.django_db
class PackageRedemptionTests:
    def test_a_session_pays_the_covered_service_and_the_remaining_count_drops(self, money, product):
        package = sold_package(money, product)
        invoice = visit_invoice(money)
        _, (payment,) = prepaid.invoice_settle(invoice=invoice, actor=money.bob, package=package)
        package.refresh_from_db()
        assert (payment.method, payment.amount) == (PaymentMethod.PACKAGE, Decimal("60.00"))
        assert package.sessions_left == prepaid_selectors.package_remaining(package) == 4
        assert selectors.invoice_money(invoice).balance == 0
        entry = PackageEntry.objects.get(kind="use")
        assert entry.invoice_line.invoice_id == invoice.pk and entry.payment_id == payment.pk
        assert verify_money().ok

    def test_check_out_with_a_session_and_cash_for_an_add_on(self, money, product):
        package = sold_package(money, product)
        draft = visit_invoice(money, issue=False)
        services.invoice_line_add(invoice=draft, actor=money.bob, kind="product", description="Ball", unit_price="8.50")
        invoice, payments = prepaid.invoice_settle(
            invoice=draft, actor=money.bob, issue=True, package=package, method="cash", amount="8.50"
        )
        assert [p.method for p in payments] == ["package", "cash"] and selectors.invoice_money(invoice).balance == 0

    def test_a_service_the_package_does_not_cover_is_refused(self, money, product):
        package = sold_package(money, product)
        other = Service.objects.create(clinic=money.clinic_a, name="Cupping", duration_minutes=30, price=Decimal("40.00"))
        with pytest.raises(PrepaidError, match="does not cover"):
            prepaid.invoice_settle(invoice=visit_invoice(money, service=other), actor=money.bob, package=package)

    def test_one_line_is_paid_by_one_session_only(self, money, product):
        package = sold_package(money, product)
        invoice = visit_invoice(money)
        prepaid.invoice_settle(invoice=invoice, actor=money.bob, package=package)
        with pytest.raises(PrepaidError):
            prepaid.invoice_settle(invoice=invoice, actor=money.bob, package=package)
        package.refresh_from_db()
        assert package.sessions_left == 4

    def test_an_expired_package_is_refused(self, money, product):
        package = sold_package(money, product)
        ClientPackage.objects.filter(pk=package.pk).update(expires_on=package.activated_at.date() - timedelta(days=1))
        with pytest.raises(PrepaidError, match="expired"):
            prepaid.invoice_settle(invoice=visit_invoice(money), actor=money.bob, package=package)

    def test_a_used_up_package_is_refused(self, money, product):
        product.sessions = 1
        product.save()
        package = sold_package(money, product)
        prepaid.invoice_settle(invoice=visit_invoice(money), actor=money.bob, package=package)
        with pytest.raises(PrepaidError, match="no sessions left"):
            prepaid.invoice_settle(invoice=visit_invoice(money), actor=money.bob, package=package)

    def test_only_the_buyer_uses_a_package_that_is_not_shareable(self, money, product):
        package = sold_package(money, product)
        sibling = make_client(money.clinic_a)
        with pytest.raises(PrepaidError, match="Only the client who bought"):
            prepaid.invoice_settle(invoice=visit_invoice(money, client=sibling), actor=money.bob, package=package)
        ClientPackage.objects.filter(pk=package.pk).update(shareable=True)
        from knotwork.accounts.models import Membership
        from knotwork.clients.family import family_link

        family_link(client=money.client_a, member=sibling, membership=Membership.objects.get(user=money.bob))  # shareable: family only
        prepaid.invoice_settle(invoice=visit_invoice(money, client=sibling), actor=money.bob, package=package)

    def test_refunding_the_session_gives_it_back_whole(self, money, product):
        package = sold_package(money, product)
        invoice = visit_invoice(money)
        _, (payment,) = prepaid.invoice_settle(invoice=invoice, actor=money.bob, package=package)
        with pytest.raises(BillingError, match="given back whole"):
            services.payment_refund(payment=payment, actor=money.bob, amount="10")
        services.payment_refund(payment=payment, actor=money.bob, amount="60")
        package.refresh_from_db()
        assert package.sessions_left == prepaid_selectors.package_remaining(package) == 5
        assert selectors.invoice_money(invoice).balance == Decimal("60.00")
        assert verify_money().ok


@pytest.mark.django_db
class PackageReportTests:
    def test_unused_sessions_and_gift_card_balances_are_reported_as_liability(self, money, product):
        package = sold_package(money, product)
        prepaid.invoice_settle(invoice=visit_invoice(money), actor=money.bob, package=package)
        card, code = prepaid.gift_card_sell(client=money.client_a, actor=money.bob, amount="30")
        sale = services.invoice_issue(invoice=card.invoice_line.invoice, actor=money.bob)
        services.payment_record(
            clinic=money.clinic_a, client=money.client_a, actor=money.bob, method="cash", amount="30", currency="GBP", invoices=[sale]
        )
        (row,) = prepaid_selectors.prepaid_liability(money.clinic_a)
        assert (row.currency, row.package_sessions, row.packages, row.gift_cards) == ("GBP", 4, Decimal("200.00"), Decimal("30.00"))
        assert row.total == Decimal("230.00")
        assert prepaid_selectors.prepaid_liability(money.clinic_b) == []

    def test_verify_reports_a_tampered_session_count(self, money, product):
        package = sold_package(money, product)
        assert verify_money().ok
        ClientPackage.objects.filter(pk=package.pk).update(sessions_left=2)
        findings = [str(f) for f in verify_money().findings or []]
        assert any("2 sessions left, its ledger says 5" in f for f in findings), findings


@pytest.mark.django_db
class PackagePageTests:
    def test_the_owner_adds_a_product_and_the_desk_sells_it(self, money, as_user):
        r = as_user(money.olivia).post(
            "/packages/", {"name": "Three sessions", "sessions": "3", "price": "150.00", "services": [money.session.pk]}
        )
        assert r.status_code == 302, r.content
        product = PackageProduct.objects.get(name="Three sessions")
        assert (product.currency, product.price) == ("GBP", Decimal("150.00"))
        assert as_user(money.bob).post("/packages/", {"name": "x"}).status_code == 403
        r = as_user(money.bob).post(f"/clients/{money.client_a.pk}/packages/new/", {"product": product.pk})
        assert r.status_code == 302 and ClientPackage.objects.filter(client=money.client_a).exists()

    def test_a_bad_product_keeps_what_was_typed(self, money, as_user):
        r = as_user(money.olivia).post("/packages/", {"name": "Ten sessions", "sessions": "0", "price": "-1"})
        assert r.status_code == 400 and b"Ten sessions" in r.content and not PackageProduct.objects.exists()

    def test_remaining_sessions_show_on_the_account_the_portal_and_the_list(self, money, product, as_user):
        package = sold_package(money, product)
        prepaid.invoice_settle(invoice=visit_invoice(money), actor=money.bob, package=package)
        http = as_user(money.bob)
        assert b"4 of 5" in http.get(f"/clients/{money.client_a.pk}/account/").content
        assert b"4 of 5" in http.get("/packages/", {"q": "five"}).content
        assert b"4 of 5" in http.get(f"/packages/{package.pk}/").content
        user = User.objects.create_user(email="ada@mail.example", password="x-long-password-1")
        money.client_a.portal_user = user
        money.client_a.save(update_fields=["portal_user"])
        assert b"4 of 5 sessions left" in as_user(user).get(f"/portal/{money.client_a.pk}/invoices/").content

    def test_the_pay_form_offers_the_clients_packages_and_uses_one(self, money, product, as_user):
        package = sold_package(money, product)
        invoice = visit_invoice(money)
        http = as_user(money.bob)
        assert b"Use a package session" in http.get(f"/invoices/{invoice.pk}/").content
        r = http.post(f"/invoices/{invoice.pk}/pay/", {"package": package.pk, "method": "cash", "amount": ""})
        assert r.status_code == 302 and selectors.invoice_money(invoice).balance == 0

    def test_charlie_gets_404_and_alice_403(self, money, product, as_user):
        package = sold_package(money, product)
        assert as_user(money.charlie).get(f"/packages/{package.pk}/").status_code == 404
        assert as_user(money.charlie).post(f"/packages/products/{product.pk}/toggle/").status_code == 403
        owner_b = make_staff("owner-b@mail.example", money.clinic_b, Role.OWNER)
        assert as_user(owner_b).post(f"/packages/products/{product.pk}/toggle/").status_code == 404
        assert as_user(owner_b).get(f"/packages/{package.pk}/").status_code == 404
        assert as_user(money.alice).get(f"/packages/{package.pk}/").status_code == 403


@pytest.mark.django_db
class PackageApiTests:
    def test_staff_list_the_products(self, money, product, as_user, client):
        r = as_user(money.alice).get("/api/packages")
        assert r.status_code == 200 and r.json()[0]["name"] == "Five sessions" and r.json()[0]["price"] == "250.00"
        assert r.json()[0]["services"] == [money.session.pk]
        assert as_user(money.charlie).get("/api/packages").json() == []

    def test_anonymous_is_401(self, client):
        r = client.get("/api/packages")
        assert r.status_code == 401 and set(r.json()["error"]) == {"code", "message", "fields"}


@pytest.mark.django_db
class DemoPrepaidTests:
    def test_the_demo_has_a_package_with_a_session_used_and_a_gift_card_partly_spent(self):
        from knotwork.accounts.demo import demo_seed
        from knotwork.accounts.models import Clinic
        from knotwork.billing.models import GiftCard

        demo_seed()
        clinic = Clinic.objects.get(is_demo=True)
        package = ClientPackage.objects.get(clinic=clinic)
        assert PackageProduct.objects.filter(clinic=clinic).exists() and package.sessions_left == package.sessions_total - 1
        card = GiftCard.objects.get(clinic=clinic)
        assert 0 < card.balance < card.initial_value
        assert verify_money().ok


def race_for_the_last_session(world, package: ClientPackage, invoices: list) -> None:
    """Check-out of every invoice with ``package``'s last session, all at once (threads): exactly one
    gets it, the others are refused, and the ledgers stay consistent."""

    def redeem(i: int) -> str:
        try:
            prepaid.invoice_settle(invoice=invoices[i], actor=world.bob, package=package)
        except BillingError:
            return "refused"
        return "used"

    results = _race(redeem, len(invoices))
    assert results.count("used") == 1 and results.count("refused") == len(invoices) - 1
    package.refresh_from_db()
    assert package.sessions_left == 0 and prepaid_selectors.package_remaining(package) == 0
    assert Payment.objects.filter(method=PaymentMethod.PACKAGE).count() == 1
    assert verify_money().ok


@pytest.mark.django_db(transaction=True)
class PackageRaceTests:
    def test_the_last_session_redeemed_twice_at_once_lets_exactly_one_through(self, money, product):
        product.sessions = 1
        product.save()
        package = sold_package(money, product)
        race_for_the_last_session(money, package, [visit_invoice(money) for _ in range(6)])
