"""Returning clients book "existing clients only" services online; everyone else is told why not."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from knotwork.bookings import services
from knotwork.bookings.models import Appointment, AppointmentStatus, Service
from knotwork.bookings.selectors import is_returning_client
from knotwork.bookings.services import Actor, BookingError, ExistingClientsOnly
from knotwork.clients.models import Client
from knotwork.lib.testing import make_client, make_user
from tests.bookings.conftest import local

pytestmark = pytest.mark.django_db


def past_visit(world, client, *, status=AppointmentStatus.COMPLETED, days_ago=14, clinic=None, therapist=None, service=None):
    """A visit in the past, written as the clinic's records hold it (no service books the past)."""
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(days=days_ago)
    service = service or world.consult
    return Appointment.objects.create(
        clinic=clinic or world.clinic_a,
        therapist=therapist or world.alice,
        client=client,
        service=service,
        starts_at=start,
        ends_at=start + service.duration,
        block_start=start,
        block_end=start + service.duration,
        status=status,
    )


@pytest.fixture
def follow_up(booking):
    booking.follow_up = Service.objects.create(
        clinic=booking.clinic_a,
        name="Follow-up, 90 minutes",
        kind=Service.Kind.FOLLOW_UP,
        duration_minutes=90,
        price=Decimal("90.00"),
        online_booking=Service.OnlineBooking.EXISTING,
    )
    booking.ada_login = make_user("ada@mail.example", mfa=False)
    Client.objects.filter(pk=booking.client_a.pk).update(portal_user=booking.ada_login)
    booking.client_a.refresh_from_db()
    return booking


def _slots_url(world):
    return reverse("book_slots", args=[world.clinic_a.slug, world.alice.pk, world.follow_up.pk])


def _hold(http, world, hour=10):
    url = reverse("book_hold", args=[world.clinic_a.slug, world.alice.pk, world.follow_up.pk])
    return http.post(url, {"start": local(world, world.monday, hour).isoformat()})


