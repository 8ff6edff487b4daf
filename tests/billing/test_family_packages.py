"""Packages shared within a family: a shareable package pays for the sessions of the buyer's family
at the time of use, a non-shareable one only for the buyer; check-out offers the family's packages
with the buyer's name, the portal shows them to the family member, and the last session used by
buyer and family member at once goes to exactly one of them."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from knotwork.accounts.models import Membership, User
from knotwork.audit.models import AuditEvent
from knotwork.billing import prepaid, prepaid_selectors, selectors, services
from knotwork.billing.forms import PaymentForm
from knotwork.billing.models import ClientPackage, PackageEntry, Payment, PaymentMethod
from knotwork.billing.prepaid import PrepaidError
from knotwork.billing.services import BillingError
from knotwork.billing.verify import verify_money
from knotwork.clients.family import family_link, family_unlink
from knotwork.lib.testing import make_client
from tests.billing.test_packages import product, race_for_the_last_session, sold_package, visit_invoice  # noqa: F401  (product is a fixture)


def desk(world) -> Membership:
    return Membership.objects.get(user=world.bob, clinic=world.clinic_a)


@pytest.fixture
def family(money, product):  # noqa: F811
    """Ada (client_a) bought a shareable five-session package; her husband William is linked to her as
    family, her neighbour Grace is a client of the clinic but not family."""
    product.shareable = True
    product.save()
    money.husband = make_client(money.clinic_a, first_name="William", last_name="King")
    money.neighbour = make_client(money.clinic_a, first_name="Grace", last_name="Hopper")
    family_link(client=money.client_a, member=money.husband, membership=desk(money))
    money.package = sold_package(money, product)
    money.product = product
    return money


def money_verify_is_clean() -> bool:
    out = io.StringIO()
    try:
        call_command("money", "verify", stdout=out)
    except SystemExit as exc:
        return not exc.code
    return verify_money().ok


@pytest.mark.django_db
class FamilyRedemptionTests:
    def test_a_family_member_pays_a_session_with_the_buyers_shareable_package(self, family):
        invoice = visit_invoice(family, client=family.husband)
        _, (payment,) = prepaid.invoice_settle(invoice=invoice, actor=family.bob, package=family.package)
        family.package.refresh_from_db()
        assert (payment.method, payment.amount, payment.client_id) == (PaymentMethod.PACKAGE, Decimal("60.00"), family.husband.pk)
        assert family.package.client_id == family.client_a.pk  # the buyer still owns it
        assert family.package.sessions_left == prepaid_selectors.package_remaining(family.package) == 4
        entry = PackageEntry.objects.get(kind="use")
        assert entry.invoice_line.invoice.client_id == family.husband.pk  # who used it: the invoice's client
        assert selectors.invoice_money(invoice).balance == 0
        assert money_verify_is_clean()

    def test_a_client_outside_the_family_is_refused_with_a_clear_reason(self, family):
        with pytest.raises(PrepaidError, match="Only the buyer's family can use this package: Grace Hopper is not linked to Ada Lovelace"):
            prepaid.invoice_settle(invoice=visit_invoice(family, client=family.neighbour), actor=family.bob, package=family.package)
        assert not Payment.objects.filter(method=PaymentMethod.PACKAGE).exists()

    def test_a_package_that_is_not_shareable_serves_only_the_buyer_even_in_the_family(self, family):
        ClientPackage.objects.filter(pk=family.package.pk).update(shareable=False)
        with pytest.raises(PrepaidError, match="Only the client who bought this package"):
            prepaid.invoice_settle(invoice=visit_invoice(family, client=family.husband), actor=family.bob, package=family.package)
        prepaid.invoice_settle(invoice=visit_invoice(family), actor=family.bob, package=family.package)

    def test_after_unlinking_the_family_member_is_refused_and_history_stays(self, family):
        used = visit_invoice(family, client=family.husband)
        prepaid.invoice_settle(invoice=used, actor=family.bob, package=family.package)
        family_unlink(member=family.husband, membership=desk(family))
        with pytest.raises(PrepaidError, match="Only the buyer's family"):
            prepaid.invoice_settle(invoice=visit_invoice(family, client=family.husband), actor=family.bob, package=family.package)
        assert PackageEntry.objects.get(kind="use").invoice_line.invoice_id == used.pk
        assert selectors.invoice_money(used).balance == 0
        family.package.refresh_from_db()
        assert family.package.sessions_left == 4
        assert money_verify_is_clean()

    def test_sharing_works_both_ways_in_the_family(self, family, product):  # noqa: F811
        """A shareable package William bought pays for Ada's session as hers pays for his."""
        his = sold_package(family, product, client=family.husband)
        prepaid.invoice_settle(invoice=visit_invoice(family), actor=family.bob, package=his)
        his.refresh_from_db()
        assert his.sessions_left == 4

    def test_a_payment_recorded_directly_follows_the_same_rule(self, family):
        invoice = visit_invoice(family, client=family.neighbour)
        with pytest.raises(BillingError, match="Only the buyer's family"):
            services.payment_record(
                clinic=family.clinic_a, client=family.neighbour, actor=family.bob, method=PaymentMethod.PACKAGE, amount="60.00",
                currency="GBP", invoices=[invoice], package=family.package,
            )  # fmt: skip


