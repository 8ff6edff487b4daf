"""The public directory API: search therapists and read one profile. No sign-in; rate-limited;
at most 50 results a page; no client names (reviewers appear as they chose to)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from ninja.throttling import AnonRateThrottle, AuthRateThrottle, BaseThrottle

from knotwork.directory import selectors
from knotwork.directory.models import Gender, NmtLevel, TherapistProfile
from knotwork.directory.search import COUNT_LIMIT, DEFAULT_RADIUS_KM, MAX_PAGE_SIZE, MAX_RADIUS_KM, SearchError, SearchParams, search

router = Router(tags=["directory"])
THROTTLE: list[BaseThrottle] = [AnonRateThrottle("30/m"), AuthRateThrottle("120/m")]


class SearchQuery(Schema):
    near: str = Field("", max_length=100, description="A city (“Bristol” or “Bristol, United Kingdom”), “lat,lon”, or a clinic postcode")
    radius_km: float = Field(DEFAULT_RADIUS_KM, ge=1, le=MAX_RADIUS_KM)
    condition: str = Field("", max_length=40, description="One focus condition id, e.g. headaches, neck-pain, tmj")
    verified: bool = Field(False, description="Only therapists with a verified, unexpired licence")
    nmt_certified: bool = Field(False, description="Only therapists with a verified, unexpired NMT certification")
    free_consultation: bool = False
    available_within_days: int | None = Field(None, ge=1, le=30)
    language: str = Field("", max_length=8, description="ISO 639-1 code, e.g. en")
    gender: Literal["", "woman", "man", "non-binary"] = ""
    price_min: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=2)
    price_max: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=2)
    sort: Literal["", "distance", "rating", "availability"] = ""
    page: int = Field(1, ge=1, le=10_000)
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE, description=f"Capped at {MAX_PAGE_SIZE}")


class PlaceOut(Schema):
    label: str
    latitude: float
    longitude: float
    kind: str


class ClinicOut(Schema):
    name: str
    slug: str
    address: str
    city: str
    postcode: str
    country: str
    latitude: float | None
    longitude: float | None


class TherapistOut(Schema):
    id: int
    name: str
    headline: str
    url: str
    photo_url: str | None
    clinic: ClinicOut
    distance_km: float | None
    conditions: list[str]
    languages: list[str]
    gender: str
    accepting_new_clients: bool
    licence_verified: bool
    nmt_certified: bool
    nmt_level: str | None
    rating_average: float | None
    rating_score: float = Field(description="Bayesian average used for sorting (prior: 5 reviews of 4.0)")
    review_count: int
    next_free_at: datetime | None = Field(description="Next free first-visit time (free/busy only), refreshed at least every 30 minutes")
    booking_url: str | None


class SearchOut(Schema):
    count: int = Field(description=f"Matches, counted exactly up to {COUNT_LIMIT:,} (or one page past the page asked for)")
    count_exact: bool = Field(description="False when counting stopped: there are more than `count` matches")
    page: int
    page_size: int
    sort: str
    near: PlaceOut | None
    results: list[TherapistOut]


class CredentialOut(Schema):
    kind: str
    title: str
    issuer: str
    jurisdiction: str
    nmt_level: str | None
    valid_until: date | None


class ServiceOut(Schema):
    id: int
    name: str
    kind: str
    duration_minutes: int
    price: Decimal
    currency: str
    free: bool
    booking_url: str


class ReviewOut(Schema):
    id: int
    reviewer: str = Field(description="First name and last initial, or “Anonymous client”, as the reviewer chose")
    overall: int
    communication: int
    pressure_respected: int
    results: int
    text: str
    created_at: datetime
    reply: str
    replied_at: datetime | None


class RatingsOut(Schema):
    count: int
    overall: float | None
    communication: float | None
    pressure_respected: float | None
    results: float | None


class TherapistDetailOut(TherapistOut):
    bio: str
    modalities: list[str]
    credentials: list[CredentialOut]
    services: list[ServiceOut]
    ratings: RatingsOut
    reviews: list[ReviewOut]


def _booking_url(profile: TherapistProfile, service_id: int | None) -> str | None:
    if service_id is None:
        return None
    return reverse("book_slots", args=[profile.clinic.slug, profile.user_id, service_id])


def _out(profile: TherapistProfile, distance: float | None, today: date) -> dict[str, object]:
    clinic = profile.clinic
    return {
        "id": profile.pk,
        "name": profile.display_name,
        "headline": profile.headline,
        "url": selectors.profile_url(profile),
        "photo_url": reverse("directory_photo", args=[profile.pk, "small"]) if profile.photo_thumb_name else None,
        "clinic": {
            "name": clinic.name,
            "slug": clinic.slug,
            "address": clinic.address,
            "city": clinic.city,
            "postcode": clinic.postcode,
            "country": clinic.country,
            "latitude": float(clinic.latitude) if clinic.latitude is not None else None,
            "longitude": float(clinic.longitude) if clinic.longitude is not None else None,
        },
        "distance_km": distance,
        "conditions": profile.condition_list,
        "languages": profile.language_list,
        "gender": profile.gender if profile.gender in (Gender.WOMAN, Gender.MAN, Gender.NON_BINARY) else "",
        "accepting_new_clients": profile.accepting_new_clients,
        "licence_verified": profile.licence_verified(today),
        "nmt_certified": profile.nmt_certified(today),
        "nmt_level": NmtLevel(profile.nmt_verified_level).label if profile.nmt_certified(today) else None,
        "rating_average": profile.rating_average,
        "rating_score": round(profile.rating_score, 3),
        "review_count": profile.review_count,
        "next_free_at": profile.next_free_at if profile.accepting_new_clients else None,
        "booking_url": _booking_url(profile, profile.next_free_service_id) if profile.accepting_new_clients else None,
    }


@router.get(
    "/directory/therapists",
    response=SearchOut,
    auth=None,
    throttle=THROTTLE,
    url_name="directory_therapists",
    summary="Search the public directory of therapists",
)
def therapists(request: HttpRequest, filters: Query[SearchQuery]) -> dict[str, object]:
    params = SearchParams(**filters.dict())
    try:
        result = search(params)
    except SearchError as exc:
        raise _invalid(exc) from exc
    today = timezone.localdate()
    origin = result.origin
    return {
        "count": result.count,
        "count_exact": result.count_exact,
        "page": result.page,
        "page_size": result.page_size,
        "sort": result.sort,
        "near": {"label": origin.label, "latitude": origin.latitude, "longitude": origin.longitude, "kind": origin.kind}
        if origin
        else None,
        "results": [_out(hit.profile, hit.distance_km, today) for hit in result.hits],
    }


def _invalid(exc: SearchError) -> ValidationError:
    # The shared handler renders this as a 400 with the field named in "fields".
    return ValidationError({exc.field: [exc.message]})


@router.get(
    "/directory/therapists/{therapist_id}",
    response=TherapistDetailOut,
    auth=None,
    throttle=THROTTLE,
    url_name="directory_therapist",
    summary="One public therapist profile with verified credentials, services and reviews",
)
def therapist(request: HttpRequest, therapist_id: int) -> dict[str, object]:
    profile = TherapistProfile.objects.listed().select_related("clinic", "user").filter(pk=therapist_id).first()
    if profile is None:
        raise HttpError(404, "Not found.")
    selectors.ensure_fresh_availability(profile)
    today = timezone.localdate()
    ratings = selectors.rating_summary(profile)
    reviews = list(selectors.published_reviews(profile)[:20])
    data = _out(profile, None, today)
    data.update(
        bio=profile.bio,
        modalities=profile.modalities or [],
        credentials=[
            {
                "kind": c.kind,
                "title": c.title,
                "issuer": c.issuer,
                "jurisdiction": c.jurisdiction,
                "nmt_level": NmtLevel(c.nmt_level).label if c.nmt_level else None,
                "valid_until": c.expires_on,
            }
            for c in selectors.valid_credentials(profile, today)
        ],
        services=[
            {
                "id": s.pk,
                "name": s.name,
                "kind": s.kind,
                "duration_minutes": s.duration_minutes,
                "price": s.price,
                "currency": s.currency,
                "free": s.is_free,
                "booking_url": reverse("book_slots", args=[profile.clinic.slug, profile.user_id, s.pk]),
            }
            for s in selectors.bookable_services(profile)
        ],
        ratings=ratings.__dict__,
        reviews=[
            {
                "id": r.pk,
                "reviewer": r.public_name,
                "overall": r.overall,
                "communication": r.communication,
                "pressure_respected": r.pressure_respected,
                "results": r.results,
                "text": r.text,
                "created_at": r.created_at,
                "reply": r.reply,
                "replied_at": r.replied_at,
            }
            for r in reviews
        ],
    )
    data["languages"] = profile.language_list
    return data
