"""Demo bookings: services, weekly hours for both demo therapists, past and upcoming appointments."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from knotwork.accounts.models import Clinic, User
from knotwork.bookings.models import Appointment, AppointmentStatus, Availability, BookingPolicy, Room, Service
from knotwork.clients.models import Client

SERVICES = (
    # name, kind, minutes, buffer after, price, online booking, description
    (
        "Free consultation",
        Service.Kind.CONSULTATION,
        15,
        0,
        "0.00",
        Service.OnlineBooking.ANYONE,
        "A short talk about what hurts and whether NMT is right for you. In person or by video.",
    ),
    (
        "NMT session (60 min)",
        Service.Kind.SESSION,
        60,
        15,
        "65.00",
        Service.OnlineBooking.ANYONE,
        "Assessment and trigger-point treatment.",
    ),
    (
        "NMT session (90 min)",
        Service.Kind.SESSION,
        90,
        15,
        "90.00",
        Service.OnlineBooking.EXISTING,
        "For several areas, or a longer first treatment.",
    ),
    (
        "Follow-up (30 min)",
        Service.Kind.FOLLOW_UP,
        30,
        10,
        "38.00",
        Service.OnlineBooking.EXISTING,
        "Review of your home program and focused work.",
    ),
)
HOURS = {
    "therapist@harbour.example": [(0, 9, 17), (1, 9, 17), (2, 12, 20), (3, 9, 17)],
    "therapist2@harbour.example": [(1, 8, 14), (2, 8, 14), (3, 12, 19), (4, 8, 16), (5, 9, 13)],
}


@transaction.atomic
def seed_demo(*, clinic: Clinic, rng: random.Random) -> None:
    BookingPolicy.objects.get_or_create(clinic=clinic)
    Room.objects.get_or_create(clinic=clinic, name="Room 1")
    Room.objects.get_or_create(clinic=clinic, name="Room 2")
    services = []
    for position, (name, kind, minutes, after, price, online, text) in enumerate(SERVICES):
        service, _ = Service.objects.get_or_create(
            clinic=clinic,
            name=name,
            defaults={
                "kind": kind,
                "duration_minutes": minutes,
                "buffer_after_minutes": after,
                "price": Decimal(price),
                "currency": "GBP",
                "online_booking": online,
                "description": text,
                "position": position,
                "mode": Service.Mode.IN_PERSON,
            },
        )
        services.append(service)
    therapists = list(User.objects.filter(email__in=HOURS, memberships__clinic=clinic))
    for therapist in therapists:
        for weekday, start, end in HOURS[therapist.email]:
            Availability.objects.get_or_create(
                clinic=clinic, therapist=therapist, weekday=weekday, start_time=time(start), end_time=time(end)
            )
    if Appointment.objects.filter(clinic=clinic).exists() or not therapists:
        return
    clients = list(Client.objects.filter(clinic=clinic).order_by("id")[:12])
    today = timezone.localdate(timezone=clinic.tz)
    for i, client in enumerate(clients):
        therapist = therapists[i % len(therapists)]
        for offset in (-21 - i, -7 - i % 5, i % 9):
            _demo_appointment(clinic, therapist, client, services, rng, today + timedelta(days=offset))


def _demo_appointment(clinic: Clinic, therapist: User, client: Client, services: list[Service], rng: random.Random, day) -> None:  # type: ignore[no-untyped-def]
    hours = [h for w, h, _ in HOURS.get(therapist.email, []) if w == day.weekday()]
    if not hours:
        return
    service = services[1] if day < timezone.localdate(timezone=clinic.tz) else rng.choice(services[1:])
    start = datetime.combine(day, time(hours[0] + rng.randint(0, 4)), tzinfo=clinic.tz)
    past = start < timezone.now()
    status = rng.choice([AppointmentStatus.COMPLETED] * 6 + [AppointmentStatus.NO_SHOW]) if past else AppointmentStatus.CONFIRMED
    end = start + service.duration
    try:
        with transaction.atomic():
            Appointment.objects.create(
                clinic=clinic,
                therapist=therapist,
                client=client,
                service=service,
                starts_at=start,
                ends_at=end,
                block_start=start,
                block_end=end + timedelta(minutes=service.buffer_after_minutes),
                status=status,
                price=service.price,
                currency=service.currency,
                confirmed_at=start - timedelta(days=3),
            )
    except IntegrityError:  # the demo diary already has someone then
        return
