"""Intake: what a client tells the clinic before the first visit, and what follows from it.

Clinical text lives in few, clearly named JSON/text fields (``IntakeSubmission.answers``,
``PainDrawing.marks``, ``ScreeningFlag.reason``/``note``), so encrypting them at rest stays a
small change.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q

from knotwork.accounts.models import Clinic
from knotwork.clients.models.client import Client
from knotwork.lib.crypto import EncryptedJSONField, EncryptedTextField


class IntakeStatus(models.TextChoices):
    DRAFT = "draft", "In progress"
    SUBMITTED = "submitted", "Submitted"
    REVIEWED = "reviewed", "Reviewed"


class IntakeQuestion(models.Model):
    """One of a clinic's own intake questions, asked after Knotwork's standard ones.

    Questions are archived, never deleted: submitted intakes keep each question's wording as it
    was when answered, so changing or retiring a question never rewrites a client's answers.
    """

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        CHOICE = "choice", "Choice (one of a list)"
        YESNO = "yesno", "Yes / no"
        NUMBER = "number", "Number"
        DATE = "date", "Date"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="intake_questions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.CharField(max_length=300)
    help_text = models.CharField(max_length=300, blank=True)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text

    @property
    def key(self) -> str:
        return f"custom-{self.pk}"


class IntakeSubmission(models.Model):
    """A client's intake: a draft saved on every step, then submitted, then reviewed by staff.

    ``answers`` maps question id -> ``{"q": wording when answered, "a": value}``; the drawing
    being painted and the red-flag answers are answers like any other until submission turns
    them into a :class:`PainDrawing` and :class:`ScreeningFlag` rows.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="intakes")
    status = models.CharField(max_length=10, choices=IntakeStatus.choices, default=IntakeStatus.DRAFT)
    form_version = models.CharField(max_length=80)
    # The language the form was shown in when the client last saved it ("en", "es", "fr"): the
    # stored wording (``answers[…]["q"]``) is in this language, the values are the same in all.
    language = models.CharField(max_length=8, default="en")
    answers = EncryptedJSONField(default=dict, blank=True)
    red_flag_rules_version = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["client"], condition=Q(status="draft"), name="one_draft_intake_per_client"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False), name="intake_submitted_has_submitted_at"
            ),
            models.CheckConstraint(
                condition=~Q(status="reviewed") | Q(reviewed_at__isnull=False), name="intake_reviewed_has_reviewed_at"
            ),
        ]

    def __str__(self) -> str:
        return f"Intake {self.pk} for client {self.client_id} ({self.status})"

    def answer(self, key: str, default: object = None) -> object:
        entry = self.answers.get(key)
        return entry.get("a", default) if isinstance(entry, dict) else default


