"""The desk's "new appointment" page: client search as you type, the outside-hours override, and
the nearest free times offered as choices when a time is taken."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.urls import reverse

from knotwork.audit.models import AuditEvent
from knotwork.bookings.models import Appointment
from knotwork.clients.models import Client
from knotwork.lib.testing import make_client
from tests.bookings.conftest import local

pytestmark = pytest.mark.django_db

SEARCH = reverse("booking_client_search")
NEW = reverse("appointment_new")


def _form(world, **changes):
    data = {
        "client": world.client_a.pk,
        "therapist": world.alice.pk,
        "service": world.session60.pk,
        "day": world.monday.isoformat(),
        "at": "10:00",
    }
    return {**data, **changes}


def _names(response) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


class ClientSearchTests:
    def test_it_finds_clients_by_name_email_phone_and_date_of_birth(self, as_user, booking):
        Client.objects.filter(pk=booking.client_a.pk).update(
            email="ada@engine.example", phone="07700 900123", date_of_birth=date(1985, 12, 10)
        )
        make_client(booking.clinic_a, first_name="Grace", last_name="Hopper", phone="+1 (202) 555-0100", date_of_birth=date(1906, 12, 9))
        web = as_user(booking.bob)
        for query in ("lovel", "ADA LOVE", "engine.example", "900123", "07700900123", "1985-12-10", "10/12/1985", "12/10/1985"):
            assert _names(web.get(SEARCH, {"q": query})) == ["Ada Lovelace"], query
        assert _names(web.get(SEARCH, {"q": "2025550100"})) == ["Grace Hopper"]
        assert _names(web.get(SEARCH, {"q": "1906-12-09"})) == ["Grace Hopper"]
        row = web.get(SEARCH, {"q": "lovelace"}).json()["results"][0]
        assert row == {
            "id": booking.client_a.pk,
            "name": "Ada Lovelace",
            "preferred_name": "",
            "date_of_birth": "1985-12-10",
            "phone": "07700 900123",
            "email": "ada@engine.example",
        }
        assert "clinical" not in json.dumps(row) and "warfarin" not in json.dumps(row).lower()

    def test_it_returns_at_most_ten_says_there_are_more_and_is_audited_as_a_read(self, as_user, booking):
        for n in range(12):
            make_client(booking.clinic_a, first_name=f"Sam{n:02d}", last_name="Smith")
        web = as_user(booking.bob)
        body = web.get(SEARCH, {"q": "smith"}).json()
        assert len(body["results"]) == 10 and body["more"] is True
        event = AuditEvent.objects.filter(action="list", object_type="clients.client").latest("seq")
        assert event.detail["count"] == 10 and set(event.detail["ids"]) == {r["id"] for r in body["results"]}

    def test_a_short_or_empty_query_finds_nothing_and_reads_nothing(self, as_user, booking):
        web = as_user(booking.bob)
        before = AuditEvent.objects.filter(object_type="clients.client").count()
        for query in ("", "a", " ", "%"):
            assert web.get(SEARCH, {"q": query}).json()["results"] == [], query
        assert AuditEvent.objects.filter(object_type="clients.client").count() == before

    def test_charlie_finds_none_of_clinic_as_clients_and_anonymous_is_sent_to_sign_in(self, as_user, client, booking):
        assert client.get(SEARCH, {"q": "ada"}).status_code == 302
        web = as_user(booking.charlie)
        assert _names(web.get(SEARCH, {"q": "a"})) == []
        assert _names(web.get(SEARCH, {"q": "Lovelace"})) == []
        assert _names(web.get(SEARCH, {"q": "Pascal"})) == ["Blaise Pascal"]
        chosen = web.get(SEARCH, {"q": "Pascal", "client": booking.client_a.pk}, HTTP_HX_REQUEST="true")
        assert "Lovelace" not in chosen.content.decode()

    def test_erased_and_archived_clients_are_not_found(self, as_user, booking):
        from django.utils import timezone

        make_client(booking.clinic_a, first_name="Gone", last_name="Away", archived_at=timezone.now())
        make_client(booking.clinic_a, first_name="Erased", last_name="Away", restricted_at=timezone.now())
        assert _names(as_user(booking.bob).get(SEARCH, {"q": "away"})) == []

    def test_htmx_gets_radio_buttons_that_keep_the_chosen_client(self, as_user, booking):
        web = as_user(booking.bob)
        response = web.get(SEARCH, {"client_q": "ada", "client": booking.client_a.pk}, HTTP_HX_REQUEST="true")
        page = response.content.decode()
        assert response["Content-Type"].startswith("text/html")
        assert f'name="client" value="{booking.client_a.pk}"' in page and "checked" in page and 'for="client-' in page
        other = web.get(SEARCH, {"client_q": "nobody-like-this", "client": booking.client_a.pk}, HTTP_HX_REQUEST="true").content.decode()
        assert "No client matches" in other and f'value="{booking.client_a.pk}" id="client-{booking.client_a.pk}" checked' in other


class NewAppointmentPageTests:
    def test_the_page_lists_no_clients_until_the_desk_searches(self, as_user, booking):
        for n in range(5):
            make_client(booking.clinic_a, first_name=f"Person{n}", last_name="Example")
        web = as_user(booking.bob)
        page = web.get(NEW).content.decode()
        assert "Person0" not in page and "Lovelace" not in page and "<option" in page  # therapists and services only
        assert 'hx-get="' + SEARCH + '"' in page and 'form="client-find"' in page
        found = web.get(NEW, {"client_q": "person"}).content.decode()  # the same search without script
        assert found.count('name="client"') == 5
        chosen = web.get(NEW, {"client": booking.client_a.pk}).content.decode()
        assert f'value="{booking.client_a.pk}" id="client-{booking.client_a.pk}" checked' in chosen

    def test_a_client_must_be_chosen(self, as_user, booking):
        response = as_user(booking.bob).post(NEW, _form(booking, client=""))
        assert "Find the client and choose them." in response.content.decode()
        assert not Appointment.objects.exists()

    def test_a_time_outside_the_working_hours_is_refused_without_an_override(self, as_user, booking):
        web = as_user(booking.bob)
        response = web.post(NEW, _form(booking, at="19:00"))
        page = response.content.decode()
        assert response.status_code == 200 and "outside Alice&#x27;s working hours" in page
        assert "Nearest free times" in page and 'name="pick"' in page
        assert not Appointment.objects.exists()

        response = web.post(NEW, _form(booking, at="19:00", outside_hours="on"))
        assert "Say why this booking is outside the working hours." in response.content.decode()
        assert not Appointment.objects.exists()

    def test_the_override_with_a_reason_books_it_and_audits_the_reason(self, as_user, booking):
        response = as_user(booking.bob).post(
            NEW, _form(booking, at="19:00", outside_hours="on", outside_hours_reason="Only free after work")
        )
        appointment = Appointment.objects.get()
        assert response.status_code == 302 and appointment.starts_at == local(booking, booking.monday, 19)
        event = AuditEvent.objects.get(action="create", object_type="bookings.appointment", object_id=str(appointment.pk))
        assert event.detail["outside_hours"] is True and event.detail["reason"] == "Only free after work"
        assert event.actor == booking.bob

    def test_a_reason_inside_the_hours_is_not_recorded_as_an_override(self, as_user, booking):
        as_user(booking.bob).post(NEW, _form(booking, outside_hours="on", outside_hours_reason="Just in case"))
        event = AuditEvent.objects.get(action="create", object_type="bookings.appointment")
        assert "outside_hours" not in event.detail

    def test_a_taken_time_shows_the_nearest_free_times_and_choosing_one_books_it(self, as_user, booking):
        web = as_user(booking.bob)
        assert web.post(NEW, _form(booking)).status_code == 302
        refused = web.post(NEW, _form(booking, at="10:30"))
        page = refused.content.decode()
        assert "just taken" in page and "Nearest free times" in page
        picks = refused.context["nearest_days"]
        offered = [s for _, slots in picks for s in slots]
        assert offered, "the refusal must offer free times"
        # Same slot engine as online booking: 60 min + 15 min buffer after 10:00–11:00 frees 11:15.
        assert local(booking, booking.monday, 11, 15).isoformat() in [s["iso"] for s in offered]
        assert local(booking, booking.monday, 10, 30).isoformat() not in [s["iso"] for s in offered]
        assert f'name="pick" value="{offered[0]["iso"]}"' in page

        choose = web.post(NEW, {**_form(booking, at="10:30"), "pick": local(booking, booking.monday, 11, 15).isoformat()})
        assert choose.status_code == 302
        assert sorted(a.starts_at for a in Appointment.objects.all()) == [
            local(booking, booking.monday, 10),
            local(booking, booking.monday, 11, 15),
        ]

    def test_charlie_cannot_book_or_pick_for_a_client_of_clinic_a(self, as_user, booking):
        web = as_user(booking.charlie)
        response = web.post(NEW, {**_form(booking), "pick": local(booking, booking.monday, 11).isoformat()})
        assert response.status_code == 200 and "Find the client and choose them." in response.content.decode()
        assert "Lovelace" not in web.get(NEW, {"client": booking.client_a.pk}).content.decode()
        assert not Appointment.objects.exists()


class StaffApiOutsideHoursTests:
    def test_the_api_refuses_staff_outside_the_hours_unless_a_reason_is_given(self, as_user, booking):
        web = as_user(booking.bob)
        body = {
            "therapist": booking.alice.pk,
            "service": booking.session60.pk,
            "start": local(booking, booking.monday, 19).isoformat(),
            "client": booking.client_a.pk,
        }
        refused = web.post("/api/bookings", body, content_type="application/json")
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "outside_hours"
        booked = web.post("/api/bookings", {**body, "outside_hours_reason": "Evening clinic"}, content_type="application/json")
        assert booked.status_code == 201
        event = AuditEvent.objects.get(action="create", object_type="bookings.appointment")
        assert event.detail["reason"] == "Evening clinic"
