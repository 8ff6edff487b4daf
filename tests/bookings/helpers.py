"""Rows the booking tests build by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from knotwork.bookings.models import Appointment, AppointmentStatus


def confirmed_appointment(world, start: datetime, *, confirmed_at: datetime) -> Appointment:
    """A confirmed hour with alice for client A at ``start``, confirmed at ``confirmed_at``."""
    end = start + timedelta(hours=1)
    return Appointment.objects.create(
        clinic=world.clinic_a,
        therapist=world.alice,
        client=world.client_a,
        service=world.session60,
        starts_at=start,
        ends_at=end,
        block_start=start,
        block_end=end,
        status=AppointmentStatus.CONFIRMED,
        confirmed_at=confirmed_at,
    )
