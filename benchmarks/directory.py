"""Measure the directory search at scale. Prints figures; never fails on speed.

    .venv/bin/python benchmarks/directory.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/knotwork .venv/bin/python benchmarks/directory.py

Seeds 50,000 listed therapist profiles (10,000 clinics) spread over the 3,000 most populous real
cities of the offline list (more in bigger cities), then times `knotwork.directory.search.search`
— the function the page and the API call — for radius searches around real cities:

- 25 km with two filters (verified licence + a focus condition): the target is p95 < 50 ms;
- 25 km with no filter, and 50 km with a free-consultation filter (a subquery on bookings' services).

On PostgreSQL it also compares the bounding-box prefilter on the (latitude, longitude) index with
earthdistance/cube (`earth_box(...) @> ll_to_earth(...)` on a GiST index) for step 1 of the search.

A throwaway database is created and dropped: a SQLite file in a temporary directory, or on
PostgreSQL a separate database named after this process. The dev database is never touched.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time as clock
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.dummy.DummyBackend")
os.environ.setdefault("LOG_LEVEL", "warning")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

PROFILES = 50_000
PER_CLINIC = 5
CITIES = 3_000
RUNS = 300
CONDITIONS = ["headaches", "neck-pain", "low-back-pain", "sciatica-like-pain", "tmj", "sports", "posture", "stress"]


def _cities() -> list:
    from knotwork.directory.places import _index

    places = sorted(_index().places, key=lambda p: -p.population)[:CITIES]
    return places


def seed(rng: random.Random) -> list:
    from knotwork.accounts.models import Clinic, Membership, Role, User
    from knotwork.bookings.models import Service
    from knotwork.directory.models import NO_EXPIRY, TherapistProfile, pack
    from knotwork.directory.services import bayesian

    cities = _cities()
    weights = [p.population**0.5 for p in cities]
    today = timezone.localdate()
    clinics, users = [], []
    for i in range(PROFILES // PER_CLINIC):
        city = rng.choices(cities, weights)[0]
        lat = city.latitude + rng.uniform(-0.08, 0.08)
        lon = city.longitude + rng.uniform(-0.12, 0.12)
        clinics.append(
            Clinic(
                name=f"Clinic {i}",
                slug=f"bench-{i}",
                city=city.name,
                country=city.country_code,
                latitude=Decimal(f"{lat:.6f}"),
                longitude=Decimal(f"{lon:.6f}"),
            )  # fmt: skip
        )
    Clinic.objects.bulk_create(clinics, batch_size=2000)
    clinics = list(Clinic.objects.filter(slug__startswith="bench-").order_by("id"))
    for i in range(PROFILES):
        users.append(User(email=f"t{i}@bench.example", full_name=f"Therapist {i}", password="!"))
    User.objects.bulk_create(users, batch_size=2000)
    users = list(User.objects.filter(email__endswith="@bench.example").order_by("id"))
    Membership.objects.bulk_create(
        [Membership(user=u, clinic=clinics[i // PER_CLINIC], role=Role.THERAPIST) for i, u in enumerate(users)], batch_size=2000
    )
    Service.objects.bulk_create(
        [Service(clinic=c, name="Free consultation", kind=Service.Kind.CONSULTATION, duration_minutes=15, price=0) for c in clinics[::2]]
        + [Service(clinic=c, name="NMT session", duration_minutes=60, price=Decimal(rng.randint(40, 110))) for c in clinics],
        batch_size=2000,
    )
    profiles = []
    for i, user in enumerate(users):
        clinic = clinics[i // PER_CLINIC]
        count = rng.choice([0, 0, 1, 3, 8, 20, 45])
        total = sum(rng.choice([3, 4, 4, 5, 5, 5]) for _ in range(count))
        profiles.append(
            TherapistProfile(
                user=user,
                clinic=clinic,
                display_name=user.full_name,
                is_published=True,
                approved_at=timezone.now(),
                is_listed=True,
                latitude=float(clinic.latitude),
                longitude=float(clinic.longitude),
                conditions=pack(rng.sample(CONDITIONS, rng.randint(1, 4))),
                languages=pack(rng.sample(["en", "es", "pl", "de", "fr"], 2)),
                licence_valid_until=today + timedelta(days=rng.randint(-100, 700)) if rng.random() < 0.7 else None,
                nmt_valid_until=NO_EXPIRY if rng.random() < 0.4 else None,
                nmt_verified_level=rng.randint(1, 4),
                review_count=count,
                rating_sum=total,
                rating_score=bayesian(total, count),
                next_free_at=timezone.now() + timedelta(hours=rng.randint(2, 24 * 40)),
            )  # fmt: skip
        )
    TherapistProfile.objects.bulk_create(profiles, batch_size=2000)
    return cities


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def measure(label: str, make_params, cities: list, rng: random.Random, pool: int = 300) -> None:
    from knotwork.directory.search import search

    times, counts = [], []
    busy = cities[:pool]  # searches happen where people live: the biggest cities are the hardest
    for _ in range(RUNS):
        params = make_params(rng.choice(busy), rng)
        start = clock.perf_counter()
        result = search(params)
        times.append((clock.perf_counter() - start) * 1000)
        counts.append(result.count)
    p50, p95 = percentiles(times)
    print(f"  {label:<58} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   (median {statistics.median(counts):.0f} matches)")


def earthdistance_comparison(cities: list, rng: random.Random) -> None:
    with connection.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS cube")
        cur.execute("CREATE EXTENSION IF NOT EXISTS earthdistance")
        cur.execute(
            "CREATE INDEX bench_earth_idx ON directory_therapistprofile USING gist (ll_to_earth(latitude, longitude)) WHERE is_listed"
        )
        cur.execute("ANALYZE directory_therapistprofile")
    from knotwork.directory.places import bounding_box

    box_times, earth_times = [], []
    for _ in range(RUNS):
        city = rng.choice(cities[:300])
        box = bounding_box(city.latitude, city.longitude, 25)
        lo, hi = box.lon_ranges[0]
        with connection.cursor() as cur:
            start = clock.perf_counter()
            cur.execute(
                "SELECT id, latitude, longitude FROM directory_therapistprofile WHERE is_listed AND latitude BETWEEN %s AND %s "
                "AND longitude BETWEEN %s AND %s AND licence_valid_until > CURRENT_DATE AND conditions LIKE %s",
                [box.lat_min, box.lat_max, lo, hi, "%,headaches,%"],
            )
            cur.fetchall()
            box_times.append((clock.perf_counter() - start) * 1000)
            start = clock.perf_counter()
            cur.execute(
                "SELECT id, latitude, longitude FROM directory_therapistprofile WHERE is_listed "
                "AND earth_box(ll_to_earth(%s, %s), %s) @> ll_to_earth(latitude, longitude) "
                "AND earth_distance(ll_to_earth(%s, %s), ll_to_earth(latitude, longitude)) <= %s "
                "AND licence_valid_until > CURRENT_DATE AND conditions LIKE %s",
                [city.latitude, city.longitude, 25_000, city.latitude, city.longitude, 25_000, "%,headaches,%"],
            )
            cur.fetchall()
            earth_times.append((clock.perf_counter() - start) * 1000)
    b50, b95 = percentiles(box_times)
    e50, e95 = percentiles(earth_times)
    print("  step 1 only (the database query), 25 km + verified + condition:")
    print(f"    bounding box on the btree (latitude, longitude) index   p50 {b50:6.2f} ms   p95 {b95:6.2f} ms")
    print(f"    earthdistance: earth_box @> ll_to_earth, GiST index      p50 {e50:6.2f} ms   p95 {e95:6.2f} ms")


def main() -> None:
    from decimal import Decimal as D

    from knotwork.directory.search import SearchParams

    setup_test_environment()
    vendor = connection.vendor
    if vendor == "postgresql":
        # Never the dev database, and not the test suite's either: a name of our own.
        connection.settings_dict["TEST"] = {**connection.settings_dict.get("TEST", {}), "NAME": f"knotwork_bench_directory_{os.getpid()}"}
    old_name = connection.settings_dict["NAME"]
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    try:
        rng = random.Random(10)
        start = clock.perf_counter()
        cities = seed(rng)
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        print(f"directory search on {vendor} ({test_name}): {PROFILES:,} listed profiles in {PROFILES // PER_CLINIC:,} clinics "
              f"around {CITIES:,} cities, seeded in {clock.perf_counter() - start:.0f} s; {RUNS} searches each")  # fmt: skip
        _cities()  # the place index is built once per process; a running server has it already
        measure(
            "25 km, verified licence + condition (target p95 < 50 ms)",
            lambda c, r: SearchParams(
                near=f"{c.latitude:.4f},{c.longitude:.4f}", radius_km=25, verified=True, condition=r.choice(CONDITIONS)
            ),
            cities,
            rng,
        )
        measure(
            "25 km, verified + condition, the 10 biggest cities only",
            lambda c, r: SearchParams(near=f"{c.latitude:.4f},{c.longitude:.4f}", radius_km=25, verified=True, condition="headaches"),
            cities,
            rng,
            pool=10,
        )
        measure(
            "25 km, verified licence + condition, by city name",
            lambda c, r: SearchParams(near=f"{c.name}, {c.country}", radius_km=25, verified=True, condition=r.choice(CONDITIONS)),
            cities, rng,
        )  # fmt: skip
        measure("25 km, no filters", lambda c, r: SearchParams(near=f"{c.latitude:.4f},{c.longitude:.4f}", radius_km=25), cities, rng)
        measure(
            "50 km, free consultation + price up to 80, sorted by rating",
            lambda c, r: SearchParams(near=f"{c.latitude:.4f},{c.longitude:.4f}", radius_km=50, free_consultation=True,
                                      price_max=D("80"), sort="rating"),
            cities, rng,
        )  # fmt: skip
        if vendor == "postgresql":
            earthdistance_comparison(cities, rng)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
