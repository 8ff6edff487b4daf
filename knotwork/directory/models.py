"""The public directory: therapist profiles, their credentials and verification, and reviews.

A profile copies a few things for search (the clinic's coordinates, the best verified
credential's expiry, the review totals, the next free consultation) so one indexed query answers
a search; :mod:`knotwork.directory.services` keeps the copies in step. Whether a credential is
*currently* valid is always decided from its dates at read time, never by a job.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from knotwork.accounts.models import Clinic, Membership, Role
from knotwork.lib.claim_codes import validate_npi

# Bayesian average for the rating sort: every therapist starts as if they had PRIOR_WEIGHT reviews
# of PRIOR_MEAN stars. One 5-star review scores (5·4 + 5) / 6 ≈ 4.17; forty reviews averaging
# 4.8 score (5·4 + 192) / 45 ≈ 4.71. See docs/directory.md.
PRIOR_MEAN = 4.0
PRIOR_WEIGHT = 5

# A certification without an expiry date is stored with this one in the search copy.
NO_EXPIRY = date(9999, 12, 31)


class Condition(models.TextChoices):
    """What a therapist lists as a focus. The ids are public (links from the self-check use them)."""

    HEADACHES = "headaches", "Headaches"
    NECK_PAIN = "neck-pain", "Neck pain"
    LOW_BACK_PAIN = "low-back-pain", "Low back pain"
    SCIATICA = "sciatica-like-pain", "Sciatica-like pain"
    CARPAL_TUNNEL = "carpal-tunnel-like-symptoms", "Carpal-tunnel-like symptoms"
    TMJ = "tmj", "Jaw (TMJ) pain"
    FIBROMYALGIA = "fibromyalgia", "Fibromyalgia and widespread pain"
    SPORTS = "sports", "Sports injuries and training"
    POSTURE = "posture", "Posture"
    STRESS = "stress", "Stress and tension"


class NmtLevel(models.IntegerChoices):
    NONE = 0, "Not certified"
    LEVEL_1 = 1, "Level I"
    LEVEL_2 = 2, "Level II"
    LEVEL_3 = 3, "Level III"
    LEVEL_4 = 4, "Level IV"


class Gender(models.TextChoices):
    UNSTATED = "", "Not stated"
    WOMAN = "woman", "Woman"
    MAN = "man", "Man"
    NON_BINARY = "non-binary", "Non-binary"
    SELF_DESCRIBED = "self", "Self-described"


def pack(values: list[str] | tuple[str, ...]) -> str:
    """A list of ids stored as ``,a,b,`` so ``LIKE '%,a,%'`` filters it on every database."""
    cleaned = sorted({v.strip() for v in values if v and v.strip()})
    return f",{','.join(cleaned)}," if cleaned else ""


def unpack(value: str) -> list[str]:
    return [v for v in (value or "").split(",") if v]


class TherapistProfileQuerySet(models.QuerySet["TherapistProfile"]):
    def listed(self) -> TherapistProfileQuerySet:
        """Profiles the public may see: published by the therapist, approved by the owner, placed on
        the map, and the therapist still works at the clinic."""
        return self.filter(
            models.Exists(
                Membership.objects.active().filter(
                    user_id=models.OuterRef("user_id"), clinic_id=models.OuterRef("clinic_id"), role__in=[Role.THERAPIST, Role.OWNER]
                )
            ),
            is_listed=True,
            user__is_active=True,
        )


class TherapistProfile(models.Model):
    """One therapist's public page at one clinic. The therapist writes it; the owner approves it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="directory_profiles")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="directory_profiles")
    display_name = models.CharField(max_length=120)
    headline = models.CharField(max_length=140, blank=True, help_text="One line under your name, e.g. “NMT for headaches and jaw pain”.")
    bio = models.TextField(max_length=3000, blank=True)
    photo_name = models.CharField(max_length=200, blank=True)
    photo_thumb_name = models.CharField(max_length=200, blank=True)
    languages = models.CharField(max_length=200, blank=True, help_text="Packed ISO 639-1 codes, e.g. ,en,pl,")
    modalities = models.JSONField(default=list, blank=True)
    conditions = models.CharField(max_length=300, blank=True, help_text="Packed focus condition ids.")
    nmt_level = models.PositiveSmallIntegerField(choices=NmtLevel.choices, default=NmtLevel.NONE, help_text="As stated by the therapist.")
    gender = models.CharField(max_length=12, choices=Gender.choices, blank=True, default=Gender.UNSTATED)
    gender_description = models.CharField(max_length=40, blank=True)
    accepting_new_clients = models.BooleanField(default=True)
    npi = models.CharField(
        "NPI", max_length=10, blank=True, default="", validators=[validate_npi], help_text="US National Provider Identifier."
    )
    is_published = models.BooleanField(default=False, help_text="The therapist wants the page public.")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Search copies (see the module docstring).
    is_listed = models.BooleanField(default=False, editable=False)
    latitude = models.FloatField(null=True, blank=True, editable=False)
    longitude = models.FloatField(null=True, blank=True, editable=False)
    licence_valid_until = models.DateField(null=True, blank=True, editable=False)
    nmt_valid_until = models.DateField(null=True, blank=True, editable=False)
    nmt_verified_level = models.PositiveSmallIntegerField(choices=NmtLevel.choices, default=0, editable=False)
    review_count = models.PositiveIntegerField(default=0, editable=False)
    rating_sum = models.PositiveIntegerField(default=0, editable=False)
    rating_score = models.FloatField(default=PRIOR_MEAN, editable=False)
    next_free_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_free_service = models.ForeignKey("bookings.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    availability_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TherapistProfileQuerySet.as_manager()

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "clinic"], name="directory_one_profile_per_clinic"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True) | Q(latitude__isnull=False, longitude__isnull=False),
                name="directory_profile_coordinates_both_or_neither",
            ),
            models.CheckConstraint(condition=Q(nmt_level__lte=4) & Q(nmt_verified_level__lte=4), name="directory_nmt_level_range"),
        ]
        indexes = [
            # The bounding-box prefilter: a range on latitude narrows to a band, longitude within it.
            models.Index(fields=["latitude", "longitude"], condition=Q(is_listed=True), name="directory_listed_geo_idx"),
            models.Index(fields=["-rating_score"], condition=Q(is_listed=True), name="directory_listed_rating_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def slug(self) -> str:
        return slugify(self.display_name)[:60] or "therapist"

    @property
    def condition_list(self) -> list[str]:
        return unpack(self.conditions)

    @property
    def condition_labels(self) -> list[str]:
        labels = dict(Condition.choices)
        return [labels[c] for c in self.condition_list if c in labels]

    @property
    def language_list(self) -> list[str]:
        return unpack(self.languages)

    @property
    def rating_average(self) -> float | None:
        return round(self.rating_sum / self.review_count, 1) if self.review_count else None

    def licence_verified(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.licence_valid_until is not None and self.licence_valid_until > today

    def nmt_certified(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.nmt_valid_until is not None and self.nmt_valid_until > today and self.nmt_verified_level > 0

    @property
    def gender_label(self) -> str:
        if self.gender == Gender.SELF_DESCRIBED:
            return self.gender_description
        return self.get_gender_display() if self.gender else ""


class CredentialStatus(models.TextChoices):
    PENDING = "pending", "Awaiting review"
    VERIFIED = "verified", "Verified"
    REJECTED = "rejected", "Rejected"
    NEEDS_INFO = "needs_info", "More information needed"


class CredentialQuerySet(models.QuerySet["Credential"]):
    def valid_on(self, day: date) -> CredentialQuerySet:
        """Verified and not yet expired on ``day`` (a licence is no longer valid on its expiry date)."""
        return self.filter(status=CredentialStatus.VERIFIED).filter(Q(expires_on__isnull=True) | Q(expires_on__gt=day))


class Credential(models.Model):
    """A licence or certification a therapist claims, with the document that proves it."""

    class Kind(models.TextChoices):
        LICENCE = "licence", "Licence to practise"
        NMT = "nmt", "NMT certification"
        BOARD = "board", "Board certification"
        OTHER = "other", "Other certification"

    profile = models.ForeignKey(TherapistProfile, on_delete=models.CASCADE, related_name="credentials")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    title = models.CharField(max_length=120, help_text="As printed, e.g. “Licensed Massage Therapist”.")
    jurisdiction = models.CharField(max_length=80, blank=True, help_text="State, province or country that issued it.")
    issuer = models.CharField(max_length=120, help_text="The board or body that issued it.")
    number = models.CharField(max_length=60, blank=True)
    nmt_level = models.PositiveSmallIntegerField(choices=NmtLevel.choices, default=NmtLevel.NONE)
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True, help_text="Required for licences. The badge disappears on this date.")
    document_name = models.CharField(max_length=200, blank=True)
    document_type = models.CharField(max_length=40, blank=True)
    document_label = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=12, choices=CredentialStatus.choices, default=CredentialStatus.PENDING)
    status_reason = models.CharField(max_length=500, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CredentialQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "-expires_on", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="licence") | Q(expires_on__isnull=False), name="directory_licence_has_expiry"),
            models.CheckConstraint(condition=~Q(kind="nmt") | Q(nmt_level__gte=1), name="directory_nmt_credential_has_level"),
            models.CheckConstraint(
                condition=~Q(status__in=["rejected", "needs_info"]) | ~Q(status_reason=""), name="directory_decision_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"], name="directory_credential_queue_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"

    def is_valid_on(self, day: date | None = None) -> bool:
        day = day or timezone.localdate()
        return self.status == CredentialStatus.VERIFIED and (self.expires_on is None or self.expires_on > day)

    def days_left(self, day: date | None = None) -> int | None:
        if self.expires_on is None:
            return None
        return (self.expires_on - (day or timezone.localdate())).days


class CredentialReminder(models.Model):
    """One row per reminder sent: the unique constraint makes a second send for the same expiry impossible."""

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="reminders")
    offset_days = models.PositiveSmallIntegerField()
    expires_on = models.DateField(help_text="The expiry date this reminder was for (a renewed credential is reminded again).")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["credential", "offset_days", "expires_on"], name="directory_credential_reminder_once"),
        ]

    def __str__(self) -> str:
        return f"{self.offset_days}-day reminder for credential {self.credential_id}"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Awaiting moderation"
    PUBLISHED = "published", "Published"
    REMOVED = "removed", "Removed by moderators"


