"""Writes for profiles and credentials, and keeping a profile's search copies in step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO, Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Case, IntegerField, Q, Sum, Value, When
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from knotwork.accounts.models import Clinic, Membership, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.bookings.models import Service
from knotwork.bookings.selectors import free_slots
from knotwork.directory.models import (
    NO_EXPIRY,
    PRIOR_MEAN,
    PRIOR_WEIGHT,
    Credential,
    CredentialStatus,
    Referral,
    ReviewStatus,
    TherapistProfile,
)
from knotwork.lib.mail import send_email
from knotwork.lib.uploads import clean_image, delete_stored, random_name, store_image
from knotwork.lib.urls import absolute_url
from knotwork.messaging.attachments import clean_attachment

AVAILABILITY_DAYS = 30
AVAILABILITY_FRESH = timedelta(minutes=30)


class DirectoryError(Exception):
    def __init__(self, message: str, *, field: str = "", status: int = 422) -> None:
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


# --- search copies -----------------------------------------------------------------------------


def refresh_listing(profile: TherapistProfile, *, save: bool = True) -> TherapistProfile:
    """Recompute the copies search reads: place, listed flag, verified credentials, rating."""
    clinic = profile.clinic
    has_place = clinic.latitude is not None and clinic.longitude is not None
    profile.latitude = float(clinic.latitude) if has_place else None  # type: ignore[arg-type]
    profile.longitude = float(clinic.longitude) if has_place else None  # type: ignore[arg-type]
    profile.is_listed = bool(profile.is_published and profile.approved_at and has_place)
    today = timezone.localdate()
    valid = list(Credential.objects.filter(profile=profile).valid_on(today))
    licences = [c.expires_on for c in valid if c.kind == Credential.Kind.LICENCE and c.expires_on]
    profile.licence_valid_until = max(licences, default=None)
    nmt = [c for c in valid if c.kind == Credential.Kind.NMT]
    profile.nmt_valid_until = max((c.expires_on or NO_EXPIRY for c in nmt), default=None)
    profile.nmt_verified_level = max((c.nmt_level for c in nmt), default=0)
    totals = profile.reviews.filter(status=ReviewStatus.PUBLISHED).aggregate(n=Sum(Value(1)), total=Sum("overall"))
    profile.review_count = totals["n"] or 0
    profile.rating_sum = totals["total"] or 0
    profile.rating_score = bayesian(profile.rating_sum, profile.review_count)
    if save:
        profile.save()
    return profile


def bayesian(rating_sum: int, count: int) -> float:
    return (PRIOR_MEAN * PRIOR_WEIGHT + rating_sum) / (PRIOR_WEIGHT + count)


def consultation_service(profile: TherapistProfile) -> Service | None:
    """What a new client books first: a free consultation if there is one, else the cheapest
    service open to new clients."""
    return (
        Service.objects.active()
        .for_therapist(profile.user_id)
        .filter(clinic_id=profile.clinic_id, online_booking__in=[Service.OnlineBooking.ANYONE, Service.OnlineBooking.APPROVAL])
        .annotate(
            first=Case(
                When(Q(kind=Service.Kind.CONSULTATION, price=0), then=0),
                When(kind=Service.Kind.CONSULTATION, then=1),
                default=2,
                output_field=IntegerField(),
            )
        )
        .order_by("first", "price", "duration_minutes", "id")
        .first()
    )


def refresh_availability(profile: TherapistProfile, *, now: datetime | None = None) -> TherapistProfile:
    """The next free start of the first-visit service, from bookings' own slot finder."""
    now = now or timezone.now()
    service = consultation_service(profile) if profile.accepting_new_clients else None
    found = None
    if service is not None:
        today = timezone.localdate(now, timezone=profile.clinic.tz)
        slots = free_slots(
            clinic=profile.clinic,
            therapist=profile.user,
            service=service,
            first_day=today,
            last_day=today + timedelta(days=AVAILABILITY_DAYS),
            now=now,
        )
        found = slots[0].start if slots else None
    TherapistProfile.objects.filter(pk=profile.pk).update(next_free_at=found, next_free_service=service, availability_checked_at=now)
    profile.next_free_at, profile.next_free_service, profile.availability_checked_at = found, service, now
    return profile


def refresh_stale_availability(*, now: datetime | None = None, limit: int = 2000) -> int:
    """Refresh listed profiles checked longer ago than AVAILABILITY_FRESH (the periodic sweep)."""
    now = now or timezone.now()
    stale = (
        TherapistProfile.objects.listed()
        .filter(Q(availability_checked_at__isnull=True) | Q(availability_checked_at__lt=now - AVAILABILITY_FRESH))
        .select_related("clinic", "user")
        .order_by("availability_checked_at")[:limit]
    )
    count = 0
    for profile in stale:
        refresh_availability(profile, now=now)
        count += 1
    return count


