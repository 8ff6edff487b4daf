"""Setting bookings up: services, rooms and rules (owner only), weekly hours and exceptions
(a therapist their own, the owner anyone's), and another clinic's objects are never reachable."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from knotwork.accounts.models import Membership
from knotwork.audit.models import AuditEvent
from knotwork.bookings.models import Availability, AvailabilityException, BookingPolicy, Room, Service
from knotwork.bookings.selectors import free_slots
from tests.bookings.conftest import next_weekday
from tests.bookings.test_views import _booked

pytestmark = pytest.mark.django_db

SERVICE = {
    "name": "Deep tissue NMT",
    "kind": "session",
    "mode": "in_person",
    "description": "",
    "therapist": "",
    "duration_minutes": "75",
    "buffer_before_minutes": "0",
    "buffer_after_minutes": "15",
    "price": "72.50",
    "currency": "gbp",
    "online_booking": "anyone",
    "position": "3",
}


def _membership(world, user) -> Membership:
    return Membership.objects.get(user=user, clinic=world.clinic_a)


def _saturday_slots(world, service) -> int:
    saturday = next_weekday(5)
    return len(free_slots(clinic=world.clinic_a, therapist=world.alice, service=service, first_day=saturday, last_day=saturday))


class ServiceSettingsTests:
    def test_the_owner_creates_a_service_and_it_is_offered_on_the_public_booking_page(self, as_user, client, booking):
        web = as_user(booking.olivia)
        response = web.post(reverse("service_new"), SERVICE)
        assert response.status_code == 302 and response["Location"] == reverse("booking_settings")
        service = Service.objects.get(clinic=booking.clinic_a, name="Deep tissue NMT")
        assert (service.price, service.currency, service.duration_minutes, service.therapist) == (Decimal("72.50"), "GBP", 75, None)
        assert AuditEvent.objects.filter(action="create", object_type="bookings.service", object_id=str(service.pk)).exists()
        client.logout()
        assert "Deep tissue NMT" in client.get(reverse("book_clinic", args=[booking.clinic_a.slug])).content.decode()

    def test_the_owner_edits_a_service_and_the_audit_names_only_the_changed_fields(self, as_user, booking):
        web = as_user(booking.olivia)
        page = web.get(reverse("service_edit", args=[booking.session60.pk]))
        assert page.status_code == 200 and "NMT session" in page.content.decode()
        data = {**SERVICE, "name": "NMT session", "duration_minutes": "90", "price": "65.00"}
        assert web.post(reverse("service_edit", args=[booking.session60.pk]), data).status_code == 302
        booking.session60.refresh_from_db()
        assert booking.session60.duration_minutes == 90
        event = AuditEvent.objects.filter(action="update", object_type="bookings.service").latest("at")
        assert "duration_minutes" in event.detail["fields"] and "name" not in event.detail["fields"]

    def test_archiving_a_service_hides_it_from_booking_and_keeps_its_appointments(self, as_user, client, booking):
        appointment = _booked(booking)
        service = appointment.service
        web = as_user(booking.olivia)
        settings_page = web.get(reverse("booking_settings")).content.decode()
        assert "data-confirm" in settings_page and reverse("service_archive", args=[service.pk]) in settings_page
        assert web.post(reverse("service_archive", args=[service.pk]), {"action": "archive"}).status_code == 302
        service.refresh_from_db()
        assert not service.is_active
        appointment.refresh_from_db()
        assert appointment.service_id == service.pk
        assert web.get(reverse("appointment_detail", args=[appointment.pk])).status_code == 200
        client.logout()
        assert client.get(reverse("book_slots", args=[booking.clinic_a.slug, booking.alice.pk, service.pk])).status_code == 404
        as_user(booking.olivia).post(reverse("service_archive", args=[service.pk]), {"action": "restore"})
        service.refresh_from_db()
        assert service.is_active

    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"price": "-5"}, "price", "cannot be negative"),
            ({"currency": "XYZ"}, "currency", "is not a currency code"),
            ({"duration_minutes": "2"}, "duration_minutes", "greater than or equal to 5"),
        ],
    )
    def test_bad_service_input_is_explained_and_what_was_typed_is_kept(self, as_user, booking, changes, field, message):
        before = Service.objects.count()
        response = as_user(booking.olivia).post(reverse("service_new"), {**SERVICE, **changes})
        body = response.content.decode()
        assert response.status_code == 400 and message in body and "error-summary" in body
        assert 'value="Deep tissue NMT"' in body and f'value="{next(iter(changes.values()))}"' in body
        assert Service.objects.count() == before

    def test_a_therapist_and_the_front_desk_are_refused_the_clinics_offer(self, as_user, booking):
        for user in (booking.alice, booking.bob):
            web = as_user(user)
            assert web.get(reverse("booking_settings")).status_code == 403
            assert web.post(reverse("service_new"), SERVICE).status_code == 403
            assert web.get(reverse("service_edit", args=[booking.session60.pk])).status_code == 403
            assert web.post(reverse("service_archive", args=[booking.session60.pk])).status_code == 403
            assert web.post(reverse("room_add"), {"name": "Room 9"}).status_code == 403
        assert not Service.objects.filter(name="Deep tissue NMT").exists() and not Room.objects.exists()
        booking.session60.refresh_from_db()
        assert booking.session60.is_active


class RoomAndPolicyTests:
    def test_the_owner_adds_renames_and_stops_using_a_room(self, as_user, booking):
        web = as_user(booking.olivia)
        assert web.post(reverse("room_add"), {"name": "Garden room"}).status_code == 302
        room = Room.objects.get(clinic=booking.clinic_a)
        web.post(reverse("room_edit", args=[room.pk]), {"action": "rename", "name": "Quiet room"})
        web.post(reverse("room_edit", args=[room.pk]), {"action": "deactivate"})
        room.refresh_from_db()
        assert (room.name, room.is_active) == ("Quiet room", False)
        duplicate = web.post(reverse("room_add"), {"name": "quiet room"})
        assert duplicate.status_code == 400 and "already has a room" in duplicate.content.decode()
        assert Room.objects.filter(clinic=booking.clinic_a).count() == 1
        assert AuditEvent.objects.filter(object_type="bookings.room", object_id=str(room.pk)).count() == 3

    def test_the_owner_sets_the_booking_rules(self, as_user, booking):
        data = {
            "cancel_notice_hours": "48",
            "min_notice_minutes": "30",
            "horizon_days": "120",
            "hold_minutes": "10",
            "slot_step_minutes": "30",
            "reminder_offsets_hours": "2, 48",
            "max_pending_per_client": "4",
        }
        assert as_user(booking.olivia).post(reverse("booking_settings"), data).status_code == 302
        policy = BookingPolicy.for_clinic(booking.clinic_a)
        assert (policy.cancel_notice_hours, policy.horizon_days, policy.reminder_offsets) == (48, 120, [48, 2])
        bad = as_user(booking.olivia).post(reverse("booking_settings"), {**data, "reminder_offsets_hours": "soon", "horizon_days": "500"})
        assert bad.status_code == 400 and "whole hours" in bad.content.decode() and 'value="500"' in bad.content.decode()
        policy.refresh_from_db()
        assert policy.horizon_days == 120


class AvailabilityTests:
    def test_a_therapist_adds_own_hours_and_the_free_slots_follow(self, as_user, booking):
        assert _saturday_slots(booking, booking.consult) == 0
        url = reverse("availability_edit", args=[_membership(booking, booking.alice).pk])
        web = as_user(booking.alice)
        assert web.get(url).status_code == 200
        response = web.post(url, {"form": "block", "block-weekday": "5", "block-start_time": "10:00", "block-end_time": "12:00"})
        assert response.status_code == 302
        assert _saturday_slots(booking, booking.consult) > 0
        block = Availability.objects.get(therapist=booking.alice, weekday=5)
        assert AuditEvent.objects.filter(action="create", object_type="bookings.availability", object_id=str(block.pk)).exists()
        web.post(reverse("availability_remove", args=[block.pk]))
        assert _saturday_slots(booking, booking.consult) == 0

    def test_a_day_off_removes_that_days_slots(self, as_user, booking):
        monday = booking.monday
        before = free_slots(clinic=booking.clinic_a, therapist=booking.alice, service=booking.consult, first_day=monday, last_day=monday)
        url = reverse("availability_edit", args=[_membership(booking, booking.alice).pk])
        as_user(booking.alice).post(url, {"form": "exception", "exception-day": monday.isoformat(), "exception-kind": "off"})
        after = free_slots(clinic=booking.clinic_a, therapist=booking.alice, service=booking.consult, first_day=monday, last_day=monday)
        assert before and after == []
        exception = AvailabilityException.objects.get(therapist=booking.alice)
        as_user(booking.alice).post(reverse("availability_exception_remove", args=[exception.pk]))
        assert not AvailabilityException.objects.exists()

    @pytest.mark.parametrize(
        ("start", "end", "message"),
        [("12:00", "11:00", "The end must be after the start."), ("16:00", "18:00", "This overlaps the working hours")],
    )
    def test_bad_hours_are_explained_and_what_was_typed_is_kept(self, as_user, booking, start, end, message):
        url = reverse("availability_edit", args=[_membership(booking, booking.alice).pk])
        data = {"form": "block", "block-weekday": "0", "block-start_time": start, "block-end_time": end}
        response = as_user(booking.alice).post(url, data)
        body = response.content.decode()
        assert response.status_code == 400 and message in body and f'value="{start}"' in body and f'value="{end}"' in body
        assert Availability.objects.filter(therapist=booking.alice, weekday=0).count() == 1

    def test_extra_hours_need_times(self, as_user, booking):
        url = reverse("availability_edit", args=[_membership(booking, booking.alice).pk])
        day = (booking.monday + timedelta(days=5)).isoformat()
        response = as_user(booking.alice).post(url, {"form": "exception", "exception-day": day, "exception-kind": "extra"})
        assert response.status_code == 400 and "need a start and an end" in response.content.decode() and day in response.content.decode()
        assert not AvailabilityException.objects.exists()

    def test_a_therapist_is_refused_another_therapists_hours_but_the_owner_may_edit_them(self, as_user, booking):
        olivia_hours = Availability.objects.create(
            clinic=booking.clinic_a, therapist=booking.olivia, weekday=2, start_time=time(9), end_time=time(12)
        )
        url = reverse("availability_edit", args=[_membership(booking, booking.olivia).pk])
        web = as_user(booking.alice)
        assert web.get(url).status_code == 403
        assert (
            web.post(url, {"form": "block", "block-weekday": "3", "block-start_time": "09:00", "block-end_time": "10:00"}).status_code
            == 403
        )
        assert web.post(reverse("availability_remove", args=[olivia_hours.pk])).status_code == 403
        assert Availability.objects.filter(therapist=booking.olivia).count() == 1
        alice_url = reverse("availability_edit", args=[_membership(booking, booking.alice).pk])
        data = {"form": "block", "block-weekday": "6", "block-start_time": "09:00", "block-end_time": "10:00"}
        assert as_user(booking.olivia).post(alice_url, data).status_code == 302
        assert Availability.objects.filter(therapist=booking.alice, weekday=6).exists()

    def test_the_schedule_links_to_booking_settings_or_own_hours(self, as_user, booking):
        assert reverse("booking_settings") in as_user(booking.olivia).get(reverse("schedule")).content.decode()
        alice_page = as_user(booking.alice).get(reverse("schedule")).content.decode()
        assert reverse("booking_settings") not in alice_page
        assert reverse("availability_edit", args=[_membership(booking, booking.alice).pk]) in alice_page


class OtherClinicTests:
    def test_charlie_gets_404_on_clinic_as_services_rooms_and_hours_and_changes_nothing(self, as_user, booking):
        room = Room.objects.create(clinic=booking.clinic_a, name="Room 1")
        block = Availability.objects.filter(therapist=booking.alice).first()
        exception = AvailabilityException.objects.create(clinic=booking.clinic_a, therapist=booking.alice, day=booking.monday, kind="off")
        web = as_user(booking.charlie)
        hours = reverse("availability_edit", args=[_membership(booking, booking.alice).pk])
        assert web.get(reverse("service_edit", args=[booking.session60.pk])).status_code == 404
        assert web.post(reverse("service_edit", args=[booking.session60.pk]), SERVICE).status_code == 404
        assert web.post(reverse("service_archive", args=[booking.session60.pk])).status_code == 404
        assert web.post(reverse("room_edit", args=[room.pk]), {"action": "deactivate"}).status_code == 404
        assert web.get(hours).status_code == 404
        assert (
            web.post(hours, {"form": "block", "block-weekday": "6", "block-start_time": "09:00", "block-end_time": "10:00"}).status_code
            == 404
        )
        assert web.post(reverse("availability_remove", args=[block.pk])).status_code == 404
        assert web.post(reverse("availability_exception_remove", args=[exception.pk])).status_code == 404
        booking.session60.refresh_from_db()
        room.refresh_from_db()
        assert booking.session60.is_active and booking.session60.name == "NMT session" and room.is_active
        assert Availability.objects.filter(therapist=booking.alice).count() == 5
        assert AvailabilityException.objects.filter(pk=exception.pk).exists()
