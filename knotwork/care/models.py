"""Treatment: episodes of care and their versioned plans, visit notes (SOAP) with the
trigger-point and technique logs, live pressure feedback, addenda, the post-session check-in,
and home programs.

A signed visit is locked: services refuse to change it or anything logged on it, and
corrections are :class:`Addendum` rows. Clinical text lives in few, clearly named fields
(``Episode.goals_note``, ``TreatmentPlan.note``, ``Visit.subjective/objective/assessment/plan``,
``Addendum.text``, ``CheckIn.worrying``), so encrypting them at rest stays a small change.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from knotwork.accounts.models import Clinic
from knotwork.atlas.models import Muscle, TriggerPoint
from knotwork.clients.models import Client, PainDrawing
from knotwork.lib.crypto import EncryptedTextField

ZERO_TEN = [MinValueValidator(0), MaxValueValidator(10)]


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    raw = secrets.token_urlsafe(24)
    return raw, hash_token(raw)


class Side(models.TextChoices):
    RIGHT = "right", "Right"
    LEFT = "left", "Left"
    MIDLINE = "midline", "Midline / both"


class CareSettings(models.Model):
    """Per-clinic treatment settings."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="care_settings")
    pressure_ceiling = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Highest discomfort (0–10) a technique may be logged at.",
    )  # fmt: skip
    soreness_alert = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Check-in soreness at or above this flags the therapist.",
    )  # fmt: skip

    def __str__(self) -> str:
        return f"Care settings of {self.clinic}"

    @classmethod
    def for_clinic(cls, clinic: Clinic | int) -> CareSettings:
        clinic_id = clinic if isinstance(clinic, int) else clinic.pk
        found = cls.objects.filter(clinic_id=clinic_id).first()
        return found or cls(clinic_id=clinic_id)


class EpisodeStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    DISCHARGED = "discharged", "Discharged"