# --- profiles ----------------------------------------------------------------------------------


def profile_for_therapist(*, user: User, clinic: Clinic) -> TherapistProfile:
    """The therapist's profile at the clinic, created (unpublished) on first visit."""
    profile, created = TherapistProfile.objects.select_related("clinic", "user").get_or_create(
        user=user, clinic=clinic, defaults={"display_name": user.full_name or user.display_name}
    )
    if created:
        audit_record(action=Action.CREATE, obj=profile, clinic=clinic, detail={"user": user.pk})
    return profile


PROFILE_FIELDS = (
    "display_name", "headline", "bio", "languages", "modalities", "conditions", "nmt_level", "gender",
    "gender_description", "accepting_new_clients", "is_published", "npi",
)  # fmt: skip


@transaction.atomic
def profile_update(*, profile: TherapistProfile, data: dict[str, Any], membership: Membership) -> TherapistProfile:
    changed = [f for f in PROFILE_FIELDS if f in data and getattr(profile, f) != data[f]]
    for field in changed:
        setattr(profile, field, data[field])
    if profile.gender != "self":
        profile.gender_description = ""
    refresh_listing(profile)
    audit_record(action=Action.UPDATE, obj=profile, clinic=profile.clinic, role=membership.role, detail={"fields": changed})
    return profile


@transaction.atomic
def profile_photo_set(*, profile: TherapistProfile, upload: IO[bytes], name: str, membership: Membership) -> TherapistProfile:
    image = clean_image(upload, name=name)
    stored = store_image(image, folder="directory/photos")
    old = (profile.photo_name, profile.photo_thumb_name)
    try:
        profile.photo_name, profile.photo_thumb_name = stored.name, stored.thumbnail_name
        profile.save(update_fields=["photo_name", "photo_thumb_name", "updated_at"])
        audit_record(action=Action.UPDATE, obj=profile, clinic=profile.clinic, role=membership.role, detail={"fields": ["photo"]})
    except Exception:
        delete_stored(stored.name, stored.thumbnail_name)
        raise
    transaction.on_commit(lambda: delete_stored(*old))
    return profile


@transaction.atomic
def profile_photo_remove(*, profile: TherapistProfile, membership: Membership) -> None:
    old = (profile.photo_name, profile.photo_thumb_name)
    profile.photo_name = profile.photo_thumb_name = ""
    profile.save(update_fields=["photo_name", "photo_thumb_name", "updated_at"])
    transaction.on_commit(lambda: delete_stored(*old))
    audit_record(action=Action.DELETE, obj=profile, clinic=profile.clinic, role=membership.role, detail={"fields": ["photo"]})


@transaction.atomic
def profile_approve(*, profile: TherapistProfile, approve: bool, actor: User, membership: Membership) -> TherapistProfile:
    """The owner lets a published profile go public (or takes it down). Approval lasts until withdrawn."""
    profile.approved_at = timezone.now() if approve else None
    profile.approved_by = actor if approve else None
    refresh_listing(profile)
    audit_record(action=Action.UPDATE, obj=profile, clinic=profile.clinic, role=membership.role, detail={"approved": approve})
    return profile


# --- credentials -------------------------------------------------------------------------------

CREDENTIAL_FIELDS = ("kind", "title", "jurisdiction", "issuer", "number", "nmt_level", "issued_on", "expires_on")
# A change to any of these means the verifier must look again.
EVIDENCE_FIELDS = ("kind", "title", "jurisdiction", "issuer", "number", "nmt_level", "issued_on", "expires_on")


@dataclass(frozen=True)
class Document:
    data: bytes
    content_type: str
    label: str
    extension: str


def clean_document(upload: IO[bytes], *, name: str) -> Document:
    """A PDF (no scripts, forms or embedded files) or a photo of the certificate (re-encoded)."""
    cleaned = clean_attachment(upload, name=name)
    extension = "pdf" if cleaned.content_type == "application/pdf" else "jpg"
    return Document(cleaned.data, cleaned.content_type, cleaned.display_name, extension)


def _store_document(document: Document) -> str:
    return default_storage.save(random_name("directory/credentials", document.extension), ContentFile(document.data))


