"""Nearest-first search inside the database (knotwork/directory/geo.py), checked against a
brute-force haversine ordering in Python. The suite runs on SQLite (R*Tree) and PostgreSQL
(earthdistance GiST), so each test here checks whichever index the database has."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from knotwork.accounts.models import Clinic, Membership, Role, User
from knotwork.directory import geo
from knotwork.directory import search as search_module
from knotwork.directory.models import TherapistProfile, pack
from knotwork.directory.places import EARTH_RADIUS_KM, haversine_km
from knotwork.directory.search import SearchParams, search
from knotwork.directory.services import bayesian
from tests.directory.conftest import BRISTOL, LONDON, place, therapist_at

pytestmark = pytest.mark.django_db

BRISTOL_LL = (float(BRISTOL[0]), float(BRISTOL[1]))


def destination(lat: float, lon: float, bearing_deg: float, km: float) -> tuple[float, float]:
    """The point ``km`` along a great circle from (lat, lon) at the given bearing."""
    d, b = km / EARTH_RADIUS_KM, math.radians(bearing_deg)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


def seed(points: list[tuple[float, float]], rng: random.Random, *, per_clinic: int = 1) -> list[TherapistProfile]:
    """Listed profiles at the points (``per_clinic`` therapists share each clinic's place), created
    in bulk: the index must follow rows that never pass through the services."""
    tag = rng.randrange(10**9)
    clinics = Clinic.objects.bulk_create(
        [
            Clinic(name=f"C{i}", slug=f"n{tag}-{i}", latitude=Decimal(f"{lat:.6f}"), longitude=Decimal(f"{lon:.6f}"))
            for i, (lat, lon) in enumerate(points)
        ]
    )
    clinics = list(Clinic.objects.filter(slug__startswith=f"n{tag}-").order_by("id"))
    n = len(clinics) * per_clinic
    User.objects.bulk_create([User(email=f"t{i}@n{tag}.example", full_name=f"T{i}", password="!") for i in range(n)])
    users = list(User.objects.filter(email__endswith=f"@n{tag}.example").order_by("id"))
    Membership.objects.bulk_create([Membership(user=u, clinic=clinics[i // per_clinic], role=Role.THERAPIST) for i, u in enumerate(users)])
    profiles = []
    for i, user in enumerate(users):
        clinic = clinics[i // per_clinic]
        count = rng.choice([0, 1, 3, 3, 8])
        total = sum(rng.choice([3, 4, 5]) for _ in range(count))
        profiles.append(
            TherapistProfile(
                user=user, clinic=clinic, display_name=user.full_name, is_published=True, approved_at=timezone.now(),
                is_listed=True, latitude=float(clinic.latitude), longitude=float(clinic.longitude),  # type: ignore[arg-type]
                conditions=pack(rng.sample(["headaches", "tmj", "posture"], rng.randint(1, 2))),
                review_count=count, rating_sum=total, rating_score=bayesian(total, count),
            )
        )  # fmt: skip
    TherapistProfile.objects.bulk_create(profiles)
    return list(TherapistProfile.objects.filter(user__in=users).order_by("id"))


def brute_force(origin: tuple[float, float], radius_km: float, *, condition: str = "") -> list[tuple[int, float]]:
    """Every listed profile within the radius, nearest first, then best rated, then id: the order
    the search promises, worked out in Python over all rows."""
    rows = []
    for p in TherapistProfile.objects.listed():
        if condition and f",{condition}," not in p.conditions:
            continue
        d = haversine_km(origin[0], origin[1], p.latitude, p.longitude)  # type: ignore[arg-type]
        if d <= radius_km:
            rows.append((d, -p.rating_score, p.pk))
    rows.sort()
    return [(pk, d) for d, _, pk in rows]


def everything(near: str, radius_km: float, page_size: int, **filters: object) -> tuple[list[int], list[float | None], int | None]:
    """Every page in turn: the ids, the distances shown, and the exact count."""
    ids: list[int] = []
    distances: list[float | None] = []
    page, count = 1, None
    while True:
        result = search(SearchParams(near=near, radius_km=radius_km, page=page, page_size=page_size, **filters))  # type: ignore[arg-type]
        if result.count_exact:
            count = result.count if count is None else count
            assert result.count == count, "an exact count must not change from page to page"
        if not result.hits:
            return ids, distances, count
        ids += [h.profile.pk for h in result.hits]
        distances += [h.distance_km for h in result.hits]
        page += 1


def scatter(rng: random.Random, centre: tuple[float, float], n: int, max_km: float) -> list[tuple[float, float]]:
    return [destination(*centre, rng.uniform(0, 360), max_km * math.sqrt(rng.random())) for _ in range(n)]


class NearestFirstTests:
    def test_pages_follow_the_brute_force_haversine_order_on_random_data(self, db):
        rng = random.Random(18)
        # A dense town and a sparse countryside, some therapists sharing a clinic (equal distances).
        seed(scatter(rng, BRISTOL_LL, 60, 6) + scatter(rng, BRISTOL_LL, 60, 60), rng)
        seed(scatter(rng, BRISTOL_LL, 10, 30), rng, per_clinic=3)
        for origin in [BRISTOL_LL, *scatter(rng, BRISTOL_LL, 4, 40)]:
            for radius, page_size in [(25, 7), (50, 5), (120, 20)]:
                expected = brute_force(origin, radius)
                ids, distances, count = everything(f"{origin[0]:.6f},{origin[1]:.6f}", radius, page_size)
                assert count == len(expected)
                assert ids == [pk for pk, _ in expected]
                assert distances == [round(d, 1) for _, d in expected]

    def test_filters_apply_inside_the_nearest_first_order(self, db):
        rng = random.Random(7)
        seed(scatter(rng, BRISTOL_LL, 80, 40), rng)
        expected = brute_force(BRISTOL_LL, 30, condition="tmj")
        ids, _, count = everything("51.4545,-2.5879", 30, 6, condition="tmj")
        assert 0 < count == len(expected) < TherapistProfile.objects.count()
        assert ids == [pk for pk, _ in expected]

    def test_a_page_far_from_where_the_therapists_are_is_still_exact(self, db):
        # Everyone sits in a ring 40-50 km out: the first guess at the page's neighbourhood holds
        # nobody and has to grow (SQLite), or the index walk passes a lot of empty space (PostgreSQL).
        rng = random.Random(3)
        seed([destination(*BRISTOL_LL, rng.uniform(0, 360), rng.uniform(40, 50)) for _ in range(60)], rng)
        expected = brute_force(BRISTOL_LL, 50)
        result = search(SearchParams(near="51.4545,-2.5879", radius_km=50, page_size=5, page=2))
        assert result.count == 60
        assert [h.profile.pk for h in result.hits] == [pk for pk, _ in expected[5:10]]

    def test_the_radius_is_the_exact_great_circle_distance(self, db):
        rng = random.Random(1)
        inside = [destination(*BRISTOL_LL, bearing, 24.95) for bearing in (0, 45, 90, 180, 270)]
        outside = [destination(*BRISTOL_LL, bearing, 25.05) for bearing in (0, 45, 90, 180, 270)]
        seed(inside, rng)
        seed(outside, rng)
        result = search(SearchParams(near="51.4545,-2.5879", radius_km=25, page_size=50))
        found = [(h.profile.latitude, h.profile.longitude) for h in result.hits]
        assert result.count == 5 and all(h.distance_km <= 25 for h in result.hits)
        assert sorted(found) == sorted((round(lat, 6), round(lon, 6)) for lat, lon in inside)

    def test_equal_distances_page_by_rating_then_id_without_gaps_or_repeats(self, db):
        rng = random.Random(5)
        profiles = seed([BRISTOL_LL] * 3, rng, per_clinic=4)  # twelve therapists at one place
        TherapistProfile.objects.update(rating_score=4.0)
        best = profiles[7]
        TherapistProfile.objects.filter(pk=best.pk).update(rating_score=4.5)
        ids, _, count = everything("51.4545,-2.5879", 5, 5)
        assert count == 12 and ids == [best.pk] + sorted(p.pk for p in profiles if p.pk != best.pk)

    def test_a_search_across_the_date_line_finds_both_sides(self, db):
        rng = random.Random(9)
        origin = (-17.0, 179.95)
        east, west = destination(*origin, 90, 20), destination(*origin, 270, 10)
        assert east[1] < -179  # across ±180°
        far = destination(*origin, 90, 80)
        seed([east, west, far], rng)
        result = search(SearchParams(near="-17.0,179.95", radius_km=50))
        assert [(h.profile.longitude, h.distance_km) for h in result.hits] == [
            (round(west[1], 6), 10.0),
            (round(east[1], 6), 20.0),
        ]

    def test_a_search_near_a_pole_covers_every_longitude(self, db):
        rng = random.Random(11)
        seed([(89.9, 170.0), (89.9, -10.0), (89.0, 0.0)], rng)
        result = search(SearchParams(near="89.95,0", radius_km=25))
        assert result.count == 2
        assert [round(h.profile.longitude) for h in result.hits] == [-10, 170]

    def test_rating_and_availability_sorts_keep_the_radius_and_break_ties_by_distance(self, db):
        rng = random.Random(13)
        seed(scatter(rng, BRISTOL_LL, 30, 40), rng)
        TherapistProfile.objects.update(rating_score=4.0, review_count=0)
        expected = brute_force(BRISTOL_LL, 25)
        result = search(SearchParams(near="51.4545,-2.5879", radius_km=25, sort="rating", page_size=50))
        assert [h.profile.pk for h in result.hits] == [pk for pk, _ in expected]


class SpatialIndexTests:
    def test_moving_a_clinic_moves_its_therapists_in_the_index(self, world):
        near = therapist_at("Mover", BRISTOL)
        assert [h.profile.pk for h in search(SearchParams(near="Bristol")).hits] == [near.pk]
        place(near.clinic, LONDON)
        assert search(SearchParams(near="Bristol")).hits == []
        assert [h.profile.pk for h in search(SearchParams(near="London")).hits] == [near.pk]
        assert index_rows() == {near.pk: (round(float(LONDON[0]), 4), round(float(LONDON[1]), 4))}

    def test_an_unlisted_or_deleted_profile_leaves_the_index(self, world):
        gone, hidden = therapist_at("Gone", BRISTOL), therapist_at("Hidden", BRISTOL)
        TherapistProfile.objects.filter(pk=hidden.pk).update(is_listed=False)
        gone.delete()
        assert search(SearchParams(near="Bristol")).count == 0
        assert index_rows() == {}

    def test_the_index_is_rebuilt_if_a_table_rebuild_dropped_it(self, world):
        kept = therapist_at("Kept", BRISTOL)
        if connection.vendor == "postgresql":  # no index changes while the test's own foreign-key checks wait
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        geo.drop_index(connection)
        assert geo.ensure_index(connection) is True
        assert geo.ensure_index(connection) is False
        assert index_rows() == {kept.pk: (round(BRISTOL_LL[0], 4), round(BRISTOL_LL[1], 4))}
        moved = therapist_at("Later", LONDON)
        assert set(index_rows()) == {kept.pk, moved.pk}

    def test_migrate_puts_back_an_index_a_table_rebuild_dropped(self, world):
        kept = therapist_at("Kept", BRISTOL)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        geo.drop_index(connection)
        call_command("migrate", verbosity=0)  # nothing to apply; post_migrate checks the index
        assert set(index_rows()) == {kept.pk}
        assert [h.profile.pk for h in search(SearchParams(near="Bristol")).hits] == [kept.pk]

    def test_the_search_reads_the_spatial_index(self, db):
        rng = random.Random(2)
        seed(scatter(rng, BRISTOL_LL, 200, 300), rng)
        qs = geo.nearest_first(geo.within(TherapistProfile.objects.listed(), *BRISTOL_LL, 25), *BRISTOL_LL)[:10]
        with connection.cursor() as cursor:
            sql, params = qs.query.sql_with_params()
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE directory_therapistprofile")
                cursor.execute("SET LOCAL enable_seqscan = off")  # a few hundred rows would otherwise be read whole
                cursor.execute(f"EXPLAIN {sql}", params)
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row) for row in cursor.fetchall())
        assert (geo.GIST_INDEX if connection.vendor == "postgresql" else geo.RTREE_TABLE) in plan

    def test_a_search_costs_a_constant_number_of_queries(self, db, django_assert_max_num_queries):
        rng = random.Random(4)
        seed(scatter(rng, BRISTOL_LL, 200, 25), rng)
        with django_assert_max_num_queries(3):
            result = search(SearchParams(near="51.4545,-2.5879", radius_km=25, page=3, page_size=10))
        assert len(result.hits) == 10 and result.hits[0].profile.clinic.name


def index_rows() -> dict[int, tuple[float, float]]:
    """The profiles the spatial index holds, with their place as the index sees it."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Every row the GiST index can find: a box bigger than the earth, read through the index.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(
                f"SELECT id, latitude, longitude FROM {geo.PROFILE_TABLE} "  # noqa: S608
                f"WHERE is_listed AND '(-1e4, -1e4, -1e4),(1e4, 1e4, 1e4)'::cube @> {geo.xyz_sql()}"
            )
        else:
            cursor.execute(f"SELECT id, (minlat + maxlat) / 2, (minlng + maxlng) / 2 FROM {geo.RTREE_TABLE}")  # noqa: S608
        return {pk: (round(lat, 4), round(lon, 4)) for pk, lat, lon in cursor.fetchall()}


