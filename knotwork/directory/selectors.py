"""Reads for directory pages: a public profile and what it shows, the queues."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from knotwork.accounts.models import Capability
from knotwork.accounts.permissions import membership_for
from knotwork.bookings.models import Service
from knotwork.directory.forms import language_label
from knotwork.directory.models import Credential, CredentialStatus, NmtLevel, Review, ReviewReport, ReviewStatus, TherapistProfile
from knotwork.directory.moderation import describe
from knotwork.directory.services import AVAILABILITY_FRESH, refresh_availability


def profile_for_visitor(user: Any, profile_id: int) -> tuple[TherapistProfile, bool]:
    """A listed profile for anyone; an unlisted one only as a preview for staff of its clinic.

    Returns the profile and whether this is such a preview (pages then ask not to be indexed).
    """
    profile = TherapistProfile.objects.select_related("clinic", "user", "next_free_service").filter(pk=profile_id).first()
    if profile is None:
        raise Http404("No such therapist")
    if TherapistProfile.objects.listed().filter(pk=profile.pk).exists():
        return profile, False
    membership = membership_for(user, profile.clinic_id)
    if membership is not None and membership.can(Capability.VIEW_DEMOGRAPHICS):
        return profile, True
    raise Http404("No such therapist")


def ensure_fresh_availability(profile: TherapistProfile) -> TherapistProfile:
    checked = profile.availability_checked_at
    if checked is None or checked < timezone.now() - AVAILABILITY_FRESH:
        refresh_availability(profile)
    return profile


def valid_credentials(profile: TherapistProfile, today: date | None = None) -> list[Credential]:
    """Verified credentials that have not expired: the only ones that earn a badge."""
    return list(Credential.objects.filter(profile=profile).valid_on(today or timezone.localdate()).order_by("kind", "-nmt_level", "id"))


def bookable_services(profile: TherapistProfile) -> list[Service]:
    return list(
        Service.objects.active()
        .for_therapist(profile.user_id)
        .filter(clinic_id=profile.clinic_id)
        .exclude(online_booking=Service.OnlineBooking.STAFF)
    )


def published_reviews(profile: TherapistProfile) -> QuerySet[Review]:
    return Review.objects.filter(profile=profile, status=ReviewStatus.PUBLISHED).order_by("-created_at", "-id")


@dataclass(frozen=True)
class Ratings:
    count: int
    overall: float | None
    communication: float | None
    pressure_respected: float | None
    results: float | None


def rating_summary(profile: TherapistProfile) -> Ratings:
    agg = published_reviews(profile).aggregate(
        n=Count("id"), o=Avg("overall"), c=Avg("communication"), p=Avg("pressure_respected"), r=Avg("results")
    )

    def r1(v: float | None) -> float | None:
        return round(v, 1) if v is not None else None

    return Ratings(agg["n"], r1(agg["o"]), r1(agg["c"]), r1(agg["p"]), r1(agg["r"]))


_LD_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def json_ld(profile: TherapistProfile, *, url: str, ratings: Ratings, credentials: list[Credential], services: list[Service]) -> str:
    """schema.org data for the profile page, escaped so it cannot close its script element."""
    clinic = profile.clinic
    person_id = f"{url}#therapist"
    data: list[dict[str, Any]] = [
        {
            "@context": "https://schema.org",
            "@type": "Person",
            "@id": person_id,
            "name": profile.display_name,
            "jobTitle": "Neuromuscular therapist",
            "description": profile.headline or profile.bio[:300],
            "url": url,
            "knowsLanguage": [language_label(c) for c in profile.language_list],
            "knowsAbout": profile.condition_labels,
            "hasCredential": [
                {
                    "@type": "EducationalOccupationalCredential",
                    "name": c.title,
                    "credentialCategory": "license" if c.kind == Credential.Kind.LICENCE else "certification",
                    "recognizedBy": {"@type": "Organization", "name": c.issuer},
                    **({"validUntil": c.expires_on.isoformat()} if c.expires_on else {}),
                    **({"educationalLevel": NmtLevel(c.nmt_level).label} if c.nmt_level else {}),
                }
                for c in credentials
            ],
            "worksFor": {
                "@type": "MedicalBusiness",
                "name": clinic.name,
                "telephone": clinic.phone,
                "address": {
                    "@type": "PostalAddress",
                    "streetAddress": clinic.address,
                    "addressLocality": clinic.city,
                    "postalCode": clinic.postcode,
                    "addressCountry": clinic.country,
                },
                **(
                    {"geo": {"@type": "GeoCoordinates", "latitude": float(clinic.latitude), "longitude": float(clinic.longitude)}}
                    if clinic.latitude is not None and clinic.longitude is not None
                    else {}
                ),
            },
        }
    ]
    service: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Service",
        "serviceType": "Neuromuscular therapy",
        "provider": {"@id": person_id},
        "offers": [{"@type": "Offer", "name": s.name, "price": str(s.price), "priceCurrency": s.currency} for s in services],
    }
    if ratings.count:
        service["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": ratings.overall,
            "reviewCount": ratings.count,
            "bestRating": 5,
            "worstRating": 1,
        }
    data.append(service)
    return json.dumps(data, ensure_ascii=False).translate(_LD_ESCAPES)


def profile_url(profile: TherapistProfile) -> str:
    return reverse("directory_profile", args=[profile.pk, profile.slug])


# --- queues ------------------------------------------------------------------------------------


def verification_queue() -> QuerySet[Credential]:
    return (
        Credential.objects.filter(status__in=[CredentialStatus.PENDING, CredentialStatus.NEEDS_INFO])
        .select_related("profile", "profile__clinic")
        .order_by("status", "submitted_at", "id")
    )


def held_reviews(*, clinic_id: int | None = None) -> QuerySet[Review]:
    qs = Review.objects.filter(status=ReviewStatus.PENDING).select_related("profile", "profile__clinic").order_by("created_at")
    return qs.filter(profile__clinic_id=clinic_id) if clinic_id else qs


def with_flag_text(reviews: list[Review]) -> list[Review]:
    for review in reviews:
        review.flag_text = describe(review.flags or [])  # type: ignore[attr-defined]
    return reviews


def reported_reviews(*, clinic_id: int | None = None) -> QuerySet[Review]:
    open_reports = Q(reports__resolved_at__isnull=True, reports__isnull=False)
    qs = (
        Review.objects.filter(
            Exists(ReviewReport.objects.filter(review=OuterRef("pk"), resolved_at__isnull=True)), status=ReviewStatus.PUBLISHED
        )
        .annotate(open_reports=Count("reports", filter=open_reports))
        .select_related("profile", "profile__clinic")
        .prefetch_related("reports")
        .order_by("created_at")
    )
    return qs.filter(profile__clinic_id=clinic_id) if clinic_id else qs


def open_report_count(review: Review) -> int:
    return ReviewReport.objects.filter(review=review, resolved_at__isnull=True).count()