@pytest.mark.django_db
class FamilyChooserTests:
    def test_check_out_offers_the_familys_shareable_packages_with_the_buyers_name(self, family):
        form = PaymentForm(currency="GBP", client=family.husband)
        labels = [label for value, label in form.fields["package"].choices if value]
        assert labels == ["Five sessions (bought by Ada Lovelace, shared with the family) — 5 of 5 left, until "
                          f"{family.package.expires_on:%d %b %Y}"]  # fmt: skip
        assert "package" not in PaymentForm(currency="GBP", client=family.neighbour).fields

    def test_the_buyers_own_packages_come_first_and_unshareable_ones_stay_private(self, family, product):  # noqa: F811
        his = sold_package(family, product, client=family.husband)
        private = sold_package(family, product, client=family.husband)
        ClientPackage.objects.filter(pk=private.pk).update(shareable=False)
        assert list(prepaid_selectors.usable_packages(family.husband)) == [his, private, family.package]
        assert list(prepaid_selectors.usable_packages(family.client_a)) == [family.package, his]

    def test_the_invoice_page_offers_it_and_takes_the_session(self, family, as_user):
        invoice = visit_invoice(family, client=family.husband)
        http = as_user(family.bob)
        page = http.get(f"/invoices/{invoice.pk}/").content.decode()
        assert "bought by Ada Lovelace, shared with the family" in page
        r = http.post(f"/invoices/{invoice.pk}/pay/", {"package": family.package.pk, "method": "cash", "amount": ""})
        assert r.status_code == 302 and selectors.invoice_money(invoice).balance == 0

    def test_once_unlinked_the_chooser_no_longer_offers_it_and_a_forged_choice_is_refused(self, family, as_user):
        invoice = visit_invoice(family, client=family.husband)
        family_unlink(member=family.husband, membership=desk(family))
        http = as_user(family.bob)
        assert "Ada Lovelace" not in http.get(f"/invoices/{invoice.pk}/").content.decode()
        r = http.post(f"/invoices/{invoice.pk}/pay/", {"package": family.package.pk, "method": "cash", "amount": ""})
        assert r.status_code in (200, 400) and selectors.invoice_money(invoice).balance == Decimal("60.00")


@pytest.mark.django_db
class FamilyPortalTests:
    def test_the_portal_shows_the_family_members_shared_packages(self, family, as_user):
        login = User.objects.create_user(email="william@mail.example", password="x-long-password-1")
        family.husband.portal_user = login
        family.husband.save(update_fields=["portal_user"])
        prepaid.invoice_settle(invoice=visit_invoice(family), actor=family.bob, package=family.package)
        page = as_user(login).get(f"/portal/{family.husband.pk}/invoices/").content.decode()
        assert "Five sessions, shared by Ada" in page and "4 of 5 sessions left" in page
        assert "Lovelace" not in page  # the first name is enough
        event = AuditEvent.objects.filter(action="list", object_type="billing.clientpackage").latest("id")
        assert event.role == "client" and event.detail["ids"] == [family.package.pk]

    def test_the_portal_costs_the_same_queries_for_one_or_four_shared_packages(self, family, as_user, django_assert_max_num_queries):
        login = User.objects.create_user(email="william@mail.example", password="x-long-password-1")
        family.husband.portal_user = login
        family.husband.save(update_fields=["portal_user"])
        http = as_user(login)
        url = f"/portal/{family.husband.pk}/invoices/"
        with django_assert_max_num_queries(30) as few:
            http.get(url)
        for _ in range(3):
            sold_package(family, family.product)
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert http.get(url).content.decode().count("shared by Ada") == 4

    def test_the_portal_leaves_out_packages_not_shared_or_used_up_and_others_families(self, family, as_user):
        login = User.objects.create_user(email="grace@mail.example", password="x-long-password-1")
        family.neighbour.portal_user = login
        family.neighbour.save(update_fields=["portal_user"])
        assert "shared by" not in as_user(login).get(f"/portal/{family.neighbour.pk}/invoices/").content.decode()
        ClientPackage.objects.filter(pk=family.package.pk).update(shareable=False)
        assert prepaid_selectors.family_packages(family.husband).count() == 0
        ClientPackage.objects.filter(pk=family.package.pk).update(shareable=True, sessions_left=0)
        assert prepaid_selectors.family_packages(family.husband).count() == 0


@pytest.mark.django_db(transaction=True)
class FamilyRaceTests:
    def test_the_last_session_used_by_buyer_and_family_member_at_once_goes_to_exactly_one(self, family):
        family.product.sessions = 1
        family.product.save()
        package = sold_package(family, family.product)  # Ada's, shareable, one session
        race_for_the_last_session(family, package, [visit_invoice(family, client=c) for c in (family.client_a, family.husband) * 3])
