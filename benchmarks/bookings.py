"""Measure bookings. Prints figures; never fails on speed.

    .venv/bin/python benchmarks/bookings.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/knotwork .venv/bin/python benchmarks/bookings.py

1. Slot computation for a therapist with a year of appointments (about 1,500 rows): one week and
   one month of free slots, as the public slot page and API compute them.
2. Booking throughput under concurrent load (PostgreSQL only): 16 threads, each with its own
   connection, booking through the service layer — first on distinct times (no conflicts), then
   all on the same few times (every attempt but one per time is refused by the exclusion constraint).

A throwaway test database is created and dropped (``test_<name>``); real data is never touched.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time as clock
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
# Measure the booking itself: confirmation e-mails are queued for a worker, not sent in-thread.
os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.dummy.DummyBackend")
os.environ.setdefault("LOG_LEVEL", "warning")

import django  # noqa: E402

django.setup()

from django.db import connection, connections  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

THREADS = 16


def _setup():
    from knotwork.bookings.models import Availability, BookingPolicy, Service
    from knotwork.lib.testing import make_client, make_clinic, make_staff

    clinic = make_clinic("Bench clinic")
    BookingPolicy.objects.create(clinic=clinic, min_notice_minutes=0, horizon_days=366)
    therapists = [make_staff(f"t{i}@bench.example", clinic, "therapist", mfa=False) for i in range(4)]
    for t in therapists:
        for weekday in range(6):
            Availability.objects.create(clinic=clinic, therapist=t, weekday=weekday, start_time=time(8), end_time=time(20))
    service = Service.objects.create(clinic=clinic, name="NMT 60", duration_minutes=60, buffer_after_minutes=15, price=Decimal("65"))
    client = make_client(clinic)
    return clinic, therapists, service, client


def _year_of_appointments(clinic, therapist, service, client) -> int:
    from knotwork.bookings.models import Appointment

    rows = []
    day = timezone.localdate() - timedelta(days=180)
    for _ in range(365):
        if day.weekday() < 6:
            for hour in (8, 10, 13, 15, 17):
                start = datetime.combine(day, time(hour), tzinfo=clinic.tz)
                rows.append(
                    Appointment(
                        clinic=clinic,
                        therapist=therapist,
                        client=client,
                        service=service,
                        starts_at=start,
                        ends_at=start + timedelta(hours=1),
                        block_start=start,
                        block_end=start + timedelta(minutes=75),
                        status="confirmed",
                    )
                )
        day += timedelta(days=1)
    Appointment.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _time(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = clock.perf_counter()
        fn()
        out.append((clock.perf_counter() - t0) * 1000)
    return out


def slot_benchmark(clinic, therapist, service, client) -> None:
    from knotwork.bookings.selectors import free_slots

    n = _year_of_appointments(clinic, therapist, service, client)
    today = timezone.localdate()
    for label, days in (("one week", 6), ("one month", 30)):
        times = _time(
            lambda d=days: free_slots(
                clinic=clinic, therapist=therapist, service=service, first_day=today, last_day=today + timedelta(days=d)
            ),
            30,
        )
        count = len(free_slots(clinic=clinic, therapist=therapist, service=service, first_day=today, last_day=today + timedelta(days=days)))
        print(
            f"slots, {label} ({count} free starts) with {n} appointments in the year: "
            f"median {statistics.median(times):.1f} ms, p95 {sorted(times)[int(len(times) * 0.95) - 1]:.1f} ms"
        )


def throughput_benchmark(clinic, therapists, service, client) -> None:
    from knotwork.accounts.models import Membership
    from knotwork.bookings import services
    from knotwork.bookings.services import Actor, SlotTaken

    actors = {t.pk: Actor(user=t, membership=Membership.objects.get(user=t, clinic=clinic)) for t in therapists}
    base = timezone.localdate() + timedelta(days=200)

    def run(starts: list[tuple[int, datetime]]) -> tuple[float, int, int]:
        barrier = threading.Barrier(THREADS)
        chunks = [starts[i::THREADS] for i in range(THREADS)]
        ok = refused = 0
        lock = threading.Lock()

        def worker(i: int) -> None:
            nonlocal ok, refused
            barrier.wait()
            try:
                for therapist_id, start in chunks[i]:
                    therapist = next(t for t in therapists if t.pk == therapist_id)
                    try:
                        services.appointment_book(
                            clinic=clinic,
                            therapist=therapist,
                            service=service,
                            start=start,
                            client=client,
                            actor=actors[therapist_id],
                            outside_hours_reason="benchmark",  # some starts fall on Sundays, outside the hours
                        )
                        with lock:
                            ok += 1
                    except SlotTaken:
                        with lock:
                            refused += 1
            finally:
                connections.close_all()

        t0 = clock.perf_counter()
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(worker, range(THREADS)))
        return clock.perf_counter() - t0, ok, refused

    distinct = [
        (t.pk, datetime.combine(base + timedelta(days=d), time(h), tzinfo=clinic.tz))
        for t in therapists
        for d in range(40)
        for h in (8, 10, 12, 14, 16)
    ]
    secs, ok, refused = run(distinct)
    print(f"throughput, {THREADS} threads, distinct times: {ok} booked, {refused} refused in {secs:.2f} s = {ok / secs:.0f} bookings/s")
    clash_day = base + timedelta(days=60)
    contended = [
        (therapists[0].pk, datetime.combine(clash_day, time(9, 15 * (i % 8)) if i % 8 < 4 else time(10, 15 * (i % 4)), tzinfo=clinic.tz))
        for i in range(800)
    ]
    secs, ok, refused = run(contended)
    print(
        f"throughput, {THREADS} threads, 800 attempts on 8 overlapping times: {ok} booked, {refused} refused "
        f"in {secs:.2f} s = {(ok + refused) / secs:.0f} attempts/s"
    )


def main() -> None:
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    vendor = connection.vendor
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"database: {vendor} ({test_name})")
    try:
        clinic, therapists, service, client = _setup()
        slot_benchmark(clinic, therapists[0], service, client)
        if vendor == "postgresql":
            throughput_benchmark(clinic, therapists[1:], service, client)
        else:
            print("throughput: skipped — set DATABASE_URL to a PostgreSQL database to measure concurrent booking throughput")
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
