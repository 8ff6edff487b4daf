"""Nearest-first search inside the database: the spatial index and the SQL that uses it.

Both databases answer "listed profiles within R km of a point, nearest first, one page" with an
index, so a page costs what its window costs, not what every candidate in the radius costs:

- **PostgreSQL**: the ``cube`` contrib extension (trusted: the database owner may create it) and
  a GiST index on each listed profile's place as a point in space (:func:`xyz_sql`). A cube
  around the search point holds the whole circle, so ``box @> point`` is the indexed radius
  prefilter; a KNN walk of the same index (``<->``, the straight-line distance, which orders as
  the great-circle distance does) finds how far away the page's last profile can be at the
  nearest, so the page query reads a small box.
- **SQLite**: an R*Tree virtual table ``directory_profile_geo`` (id, minlat, maxlat, minlng,
  maxlng) of listed profiles, kept in step by triggers on the profile table. The box prefilter
  is a lookup in it.

The page is found ring by ring (:func:`page_nearest_first`): a box around the point, exact
distances for the rows in it only, a wider box if the ring holds fewer rows than the page
window needs. On both, the exact cut is the haversine distance computed in SQL with the same formula and
earth radius as :func:`knotwork.directory.places.haversine_km`, so the database and Python agree
on who is inside the radius. See docs/directory.md for the design and the figures.
"""

from __future__ import annotations

import math
from typing import Any

from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, F, FloatField, Func, QuerySet
from django.db.models.expressions import RawSQL

from knotwork.directory.places import EARTH_RADIUS_KM, bounding_box

PROFILE_TABLE = "directory_therapistprofile"
RTREE_TABLE = "directory_profile_geo"
GIST_INDEX = "directory_listed_cube_idx"


class DistanceKm(Func):
    """Haversine distance in km from a fixed point to the row's (latitude, longitude), written as
    one SQL expression (both databases have the math functions; Django adds them to old SQLite)."""

    output_field = FloatField()

    def __init__(self, latitude: float, longitude: float) -> None:
        super().__init__(F("latitude"), F("longitude"))
        self.origin = (math.radians(latitude), math.radians(longitude))

    def as_sql(self, compiler: Any, connection: BaseDatabaseWrapper, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        (lat, _), (lon, _) = (compiler.compile(e) for e in self.get_source_expressions())
        least = "MIN" if connection.vendor == "sqlite" else "LEAST"
        lat1, lon1 = self.origin
        sql = (
            f"(%s * ASIN({least}(1.0, SQRT(POWER(SIN((RADIANS({lat}) - %s) / 2.0), 2)"
            f" + %s * COS(RADIANS({lat})) * POWER(SIN((RADIANS({lon}) - %s) / 2.0), 2)))))"
        )
        return sql, [2 * EARTH_RADIUS_KM, lat1, math.cos(lat1), lon1]


def distance_km(latitude: float, longitude: float) -> DistanceKm:
    return DistanceKm(latitude, longitude)


def xyz_sql(column: str = "") -> str:
    """The place as a point in space (km from the earth's centre, on the same sphere as the
    haversine), as a ``cube`` expression. Built from ``cube``'s own constructors and built-in
    functions only, not earthdistance's ``ll_to_earth``: that one looks up ``earth()`` through
    the search path, so a ``pg_restore`` (which empties the search path) cannot rebuild an index
    on it, and earthdistance is not a trusted extension. The index and the queries use this very
    text, so the planner matches them."""
    lat, lon = f"radians({column}latitude)", f"radians({column}longitude)"
    r = f"{EARTH_RADIUS_KM!r}::float8"
    return f"cube(cube(cube({r} * cos({lat}) * cos({lon})), {r} * cos({lat}) * sin({lon})), {r} * sin({lat}))"


_PG_ROW = xyz_sql(f'"{PROFILE_TABLE}".')


def _pg_point(latitude: float, longitude: float, half_side_km: float = 0.0) -> str:
    """A cube literal: the point, or a box of the given half side around it."""
    lat, lon = math.radians(latitude), math.radians(longitude)
    xyz = (math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat))
    low = ", ".join(repr(EARTH_RADIUS_KM * c - half_side_km) for c in xyz)
    high = ", ".join(repr(EARTH_RADIUS_KM * c + half_side_km) for c in xyz)
    return f"({low}),({high})"


def within(qs: QuerySet[Any], latitude: float, longitude: float, radius_km: float) -> QuerySet[Any]:
    """``qs`` cut to rows within ``radius_km`` of the point, through the spatial index, with the
    exact distance annotated as ``distance_km``."""
    vendor = _vendor(qs.db)
    qs = qs.annotate(distance_km=distance_km(latitude, longitude))
    if vendor == "postgresql":
        # A point within radius_km along the surface is within radius_km in a straight line too,
        # so no coordinate differs by more: a cube of that half side holds the whole circle.
        box = RawSQL(f"%s::cube @> {_PG_ROW}", [_pg_point(latitude, longitude, radius_km + 0.001)], BooleanField())  # noqa: S611
        qs = qs.filter(box)
    elif vendor == "sqlite":
        qs = qs.filter(id__in=_rtree_ids(latitude, longitude, radius_km))
    return qs.filter(distance_km__lte=radius_km)