class Episode(models.Model):
    """One complaint and the care for it: its plans, visits and linked pain drawings."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="episodes")
    complaint = models.CharField(max_length=200)
    started_on = models.DateField()
    status = models.CharField(max_length=12, choices=EpisodeStatus.choices, default=EpisodeStatus.ACTIVE)
    ended_on = models.DateField(null=True, blank=True)
    goals_note = models.TextField(blank=True)
    drawings = models.ManyToManyField(PainDrawing, blank=True, related_name="episodes")
    # ICD-10 codes the therapist gives the episode, for US superbills: ``[{"code": "M79.1",
    # "description": "Myalgia"}]``, at most 12 (knotwork.lib.claim_codes checks the form).
    diagnosis_codes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_on", "-id"]
        indexes = [models.Index(fields=["client", "status"], name="episode_client_status_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["active", "paused", "discharged"]), name="episode_status_known"),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")), name="episode_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"Episode {self.pk}: {self.complaint}"


class Stage(models.TextChoices):
    """The NMT stages, in order. Each plan carries them as a checklist with exit criteria."""

    HYPERCONTRACTION = "hypercontraction", "Reduce hypercontraction and trigger-point activity"
    FLEXIBILITY = "flexibility", "Restore flexibility"
    BIOMECHANICS = "biomechanics", "Restore biomechanics"
    STRENGTH = "strength", "Rebuild strength"
    ENDURANCE = "endurance", "Rebuild endurance"


STAGE_EXIT_CRITERIA: dict[str, str] = {
    Stage.HYPERCONTRACTION: "Key trigger points latent or released; familiar pain no longer reproduced on palpation; pain ≤ 3/10.",
    Stage.FLEXIBILITY: "Range of motion of the involved joints within normal limits and symmetrical.",
    Stage.BIOMECHANICS: "Posture and movement faults that load the muscles corrected or managed.",
    Stage.STRENGTH: "The muscles tolerate loading through full range without pain or trigger-point return.",
    Stage.ENDURANCE: "The client does the activities in their goals for the time they want without symptoms returning.",
}


class TreatmentPlan(models.Model):
    """One version of an episode's plan. A change is a new version; old versions are kept.

    ``goals``: ``[{"activity": "carry my toddler", "target": "10 minutes without a headache"}]``
    (the activities a PSFS later measures). ``stages``: ``[{"id", "done", "exit"}]`` in
    :class:`Stage` order. ``focus``: atlas muscle ids.
    """

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="plans")
    version = models.PositiveIntegerField()
    goals = models.JSONField(default=list, blank=True)
    visits_per_week = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(7)])
    planned_visits = models.PositiveSmallIntegerField(default=6, validators=[MinValueValidator(1), MaxValueValidator(100)])
    focus = models.JSONField(default=list, blank=True)
    stages = models.JSONField(default=list, blank=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["episode", "version"], name="one_plan_per_version")]

    def __str__(self) -> str:
        return f"Plan v{self.version} of episode {self.episode_id}"


class Change(models.TextChoices):
    BETTER = "better", "Better"
    SAME = "same", "About the same"
    WORSE = "worse", "Worse"


class Adherence(models.TextChoices):
    ALL = "all", "Did all of it"
    MOST = "most", "Did most of it"
    SOME = "some", "Did some of it"
    NONE = "none", "Did none of it"
    NO_PROGRAM = "no_program", "No home program yet"


class VisitQuerySet(models.QuerySet["Visit"]):
    def signed(self) -> VisitQuerySet:
        return self.filter(signed_at__isnull=False)

    def drafts(self) -> VisitQuerySet:
        return self.filter(signed_at__isnull=True)


class Visit(models.Model):
    """One treatment session's note (SOAP). Locked once ``signed_at`` is set."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="visits")
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="visits")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The booking this note belongs to, when the visit was started from one (at most one note each).
    appointment = models.OneToOneField(
        "bookings.Appointment", on_delete=models.SET_NULL, null=True, blank=True, related_name="visit"
    )
    started_at = models.DateTimeField(default=timezone.now)
    # The client's check-in at the start of the visit; it pre-fills the Subjective.
    checkin_at = models.DateTimeField(null=True, blank=True)
    pain_today = models.PositiveSmallIntegerField(null=True, blank=True, validators=ZERO_TEN)
    change_since_last = models.CharField(max_length=10, choices=Change.choices, blank=True)
    soreness_after_last = models.PositiveSmallIntegerField(null=True, blank=True, validators=ZERO_TEN)
    program_adherence = models.CharField(max_length=12, choices=Adherence.choices, blank=True)
    subjective = EncryptedTextField(blank=True)
    objective = EncryptedTextField(blank=True)
    assessment = EncryptedTextField(blank=True)
    plan = EncryptedTextField(blank=True)
    next_steps = models.JSONField(default=list, blank=True)
    carried_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    carried_fields = models.JSONField(default=list, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VisitQuerySet.as_manager()

    SOAP_FIELDS = ("subjective", "objective", "assessment", "plan")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["client", "-started_at"], name="visit_client_started_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(signed_at__isnull=True) | Q(signed_by__isnull=False), name="visit_signed_has_signer"),
            models.CheckConstraint(condition=Q(pain_today__lte=10) | Q(pain_today__isnull=True), name="visit_pain_0_10"),
            models.CheckConstraint(
                condition=Q(soreness_after_last__lte=10) | Q(soreness_after_last__isnull=True), name="visit_soreness_0_10"
            ),
        ]

    def __str__(self) -> str:
        return f"Visit {self.pk} for client {self.client_id}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class TriggerPointFinding(models.Model):
    """One examined trigger point at one visit (the Objective's trigger-point log)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        LATENT = "latent", "Latent"

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="findings")
    trigger_point = models.ForeignKey(TriggerPoint, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=8, choices=Side.choices)
    status = models.CharField(max_length=8, choices=Status.choices)
    taut_band = models.BooleanField(default=False)
    twitch_response = models.BooleanField("local twitch response", default=False)
    referral_reproduced = models.BooleanField(default=False)
    familiar_pain = models.BooleanField("familiar pain reproduced", default=False)
    tenderness = models.PositiveSmallIntegerField("tenderness (0–10)", null=True, blank=True, validators=ZERO_TEN)
    ppt_kg_cm2 = models.DecimalField(
        "pressure-pain threshold (kg/cm²)", max_digits=4, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(20)],
    )  # fmt: skip
    released = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "trigger_point", "side"], name="one_finding_per_point_and_side"),
            models.CheckConstraint(condition=Q(status__in=["active", "latent"]), name="finding_status_known"),
        ]
        indexes = [models.Index(fields=["trigger_point", "side"], name="finding_point_side_idx")]

    def __str__(self) -> str:
        return f"{self.trigger_point_id} ({self.side}) at visit {self.visit_id}"


class Response(models.TextChoices):
    RELEASED = "released", "Released / softened"
    EASED = "eased", "Eased"
    NO_CHANGE = "no_change", "No change"
    WORSE = "worse", "Worse / irritated"
    STOPPED = "stopped", "Stopped at the client's request"


class TechniqueApplication(models.Model):
    """One technique applied to one target. ``acknowledged_flags`` lists the precaution flags the
    therapist acknowledged to log it (empty when none applied)."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="techniques")
    technique = models.CharField(max_length=40)
    muscle = models.ForeignKey(Muscle, on_delete=models.PROTECT, related_name="+")
    trigger_point = models.ForeignKey(TriggerPoint, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    side = models.CharField(max_length=8, choices=Side.choices)
    hold_s = models.PositiveSmallIntegerField("hold (seconds)", validators=[MaxValueValidator(600)])
    reps = models.PositiveSmallIntegerField("repetitions", default=1, validators=[MinValueValidator(1), MaxValueValidator(50)])
    pressure = models.PositiveSmallIntegerField("pressure (client's discomfort 0–10)", validators=ZERO_TEN)
    response = models.CharField(max_length=10, choices=Response.choices)
    response_note = models.CharField(max_length=300, blank=True)
    pain_before = models.PositiveSmallIntegerField(null=True, blank=True, validators=ZERO_TEN)
    pain_after = models.PositiveSmallIntegerField(null=True, blank=True, validators=ZERO_TEN)
    acknowledged_flags = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(pressure__lte=10), name="technique_pressure_0_10"),
            models.CheckConstraint(condition=Q(reps__gte=1), name="technique_reps_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.technique} on {self.muscle_id} at visit {self.visit_id}"


class FeedbackKind(models.TextChoices):
    MORE = "more", "More"
    LESS = "less", "Less"
    GOOD = "good", "Good"
    STOP = "stop", "Stop"


class PressureFeedback(models.Model):
    """One press of the client's feedback page, with its time; linked to the technique logged after it."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="feedback")
    technique = models.ForeignKey(TechniqueApplication, on_delete=models.SET_NULL, null=True, blank=True, related_name="feedback")
    kind = models.CharField(max_length=6, choices=FeedbackKind.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["visit", "at"], name="feedback_visit_at_idx")]
        constraints = [models.CheckConstraint(condition=Q(kind__in=["more", "less", "good", "stop"]), name="feedback_kind_known")]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%H:%M:%S}"


class FeedbackTokenQuerySet(models.QuerySet["FeedbackToken"]):
    def usable(self) -> FeedbackTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now(), visit__signed_at__isnull=True)


class FeedbackToken(models.Model):
    """The secret in the client's feedback link. Only its hash is stored; bound to one visit."""

    VALID_FOR = timedelta(hours=2)

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="feedback_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = FeedbackTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Feedback link for visit {self.visit_id}"


class Addendum(models.Model):
    """A correction or addition to a signed note: who, when, why, what."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=200)
    text = EncryptedTextField()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "addenda"

    def __str__(self) -> str:
        return f"Addendum {self.pk} to visit {self.visit_id}"


class CheckInQuerySet(models.QuerySet["CheckIn"]):
    def due(self, now: object = None) -> CheckInQuerySet:
        return self.filter(sent_at__isnull=True, answered_at__isnull=True, due_at__lte=now or timezone.now())


class CheckIn(models.Model):
    """The client's answers 24–48 h after a visit, asked by email with a one-visit link."""

    ANSWER_WINDOW = timedelta(days=7)

    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="checkin")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    token_hash = models.CharField(max_length=64, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    soreness = models.PositiveSmallIntegerField(null=True, blank=True, validators=ZERO_TEN)
    familiar_pain_returned = models.BooleanField(null=True, blank=True)
    worrying = EncryptedTextField(blank=True)
    flagged = models.BooleanField(default=False, help_text="Soreness unusually high or something worrying: the therapist should look.")

    objects = CheckInQuerySet.as_manager()

    class Meta:
        ordering = ["-due_at"]
        indexes = [models.Index(fields=["sent_at", "due_at"], name="checkin_due_idx")]
        constraints = [models.CheckConstraint(condition=Q(soreness__lte=10) | Q(soreness__isnull=True), name="checkin_soreness_0_10")]

    def __str__(self) -> str:
        return f"Check-in after visit {self.visit_id}"


class HomeProgram(models.Model):
    """A client's current set of home exercises. Items are retired, never deleted, so the
    adherence history stays whole."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="home_program")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Home program of client {self.client_id}"


class HomeProgramItem(models.Model):
    program = models.ForeignKey(HomeProgram, on_delete=models.CASCADE, related_name="items")
    exercise = models.CharField(max_length=60)
    sets = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(10)])
    reps = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(50)])
    hold_s = models.PositiveSmallIntegerField(validators=[MaxValueValidator(300)])
    per_day = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(6)])
    note = models.CharField(max_length=300, blank=True)
    added_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "exercise"], condition=Q(removed_at__isnull=True), name="one_current_item_per_exercise"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.exercise} in program {self.program_id}"


class AdherenceLog(models.Model):
    """One day's check-off of one exercise, with how it felt (0 = fine, 10 = worst)."""

    item = models.ForeignKey(HomeProgramItem, on_delete=models.CASCADE, related_name="logs")
    day = models.DateField()
    done = models.BooleanField(default=True)
    feeling = models.PositiveSmallIntegerField(null=True, blank=True, validators=ZERO_TEN)
    logged_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["item", "day"], name="one_log_per_item_per_day"),
            models.CheckConstraint(condition=Q(feeling__lte=10) | Q(feeling__isnull=True), name="adherence_feeling_0_10"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} on {self.day}"
