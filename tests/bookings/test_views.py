"""Booking pages: the public clinic page and slot picker, hold → sign in → confirm, the client's
appointment pages, the staff schedule and calendar feeds."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from knotwork.accounts.models import Clinic
from knotwork.audit.models import AuditEvent
from knotwork.bookings import services
from knotwork.bookings.models import Appointment, AppointmentStatus, CalendarFeed, Service
from knotwork.bookings.selectors import schedule as schedule_rows
from knotwork.bookings.services import Actor
from knotwork.clients.models import Client
from knotwork.lib.testing import make_user
from tests.bookings.conftest import local

pytestmark = pytest.mark.django_db


def _hold(client, world, hour=10):
    url = reverse("book_hold", args=[world.clinic_a.slug, world.alice.pk, world.consult.pk])
    return client.post(url, {"start": local(world, world.monday, hour).isoformat()})


def _booked(world, hour=10, client=None):
    return services.appointment_book(
        clinic=world.clinic_a,
        therapist=world.alice,
        service=world.consult,
        start=local(world, world.monday, hour),
        client=client or world.client_a,
        actor=Actor(user=world.alice, membership=world.alice.memberships.get()),
    )


class PublicBookingTests:
    def test_the_clinic_page_lists_bookable_therapists_and_public_services(self, client, booking):
        response = client.get(reverse("book_clinic", args=[booking.clinic_a.slug]))
        assert response.status_code == 200
        page = response.content.decode()
        assert "Free consultation" in page and "Staff only" not in page and "Alice" in page

    def test_the_slot_page_names_the_clinics_zone(self, client, booking):
        response = client.get(
            reverse("book_slots", args=[booking.clinic_a.slug, booking.alice.pk, booking.consult.pk]) + f"?week={booking.monday}"
        )
        assert response.status_code == 200
        assert "Europe/London" in response.content.decode() and 'data-utc="' in response.content.decode()

    def test_a_therapist_of_another_clinic_is_not_found_through_this_clinic(self, client, booking):
        assert client.get(reverse("book_slots", args=[booking.clinic_a.slug, booking.charlie.pk, booking.consult.pk])).status_code == 404

    def test_a_visitor_holds_a_time_signs_up_and_confirms_creating_their_record(self, client, booking, django_capture_on_commit_callbacks):
        response = _hold(client, booking)
        assert response.status_code == 302 and response["Location"] == reverse("book_confirm")
        page = client.get(reverse("book_confirm")).content.decode()
        assert "Create an account" in page and "next=%2Fbook%2Fconfirm%2F" in page
        hold = Appointment.objects.get()
        assert hold.status == AppointmentStatus.HELD and hold.client is None

        user = make_user("visitor@mail.example", mfa=False)
        client.force_login(user)  # the session (and the held time in it) survives signing in
        with django_capture_on_commit_callbacks(execute=True):
            done = client.post(reverse("book_confirm"), {"first_name": "Vera", "last_name": "Stone", "phone": "+44 7700 900123"})
        appointment = Appointment.objects.get()
        assert done.status_code == 302 and done["Location"] == reverse("appointment_detail", args=[appointment.pk])
        assert appointment.status == AppointmentStatus.CONFIRMED
        assert appointment.client == Client.objects.get(portal_user=user, clinic=booking.clinic_a, first_name="Vera")
        assert {m.to[0] for m in mail.outbox} == {"visitor@mail.example", "alice@a.example"}

    def test_a_missing_name_is_shown_again_with_what_was_typed(self, client, booking):
        _hold(client, booking)
        client.force_login(make_user("visitor@mail.example", mfa=False))
        response = client.post(reverse("book_confirm"), {"first_name": "Vera", "last_name": "", "phone": "0123"})
        assert response.status_code == 200 and 'value="Vera"' in response.content.decode() and 'value="0123"' in response.content.decode()
        assert Appointment.objects.get().status == AppointmentStatus.HELD

    def test_the_hold_expiry_is_shown_in_the_clinics_zone_and_names_it(self, client, booking):
        _hold(client, booking)
        Clinic.objects.filter(pk=booking.clinic_a.pk).update(time_zone="Asia/Tokyo")  # never UTC's wall clock
        expires = Appointment.objects.get().hold_expires_at.astimezone(ZoneInfo("Asia/Tokyo"))
        page = client.get(reverse("book_confirm")).content.decode()
        assert f"Held for you until {expires:%H:%M} (Asia/Tokyo)." in page and "UTC" not in page

    def test_a_taken_time_shows_the_nearest_free_ones(self, client, booking):
        _booked(booking, 10)
        response = _hold(client, booking)
        assert response.status_code == 302
        follow = client.get(response["Location"])
        assert "just taken" in follow.content.decode()

    def test_a_time_taken_while_held_lists_the_nearest_free_ones_naming_the_clinics_zone(self, client, booking):
        _hold(client, booking)
        Appointment.objects.update(hold_expires_at=timezone.now() - timedelta(minutes=1))
        _booked(booking, 10)
        client.force_login(make_user("visitor@mail.example", mfa=False))
        response = client.post(reverse("book_confirm"), {"first_name": "Vera", "last_name": "Stone", "phone": "0123"})
        page = response.content.decode()
        assert response.status_code == 409 and "The nearest free times" in page
        assert "Times in <strong>Europe/London</strong> time" in page


class AppointmentPageTests:
    def test_the_client_sees_when_it_was_cancelled_in_the_clinics_zone_named(self, as_user, booking):
        user = make_user("ada@mail.example", mfa=False)
        Client.objects.filter(pk=booking.client_a.pk).update(portal_user=user)
        appointment = _booked(booking)
        web = as_user(user)
        web.post(reverse("appointment_cancel", args=[appointment.pk]))
        Clinic.objects.filter(pk=booking.clinic_a.pk).update(time_zone="Asia/Tokyo")
        cancelled = Appointment.objects.get(pk=appointment.pk).cancelled_at.astimezone(ZoneInfo("Asia/Tokyo"))
        page = web.get(reverse("appointment_detail", args=[appointment.pk])).content.decode()
        assert f'<dt>Cancelled</dt><dd>{cancelled:%-d %b %Y, %H:%M} <span class="muted">(Asia/Tokyo)</span></dd>' in page
        assert "Asia/Tokyo" in web.get(reverse("my_appointments")).content.decode()  # under "Earlier" too

    def test_the_client_sees_their_appointment_downloads_its_ics_and_can_cancel(self, as_user, booking):
        user = make_user("ada@mail.example", mfa=False)
        Client.objects.filter(pk=booking.client_a.pk).update(portal_user=user)
        appointment = _booked(booking)
        web = as_user(user)
        assert web.get(reverse("appointment_detail", args=[appointment.pk])).status_code == 200
        ics = web.get(reverse("appointment_ics", args=[appointment.pk]))
        assert ics.status_code == 200 and ics["Content-Type"].startswith("text/calendar") and b"DTSTART" in ics.content
        assert b"warfarin" not in ics.content.lower()
        web.post(reverse("appointment_cancel", args=[appointment.pk]))
        assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CANCELLED
        assert web.get(reverse("my_appointments")).status_code == 200

    def test_another_clinic_and_other_people_get_404_and_nothing_changes(self, as_user, booking):
        appointment = _booked(booking)
        for user in (booking.charlie, make_user("stranger@mail.example", mfa=False)):
            web = as_user(user)
            for name in ("appointment_detail", "appointment_ics", "appointment_reschedule"):
                assert web.get(reverse(name, args=[appointment.pk])).status_code == 404
            assert web.post(reverse("appointment_cancel", args=[appointment.pk])).status_code == 404
            assert web.post(reverse("appointment_outcome", args=[appointment.pk]), {"status": "no_show"}).status_code == 404
        assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CONFIRMED

    def test_staff_move_an_appointment_to_any_free_time(self, as_user, booking):
        appointment = _booked(booking)
        web = as_user(booking.bob)
        response = web.post(reverse("appointment_reschedule", args=[appointment.pk]), {"day": booking.monday.isoformat(), "at": "18:30"})
        assert response.status_code == 302
        assert Appointment.objects.get(pk=appointment.pk).starts_at == local(booking, booking.monday, 18, 30)


class ImpossibleDateTests:
    """Dates typed into URLs and forms: a clear answer, never a 500."""

    BAD = ("2026-02-30", "2026-13-01", "2026-00-10", "9999-99-99")

    def test_the_public_slot_page_falls_back_to_this_week(self, client, booking):
        url = reverse("book_slots", args=[booking.clinic_a.slug, booking.alice.pk, booking.consult.pk])
        for bad in self.BAD:
            response = client.get(url + f"?week={bad}")
            assert response.status_code == 200, bad

    def test_the_staff_schedule_falls_back_to_today(self, as_user, booking):
        web = as_user(booking.bob)
        for bad in self.BAD:
            response = web.get(reverse("schedule") + f"?date={bad}")
            assert response.status_code == 200, bad

    def test_holding_an_impossible_time_asks_for_one_of_the_times_shown(self, client, booking):
        url = reverse("book_slots", args=[booking.clinic_a.slug, booking.alice.pk, booking.consult.pk])
        hold = reverse("book_hold", args=[booking.clinic_a.slug, booking.alice.pk, booking.consult.pk])
        for bad in ("2026-02-30T10:00:00+00:00", "2026-03-01T25:00:00+00:00", "2026-03-01T10:00:00"):
            response = client.post(hold, {"start": bad}, follow=True)
            assert response.redirect_chain[0] == (url, 302), bad
            assert "Please choose one of the times shown." in response.content.decode()

    def test_real_but_absurd_dates_fall_back_instead_of_overflowing(self, as_user, client, booking):
        # 9999-12-31 and 0001-01-01 are valid dates: stepping a day or a week past them overflows.
        web = as_user(booking.bob)
        slots = reverse("book_slots", args=[booking.clinic_a.slug, booking.alice.pk, booking.consult.pk])
        for edge in ("9999-12-31", "0001-01-01"):
            assert web.get(reverse("schedule") + f"?date={edge}&view=week").status_code == 200, edge
            assert web.get(reverse("appointment_new") + f"?date={edge}").status_code == 200, edge
            assert client.get(slots + f"?week={edge}").status_code == 200, edge
            api = client.get(
                "/api/bookings/slots", {"therapist": booking.alice.pk, "service": booking.consult.pk, "start": edge, "end": edge}
            )
            assert api.status_code == 200 and api.json()["slots"] == [], edge

    def test_absurd_times_in_forms_and_the_api_are_refused_with_a_message(self, as_user, client, booking):
        web = as_user(booking.bob)
        data = {"client": booking.client_a.pk, "therapist": booking.alice.pk, "service": booking.consult.pk}
        for day, at in (("9999-12-31", "23:59"), ("0001-01-01", "00:00")):
            response = web.post(reverse("appointment_new"), {**data, "day": day, "at": at})
            assert response.status_code == 200 and "Enter a date in a year between" in response.content.decode(), day
        hold = reverse("book_hold", args=[booking.clinic_a.slug, booking.alice.pk, booking.consult.pk])
        assert client.post(hold, {"start": "0001-01-01T00:00:00+05:00"}).status_code == 302
        body = {"therapist": booking.alice.pk, "service": booking.consult.pk, "start": "0001-01-01T00:00:00+05:00"}
        api = web.post("/api/bookings/holds", body, content_type="application/json")
        assert api.status_code == 422 and "out of range" in api.json()["error"]["message"]
        assert not Appointment.objects.exists()

    def test_rescheduling_to_an_impossible_time_changes_nothing(self, as_user, booking):
        appointment = _booked(booking)
        before = appointment.starts_at
        impossible = {"day": "2026-02-30", "at": "10:00", "start": "2026-02-30T10:00:00+00:00"}
        response = as_user(booking.alice).post(reverse("appointment_reschedule", args=[appointment.pk]), impossible)
        assert response.status_code in (200, 400)
        appointment.refresh_from_db()
        assert appointment.starts_at == before


class ScheduleTests:
    def test_the_schedule_lists_the_days_appointments_in_constant_queries(self, as_user, booking, django_assert_max_num_queries):
        for hour in (9, 10, 11):
            _booked(booking, hour)
        web = as_user(booking.bob)
        url = reverse("schedule") + f"?date={booking.monday}"
        web.get(url)
        with django_assert_max_num_queries(30) as first:
            response = web.get(url)
        assert response.status_code == 200 and response.content.decode().count("Ada Lovelace") == 3
        for hour in (12, 13, 14, 15):
            _booked(booking, hour)
        with django_assert_max_num_queries(len(first.captured_queries)):  # no query per row
            assert web.get(url).content.decode().count("Ada Lovelace") == 7

    def test_the_schedule_query_finds_an_appointment_that_began_the_day_before(self, booking):
        # schedule() bounds its index scan with LONGEST_BLOCK; an 8-hour appointment from 20:00
        # still overlaps the next day, and nothing from two days back does.
        late = Service.objects.create(clinic=booking.clinic_a, name="Overnight study", duration_minutes=480)
        overnight = services.appointment_book(
            clinic=booking.clinic_a,
            therapist=booking.alice,
            service=late,
            start=local(booking, booking.monday, 20),
            client=booking.client_a,
            actor=Actor(user=booking.alice, membership=booking.alice.memberships.get()),
            outside_hours_reason="Overnight study",
        )
        tuesday, wednesday = booking.monday + timedelta(days=1), booking.monday + timedelta(days=2)
        window = {"start": local(booking, tuesday, 0), "end": local(booking, wednesday, 0)}
        assert list(schedule_rows(clinic=booking.clinic_a, **window)) == [overnight]
        later = {"start": local(booking, wednesday, 0), "end": local(booking, wednesday + timedelta(days=1), 0)}
        assert list(schedule_rows(clinic=booking.clinic_a, **later)) == []

    def test_charlie_sees_none_of_clinic_as_schedule(self, as_user, booking):
        _booked(booking)
        response = as_user(booking.charlie).get(reverse("schedule") + f"?date={booking.monday}")
        assert response.status_code == 200 and "Ada" not in response.content.decode()

    def test_staff_book_for_a_client_and_an_overlap_is_shown_as_a_form_error(self, as_user, booking):
        web = as_user(booking.bob)
        data = {
            "client": booking.client_a.pk,
            "therapist": booking.alice.pk,
            "service": booking.session60.pk,
            "day": booking.monday.isoformat(),
            "at": "10:00",
        }
        assert web.post(reverse("appointment_new"), data).status_code == 302
        again = web.post(reverse("appointment_new"), {**data, "at": "10:30"})
        assert again.status_code == 200 and "just taken" in again.content.decode()
        assert Appointment.objects.count() == 1

    def test_charlie_cannot_book_a_client_of_clinic_a(self, as_user, booking):
        data = {
            "client": booking.client_a.pk,
            "therapist": booking.alice.pk,
            "service": booking.session60.pk,
            "day": booking.monday.isoformat(),
            "at": "10:00",
        }
        assert as_user(booking.charlie).post(reverse("appointment_new"), data).status_code == 200
        assert not Appointment.objects.exists()


class CalendarFeedTests:
    def test_a_feed_address_works_until_revoked_and_shows_initials_only(self, as_user, client, booking):
        _booked(booking)
        web = as_user(booking.alice)
        web.post(reverse("calendar_feed_manage"), {"action": "create"})
        feed_url = web.get(reverse("schedule")).context["feed_url"]
        path = feed_url.split("testserver", 1)[1]
        assert CalendarFeed.objects.get().token_hash not in path  # only the hash is stored
        client.logout()
        body = client.get(path)
        assert body.status_code == 200 and b"A.L." in body.content and b"Lovelace" not in body.content
        assert AuditEvent.objects.filter(action="export", object_type="bookings.calendarfeed").exists()
        web = as_user(booking.alice)
        web.post(reverse("calendar_feed_manage"), {"action": "revoke"})
        client.logout()
        assert client.get(path).status_code == 404

    def test_a_made_up_token_is_not_found(self, client, booking):
        assert client.get(reverse("calendar_feed", args=["nope"])).status_code == 404

    def test_a_feed_stops_when_its_therapist_leaves_the_clinic(self, client, booking):
        from knotwork.accounts.models import Membership

        raw = services.calendar_feed_create(membership=booking.alice.memberships.get())
        Membership.objects.filter(user=booking.alice).update(is_active=False)
        assert client.get(reverse("calendar_feed", args=[raw])).status_code == 404


def test_week_parameter_outside_range_falls_back_to_today(client, booking):
    far = (booking.monday + timedelta(days=900)).isoformat()
    response = client.get(reverse("book_slots", args=[booking.clinic_a.slug, booking.alice.pk, booking.consult.pk]) + f"?week={far}")
    assert response.status_code == 200