def _rtree_ids(latitude: float, longitude: float, radius_km: float) -> RawSQL:
    box = bounding_box(latitude, longitude, radius_km)
    parts, params = [], []
    for lo, hi in box.lon_ranges:  # two ranges when the box crosses ±180°
        parts.append(f"SELECT id FROM {RTREE_TABLE} WHERE maxlat >= %s AND minlat <= %s AND maxlng >= %s AND minlng <= %s")  # noqa: S608
        params += [box.lat_min, box.lat_max, lo, hi]
    return RawSQL(" UNION ALL ".join(parts), params)  # noqa: S611  (parameters only)


def nearest_first(qs: QuerySet[Any], latitude: float, longitude: float) -> QuerySet[Any]:
    """Order rows already cut by :func:`within`: nearest first, then the better rated, then id."""
    return qs.order_by("distance_km", "-rating_score", "id")


def page_nearest_first(
    qs: QuerySet[Any], latitude: float, longitude: float, radius_km: float, *, start: int, stop: int, count: int
) -> list[Any]:
    """Rows ``start:stop`` of ``qs`` within ``radius_km``, nearest first (see :func:`nearest_first`).

    The page is looked for in a ring of radius r <= ``radius_km``: every row within r is in the
    ring's box, so if the ring holds ``stop`` rows within r they are exactly the first ``stop`` of
    the whole radius; if not, the ring grows and the query runs again. The first r is the
    distance of the ``stop``-th nearest listed profile, filters aside (PostgreSQL: a KNN walk of
    the GiST index, a fraction of a millisecond), or on SQLite, which cannot walk an R*Tree
    nearest first, the smallest of a few nested boxes that holds twice ``stop`` listed profiles,
    counted in the R*Tree alone. Small results skip the ring and sort the whole radius.
    """
    if stop <= start or start >= count:
        return []
    if count <= 4 * stop:
        return list(nearest_first(within(qs, latitude, longitude, radius_km), latitude, longitude)[start:stop])
    if _vendor(qs.db) == "postgresql":
        radius = min(radius_km, _pg_nth_nearest_km(qs.model, latitude, longitude, stop) or radius_km)
    else:
        radius = _sqlite_ring_km(qs.db, latitude, longitude, min(radius_km, radius_km * math.sqrt(stop / count) * 1.2), 2 * stop)
    while True:
        rows = list(nearest_first(within(qs, latitude, longitude, radius), latitude, longitude)[:stop])
        if len(rows) >= stop or radius >= radius_km:
            return rows[start:stop]
        grow = math.sqrt(stop / max(len(rows), 1)) * 1.2
        radius = min(radius_km, radius * max(1.5, grow))


def _pg_nth_nearest_km(model: Any, latitude: float, longitude: float, n: int) -> float | None:
    """The distance of the n-th nearest listed profile, by a KNN walk of the GiST index on the
    profile table alone (joins and filters would lead the planner away from the index)."""
    knn = RawSQL(f"{_PG_ROW} <-> %s::cube", [_pg_point(latitude, longitude)], FloatField())  # noqa: S611  (fixed names only)
    found = (
        model.objects.filter(is_listed=True)
        .annotate(distance_km=distance_km(latitude, longitude))
        .order_by(knn.asc())
        .values_list("distance_km", flat=True)[n - 1 : n]
    )
    nth = list(found)
    # A hair more, so rounding can never leave the n-th row itself outside the ring.
    return float(nth[0]) * (1 + 1e-9) + 1e-6 if nth else None


def _sqlite_ring_km(alias: str, latitude: float, longitude: float, radius_km: float, wanted: int) -> float:
    """The smallest of ``radius_km``, its half, its quarter … (down to 1/256) whose box holds
    ``wanted`` listed profiles, filters aside, counted in one pass over the R*Tree alone (no row
    of the profile table is read). Matches cluster in towns, so an even spread guesses badly."""
    from django.db import connections

    radii = [radius_km / 2**k for k in range(9)]
    sums, params = [], []
    for r in radii:
        box = bounding_box(latitude, longitude, r)
        clauses = " OR ".join("(maxlat >= %s AND minlat <= %s AND maxlng >= %s AND minlng <= %s)" for _ in box.lon_ranges)
        sums.append(f"SUM(CASE WHEN {clauses} THEN 1 ELSE 0 END)")
        for lo, hi in box.lon_ranges:
            params += [box.lat_min, box.lat_max, lo, hi]
    outer = bounding_box(latitude, longitude, radius_km)
    where = " OR ".join("(maxlat >= %s AND minlat <= %s AND maxlng >= %s AND minlng <= %s)" for _ in outer.lon_ranges)
    for lo, hi in outer.lon_ranges:
        params += [outer.lat_min, outer.lat_max, lo, hi]
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(sums)} FROM {RTREE_TABLE} WHERE {where}", params)  # noqa: S608  (fixed names)
        counts = cursor.fetchone()
    fits = [r for r, n in zip(radii, counts, strict=True) if (n or 0) >= wanted]
    return min(fits, default=radius_km)


