"""Families: linking clients of one clinic as a household, unlinking, the database's own refusal of a
household spanning two clinics, and the desk's Family panel, search and confirmation pages."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from knotwork.accounts.models import Membership
from knotwork.audit.models import AuditEvent
from knotwork.clients.family import FamilyError, family_link, family_of, family_unlink, same_family
from knotwork.clients.models import Client, Household
from knotwork.lib.testing import make_client, make_user

pytestmark = pytest.mark.django_db


def desk(world) -> Membership:
    return Membership.objects.get(user=world.bob, clinic=world.clinic_a)


@pytest.fixture
def fam(world):
    """Ada (client_a) with a husband and a daughter at clinic A, none linked yet."""
    world.husband = make_client(world.clinic_a, first_name="William", last_name="King", date_of_birth="1805-02-21")
    world.daughter = make_client(world.clinic_a, first_name="Anne", last_name="King")
    return world


def family_events(client: Client) -> list[dict]:
    rows = AuditEvent.objects.filter(action="update", object_type="clients.client", object_id=str(client.pk)).order_by("id")
    return [e.detail for e in rows if e.detail.get("event", "").startswith("family_")]


def refresh(*clients: Client) -> None:
    for c in clients:
        c.refresh_from_db()


class FamilyLinkTests:
    def test_linking_two_clients_puts_both_in_one_household_and_audits_each(self, fam):
        household = family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        refresh(fam.client_a, fam.husband)
        assert fam.client_a.household_id == fam.husband.household_id == household.pk
        assert household.clinic_id == fam.clinic_a.pk
        assert family_events(fam.client_a) == [
            {"fields": ["household"], "event": "family_link", "household": household.pk, "with": fam.husband.pk}
        ]
        assert family_events(fam.husband) == [
            {"fields": ["household"], "event": "family_link", "household": household.pk, "with": fam.client_a.pk}
        ]
        event = AuditEvent.objects.filter(object_id=str(fam.husband.pk), action="update").latest("id")
        assert event.role == "front_desk" and event.actor == fam.bob
        assert same_family(fam.client_a, fam.husband) and not same_family(fam.client_a, fam.daughter)

    def test_a_third_client_joins_the_family_already_there(self, fam):
        household = family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        family_link(client=fam.husband, member=fam.daughter, membership=desk(fam))
        refresh(fam.client_a)
        assert [c.first_name for c in family_of(fam.client_a)] == ["Anne", "William"]
        assert Household.objects.get().pk == household.pk
        assert len(family_events(fam.client_a)) == 1  # Ada's household did not change

    def test_refusals_say_why_and_change_nothing(self, fam):
        family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        other_a = make_client(fam.clinic_a, first_name="Mary", last_name="Somerville")
        other_b = make_client(fam.clinic_a, first_name="Caroline", last_name="Herschel")
        family_link(client=other_a, member=other_b, membership=desk(fam))
        before = AuditEvent.objects.count()
        for client, member, message in [
            (fam.client_a, fam.client_a, "cannot be linked to themselves"),
            (fam.client_a, fam.husband, "already in Ada Lovelace's family"),
            (fam.client_a, other_a, "already in another family"),
            (other_b, fam.husband, "already in another family"),
            (fam.client_a, fam.client_b, "same clinic"),
        ]:
            with pytest.raises(FamilyError, match=message):
                family_link(client=client, member=member, membership=desk(fam))
        assert AuditEvent.objects.count() == before and Household.objects.count() == 2
        refresh(fam.client_b)
        assert fam.client_b.household_id is None

    def test_an_archived_record_is_not_linked(self, fam):
        Client.objects.filter(pk=fam.husband.pk).update(archived_at="2026-01-01T00:00:00Z")
        with pytest.raises(FamilyError, match="archived"):
            family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        assert not Household.objects.exists()

    def test_unlinking_takes_one_client_out_and_audits_it(self, fam):
        household = family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        family_link(client=fam.client_a, member=fam.daughter, membership=desk(fam))
        gone = family_unlink(member=fam.daughter, membership=desk(fam))
        refresh(fam.client_a, fam.husband, fam.daughter)
        assert gone == [fam.daughter] and fam.daughter.household_id is None
        assert fam.client_a.household_id == fam.husband.household_id == household.pk
        assert family_events(fam.daughter)[-1] == {"fields": ["household"], "event": "family_unlink", "household": household.pk}

    def test_unlinking_one_of_two_ends_the_family(self, fam):
        household = family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        gone = family_unlink(member=fam.husband, membership=desk(fam))
        refresh(fam.client_a, fam.husband)
        assert {c.pk for c in gone} == {fam.client_a.pk, fam.husband.pk}
        assert fam.client_a.household_id is None and fam.husband.household_id is None
        assert not Household.objects.filter(pk=household.pk).exists()
        assert family_events(fam.client_a)[-1]["event"] == "family_unlink"
        with pytest.raises(FamilyError, match="not linked to a family"):
            family_unlink(member=fam.husband, membership=desk(fam))

    def test_erasing_a_client_takes_them_out_of_the_family_first(self, fam):
        from knotwork.clients.erasure import client_erase

        family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        family_link(client=fam.husband, member=fam.daughter, membership=desk(fam))
        owner = Membership.objects.get(clinic=fam.clinic_a, role="owner")
        client_erase(client=fam.daughter, membership=owner, actor=owner.user)
        refresh(fam.client_a, fam.husband, fam.daughter)
        assert fam.daughter.household_id is None and fam.daughter.first_name == "Erased"
        assert fam.client_a.household_id == fam.husband.household_id is not None
        assert family_events(fam.daughter)[-1]["event"] == "family_unlink"

    def test_another_clinics_staff_cannot_link_or_unlink(self, fam):
        charlie = Membership.objects.get(user=fam.charlie)
        with pytest.raises(FamilyError, match="same clinic"):
            family_link(client=fam.client_a, member=fam.husband, membership=charlie)
        family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        with pytest.raises(FamilyError, match="same clinic"):
            family_unlink(member=fam.husband, membership=charlie)


class FamilyDatabaseTests:
    """The database refuses a household of another clinic even when the service is bypassed."""

    def test_a_client_cannot_be_put_in_another_clinics_household(self, fam):
        household_b = Household.objects.create(clinic=fam.clinic_b)
        with pytest.raises(IntegrityError), transaction.atomic():
            Client.objects.filter(pk=fam.client_a.pk).update(household=household_b)
        with pytest.raises(IntegrityError), transaction.atomic():
            Client.objects.create(clinic=fam.clinic_a, first_name="Eve", last_name="Other", household=household_b)
        refresh(fam.client_a)
        assert fam.client_a.household_id is None

    def test_a_household_with_members_keeps_its_clinic(self, fam):
        household = family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        with pytest.raises(IntegrityError), transaction.atomic():
            Household.objects.filter(pk=household.pk).update(clinic=fam.clinic_b)
        household.refresh_from_db()
        assert household.clinic_id == fam.clinic_a.pk


class FamilyPageTests:
    def test_the_panel_lists_the_family_with_unlink_for_every_staff_role(self, fam, as_user):
        family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        for user in (fam.bob, fam.alice, fam.olivia):
            page = as_user(user).get(reverse("client_detail", args=[fam.client_a.pk])).content.decode()
            assert 'id="family-h"' in page and "William King" in page and "Link a family member" in page
            assert reverse("family_unlink", args=[fam.husband.pk]) + f"?back={fam.client_a.pk}" in page
        listed = AuditEvent.objects.filter(action="list", object_type="clients.client").latest("id")
        assert fam.husband.pk in listed.detail["ids"]

    def test_the_client_page_costs_the_same_queries_for_one_or_six_family_members(self, fam, as_user, django_assert_max_num_queries):
        family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        http = as_user(fam.bob)
        url = reverse("client_detail", args=[fam.client_a.pk])
        with django_assert_max_num_queries(40) as few:
            http.get(url)
        for i in range(5):
            family_link(client=fam.client_a, member=make_client(fam.clinic_a, first_name=f"Kin{i}"), membership=desk(fam))
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert "Kin4" in http.get(url).content.decode()

    def test_a_client_without_family_is_offered_the_search(self, fam, as_user):
        page = as_user(fam.bob).get(reverse("client_detail", args=[fam.client_a.pk])).content.decode()
        assert "No family members linked" in page and reverse("family_find", args=[fam.client_a.pk]) in page

    def test_the_search_finds_clients_of_the_clinic_only_and_not_the_client_themself(self, fam, as_user):
        make_client(fam.clinic_b, first_name="Wilma", last_name="King")
        http = as_user(fam.bob)
        url = reverse("family_find", args=[fam.client_a.pk])
        page = http.get(url, {"q": "king"}).content.decode()
        assert "King, William" in page and "King, Anne" in page and "Wilma" not in page
        partial = http.get(url, {"q": "lovelace"}, HTTP_HX_REQUEST="true").content.decode()
        assert "No other client matches" in partial and "<html" not in partial
        assert "Type at least 2" in http.get(url, {"q": "k"}, HTTP_HX_REQUEST="true").content.decode()

    def test_the_search_marks_who_is_already_family_or_in_another_family(self, fam, as_user):
        family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        family_link(client=fam.daughter, member=make_client(fam.clinic_a, first_name="Byron", last_name="King"), membership=desk(fam))
        page = as_user(fam.bob).get(reverse("family_find", args=[fam.client_a.pk]), {"q": "king"}).content.decode()
        assert "Already family" in page and "In another family" in page

    def test_the_desk_links_a_family_member_from_the_page(self, fam, as_user):
        r = as_user(fam.bob).post(reverse("family_link", args=[fam.client_a.pk]), {"member": fam.husband.pk}, follow=True)
        assert r.status_code == 200 and "William King is now linked to Ada Lovelace as family." in r.content.decode()
        assert same_family(fam.client_a, fam.husband)

    def test_a_refused_link_comes_back_with_the_reason(self, fam, as_user):
        family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        r = as_user(fam.bob).post(reverse("family_link", args=[fam.client_a.pk]), {"member": fam.husband.pk}, follow=True)
        assert "already in Ada Lovelace&#x27;s family" in r.content.decode()

    @pytest.mark.parametrize("member", ["", "abc", "-1", "99999999999999999999"])
    def test_a_bad_member_id_is_a_clear_message_not_an_error(self, fam, as_user, member):
        r = as_user(fam.bob).post(reverse("family_link", args=[fam.client_a.pk]), {"member": member}, follow=True)
        assert r.status_code == 200 and "Choose the client to link as family." in r.content.decode()
        assert not Household.objects.exists()

    def test_another_clinics_client_is_a_404_whichever_id_names_it(self, fam, as_user):
        bob, charlie = as_user(fam.bob), None
        assert bob.post(reverse("family_link", args=[fam.client_a.pk]), {"member": fam.client_b.pk}).status_code == 404
        assert bob.get(reverse("family_find", args=[fam.client_b.pk])).status_code == 404
        family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        charlie = as_user(fam.charlie)
        assert charlie.get(reverse("family_find", args=[fam.client_a.pk]), {"q": "king"}).status_code == 404
        assert charlie.post(reverse("family_link", args=[fam.client_a.pk]), {"member": fam.daughter.pk}).status_code == 404
        unlink = reverse("family_unlink", args=[fam.husband.pk])
        assert charlie.get(unlink).status_code == 404 and charlie.post(unlink, {"back": fam.client_a.pk}).status_code == 404
        assert same_family(fam.client_a, fam.husband) and not same_family(fam.client_a, fam.daughter)

    def test_a_client_cannot_link_themselves_from_the_portal(self, fam, as_user):
        login = make_user("ada@mail.example", mfa=False)
        Client.objects.filter(pk=fam.client_a.pk).update(portal_user=login)
        http = as_user(login)
        page = http.get(reverse("client_detail", args=[fam.client_a.pk])).content.decode()
        assert "Link a family member" not in page
        assert http.post(reverse("family_link", args=[fam.client_a.pk]), {"member": fam.husband.pk}).status_code == 403
        assert http.get(reverse("family_find", args=[fam.client_a.pk]), {"q": "king"}).status_code == 403
        assert not Household.objects.exists()

    def test_unlinking_asks_first_then_unlinks(self, fam, as_user):
        family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        family_link(client=fam.client_a, member=fam.daughter, membership=desk(fam))
        http = as_user(fam.alice)
        url = reverse("family_unlink", args=[fam.daughter.pk])
        page = http.get(url, {"back": fam.client_a.pk}).content.decode()
        assert "Unlink Anne King from this family?" in page and "Family: Ada Lovelace, William King" in page
        assert "Keep them linked" in page and reverse("client_detail", args=[fam.client_a.pk]) + "#family" in page
        refresh(fam.daughter)
        assert fam.daughter.household_id is not None  # asking changed nothing
        r = http.post(url, {"back": fam.client_a.pk})
        assert r.status_code == 302 and r["Location"] == reverse("client_detail", args=[fam.client_a.pk]) + "#family"
        assert "Anne King is no longer linked to this family." in http.get(r["Location"]).content.decode()
        refresh(fam.daughter)
        assert fam.daughter.household_id is None
        assert "Anne King is not linked to a family" in http.get(url).content.decode()
        r = http.post(url, {"back": fam.client_b.pk}, follow=True)  # another clinic's page is not a place to go back to
        assert r.redirect_chain[-1][0] == reverse("client_detail", args=[fam.daughter.pk]) + "#family"
        assert "Anne King is not linked to a family." in r.content.decode()

    def test_unlinking_the_last_other_member_says_the_family_ends(self, fam, as_user):
        family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))
        http = as_user(fam.bob)
        url = reverse("family_unlink", args=[fam.husband.pk])
        assert "the family ends" in http.get(url).content.decode()
        r = http.post(url, {"back": "nonsense"}, follow=True)
        assert "Ada Lovelace had no one else left in it and was unlinked too." in r.content.decode()
        assert not Household.objects.exists()


@pytest.mark.django_db(transaction=True)
class FamilyRaceTests:
    def test_four_desks_linking_four_relatives_to_one_client_at_once_make_one_family(self, fam):
        from tests.bookings.test_concurrency import _race

        relatives = [make_client(fam.clinic_a, first_name=f"Relative{i}", last_name="King") for i in range(4)]

        def link(i: int) -> str:
            try:
                family_link(client=fam.client_a, member=relatives[i], membership=desk(fam))
            except FamilyError as exc:
                return exc.message
            return "linked"

        assert _race(link, len(relatives)) == ["linked"] * 4
        refresh(fam.client_a)
        assert Household.objects.count() == 1 and len(family_of(fam.client_a)) == 4
        links = AuditEvent.objects.filter(action="update", object_type="clients.client", detail__event="family_link")
        assert links.count() == 5  # Ada once, when the family began, and each relative once

    def test_unlinking_while_another_desk_links_leaves_a_consistent_family(self, fam):
        from tests.bookings.test_concurrency import _race

        family_link(client=fam.client_a, member=fam.husband, membership=desk(fam))

        def change(i: int) -> str:
            try:
                if i == 0:
                    family_unlink(member=fam.husband, membership=desk(fam))
                else:
                    family_link(client=fam.husband, member=fam.daughter, membership=desk(fam))
            except FamilyError as exc:
                return exc.message
            return "done"

        assert _race(change, 2) == ["done", "done"]
        refresh(fam.client_a, fam.husband, fam.daughter)
        together = {frozenset(c.first_name for c in h.members.all()) for h in Household.objects.all()}
        # Whichever went first, the result is what doing them one after the other gives.
        assert together in ({frozenset({"Ada", "Anne"})}, {frozenset({"William", "Anne"})})