class Review(models.Model):
    """A client's review of one completed appointment. Ratings 1–5; text is optional and moderated."""

    REVIEW_WINDOW = timedelta(days=90)
    EDIT_WINDOW = timedelta(days=7)

    class Display(models.TextChoices):
        FIRST_NAME = "first_name", "My first name and last initial"
        ANONYMOUS = "anonymous", "Anonymous"

    appointment = models.OneToOneField("bookings.Appointment", on_delete=models.PROTECT, related_name="review")
    profile = models.ForeignKey(TherapistProfile, on_delete=models.CASCADE, related_name="reviews")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    # The portal login that wrote it; kept empty if that login is deleted (the review stays, anonymous).
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    overall = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    communication = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    pressure_respected = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    results = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    text = models.TextField(max_length=2000, blank=True)
    display = models.CharField(max_length=12, choices=Display.choices, default=Display.FIRST_NAME)
    # Frozen when the review is written, so a later change of the client's name never leaks a surname.
    display_name = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    flags = models.JSONField(default=list, blank=True, help_text="Why the first-pass filter held it: codes only.")
    moderation_note = models.CharField(max_length=300, blank=True)
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    moderated_at = models.DateTimeField(null=True, blank=True)
    reply = models.TextField(max_length=1500, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    replied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(overall__gte=1, overall__lte=5)
                & Q(communication__gte=1, communication__lte=5)
                & Q(pressure_respected__gte=1, pressure_respected__lte=5)
                & Q(results__gte=1, results__lte=5),
                name="directory_review_ratings_1_to_5",
            ),
        ]
        indexes = [models.Index(fields=["profile", "status", "-created_at"], name="directory_review_profile_idx")]

    def __str__(self) -> str:
        return f"Review {self.pk} of {self.profile}"

    @property
    def public_name(self) -> str:
        return self.display_name if self.display == self.Display.FIRST_NAME and self.display_name else "Anonymous client"

    def editable_until(self) -> datetime:
        return self.created_at + self.EDIT_WINDOW


class ReviewReport(models.Model):
    """Someone says a review is abusive, false or breaks privacy. Platform staff decide."""

    class Reason(models.TextChoices):
        ABUSIVE = "abusive", "Abusive or hateful"
        FALSE = "false", "Not a real client or did not happen"
        PRIVACY = "privacy", "Reveals private information"
        OTHER = "other", "Something else"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    outcome = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["review", "reporter"], name="directory_one_report_per_person")]

    def __str__(self) -> str:
        return f"Report on review {self.review_id}"


class Referral(models.Model):
    """A “recommend to a friend” link. The friend's address is not kept; only how often the link was opened."""

    profile = models.ForeignKey(TherapistProfile, on_delete=models.CASCADE, related_name="referrals")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    opened_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Referral to {self.profile}"

    @staticmethod
    def new_token() -> tuple[str, str]:
        raw = secrets.token_urlsafe(12)
        return raw, Referral.hash_token(raw)

    @staticmethod
    def hash_token(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()
