from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from knotwork.bookings.models import Availability, BookingPolicy, Service


def next_weekday(weekday: int, *, after_days: int = 2) -> datetime:
    """A date at least ``after_days`` from now falling on ``weekday`` (Monday = 0)."""
    day = timezone.localdate() + timedelta(days=after_days)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


@pytest.fixture
def booking(world):
    """Clinic A (Europe/London) with alice working Mon–Fri 09:00–17:00 and three services."""
    clinic = world.clinic_a
    BookingPolicy.objects.create(clinic=clinic, min_notice_minutes=60, horizon_days=90)
    for weekday in range(5):
        Availability.objects.create(clinic=clinic, therapist=world.alice, weekday=weekday, start_time=time(9), end_time=time(17))
    world.consult = Service.objects.create(
        clinic=clinic, name="Free consultation", kind=Service.Kind.CONSULTATION, duration_minutes=15, price=Decimal("0"), currency="GBP"
    )
    world.session60 = Service.objects.create(
        clinic=clinic, name="NMT session", duration_minutes=60, buffer_after_minutes=15, price=Decimal("65.00"), currency="GBP"
    )
    world.staff_only = Service.objects.create(
        clinic=clinic, name="Staff only", duration_minutes=30, online_booking=Service.OnlineBooking.STAFF, price=Decimal("40.00")
    )
    world.monday = next_weekday(0)
    world.tz = clinic.tz
    return world


def local(world, day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=world.tz)
