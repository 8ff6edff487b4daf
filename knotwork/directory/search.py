"""The directory search, shared by the page and the API.

Everything is answered by the database, so a page costs about what its window costs:

- filters (condition, language, gender, verified and NMT dates, availability, and ``EXISTS``
  subqueries on bookings' services) are SQL conditions on the listed profiles;
- a place becomes a radius cut through the spatial index (:mod:`knotwork.directory.geo`: GiST on
  PostgreSQL, R*Tree on SQLite) plus the exact haversine distance in SQL;
- the order (nearest first, best rated, or soonest free; always ending in the id, so pages are
  stable) and the page slice are ``ORDER BY … LIMIT`` in SQL; nearest first reads only a ring
  around the place big enough for the page (:func:`knotwork.directory.geo.page_nearest_first`);
- one more query counts the matches, exactly up to :data:`COUNT_LIMIT` (then "more than").

See docs/directory.md for the design and the measurements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Value, Window
from django.db.models.functions import Replace, Upper
from django.utils import timezone

from knotwork.accounts.models import Clinic
from knotwork.bookings.models import Service
from knotwork.directory import geo
from knotwork.directory.models import Condition, Gender, TherapistProfile
from knotwork.directory.places import Place, PlaceNotFound, find_city, parse_lat_lon

MAX_RADIUS_KM = 200
DEFAULT_RADIUS_KM = 25
MAX_PAGE_SIZE = 50
# Matches are counted exactly up to this many (or to one page past the page asked for, if that is
# further); past it the result says "more than" instead of reading every match. See docs/directory.md.
COUNT_LIMIT = 1000
SORTS = ("distance", "rating", "availability")


class SearchError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True)
class Origin:
    latitude: float
    longitude: float
    label: str
    kind: str  # "city", "point" or "postcode"


@dataclass
class SearchParams:
    near: str = ""
    radius_km: float = DEFAULT_RADIUS_KM
    condition: str = ""
    verified: bool = False
    nmt_certified: bool = False
    free_consultation: bool = False
    available_within_days: int | None = None
    language: str = ""
    gender: str = ""
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    sort: str = ""
    page: int = 1
    page_size: int = 20


@dataclass
class Hit:
    profile: TherapistProfile
    distance_km: float | None


@dataclass
class SearchResult:
    hits: list[Hit]
    count: int
    page: int
    page_size: int
    origin: Origin | None
    sort: str
    params: SearchParams = field(default_factory=SearchParams)
    # False when counting stopped: there are more than ``count`` matches.
    count_exact: bool = True

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.page_size))


_UK_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$")


def _postcode_district(text: str) -> Origin | None:
    """A UK postcode no listed clinic uses, placed by its district ("BS1 9ZZ" -> a listed clinic in
    BS1). A district covers a few streets to a few miles, close enough for a distance search."""
    compact = text.replace(" ", "").upper()
    if not _UK_POSTCODE.match(compact):
        return None
    district = compact[:-3]
    clinic = (
        Clinic.objects.annotate(compact_postcode=Upper(Replace("postcode", Value(" "), Value(""))))
        .filter(compact_postcode__regex=rf"^{district}\d[A-Z]{{2}}$", latitude__isnull=False, directory_profiles__is_listed=True)
        .order_by("pk")
        .first()
    )
    if clinic is None:
        return None
    return Origin(float(clinic.latitude), float(clinic.longitude), f"{district} (postcode district)", "postcode")  # type: ignore[arg-type]


def resolve_near(text: str) -> Origin | None:
    """A place from what the visitor typed: "lat,lon", a postcode a listed clinic uses, or a city."""
    text = (text or "").strip()[:100]
    if not text:
        return None
    point = parse_lat_lon(text)
    if point:
        return Origin(point[0], point[1], "your location", "point")
    compact = text.replace(" ", "").upper()
    if 3 <= len(compact) <= 10 and any(ch.isdigit() for ch in compact):
        clinic = (
            Clinic.objects.annotate(compact_postcode=Upper(Replace("postcode", Value(" "), Value(""))))
            .filter(compact_postcode=compact, latitude__isnull=False, directory_profiles__is_listed=True)
            .first()
        )
        if clinic is not None:
            return Origin(float(clinic.latitude), float(clinic.longitude), clinic.postcode.upper(), "postcode")  # type: ignore[arg-type]
        district = _postcode_district(text)
        if district:
            return district
        if _UK_POSTCODE.match(compact) or not any(ch.isalpha() for ch in compact):
            raise SearchError(
                f"We do not know where “{text[:20]}” is: only postcodes of listed clinics are known. "
                "Type the town or city instead, or use your location.",
                "near",
            )
    try:
        place: Place = find_city(text)
    except PlaceNotFound as exc:
        raise SearchError(str(exc), "near") from exc
    return Origin(place.latitude, place.longitude, place.label, "city")


def validate(params: SearchParams) -> SearchParams:
    if params.condition and params.condition not in Condition.values:
        raise SearchError("Choose one of the listed conditions.", "condition")
    if params.gender and params.gender not in (Gender.WOMAN, Gender.MAN, Gender.NON_BINARY):
        raise SearchError("Choose woman, man or non-binary.", "gender")
    if not 1 <= params.radius_km <= MAX_RADIUS_KM:
        raise SearchError(f"Choose a distance between 1 and {MAX_RADIUS_KM} km.", "radius_km")
    if params.available_within_days is not None and not 1 <= params.available_within_days <= 30:
        raise SearchError("Choose between 1 and 30 days.", "available_within_days")
    if params.price_min is not None and params.price_max is not None and params.price_min > params.price_max:
        raise SearchError("The lowest price is above the highest.", "price_min")
    if params.sort and params.sort not in SORTS:
        raise SearchError("Sort by distance, rating or availability.", "sort")
    if params.language and (len(params.language) > 8 or not params.language.replace("-", "").isalpha()):
        raise SearchError("Use a language code such as en or pl.", "language")
    params.page = max(1, min(params.page, 10_000))
    params.page_size = max(1, min(params.page_size, MAX_PAGE_SIZE))
    return params


def _services() -> QuerySet[Service]:
    """Services a visitor could book with the profile's therapist (for ``Exists`` filters)."""
    return (
        Service.objects.active()
        .filter(clinic_id=OuterRef("clinic_id"))
        .filter(Q(therapist__isnull=True) | Q(therapist_id=OuterRef("user_id")))
        .exclude(online_booking=Service.OnlineBooking.STAFF)
    )


