"""Measure the directory search at scale, through the public API. Prints figures; never fails on speed.

    .venv/bin/python benchmarks/directory.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/knotwork .venv/bin/python benchmarks/directory.py
    .venv/bin/python benchmarks/directory.py --runs 300 --only database

Seeds 50,000 listed therapist profiles (10,000 clinics of five) in one country, the United
Kingdom, clustered the way people live: each clinic belongs to a real town of the offline place
list (chosen with weight population^0.9, so about one in ten is in London) and sits at a normal
scatter around its centre that grows with the town (about 14 km in London, 2 km in a small town).
Then it times `GET /api/directory/therapists` with Django's test client — the whole request:
parsing, the search, the JSON — for searches near towns chosen the same way (searches happen
where people live, so London is the most common and the hardest).

Two implementations are timed on the same data, request by request in turn, so a busy machine
slows both alike:

- ``python``: the earlier search, kept here as the reference (every listed profile in the
  bounding box loaded, distances computed and sorted in Python, one page cut);
- ``database``: :func:`knotwork.directory.search.search`, nearest-first inside the database
  (docs/directory.md).

A throwaway database is created and dropped: a SQLite file in a temporary directory, or on
PostgreSQL a separate database named after this process. The dev database is never touched.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time as clock
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.dummy.DummyBackend")
os.environ.setdefault("LOG_LEVEL", "warning")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Q  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

PROFILES = 50_000
PER_CLINIC = 5
COUNTRY = "GB"
CONDITIONS = ["headaches", "neck-pain", "low-back-pain", "sciatica-like-pain", "tmj", "sports", "posture", "stress"]


def _towns() -> list[Any]:
    from knotwork.directory.places import _index

    return sorted((p for p in _index().places if p.country_code == COUNTRY), key=lambda p: -p.population)


def _scatter(rng: random.Random, town: Any) -> tuple[float, float]:
    """A point at a normal scatter around the town centre, wider for bigger towns."""
    sigma_km = 1.5 + 4 * math.sqrt(town.population / 1_000_000)
    dy, dx = rng.gauss(0, sigma_km), rng.gauss(0, sigma_km)
    lat = town.latitude + dy / 111.2
    lon = town.longitude + dx / (111.2 * math.cos(math.radians(town.latitude)))
    return round(lat, 6), round(lon, 6)


def seed(rng: random.Random) -> list[Any]:
    from knotwork.accounts.models import Clinic, Membership, Role, User
    from knotwork.bookings.models import Service
    from knotwork.directory.models import NO_EXPIRY, TherapistProfile, pack
    from knotwork.directory.services import bayesian

    towns = _towns()
    weights = [p.population**0.9 for p in towns]
    today = timezone.localdate()
    clinics = []
    for i in range(PROFILES // PER_CLINIC):
        town = rng.choices(towns, weights)[0]
        lat, lon = _scatter(rng, town)
        clinics.append(
            Clinic(name=f"Clinic {i}", slug=f"bench-{i}", city=town.name, country=COUNTRY,
                   latitude=Decimal(f"{lat:.6f}"), longitude=Decimal(f"{lon:.6f}"))
        )  # fmt: skip
    Clinic.objects.bulk_create(clinics, batch_size=2000)
    clinics = list(Clinic.objects.filter(slug__startswith="bench-").order_by("id"))
    users = [User(email=f"t{i}@bench.example", full_name=f"Therapist {i}", password="!") for i in range(PROFILES)]
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
                user=user, clinic=clinic, display_name=user.full_name, is_published=True, approved_at=timezone.now(),
                is_listed=True, latitude=float(clinic.latitude), longitude=float(clinic.longitude),
                conditions=pack(rng.sample(CONDITIONS, rng.randint(1, 4))),
                languages=pack(rng.sample(["en", "es", "pl", "de", "fr"], 2)),
                licence_valid_until=today + timedelta(days=rng.randint(-100, 700)) if rng.random() < 0.7 else None,
                nmt_valid_until=NO_EXPIRY if rng.random() < 0.4 else None,
                nmt_verified_level=rng.randint(1, 4),
                review_count=count, rating_sum=total, rating_score=bayesian(total, count),
                accepting_new_clients=rng.random() < 0.8,
                next_free_at=timezone.now() + timedelta(hours=rng.randint(2, 24 * 40)),
            )
        )  # fmt: skip
    TherapistProfile.objects.bulk_create(profiles, batch_size=2000)
    return towns


# --- the earlier search, kept as the reference -----------------------------------------------------


def python_search(params: Any, *, now: datetime | None = None) -> Any:
    """Every listed profile in the bounding box loaded, distances computed and sorted in Python."""
    from knotwork.directory.models import TherapistProfile
    from knotwork.directory.places import bounding_box, haversine_km
    from knotwork.directory.search import Hit, SearchResult, filtered, resolve_near, validate

    params = validate(params)
    now = now or timezone.now()
    today = timezone.localdate(now)
    origin = resolve_near(params.near)
    sort = params.sort or ("distance" if origin else "rating")
    if sort == "distance" and origin is None:
        sort = "rating"
    qs = filtered(params, today=today, now=now)
    if origin is not None:
        box = bounding_box(origin.latitude, origin.longitude, params.radius_km)
        lon_q = Q()
        for lo, hi in box.lon_ranges:
            lon_q |= Q(longitude__gte=lo, longitude__lte=hi)
        qs = qs.filter(lon_q, latitude__gte=box.lat_min, latitude__lte=box.lat_max)
    keyed = []
    for pk, lat, lon, score, count, next_free in qs.values_list(
        "id", "latitude", "longitude", "rating_score", "review_count", "next_free_at"
    ):
        distance = haversine_km(origin.latitude, origin.longitude, lat, lon) if origin is not None else None
        if distance is not None and distance > params.radius_km:
            continue
        keyed.append((pk, distance, score, count, next_free))
    if sort == "rating":
        keyed.sort(key=lambda r: (-r[2], -r[3], r[1] or 0.0, r[0]))
    elif sort == "availability":
        keyed.sort(key=lambda r: (r[4] is None, r[4] or now, r[1] or 0.0, r[0]))
    else:
        keyed.sort(key=lambda r: (r[1] or 0.0, -r[2], r[0]))
    start = (params.page - 1) * params.page_size
    page_rows = keyed[start : start + params.page_size]
    loaded = TherapistProfile.objects.select_related("clinic", "next_free_service").in_bulk([r[0] for r in page_rows])
    hits = [Hit(loaded[r[0]], None if r[1] is None else round(r[1], 1)) for r in page_rows if r[0] in loaded]
    return SearchResult(hits=hits, count=len(keyed), page=params.page, page_size=params.page_size, origin=origin, sort=sort, params=params)


# --- timing ---------------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)]


Case = tuple[str, Callable[[Any, random.Random], dict[str, Any]]]

CASES: list[Case] = [
    ("no filters, nearest first, 25 km (target p95 < 50 ms)", lambda t, r: {"near": f"{t.name}, {COUNTRY}"}),
    ("verified licence + condition, nearest first, 25 km", lambda t, r: {
        "near": f"{t.name}, {COUNTRY}", "verified": "true", "condition": r.choice(CONDITIONS)}),
    ("no filters, nearest first, 200 km", lambda t, r: {"near": f"{t.name}, {COUNTRY}", "radius_km": 200}),
    ("no filters, nearest first, 25 km, page 20", lambda t, r: {"near": f"{t.name}, {COUNTRY}", "page": 20}),
    ("free consultation + price <= 80, by rating, 50 km", lambda t, r: {
        "near": f"{t.name}, {COUNTRY}", "radius_km": 50, "free_consultation": "true", "price_max": "80", "sort": "rating"}),
]  # fmt: skip


def measure(
    make_query: Callable[[Any, random.Random], dict[str, Any]],
    towns: list[Any],
    runs: int,
    seed_: int,
    implementations: dict[str, Callable[..., Any]],
) -> dict[str, tuple[float, float, float]]:
    """p50, p95 and the median count per implementation. Each search is timed with every
    implementation in turn, so a busy machine slows them alike."""
    from knotwork.directory import api

    rng = random.Random(seed_)
    weights = [p.population**0.9 for p in towns]
    client = Client()
    url = reverse("api:directory_therapists")
    times: dict[str, list[float]] = {name: [] for name in implementations}
    counts: dict[str, list[int]] = {name: [] for name in implementations}
    for _ in range(runs):
        query = make_query(rng.choices(towns, weights)[0], rng)
        for name, function in implementations.items():
            api.search = function  # type: ignore[assignment]  # the operation looks the name up at call time
            cache.clear()  # the API's rate limit counts in the cache; the benchmark is one caller
            start = clock.perf_counter()
            response = client.get(url, query)
            times[name].append((clock.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{query}: {response.status_code} {response.content[:300]!r}")
            counts[name].append(response.json()["count"])
    return {name: (*percentiles(times[name]), statistics.median(counts[name])) for name in implementations}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="requests per case and implementation (default 200)")
    parser.add_argument("--only", choices=["python", "database"], help="time one implementation only")
    args = parser.parse_args()

    from knotwork.directory import api
    from knotwork.directory.search import search

    setup_test_environment()
    vendor = connection.vendor
    if vendor == "postgresql":
        # Never the dev database, and not the test suite's either: a name of our own.
        connection.settings_dict["TEST"] = {**connection.settings_dict.get("TEST", {}), "NAME": f"knotwork_bench_directory_{os.getpid()}"}
    old_name = connection.settings_dict["NAME"]
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=False)
    try:
        start = clock.perf_counter()
        towns = seed(random.Random(18))
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        seeded = clock.perf_counter() - start
        print(f"directory API on {vendor} ({test_name}): {PROFILES:,} listed profiles in {PROFILES // PER_CLINIC:,} clinics "
              f"in {len(towns)} towns of one country, seeded in {seeded:.0f} s; {args.runs} requests a case")  # fmt: skip
        Client().get(reverse("api:directory_therapists"), {"near": "London, GB"})  # warm: place index, URL resolver
        implementations = {"python": python_search, "database": search}
        if args.only:
            implementations = {args.only: implementations[args.only]}
        print(f"  {'case':<54}" + "".join(f"{name + ' p50 / p95':>24}" for name in implementations) + "   median count")
        for i, (label, make_query) in enumerate(CASES):
            figures = measure(make_query, towns, args.runs, i, implementations)
            cells = "".join(f"{p50:11.1f} / {p95:6.1f} ms" for p50, p95, _ in figures.values())
            counts = " / ".join(f"{c:,.0f}" for _, _, c in figures.values())
            print(f"  {label:<54}{cells}   {counts}", flush=True)
        print(f"  load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        api.search = search  # type: ignore[assignment]
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