class ReturningClientTests:
    def test_a_returning_client_books_an_existing_clients_only_service_online(self, as_user, follow_up):
        past_visit(follow_up, follow_up.client_a)
        web = as_user(follow_up.ada_login)
        page = web.get(_slots_url(follow_up) + f"?week={follow_up.monday}")
        assert page.status_code == 200 and 'class="btn slot"' in page.content.decode()

        held = _hold(web, follow_up)
        assert held.status_code == 302 and held["Location"] == reverse("book_confirm")
        assert "Booking as" in web.get(reverse("book_confirm")).content.decode()
        done = web.post(reverse("book_confirm"))
        appointment = Appointment.objects.get(service=follow_up.follow_up)
        assert done.status_code == 302 and done["Location"] == reverse("appointment_detail", args=[appointment.pk])
        assert appointment.status == AppointmentStatus.CONFIRMED and appointment.client == follow_up.client_a

    def test_the_same_client_is_refused_before_their_first_visit(self, as_user, follow_up):
        web = as_user(follow_up.ada_login)
        page = web.get(_slots_url(follow_up)).content.decode()
        assert "no past visit of yours here yet" in page and 'class="btn slot"' not in page
        response = _hold(web, follow_up)
        assert response.status_code == 302
        message = web.get(response["Location"]).content.decode()
        assert "clients who have visited Clinic A before" in message and "book a consultation first" in message
        assert not Appointment.objects.filter(service=follow_up.follow_up).exists()

    def test_an_anonymous_visitor_is_told_to_sign_in_if_they_are_a_returning_client(self, client, follow_up):
        page = client.get(_slots_url(follow_up)).content.decode()
        assert "For returning clients" in page and 'class="btn slot"' not in page
        assert reverse("account_login") + "?next=" in page  # and comes back to this page afterwards
        response = _hold(client, follow_up)
        follow = client.get(response["Location"]).content.decode()
        assert "If you have, please sign in" in follow
        assert not Appointment.objects.exists()

    def test_what_counts_as_a_past_visit(self, follow_up):
        ada = follow_up.client_a
        assert not is_returning_client(ada)
        for status in (AppointmentStatus.CANCELLED, AppointmentStatus.LATE_CANCELLED, AppointmentStatus.EXPIRED):
            past_visit(follow_up, ada, status=status)
        assert not is_returning_client(ada)
        upcoming = services.appointment_book(
            clinic=follow_up.clinic_a,
            therapist=follow_up.alice,
            service=follow_up.consult,
            start=local(follow_up, follow_up.monday, 9),
            client=ada,
            actor=Actor(user=follow_up.alice, membership=follow_up.alice.memberships.get()),
        )
        assert upcoming.status == AppointmentStatus.CONFIRMED
        assert not is_returning_client(ada), "a first visit that has not happened yet does not make a returning client"
        past_visit(follow_up, ada, status=AppointmentStatus.CONFIRMED, days_ago=1)  # attended, outcome not recorded yet
        assert is_returning_client(ada)

    def test_a_visit_at_another_clinic_does_not_count(self, as_user, follow_up):
        elsewhere = make_client(follow_up.clinic_b, first_name="Ada", last_name="Lovelace", portal_user=follow_up.ada_login)
        past_visit(follow_up, elsewhere, clinic=follow_up.clinic_b, therapist=follow_up.charlie)
        start = local(follow_up, follow_up.monday, 10)
        hold = {"clinic": follow_up.clinic_a, "therapist": follow_up.alice, "service": follow_up.follow_up, "start": start}
        with pytest.raises(ExistingClientsOnly):
            services.hold_create(**hold, actor=Actor(user=follow_up.ada_login), client=follow_up.client_a)
        with pytest.raises(BookingError, match="not a client of this clinic"):
            services.hold_create(**hold, actor=Actor(user=follow_up.ada_login), client=elsewhere)
        assert _hold(as_user(follow_up.ada_login), follow_up).status_code == 302
        assert not Appointment.objects.filter(service=follow_up.follow_up).exists()

    def test_a_returning_client_holds_and_books_through_the_api(self, as_user, follow_up):
        past_visit(follow_up, follow_up.client_a)
        web = as_user(follow_up.ada_login)
        body = {
            "therapist": follow_up.alice.pk,
            "service": follow_up.follow_up.pk,
            "start": local(follow_up, follow_up.monday, 11).isoformat(),
        }
        hold = web.post("/api/bookings/holds", body, content_type="application/json")
        assert hold.status_code == 201, hold.content
        done = web.post("/api/bookings", {"hold": hold.json()["id"], "hold_token": hold.json()["token"]}, content_type="application/json")
        assert done.status_code == 201 and done.json()["client"] == follow_up.client_a.pk

    def test_the_api_refuses_a_new_client_with_a_clear_code(self, as_user, follow_up):
        web = as_user(make_user("newcomer@mail.example", mfa=False))
        body = {
            "therapist": follow_up.alice.pk,
            "service": follow_up.follow_up.pk,
            "start": local(follow_up, follow_up.monday, 11).isoformat(),
        }
        response = web.post("/api/bookings/holds", body, content_type="application/json")
        assert response.status_code == 422 and response.json()["error"]["code"] == "existing_clients_only"

    def test_a_returning_client_moves_their_own_follow_up(self, as_user, follow_up):
        past_visit(follow_up, follow_up.client_a)
        ada = Actor(user=follow_up.ada_login)
        hold, token = services.hold_create(
            clinic=follow_up.clinic_a,
            therapist=follow_up.alice,
            service=follow_up.follow_up,
            start=local(follow_up, follow_up.monday, 10),
            actor=ada,
            client=follow_up.client_a,
        )
        booked = services.hold_confirm(hold=hold, token=token, client=follow_up.client_a, actor=ada)
        moved = services.appointment_reschedule(appointment=booked, start=local(follow_up, follow_up.monday, 14), actor=ada)
        assert moved.starts_at == local(follow_up, follow_up.monday, 14)

    def test_charlie_cannot_use_clinic_as_booking_pages_to_see_its_clients(self, as_user, follow_up):
        past_visit(follow_up, follow_up.client_a)
        page = as_user(follow_up.charlie).get(_slots_url(follow_up)).content.decode()
        assert "Ada" not in page and "no past visit of yours here yet" in page

    def test_moving_is_not_held_to_the_limit_on_upcoming_bookings(self, follow_up):
        from knotwork.bookings.models import BookingPolicy

        BookingPolicy.objects.filter(clinic=follow_up.clinic_a).update(max_pending_per_client=1)
        staff = Actor(user=follow_up.alice, membership=follow_up.alice.memberships.get())
        booked = services.appointment_book(
            clinic=follow_up.clinic_a,
            therapist=follow_up.alice,
            service=follow_up.consult,
            start=local(follow_up, follow_up.monday, 9),
            client=follow_up.client_a,
            actor=staff,
        )
        ada = Actor(user=follow_up.ada_login)
        moved = services.appointment_reschedule(appointment=booked, start=local(follow_up, follow_up.monday, 11), actor=ada)
        assert moved.starts_at == local(follow_up, follow_up.monday, 11)
