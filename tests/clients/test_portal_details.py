"""A client keeps their own contact details, reminder choices and emergency contact up to date."""

from __future__ import annotations

import pytest
from django.urls import reverse

from knotwork.audit.models import AuditEvent
from knotwork.clients.models import Client
from knotwork.lib.testing import make_user

pytestmark = pytest.mark.django_db

GOOD = {
    "phone": "+44 7700 900123",
    "address": "1 Quay Street\r\nBristol\r\nBS1 4DJ",
    "emergency_contact_name": "Charles Babbage",
    "emergency_contact_phone": "0117 496 0000",
    "reminders_by_email": "on",
    "reminders_by_sms": "on",
}


@pytest.fixture
def ada(world):
    world.ada_login = make_user("ada@mail.example", mfa=False)
    Client.objects.filter(pk=world.client_a.pk).update(portal_user=world.ada_login)
    world.client_a.refresh_from_db()
    world.url = reverse("portal_details", args=[world.client_a.pk])
    return world


class OwnDetailsTests:
    def test_the_client_changes_their_details_and_the_change_is_audited_by_field_name(self, as_user, ada):
        web = as_user(ada.ada_login)
        page = web.get(ada.url)
        assert page.status_code == 200 and 'type="tel"' in page.content.decode()
        response = web.post(ada.url, GOOD)
        assert response.status_code == 302 and response["Location"] == reverse("home")
        ada.client_a.refresh_from_db()
        assert ada.client_a.phone == "+44 7700 900123"
        assert ada.client_a.address == "1 Quay Street, Bristol, BS1 4DJ"
        assert (ada.client_a.emergency_contact_name, ada.client_a.emergency_contact_phone) == ("Charles Babbage", "0117 496 0000")
        assert ada.client_a.reminders_by_email and ada.client_a.reminders_by_sms
        event = AuditEvent.objects.filter(action="update", object_type="clients.client").latest("seq")
        assert event.role == "client" and event.actor == ada.ada_login
        assert event.detail == {
            "fields": ["address", "emergency_contact_name", "emergency_contact_phone", "phone", "reminders_by_sms"],
            "via": "portal",
        }
        assert "Babbage" not in str(event.detail) and "7700" not in str(event.detail)

    def test_the_client_turns_reminders_off(self, as_user, ada):
        as_user(ada.ada_login).post(ada.url, {"phone": "", "address": ""})
        ada.client_a.refresh_from_db()
        assert not ada.client_a.reminders_by_email and not ada.client_a.reminders_by_sms

    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"phone": "call me maybe"}, "phone", "Enter a phone number"),
            ({"phone": "12345"}, "phone", "6 to 15 digits"),
            ({"phone": "1" * 16}, "phone", "6 to 15 digits"),
            ({"emergency_contact_phone": ""}, "emergency_contact_phone", "Add a phone number for your emergency contact."),
            ({"emergency_contact_name": ""}, "emergency_contact_name", "Add your emergency contact's name."),
            ({"phone": ""}, "reminders_by_sms", "Add a mobile number above to get text reminders."),
            ({"address": "x" * 251}, "address", "characters"),
            ({"phone": "0" * 41}, "phone", ""),
        ],
    )
    def test_invalid_details_are_shown_again_with_the_reason_and_nothing_changes(self, as_user, ada, change, field, message):
        before = Client.objects.filter(pk=ada.client_a.pk).values().get()
        response = as_user(ada.ada_login).post(ada.url, {**GOOD, **change})
        assert response.status_code == 400
        errors = response.context["form"].errors
        assert field in errors and message in " ".join(errors[field])
        assert f'id="id_{field}_error"' in response.content.decode() and 'aria-invalid="true"' in response.content.decode()
        assert Client.objects.filter(pk=ada.client_a.pk).values().get() == before

    def test_names_and_date_of_birth_cannot_be_changed_here(self, as_user, ada):
        as_user(ada.ada_login).post(ada.url, {**GOOD, "first_name": "Augusta", "date_of_birth": "1900-01-01", "clinical_alerts": ""})
        ada.client_a.refresh_from_db()
        assert ada.client_a.first_name == "Ada" and ada.client_a.date_of_birth is None
        assert ada.client_a.clinical_alerts == "On warfarin"

    def test_nobody_else_reaches_the_page_and_nothing_changes(self, as_user, client, ada):
        before = Client.objects.filter(pk=ada.client_a.pk).values().get()
        assert client.get(ada.url).status_code == 302  # anonymous: sign in first
        for user in (ada.charlie, ada.alice, ada.bob, make_user("stranger@mail.example", mfa=False)):
            web = as_user(user)
            assert web.get(ada.url).status_code == 404, user
            assert web.post(ada.url, GOOD).status_code == 404, user
        assert Client.objects.filter(pk=ada.client_a.pk).values().get() == before

    def test_staff_see_the_reminder_choices_and_the_portal_links_to_the_page(self, as_user, ada):
        as_user(ada.ada_login).post(ada.url, GOOD)
        assert ada.url in as_user(ada.ada_login).get(reverse("home")).content.decode()
        page = as_user(ada.bob).get(reverse("client_detail", args=[ada.client_a.pk])).content.decode()
        assert "E-mail and text message" in page


def test_the_portal_home_shows_the_clients_own_phone_and_labels_the_clinics(as_user, ada):
    Client.objects.filter(pk=ada.client_a.pk).update(phone="+44 7700 900555", email="ada@mail.example")
    ada.clinic_a.phone = "0117 000 1111"
    ada.clinic_a.save(update_fields=["phone"])
    html = as_user(ada.ada_login).get(reverse("home")).content.decode()
    assert "Your phone</dt><dd>+44 7700 900555" in html
    assert "Your e-mail</dt><dd>ada@mail.example" in html
    assert "The clinic</dt>" in html and "0117 000 1111" in html
