"""Booking services: holds, confirmation, policy, moves, outcomes, and the database's overlap guard."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from knotwork.audit.models import AuditEvent
from knotwork.bookings import services
from knotwork.bookings.models import LONGEST_BLOCK, Appointment, AppointmentStatus, BookingPolicy, Room, Service
from knotwork.bookings.services import Actor, BookingError, HoldGone, SlotTaken
from knotwork.clients.models import Client
from knotwork.lib.testing import make_user
from tests.bookings.conftest import local

pytestmark = pytest.mark.django_db


def _staff(world):
    return Actor(user=world.alice, membership=world.alice.memberships.get())


def _book(world, start, service=None, client=None, actor=None, reason="tests book at any time of day"):
    # Several tests book relative to now, which may fall outside alice's hours when the suite runs:
    # the override reason lets staff do that (OutsideHoursTests test the override itself).
    return services.appointment_book(
        clinic=world.clinic_a,
        therapist=world.alice,
        service=service or world.session60,
        start=start,
        client=client or world.client_a,
        actor=actor or _staff(world),
        outside_hours_reason=reason,
    )


class HoldTests:
    def test_a_hold_blocks_the_slot_until_it_expires(self, booking):
        start = local(booking, booking.monday, 10)
        hold, _ = services.hold_create(
            clinic=booking.clinic_a, therapist=booking.alice, service=booking.consult, start=start, actor=Actor()
        )
        with pytest.raises(SlotTaken):
            services.hold_create(clinic=booking.clinic_a, therapist=booking.alice, service=booking.consult, start=start, actor=Actor())
        Appointment.objects.filter(pk=hold.pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
        again, _ = services.hold_create(
            clinic=booking.clinic_a, therapist=booking.alice, service=booking.consult, start=start, actor=Actor()
        )
        assert again.pk != hold.pk
        assert Appointment.objects.get(pk=hold.pk).status == AppointmentStatus.EXPIRED

    def test_confirming_a_hold_books_it_for_the_client_and_sends_both_sides_an_ics(self, booking, django_capture_on_commit_callbacks):
        user = make_user("newcomer@mail.example", mfa=False)
        start = local(booking, booking.monday, 10)
        hold, token = services.hold_create(
            clinic=booking.clinic_a, therapist=booking.alice, service=booking.consult, start=start, actor=Actor()
        )
        with django_capture_on_commit_callbacks(execute=True):
            client, created = services.client_for_booking(clinic=booking.clinic_a, user=user, first_name="Nia", last_name="Okoro")
            appointment = services.hold_confirm(hold=hold, token=token, client=client, actor=Actor(user=user))
        assert created and client.portal_user == user and client.clinic == booking.clinic_a
        assert appointment.pk == hold.pk and appointment.status == AppointmentStatus.CONFIRMED and appointment.client == client
        assert sorted(m.to[0] for m in mail.outbox) == ["alice@a.example", "newcomer@mail.example"]
        for message in mail.outbox:
            name, content, kind = message.attachments[0]
            assert name == "appointment.ics" and kind == "text/calendar" and "BEGIN:VEVENT" in str(content)

    def test_a_hold_cannot_be_confirmed_with_the_wrong_token(self, booking):
        hold, _ = services.hold_create(
            clinic=booking.clinic_a,
            therapist=booking.alice,
            service=booking.consult,
            start=local(booking, booking.monday, 10),
            actor=Actor(),
        )
        with pytest.raises(HoldGone):
            services.hold_confirm(hold=hold, token="guess", client=booking.client_a, actor=Actor(user=booking.alice))
        assert Appointment.objects.get(pk=hold.pk).status == AppointmentStatus.HELD

    def test_a_lapsed_hold_is_reclaimed_when_the_time_is_still_free_and_refused_when_not(self, booking):
        start = local(booking, booking.monday, 10)
        hold, token = services.hold_create(
            clinic=booking.clinic_a, therapist=booking.alice, service=booking.consult, start=start, actor=Actor()
        )
        Appointment.objects.filter(pk=hold.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
        booked = services.hold_confirm(hold=hold, token=token, client=booking.client_a, actor=Actor(user=booking.alice))
        assert booked.status == AppointmentStatus.CONFIRMED and booked.pk != hold.pk

        other, token2 = services.hold_create(
            clinic=booking.clinic_a, therapist=booking.alice, service=booking.consult, start=start + timedelta(hours=2), actor=Actor()
        )
        Appointment.objects.filter(pk=other.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
        _book(booking, start + timedelta(hours=2), service=booking.consult)
        with pytest.raises(SlotTaken):
            services.hold_confirm(hold=other, token=token2, client=booking.client_a, actor=Actor(user=booking.alice))

    def test_the_intake_invitation_hook_runs_on_a_first_booking_only_when_it_exists(self, booking, django_capture_on_commit_callbacks):
        import knotwork.clients.services as client_services

        hook = mock.Mock()
        with mock.patch.object(client_services, "intake_invite_on_first_booking", hook, create=True):
            with django_capture_on_commit_callbacks(execute=True):
                _book(booking, local(booking, booking.monday, 10))
            with django_capture_on_commit_callbacks(execute=True):
                _book(booking, local(booking, booking.monday, 14))
        hook.assert_called_once_with(booking.client_a)


class PolicyTests:
    def test_visitors_cannot_book_staff_only_services_outside_hours_or_inside_the_notice(self, booking):
        user_actor = Actor(user=booking.alice)  # acting as a client, without the membership
        with pytest.raises(BookingError, match="booked by the clinic"):
            _book(booking, local(booking, booking.monday, 10), service=booking.staff_only, actor=user_actor)
        with pytest.raises(BookingError, match="outside"):
            _book(booking, local(booking, booking.monday, 20), actor=user_actor)
        with pytest.raises(BookingError, match="notice"):
            _book(booking, timezone.now() + timedelta(minutes=20), actor=user_actor)
        assert not Appointment.objects.exists()

    def test_staff_may_book_outside_the_weekly_hours_but_never_on_top_of_another_booking(self, booking):
        _book(booking, local(booking, booking.monday, 19), reason="Client works days")
        with pytest.raises(SlotTaken):
            _book(booking, local(booking, booking.monday, 19, 30), reason="Client works days")

    def test_a_client_cancelling_inside_the_notice_period_is_recorded_as_a_late_cancellation(self, booking):
        soon = _book(booking, timezone.now() + timedelta(hours=3))
        later = _book(booking, local(booking, booking.monday, 10))
        client_actor = Actor(user=booking.alice)
        assert services.appointment_cancel(appointment=soon, actor=client_actor).status == AppointmentStatus.LATE_CANCELLED
        assert services.appointment_cancel(appointment=later, actor=client_actor).status == AppointmentStatus.CANCELLED
        with pytest.raises(BookingError):
            services.appointment_cancel(appointment=later, actor=client_actor)

    def test_the_notice_period_comes_from_the_clinics_policy(self, booking):
        BookingPolicy.objects.filter(clinic=booking.clinic_a).update(cancel_notice_hours=2)
        soon = _book(booking, timezone.now() + timedelta(hours=3))
        assert services.appointment_cancel(appointment=soon, actor=Actor(user=booking.alice)).status == AppointmentStatus.CANCELLED

    def test_a_client_cannot_move_an_appointment_inside_the_notice_period_but_staff_can(self, booking):
        soon = _book(booking, timezone.now().replace(second=0, microsecond=0) + timedelta(hours=3))
        with pytest.raises(BookingError, match="up to 24 hours"):
            services.appointment_reschedule(appointment=soon, start=local(booking, booking.monday, 15), actor=Actor(user=booking.alice))
        moved = services.appointment_reschedule(appointment=soon, start=local(booking, booking.monday, 15), actor=_staff(booking))
        assert moved.starts_at == local(booking, booking.monday, 15) and moved.reschedule_count == 1

    def test_moving_onto_a_taken_time_is_refused_and_changes_nothing(self, booking):
        first = _book(booking, local(booking, booking.monday, 10))
        second = _book(booking, local(booking, booking.monday, 13))
        with pytest.raises(SlotTaken):
            services.appointment_reschedule(appointment=second, start=local(booking, booking.monday, 10, 30), actor=_staff(booking))
        second.refresh_from_db()
        assert second.starts_at == local(booking, booking.monday, 13) and first.status == AppointmentStatus.CONFIRMED

    def test_attendance_is_recorded_only_after_the_start(self, booking):
        upcoming = _book(booking, local(booking, booking.monday, 10))
        with pytest.raises(BookingError):
            services.appointment_record_outcome(appointment=upcoming, status=AppointmentStatus.NO_SHOW, actor=_staff(booking))
        now = timezone.now()
        Appointment.objects.filter(pk=upcoming.pk).update(
            starts_at=now - timedelta(hours=2),
            ends_at=now - timedelta(hours=1),
            block_start=now - timedelta(hours=2),
            block_end=now - timedelta(hours=1),
        )
        upcoming.refresh_from_db()
        done = services.appointment_record_outcome(appointment=upcoming, status=AppointmentStatus.NO_SHOW, actor=_staff(booking))
        assert done.status == AppointmentStatus.NO_SHOW

    def test_services_needing_a_room_take_a_free_one_and_never_double_book_a_room(self, booking):
        from knotwork.lib.testing import make_staff

        Room.objects.create(clinic=booking.clinic_a, name="Only room")
        roomy = Service.objects.create(clinic=booking.clinic_a, name="Room session", duration_minutes=60, needs_room=True)
        dana = make_staff("dana@a.example", booking.clinic_a, "therapist")
        first = _book(booking, local(booking, booking.monday, 10), service=roomy)
        assert first.room is not None
        with pytest.raises(SlotTaken):
            services.appointment_book(
                clinic=booking.clinic_a,
                therapist=dana,
                service=roomy,
                start=local(booking, booking.monday, 10, 30),
                client=booking.client_a,
                actor=_staff(booking),
                outside_hours_reason="Dana's hours are not set up yet",
            )

    def test_a_failure_after_the_insert_rolls_the_whole_booking_back(self, booking):
        with mock.patch("knotwork.bookings.services.audit_record", side_effect=RuntimeError("audit down")), pytest.raises(RuntimeError):
            _book(booking, local(booking, booking.monday, 10))
        assert not Appointment.objects.exists()
        assert not AuditEvent.objects.filter(object_type="bookings.appointment").exists()

    def test_booking_is_audited_without_any_clinical_text(self, booking):
        appointment = _book(booking, local(booking, booking.monday, 10))
        event = AuditEvent.objects.get(object_type="bookings.appointment", object_id=str(appointment.pk))
        assert event.action == "create" and "warfarin" not in str(event.detail).lower()


class DatabaseGuardTests:
    def test_the_database_itself_refuses_an_overlapping_row_written_past_the_services(self, booking):
        first = _book(booking, local(booking, booking.monday, 10))
        clash = Appointment(
            clinic=booking.clinic_a,
            therapist=booking.alice,
            client=booking.client_a,
            service=booking.session60,
            starts_at=first.starts_at + timedelta(minutes=30),
            ends_at=first.ends_at + timedelta(minutes=30),
            block_start=first.starts_at + timedelta(minutes=30),
            block_end=first.ends_at + timedelta(minutes=30),
            status=AppointmentStatus.CONFIRMED,
        )
        with pytest.raises(IntegrityError, match="overlap"), transaction.atomic():
            clash.save()

    def test_the_database_refuses_an_update_that_moves_a_row_onto_another(self, booking):
        _book(booking, local(booking, booking.monday, 10))
        second = _book(booking, local(booking, booking.monday, 13))
        with pytest.raises(IntegrityError, match="overlap"), transaction.atomic():
            Appointment.objects.filter(pk=second.pk).update(block_start=local(booking, booking.monday, 10, 30))

    def test_back_to_back_appointments_do_not_conflict_and_cancelled_ones_do_not_block(self, booking):
        first = _book(booking, local(booking, booking.monday, 10), service=booking.consult)
        _book(booking, local(booking, booking.monday, 10, 15), service=booking.consult)
        services.appointment_cancel(appointment=first, actor=_staff(booking), late=False)
        assert _book(booking, local(booking, booking.monday, 10), service=booking.consult).status == AppointmentStatus.CONFIRMED

    def test_the_longest_possible_block_still_blocks_the_next_time_after_it(self, booking):
        # The overlap query bounds its index scan by LONGEST_BLOCK; a block of exactly that length
        # that started the evening before must still be found.
        longest = Service.objects.create(
            clinic=booking.clinic_a, name="Marathon", duration_minutes=480, buffer_before_minutes=120, buffer_after_minutes=120
        )
        first = _book(booking, local(booking, booking.monday, 18), service=longest)
        assert first.block_end - first.block_start == LONGEST_BLOCK
        with pytest.raises(SlotTaken):
            _book(booking, first.block_end - timedelta(minutes=30), service=booking.consult)
        assert _book(booking, first.block_end, service=booking.consult).status == AppointmentStatus.CONFIRMED

    @pytest.mark.parametrize("field", ["duration_minutes", "buffer_before_minutes", "buffer_after_minutes"])
    def test_the_database_refuses_a_service_longer_than_the_limits(self, booking, field):
        too_long = {"duration_minutes": 481} if field == "duration_minutes" else {"duration_minutes": 60, field: 121}
        with pytest.raises(IntegrityError), transaction.atomic():
            Service.objects.create(clinic=booking.clinic_a, name="Too long", **too_long)


class ClientRecordTests:
    def test_a_returning_person_reuses_their_record_and_a_new_one_must_give_a_name(self, booking):
        user = make_user("someone@mail.example", mfa=False)
        with pytest.raises(BookingError):
            services.client_for_booking(clinic=booking.clinic_a, user=user)
        first, created = services.client_for_booking(clinic=booking.clinic_a, user=user, first_name="Sam", last_name="Lee")
        again, created_again = services.client_for_booking(clinic=booking.clinic_a, user=user)
        assert created and not created_again and first == again
        assert Client.objects.filter(portal_user=user).count() == 1