def _vendor(alias: str) -> str:
    from django.db import connections

    return str(connections[alias].vendor)


# --- the index itself (migrations and post_migrate) ----------------------------------------------

PG_CREATE = [
    "CREATE EXTENSION IF NOT EXISTS cube",
    f"CREATE INDEX IF NOT EXISTS {GIST_INDEX} ON {PROFILE_TABLE} USING gist (({xyz_sql()})) WHERE is_listed",
]
PG_DROP = [f"DROP INDEX IF EXISTS {GIST_INDEX}"]  # the extension stays: something else may use it

_PLACED = "NEW.is_listed AND NEW.latitude IS NOT NULL AND NEW.longitude IS NOT NULL"
_INSERT_NEW = (
    f"INSERT INTO {RTREE_TABLE} (id, minlat, maxlat, minlng, maxlng) "  # noqa: S608  (fixed names)
    f"SELECT NEW.id, NEW.latitude, NEW.latitude, NEW.longitude, NEW.longitude WHERE {_PLACED};"
)
SQLITE_TRIGGERS = {
    f"{RTREE_TABLE}_insert": f"CREATE TRIGGER IF NOT EXISTS {RTREE_TABLE}_insert AFTER INSERT ON {PROFILE_TABLE} BEGIN {_INSERT_NEW} END",
    f"{RTREE_TABLE}_update": (
        f"CREATE TRIGGER IF NOT EXISTS {RTREE_TABLE}_update AFTER UPDATE OF id, is_listed, latitude, longitude ON {PROFILE_TABLE} "  # noqa: S608
        "WHEN OLD.id IS NOT NEW.id OR OLD.is_listed IS NOT NEW.is_listed OR OLD.latitude IS NOT NEW.latitude "
        "OR OLD.longitude IS NOT NEW.longitude "
        f"BEGIN DELETE FROM {RTREE_TABLE} WHERE id = OLD.id; {_INSERT_NEW} END"
    ),
    f"{RTREE_TABLE}_delete": (
        f"CREATE TRIGGER IF NOT EXISTS {RTREE_TABLE}_delete AFTER DELETE ON {PROFILE_TABLE} "  # noqa: S608
        f"BEGIN DELETE FROM {RTREE_TABLE} WHERE id = OLD.id; END"
    ),
}
SQLITE_REBUILD = [
    f"DELETE FROM {RTREE_TABLE}",  # noqa: S608  (fixed names)
    f"INSERT INTO {RTREE_TABLE} (id, minlat, maxlat, minlng, maxlng) SELECT id, latitude, latitude, longitude, longitude "  # noqa: S608
    f"FROM {PROFILE_TABLE} WHERE is_listed AND latitude IS NOT NULL AND longitude IS NOT NULL",
]


def ensure_index(connection: BaseDatabaseWrapper | None = None) -> bool:
    """Create the spatial index if it is missing; True if anything was created.

    On SQLite this also repairs what a table rebuild removes: Django alters a SQLite table by
    copying it into a new one, which drops the table's triggers, so post_migrate calls this
    after every migration and refills the R*Tree whenever a trigger had to be recreated.
    """
    connection = connection or default_connection
    tables = set(connection.introspection.table_names())
    if PROFILE_TABLE not in tables:
        return False
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [GIST_INDEX])
            if cursor.fetchone():
                return False
            for sql in PG_CREATE:
                cursor.execute(sql)
            return True
        if connection.vendor != "sqlite":
            return False
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name LIKE %s", [f"{RTREE_TABLE}%"])
        present = {row[0] for row in cursor.fetchall()}
        if RTREE_TABLE in present and all(name in present for name in SQLITE_TRIGGERS):
            return False
        cursor.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {RTREE_TABLE} USING rtree(id, minlat, maxlat, minlng, maxlng)")
        for sql in SQLITE_TRIGGERS.values():
            cursor.execute(sql)
        for sql in SQLITE_REBUILD:
            cursor.execute(sql)
        return True


def drop_index(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for sql in PG_DROP:
                cursor.execute(sql)
        elif connection.vendor == "sqlite":
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(f"DROP TABLE IF EXISTS {RTREE_TABLE}")