class CountTests:
    def test_counting_stops_at_the_limit_and_says_so(self, db, client, monkeypatch):
        monkeypatch.setattr(search_module, "COUNT_LIMIT", 5)
        rng = random.Random(6)
        profiles = seed(scatter(rng, BRISTOL_LL, 12, 10), rng)
        first = search(SearchParams(near="51.4545,-2.5879", radius_km=25, page_size=2))
        assert (first.count, first.count_exact, first.pages) == (5, False, 3)  # "more than 5", and a next page
        deep = search(SearchParams(near="51.4545,-2.5879", radius_km=25, page_size=2, page=5))
        assert (deep.count, deep.count_exact, len(deep.hits)) == (12, True, 2)
        rated = search(SearchParams(near="51.4545,-2.5879", radius_km=25, page_size=2, sort="rating"))
        assert (rated.count, rated.count_exact) == (12, True)  # a sort that reads every match counts them all
        data = client.get(reverse("api:directory_therapists"), {"near": "51.4545,-2.5879", "page_size": 2}).json()
        assert (data["count"], data["count_exact"]) == (5, False)
        ids, _, _ = everything("51.4545,-2.5879", 25, 2)
        assert sorted(ids) == sorted(p.pk for p in profiles)

    def test_the_search_page_says_more_than_when_counting_stopped(self, db, client, monkeypatch):
        monkeypatch.setattr(search_module, "COUNT_LIMIT", 5)
        rng = random.Random(7)
        seed(scatter(rng, BRISTOL_LL, 50, 10), rng)
        html = client.get(reverse("directory_search"), {"near": "51.4545,-2.5879", "radius": 25, "sort": "distance"}).content.decode()
        # 20 a page: counting goes one page past this one (40) before it stops and says "more than".
        assert "More than 40 therapists within 25 km" in html

    def test_a_small_result_is_counted_exactly(self, directory, client):
        data = client.get(reverse("api:directory_therapists"), {"near": "Bristol"}).json()
        assert (data["count"], data["count_exact"]) == (1, True)