@transaction.atomic
def credential_save(
    *,
    profile: TherapistProfile,
    data: dict[str, Any],
    document: Document | None,
    membership: Membership,
    credential: Credential | None = None,
) -> Credential:
    """Create or change a credential. New evidence (fields or document) sends it back to the verifier."""
    creating = credential is None
    credential = credential or Credential(profile=profile)
    if data.get("kind") != Credential.Kind.NMT:
        data = {**data, "nmt_level": 0}
    changed = [f for f in CREDENTIAL_FIELDS if f in data and getattr(credential, f) != data[f]]
    for field in changed:
        setattr(credential, field, data[field])
    if creating and document is None:
        raise DirectoryError("Attach the licence or certificate (PDF or a photo).", field="document")
    credential.full_clean(exclude=["profile", "reviewed_by", "document_name"])
    old_document = credential.document_name
    if document is not None:
        credential.document_name = _store_document(document)
        credential.document_type, credential.document_label = document.content_type, document.label
        changed.append("document")
    if creating or any(f in EVIDENCE_FIELDS or f == "document" for f in changed):
        credential.status, credential.status_reason = CredentialStatus.PENDING, ""
        credential.reviewed_by, credential.reviewed_at, credential.submitted_at = None, None, timezone.now()
    try:
        credential.save()
    except Exception:
        if document is not None:
            delete_stored(credential.document_name)
        raise
    if document is not None and old_document:
        transaction.on_commit(lambda: delete_stored(old_document))
    refresh_listing(profile)
    audit_record(
        action=Action.CREATE if creating else Action.UPDATE,
        obj=credential,
        clinic=profile.clinic,
        role=membership.role,
        detail={"fields": changed, "status": credential.status},
    )
    return credential


@transaction.atomic
def credential_delete(*, credential: Credential, membership: Membership) -> None:
    profile, name, pk = credential.profile, credential.document_name, credential.pk
    credential.delete()
    transaction.on_commit(lambda: delete_stored(name))
    refresh_listing(profile)
    audit_record(action=Action.DELETE, object_type="directory.credential", object_id=pk, clinic=profile.clinic, role=membership.role)


DECISIONS = {
    "verify": CredentialStatus.VERIFIED,
    "reject": CredentialStatus.REJECTED,
    "needs_info": CredentialStatus.NEEDS_INFO,
}


@transaction.atomic
def credential_decide(*, credential: Credential, decision: str, reason: str, actor: User, today: date | None = None) -> Credential:
    """A verifier's decision. Rejections and requests for more information carry a reason the
    therapist sees; an already-expired licence cannot be verified."""
    status = DECISIONS.get(decision)
    if status is None:
        raise DirectoryError("Choose verify, reject or ask for more information.", field="decision", status=400)
    reason = reason.strip()[:500]
    if status != CredentialStatus.VERIFIED and not reason:
        raise DirectoryError("Say why, so the therapist knows what to do next.", field="reason", status=400)
    today = today or timezone.localdate()
    if status == CredentialStatus.VERIFIED and credential.expires_on is not None and credential.expires_on <= today:
        raise DirectoryError("This credential has already expired; ask the therapist for the renewed one.", field="decision")
    locked = Credential.objects.select_for_update().select_related("profile", "profile__clinic").get(pk=credential.pk)
    previous = locked.status
    locked.status, locked.status_reason = status, ("" if status == CredentialStatus.VERIFIED else reason)
    locked.reviewed_by, locked.reviewed_at = actor, timezone.now()
    locked.save(update_fields=["status", "status_reason", "reviewed_by", "reviewed_at"])
    refresh_listing(locked.profile)
    audit_record(
        action=Action.UPDATE,
        obj=locked,
        clinic=locked.profile.clinic,
        actor=actor,
        role="verifier",
        detail={"step": decision, "from": previous, "to": status},
    )
    return locked


# --- recommending ------------------------------------------------------------------------------


@transaction.atomic
def referral_send(*, profile: TherapistProfile, sender: User, to: str) -> Referral:
    """E-mail a friend a link to the profile. The text is fixed (no free text: no spam relay) and
    the friend's address is not stored."""
    raw, token_hash = Referral.new_token()
    referral = Referral.objects.create(profile=profile, sender=sender, token_hash=token_hash)
    link = absolute_url(f"{reverse('directory_profile', args=[profile.pk, profile.slug])}?{urlencode({'ref': raw})}")
    first = (sender.full_name or "").split(" ")[0] or "A friend"
    body = render_to_string("directory/email/recommend.txt", {"profile": profile, "link": link, "first": first})
    transaction.on_commit(lambda: send_email(to=to, subject=f"{first} recommends {profile.display_name}", text=body, clinic=profile.clinic))
    return referral
