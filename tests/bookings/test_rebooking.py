"""The client's portal home: "Book again" with their last therapist and service, "Book", and an
empty state before any visit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from knotwork.accounts.models import Membership
from knotwork.audit.models import AuditEvent
from knotwork.bookings.models import AppointmentStatus, Availability, Service
from knotwork.bookings.selectors import Rebooking, rebooking_for
from knotwork.clients.models import Client
from knotwork.lib.testing import make_client, make_user
from tests.bookings.test_returning import past_visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(booking):
    booking.ada_login = make_user("ada@mail.example", mfa=False)
    Client.objects.filter(pk=booking.client_a.pk).update(portal_user=booking.ada_login)
    booking.client_a.refresh_from_db()
    return booking


def _home(as_user, world) -> str:
    response = as_user(world.ada_login).get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


class BookAgainTests:
    def test_the_home_offers_book_again_with_the_last_therapist_and_service(self, as_user, ada):
        past_visit(ada, ada.client_a, service=ada.consult, days_ago=60)
        past_visit(ada, ada.client_a, service=ada.session60, days_ago=10)
        page = _home(as_user, ada)
        again = reverse("book_slots", args=[ada.clinic_a.slug, ada.alice.pk, ada.session60.pk])
        assert f'href="{again}">Book again' in page
        assert "Your last visit: <strong>NMT session</strong> with Alice" in page
        assert f'href="{reverse("book_clinic", args=[ada.clinic_a.slug])}">Book' in page
        assert AuditEvent.objects.filter(action="view", object_type="bookings.appointment", role="client").exists()

    def test_a_client_with_no_past_visit_sees_an_empty_state_and_a_book_button(self, as_user, ada):
        past_visit(ada, ada.client_a, status=AppointmentStatus.CANCELLED)
        page = _home(as_user, ada)
        assert "No visits yet." in page and "Book again" not in page
        assert f'href="{reverse("book_clinic", args=[ada.clinic_a.slug])}">Book' in page

    def test_book_again_is_not_offered_when_that_service_or_therapist_cannot_be_booked_online(self, as_user, ada):
        visit = past_visit(ada, ada.client_a, service=ada.session60)
        Service.objects.filter(pk=ada.session60.pk).update(online_booking=Service.OnlineBooking.STAFF)
        page = _home(as_user, ada)
        assert "Book again" not in page and "cannot be booked online at the moment" in page
        Service.objects.filter(pk=ada.session60.pk).update(online_booking=Service.OnlineBooking.ANYONE)
        Membership.objects.filter(user=ada.alice).update(is_active=False)  # alice has left the clinic
        assert rebooking_for([ada.client_a])[ada.client_a.pk].book_again is None
        Membership.objects.filter(user=ada.alice).update(is_active=True)
        Availability.objects.filter(therapist=ada.alice).delete()  # no hours: not bookable online
        assert rebooking_for([ada.client_a])[ada.client_a.pk] == Rebooking(last=visit, book_again=None)

    def test_each_clinic_record_has_its_own_last_visit_in_constant_queries(self, as_user, ada, django_assert_max_num_queries):
        elsewhere = make_client(ada.clinic_b, first_name="Ada", last_name="Lovelace", portal_user=ada.ada_login)
        charlie_service = Service.objects.create(clinic=ada.clinic_b, name="Clinic B session", duration_minutes=45)
        Availability.objects.create(clinic=ada.clinic_b, therapist=ada.charlie, weekday=0, start_time="09:00", end_time="12:00")
        past_visit(ada, ada.client_a, service=ada.session60)
        past_visit(ada, elsewhere, clinic=ada.clinic_b, therapist=ada.charlie, service=charlie_service)
        with django_assert_max_num_queries(6):
            found = rebooking_for([ada.client_a, elsewhere])
        assert found[ada.client_a.pk].book_again == (ada.alice.pk, ada.session60.pk)
        assert found[elsewhere.pk].book_again == (ada.charlie.pk, charlie_service.pk)
        page = _home(as_user, ada)
        assert reverse("book_slots", args=[ada.clinic_b.slug, ada.charlie.pk, charlie_service.pk]) in page

    def test_the_home_shows_nobody_elses_visits(self, as_user, ada):
        past_visit(ada, make_client(ada.clinic_a, first_name="Other", last_name="Person"), service=ada.session60)
        assert "No visits yet." in _home(as_user, ada)


def test_the_intake_reminder_does_not_speak_of_a_first_visit_to_a_returning_client(as_user, ada):
    assert "before your first visit" in _home(as_user, ada)
    past_visit(ada, ada.client_a, service=ada.session60, days_ago=10)
    page = _home(as_user, ada)
    assert "before your first visit" not in page and "Please complete your intake form" in page
