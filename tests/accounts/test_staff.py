"""Staff invitations, removal and the clinic switcher, including charlie's attempts on clinic A."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from knotwork.accounts.models import Invitation, Membership
from knotwork.accounts.services import invitation_create
from knotwork.clients.models import Client
from knotwork.lib.testing import make_user

pytestmark = pytest.mark.django_db


def _token_from_mail() -> str:
    body = mail.outbox[-1].body
    return body.split("/invite/")[1].split("/")[0]


class StaffInvitationTests:
    def test_the_owner_invites_a_therapist_who_accepts_and_joins(self, world, as_user, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = as_user(world.olivia).post(reverse("staff"), {"email": "new@a.example", "role": "therapist"})
        assert response.status_code == 302
        token = _token_from_mail()
        assert not Invitation.objects.filter(token_hash=token).exists()  # only the hash is stored
        newcomer = make_user("new@a.example")
        c = as_user(newcomer)
        assert b"Join Clinic A" in c.get(reverse("invitation_accept", args=[token])).content
        c.post(reverse("invitation_accept", args=[token]))
        assert Membership.objects.get(user=newcomer).role == "therapist"
        assert c.post(reverse("invitation_accept", args=[token])).status_code == 404  # used once

    def test_an_invitation_cannot_be_accepted_by_another_address_or_after_expiry(self, world, as_user):
        issued = invitation_create(clinic=world.clinic_a, email="x@a.example", invited_by=world.olivia, role="front_desk")
        token = issued.url.split("/invite/")[1].strip("/")
        c = as_user(make_user("y@a.example"))
        c.post(reverse("invitation_accept", args=[token]))
        assert not Membership.objects.filter(user__email="y@a.example").exists()
        Invitation.objects.filter(pk=issued.invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        assert c.get(reverse("invitation_accept", args=[token])).status_code == 404

    def test_a_client_invitation_links_the_portal_login_to_the_record(self, world, as_user):
        issued = invitation_create(clinic=world.clinic_a, email="ada@mail.example", invited_by=world.alice, client=world.client_a)
        portal = make_user("ada@mail.example", mfa=False)
        as_user(portal).post(issued.url.replace("http://127.0.0.1:8000", ""))
        assert Client.objects.get(pk=world.client_a.pk).portal_user == portal
        assert not Membership.objects.filter(user=portal).exists()

    def test_inviting_an_existing_member_or_a_bad_address_is_a_clear_error(self, world, as_user):
        c = as_user(world.olivia)
        assert b"already a member" in c.post(reverse("staff"), {"email": "alice@a.example", "role": "therapist"}).content
        assert b"Enter a valid email" in c.post(reverse("staff"), {"email": "nope", "role": "therapist"}).content

    @pytest.mark.parametrize("persona", ["alice", "bob", "charlie"])
    def test_only_the_owner_manages_staff(self, world, as_user, persona):
        assert as_user(getattr(world, persona)).get(reverse("staff")).status_code == 403


class StaffRemovalTests:
    def test_the_owner_removes_a_member_who_loses_access_at_once(self, world, as_user):
        membership = Membership.objects.get(user=world.bob)
        as_user(world.olivia).post(reverse("staff_remove", args=[membership.pk]))
        assert as_user(world.bob).get(reverse("client_detail", args=[world.client_a.pk])).status_code == 404

    def test_the_last_owner_cannot_be_removed_nor_remove_herself(self, world, as_user):
        membership = Membership.objects.get(user=world.olivia)
        as_user(world.olivia).post(reverse("staff_remove", args=[membership.pk]))
        assert Membership.objects.get(pk=membership.pk).is_active

    def test_charlie_cannot_remove_clinic_a_members_or_withdraw_its_invitations(self, world, as_user):
        Membership.objects.filter(user=world.charlie).update(role="owner")
        target = Membership.objects.get(user=world.alice)
        issued = invitation_create(clinic=world.clinic_a, email="z@a.example", invited_by=world.olivia, role="therapist")
        c = as_user(world.charlie)
        assert c.post(reverse("staff_remove", args=[target.pk])).status_code == 404
        assert c.post(reverse("invitation_revoke", args=[issued.invitation.pk])).status_code == 404
        assert Membership.objects.get(pk=target.pk).is_active
        assert Invitation.objects.get(pk=issued.invitation.pk).revoked_at is None


class ClinicSwitchTests:
    def test_a_member_of_two_clinics_switches_and_sees_the_other_clinics_clients(self, world, as_user):
        Membership.objects.create(user=world.alice, clinic=world.clinic_b, role="therapist")
        c = as_user(world.alice)
        assert b"Lovelace" in c.get(reverse("client_index")).content
        c.post(reverse("switch_clinic"), {"clinic": world.clinic_b.pk})
        body = c.get(reverse("client_index")).content
        assert b"Pascal" in body and b"Lovelace" not in body

    def test_switching_to_a_clinic_you_do_not_belong_to_is_404(self, world, as_user):
        c = as_user(world.charlie)
        assert c.post(reverse("switch_clinic"), {"clinic": world.clinic_a.pk}).status_code == 404
        assert c.post(reverse("switch_clinic"), {"clinic": "x"}).status_code == 404
