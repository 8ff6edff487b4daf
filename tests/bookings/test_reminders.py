"""Reminders: 24 h and 2 h before, once each, with nothing clinical in them; SMS through the pluggable sender."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from knotwork.bookings.models import Appointment, AppointmentStatus, BookingPolicy, ReminderLog
from knotwork.bookings.tasks import due_reminders
from tests.bookings.helpers import confirmed_appointment

pytestmark = pytest.mark.django_db


def _appointment(world, starts_in: timedelta, booked_ago: timedelta = timedelta(days=7)):
    now = timezone.now().replace(microsecond=0)
    return confirmed_appointment(world, now + starts_in, confirmed_at=now - booked_ago)


class ReminderTests:
    def test_the_24_hour_and_2_hour_reminders_each_go_once(self, booking):
        appointment = _appointment(booking, timedelta(hours=30))
        now = timezone.now()
        assert due_reminders(now=now) == 0
        assert due_reminders(now=now + timedelta(hours=7)) == 1
        assert due_reminders(now=now + timedelta(hours=7, minutes=5)) == 0
        assert due_reminders(now=now + timedelta(hours=28, minutes=1)) == 1
        assert due_reminders(now=now + timedelta(hours=29)) == 0
        assert sorted(ReminderLog.objects.filter(appointment=appointment).values_list("offset_hours", flat=True)) == [2, 24]
        assert len(mail.outbox) == 2

    def test_the_message_carries_time_and_place_but_nothing_clinical(self, booking):
        _appointment(booking, timedelta(hours=1))
        due_reminders(now=timezone.now())
        body = mail.outbox[0].body + mail.outbox[0].subject
        assert booking.clinic_a.name in body and "warfarin" not in body.lower() and "NMT session" not in body

    def test_a_late_booking_skips_reminders_whose_moment_had_passed(self, booking):
        appointment = _appointment(booking, timedelta(hours=3), booked_ago=timedelta(minutes=5))
        assert due_reminders(now=timezone.now()) == 0  # the 24 h reminder would be noise right after booking
        assert ReminderLog.objects.get(appointment=appointment).skipped
        assert due_reminders(now=timezone.now() + timedelta(hours=1, minutes=1)) == 1

    def test_a_moved_appointment_is_reminded_again_for_its_new_time(self, booking):
        appointment = _appointment(booking, timedelta(hours=1))
        assert due_reminders(now=timezone.now()) == 1
        new_start = appointment.starts_at + timedelta(hours=0, minutes=30)
        Appointment.objects.filter(pk=appointment.pk).update(
            starts_at=new_start, ends_at=new_start + timedelta(hours=1), block_start=new_start, block_end=new_start + timedelta(hours=1)
        )
        assert due_reminders(now=timezone.now()) == 1

    def test_offsets_come_from_the_clinic_and_sms_goes_through_the_logging_sender(self, booking, caplog):
        BookingPolicy.objects.filter(clinic=booking.clinic_a).update(reminder_offsets_hours=[48], sms_reminders=True)
        booking.client_a.phone = "+44 7700 900555"
        booking.client_a.reminders_by_sms = True  # texts are opt-in per client
        booking.client_a.save()
        _appointment(booking, timedelta(hours=30))
        with caplog.at_level(logging.INFO, logger="knotwork.bookings.sms"):
            assert due_reminders(now=timezone.now()) == 1
        assert "…555" in caplog.text and "900555" not in caplog.text
        assert ReminderLog.objects.get().sms_sent

    def test_each_channel_goes_out_only_as_the_client_chose(self, booking, caplog):
        BookingPolicy.objects.filter(clinic=booking.clinic_a).update(sms_reminders=True)
        booking.client_a.phone = "+44 7700 900555"
        booking.client_a.reminders_by_email = False
        booking.client_a.save()  # a phone number, but no text-message opt-in, and e-mail reminders off
        _appointment(booking, timedelta(hours=1))
        with caplog.at_level(logging.INFO, logger="knotwork.bookings.sms"):
            due_reminders(now=timezone.now())
        entry = ReminderLog.objects.get(skipped=False)
        assert not entry.email_sent and not entry.sms_sent
        assert mail.outbox == [] and "…555" not in caplog.text

    def test_cancelled_appointments_get_no_reminder(self, booking):
        appointment = _appointment(booking, timedelta(hours=1))
        Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.CANCELLED)
        assert due_reminders(now=timezone.now()) == 0

    def test_the_command_runs_the_sweep(self, booking, capsys):
        _appointment(booking, timedelta(hours=1))
        call_command("send_reminders")
        assert "queued" in capsys.readouterr().out
        assert len(mail.outbox) == 1
        call_command("send_reminders", "--now")
        assert "0 reminder(s) sent" in capsys.readouterr().out
