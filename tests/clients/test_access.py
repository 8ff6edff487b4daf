"""Who reaches client records: own clinic yes, another clinic 404, front desk never the clinical part."""

from __future__ import annotations

import pytest
from django.urls import reverse

from knotwork.audit.models import AuditEvent
from knotwork.clients.models import Client

pytestmark = pytest.mark.django_db


class ClientPageAccessTests:
    def test_a_therapist_sees_a_client_of_her_clinic_with_clinical_alerts(self, world, as_user):
        response = as_user(world.alice).get(reverse("client_detail", args=[world.client_a.pk]))
        assert response.status_code == 200
        assert b"On warfarin" in response.content

    @pytest.mark.parametrize("name", ["client_detail", "client_edit", "client_invite"])
    def test_charlie_gets_404_for_every_client_page_of_another_clinic(self, world, as_user, name):
        response = as_user(world.charlie).get(reverse(name, args=[world.client_a.pk]))
        assert response.status_code == 404

    def test_charlie_cannot_change_another_clinics_client_by_post(self, world, as_user):
        response = as_user(world.charlie).post(
            reverse("client_edit", args=[world.client_a.pk]), {"first_name": "Hacked", "last_name": "X", "sex": "other"}
        )
        assert response.status_code == 404
        world.client_a.refresh_from_db()
        assert world.client_a.first_name == "Ada"

    def test_front_desk_sees_contact_details_but_not_clinical_alerts(self, world, as_user):
        response = as_user(world.bob).get(reverse("client_detail", args=[world.client_a.pk]))
        assert response.status_code == 200
        assert b"Lovelace" in response.content
        assert b"On warfarin" not in response.content

    def test_front_desk_edit_form_has_no_clinical_field_and_posting_one_changes_nothing(self, world, as_user):
        c = as_user(world.bob)
        assert b"clinical_alerts" not in c.get(reverse("client_edit", args=[world.client_a.pk])).content
        c.post(
            reverse("client_edit", args=[world.client_a.pk]),
            {"first_name": "Ada", "last_name": "King", "sex": "female", "clinical_alerts": "none"},
        )
        world.client_a.refresh_from_db()
        assert world.client_a.last_name == "King"
        assert world.client_a.clinical_alerts == "On warfarin"

    def test_the_client_list_shows_only_the_clinics_own_clients(self, world, as_user):
        response = as_user(world.charlie).get(reverse("client_index"))
        assert b"Pascal" in response.content
        assert b"Lovelace" not in response.content

    def test_client_search_finds_by_name_and_reports_no_match_clearly(self, world, as_user):
        c = as_user(world.alice)
        assert b"Lovelace" in c.get(reverse("client_index"), {"q": "lovel"}).content
        assert "No client matches" in c.get(reverse("client_index"), {"q": "zzz"}).content.decode()

    def test_a_portal_client_sees_only_their_own_record(self, world, client):
        from knotwork.lib.testing import make_user

        portal = make_user("ada@mail.example", mfa=False)
        Client.objects.filter(pk=world.client_a.pk).update(portal_user=portal)
        client.force_login(portal)
        assert client.get(reverse("client_detail", args=[world.client_a.pk])).status_code == 200
        assert client.get(reverse("client_detail", args=[world.client_b.pk])).status_code == 404
        assert client.get(reverse("client_edit", args=[world.client_a.pk])).status_code == 403

    def test_adding_a_client_with_missing_names_keeps_what_was_typed_and_names_the_fields(self, world, as_user):
        response = as_user(world.alice).post(
            reverse("client_new"), {"first_name": "", "last_name": "", "phone": "0117 123", "sex": "female"}
        )
        assert response.status_code == 200
        body = response.content.decode()
        assert "Please correct 2 problems" in body
        assert 'value="0117 123"' in body
        assert not Client.objects.filter(phone="0117 123").exists()


class ClientAuditTests:
    def test_viewing_a_client_writes_an_audit_row_with_actor_ip_and_request_id(self, world, as_user):
        as_user(world.alice).get(reverse("client_detail", args=[world.client_a.pk]), REMOTE_ADDR="203.0.113.9")
        event = AuditEvent.objects.filter(object_type="clients.client", object_id=str(world.client_a.pk)).latest("id")
        assert (event.actor, event.action, event.role, event.ip) == (world.alice, "view", "therapist", "203.0.113.9")
        assert len(event.request_id) >= 8
        assert event.clinic == world.clinic_a

    def test_changing_a_client_audits_the_field_names_but_never_their_values(self, world, as_user):
        as_user(world.alice).post(
            reverse("client_edit", args=[world.client_a.pk]),
            {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "sex": "female",
                "email": world.client_a.email,
                "reminders_by_email": "on",  # as the form shows it, ticked: unchanged
                "clinical_alerts": "Secret canary",
            },
        )
        event = AuditEvent.objects.filter(action="update").latest("id")
        assert event.detail == {"fields": ["clinical_alerts", "sex"]}
        assert "canary" not in str(event.content())

    def test_the_client_list_audits_which_clients_were_shown(self, world, as_user):
        as_user(world.alice).get(reverse("client_index"))
        event = AuditEvent.objects.filter(action="list").latest("id")
        assert event.detail["ids"] == [world.client_a.pk]