class IntakeNote(models.Model):
    """Something staff did with an intake: a review note or a request for more information."""

    class Kind(models.TextChoices):
        REVIEWED = "reviewed", "Marked reviewed"
        MORE_INFO = "more_info", "Asked for more information"

    intake = models.ForeignKey(IntakeSubmission, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = EncryptedTextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on intake {self.intake_id}"


class ConsentSignature(models.Model):
    """One signature on one version of one consent document.

    ``text`` is the exact text shown and ``text_sha256`` its hash, so what was agreed can be
    proven even after the document's next version is published; ``language`` says which language's
    text of that version it was.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    intake = models.ForeignKey(IntakeSubmission, on_delete=models.SET_NULL, null=True, blank=True, related_name="consents")
    document = models.CharField(max_length=40)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=120)
    text = models.TextField()
    text_sha256 = models.CharField(max_length=64)
    # The language of ``text``: English or the translation of this version the client signed.
    language = models.CharField(max_length=8, default="en")
    typed_name = models.CharField(max_length=150)
    drawn_svg_path = models.TextField()
    signed_at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-signed_at", "-id"]
        indexes = [models.Index(fields=["client", "document", "-signed_at"], name="consent_client_doc_idx")]

    def __str__(self) -> str:
        return f"{self.title} v{self.version} signed by client {self.client_id}"


class FlagClass(models.TextChoices):
    REFER_OUT = "refer_out", "Refer out: do not treat"
    PRECAUTION = "precaution", "Treat with precautions"
    LOCAL = "local", "Local contraindication"


class ScreeningFlagQuerySet(models.QuerySet["ScreeningFlag"]):
    def open(self) -> ScreeningFlagQuerySet:
        return self.filter(cleared_at__isnull=True)

    def by_severity(self) -> ScreeningFlagQuerySet:
        order = models.Case(
            models.When(flag_class=FlagClass.REFER_OUT, then=0),
            models.When(flag_class=FlagClass.PRECAUTION, then=1),
            default=2,
        )
        return self.order_by(order, "-created_at", "id")


class ScreeningFlag(models.Model):
    """A safety finding from intake that carries forward to every visit until cleared.

    ``forbids``/``cautions`` are technique ids and ``regions`` atlas cell ids; the treatment log
    reads them to block or warn. A therapist acknowledges a flag (read, will act on it); only a
    clinically qualified role clears it (it no longer applies).
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="screening_flags")
    intake = models.ForeignKey(IntakeSubmission, on_delete=models.SET_NULL, null=True, blank=True, related_name="flags")
    rule_id = models.CharField(max_length=80)
    rules_version = models.CharField(max_length=20)
    flag_class = models.CharField(max_length=12, choices=FlagClass.choices)
    title = models.CharField(max_length=150)
    reason = models.TextField()
    changes = models.TextField(blank=True)
    forbids = models.JSONField(default=list, blank=True)
    cautions = models.JSONField(default=list, blank=True)
    regions = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    acknowledge_note = EncryptedTextField(blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    clear_note = EncryptedTextField(blank=True)

    objects = ScreeningFlagQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["client", "cleared_at"], name="flag_client_open_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "rule_id"], condition=Q(cleared_at__isnull=True), name="one_open_flag_per_rule_per_client"
            ),
            models.CheckConstraint(condition=Q(flag_class__in=["refer_out", "precaution", "local"]), name="flag_class_known"),
        ]

    def __str__(self) -> str:
        return f"{self.get_flag_class_display()}: {self.title}"

    @property
    def status(self) -> str:
        if self.cleared_at:
            return "cleared"
        return "acknowledged" if self.acknowledged_at else "new"


class PainDrawing(models.Model):
    """A dated pain drawing in the public contract shape (``marks``: cell, intensity, quality)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="pain_drawings")
    intake = models.ForeignKey(IntakeSubmission, on_delete=models.SET_NULL, null=True, blank=True, related_name="drawings")
    taken_at = models.DateTimeField()
    marks = EncryptedJSONField(default=list)
    symptoms = EncryptedJSONField(default=list, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["client", "-taken_at"], name="drawing_client_taken_idx")]

    def __str__(self) -> str:
        return f"Pain drawing {self.pk} for client {self.client_id}"

    def as_contract(self) -> dict[str, object]:
        return {"marks": self.marks, "symptoms": self.symptoms}


class MedicalClearance(models.Model):
    """A clinician's record that a physician has cleared the client for hands-on work despite red flags.

    At the triage levels that withhold the muscle list (emergency, same-day, ask-first) the engine
    shows the likely sources again once a clearance covers every red flag the client's current
    triage raises (``flags``: the ids positive or to be asked first when it was recorded; see
    ``intake.selectors.client_explain``). ``note`` says who cleared the client and when, in the
    clinician's words. Never edited: a later clearance is a new row, the latest one counts.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="medical_clearances")
    flags = models.JSONField(default=list)
    rules_version = models.CharField(max_length=20, blank=True)
    note = EncryptedTextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["client", "-recorded_at"], name="clearance_client_recorded_idx")]

    def __str__(self) -> str:
        return f"Medical clearance {self.pk} for client {self.client_id}"

    def covers(self, flags: Iterable[str]) -> bool:
        """Every one of ``flags`` is among the red flags this clearance was recorded for."""
        return set(flags) <= set(self.flags)
