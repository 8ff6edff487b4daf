"""Demo video consultation: a video service and one upcoming video appointment for the demo client
(the one with the portal login), so both sides of a call can be tried on the demo clinic."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from knotwork.accounts.models import Clinic, Membership, Role
from knotwork.bookings.models import Appointment, AppointmentStatus, Service
from knotwork.clients.models import Client

DEMO_THERAPIST = "therapist@harbour.example"


@transaction.atomic
def seed_demo(*, clinic: Clinic, rng: random.Random) -> None:
    service, _ = Service.objects.get_or_create(
        clinic=clinic,
        name="Video consultation (30 min)",
        defaults={
            "kind": Service.Kind.FOLLOW_UP,
            "duration_minutes": 30,
            "price": Decimal("25.00"),
            "currency": "GBP",
            "mode": Service.Mode.VIDEO,
            "online_booking": Service.OnlineBooking.EXISTING,
            "description": "A follow-up by video: how the home program is going, and what to adjust.",
        },
    )
    if Appointment.objects.filter(service=service).exists():
        return
    members = Membership.objects.active().filter(clinic=clinic, role__in=[Role.THERAPIST, Role.OWNER]).select_related("user")
    member = members.filter(user__email=DEMO_THERAPIST).first() or members.order_by("pk").first()
    clients = Client.objects.filter(clinic=clinic).order_by("pk")
    client = clients.filter(portal_user__isnull=False).first() or clients.filter(first_name="Tom", last_name="Hughes").first()
    if member is None or client is None:
        return
    today = timezone.localdate(timezone=clinic.tz)
    # The first free half hour in the coming days (the demo diary may already be busy then).
    for day in range(1, 15):
        for hour in (11, 14, 16, 10, 15):
            start = datetime.combine(today + timedelta(days=day), time(hour, rng.choice([0, 30])), tzinfo=clinic.tz)
            end = start + service.duration
            try:
                with transaction.atomic():
                    Appointment.objects.create(
                        clinic=clinic, therapist=member.user, client=client, service=service, starts_at=start, ends_at=end,
                        block_start=start, block_end=end, status=AppointmentStatus.CONFIRMED, price=service.price,
                        currency=service.currency, confirmed_at=timezone.now(),
                    )  # fmt: skip
                return
            except IntegrityError:
                continue
