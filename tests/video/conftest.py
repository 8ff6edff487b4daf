from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from knotwork.bookings.models import Appointment, AppointmentStatus, Service
from knotwork.lib.testing import make_user


def make_video_appointment(clinic, therapist, client, *, starts_in: timedelta = timedelta(minutes=5), minutes: int = 30, **extra):
    service = Service.objects.create(
        clinic=clinic, name="Video consultation", duration_minutes=minutes, price=Decimal("0.00"), mode=Service.Mode.VIDEO
    )
    start = (timezone.now() + starts_in).replace(microsecond=0)
    end = start + timedelta(minutes=minutes)
    fields = {"status": AppointmentStatus.CONFIRMED, **extra}
    return Appointment.objects.create(
        clinic=clinic,
        therapist=therapist,
        client=client,
        service=service,
        starts_at=start,
        ends_at=end,
        block_start=start,
        block_end=end,
        **fields,
    )


@pytest.fixture
def call(world):
    """A confirmed video appointment starting in five minutes: alice and Ada (who has a portal login)."""
    world.ada = make_user("ada@mail.example", mfa=False, full_name="Ada Lovelace")
    world.client_a.portal_user = world.ada
    world.client_a.save(update_fields=["portal_user"])
    world.appointment = make_video_appointment(world.clinic_a, world.alice, world.client_a)
    return world