def filtered(params: SearchParams, *, today: date, now: datetime) -> QuerySet[TherapistProfile]:
    qs = TherapistProfile.objects.listed()
    if params.condition:
        qs = qs.filter(conditions__contains=f",{params.condition},")
    if params.verified:
        qs = qs.filter(licence_valid_until__gt=today)
    if params.nmt_certified:
        qs = qs.filter(nmt_valid_until__gt=today, nmt_verified_level__gte=1)
    if params.language:
        qs = qs.filter(languages__contains=f",{params.language.lower()},")
    if params.gender:
        qs = qs.filter(gender=params.gender)
    if params.available_within_days:
        qs = qs.filter(
            accepting_new_clients=True, next_free_at__gte=now, next_free_at__lt=now + timedelta(days=params.available_within_days)
        )
    if params.free_consultation:
        qs = qs.filter(
            Exists(
                _services().filter(
                    kind=Service.Kind.CONSULTATION,
                    price=0,
                    online_booking__in=[Service.OnlineBooking.ANYONE, Service.OnlineBooking.APPROVAL],
                )
            )
        )
    if params.price_min is not None or params.price_max is not None:
        priced = _services().filter(kind__in=[Service.Kind.SESSION, Service.Kind.FOLLOW_UP])
        if params.price_min is not None:
            priced = priced.filter(price__gte=params.price_min)
        if params.price_max is not None:
            priced = priced.filter(price__lte=params.price_max)
        qs = qs.filter(Exists(priced))
    return qs


def search(params: SearchParams, *, now: datetime | None = None) -> SearchResult:
    """Raises :class:`SearchError` for a place or filter it cannot use."""
    params = validate(params)
    now = now or timezone.now()
    today = timezone.localdate(now)
    origin = resolve_near(params.near)
    sort = params.sort or ("distance" if origin else "rating")
    if sort == "distance" and origin is None:
        sort = "rating"
    base = filtered(params, today=today, now=now).select_related("clinic", "next_free_service")
    start = (params.page - 1) * params.page_size
    stop = start + params.page_size
    count_limit = max(COUNT_LIMIT, stop + params.page_size)
    if origin is None:
        matches = base.filter(latitude__isnull=False, longitude__isnull=False)
        count = matches.order_by()[: count_limit + 1].count()
        rows = list(_ordered(matches, sort)[start:stop]) if start < count else []
        hits = [Hit(p, None) for p in rows]
    elif sort == "distance":
        lat, lon, radius = origin.latitude, origin.longitude, params.radius_km
        count = geo.within(base, lat, lon, radius).order_by()[: count_limit + 1].count()
        rows = geo.page_nearest_first(base, lat, lon, radius, start=start, stop=stop, count=count)
        hits = [Hit(p, round(p.distance_km, 1)) for p in rows]  # type: ignore[attr-defined]  # annotated by geo.within
    else:
        # Rating or availability reads every match in the radius anyway: one pass over ids and
        # sort keys only (no clinic joined to thousands of rows) that also counts them all, then
        # the page's profiles.
        matches = geo.within(base, origin.latitude, origin.longitude, params.radius_km)
        page_ids = list(_ordered(matches, sort).annotate(total=Window(Count("id"))).values_list("id", "total")[start:stop])
        if page_ids:
            count = count_limit = page_ids[0][1]
        else:
            count = matches.order_by()[: count_limit + 1].count()
        ids = [pk for pk, _ in page_ids]
        loaded = {p.pk: p for p in matches.filter(id__in=ids)}
        hits = [Hit(loaded[pk], round(loaded[pk].distance_km, 1)) for pk in ids if pk in loaded]  # type: ignore[attr-defined]
    return SearchResult(
        hits=hits,
        count=min(count, count_limit),
        page=params.page,
        page_size=params.page_size,
        origin=origin,
        sort=sort,
        params=params,
        count_exact=count <= count_limit,
    )


def _ordered(qs: QuerySet[TherapistProfile], sort: str) -> QuerySet[TherapistProfile]:
    """Rating or availability order; the distance (when there is a place) and the id break ties."""
    near = ["distance_km"] if "distance_km" in qs.query.annotations else []
    if sort == "availability":
        return qs.order_by(F("next_free_at").asc(nulls_last=True), *near, "id")
    return qs.order_by("-rating_score", "-review_count", *near, "id")
