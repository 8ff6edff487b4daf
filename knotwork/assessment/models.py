from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from knotwork.accounts.models import Clinic
from knotwork.assessment.angles import View
from knotwork.assessment.findings import FINDING_KINDS, rules
from knotwork.assessment.norms import norms
from knotwork.clients.models import Client


class Side(models.TextChoices):
    LEFT = "left", "Left"
    RIGHT = "right", "Right"
    BOTH = "both", "Both sides"
    NONE = "", "Not sided"


class AssessmentQuerySet(models.QuerySet["Assessment"]):
    def for_client(self, client: Client) -> AssessmentQuerySet:
        return self.filter(client=client, clinic_id=client.clinic_id)


class Assessment(models.Model):
    """One postural and range-of-motion assessment of a client, at one time."""

    class Position(models.TextChoices):
        STANDING = "standing", "Standing"
        SEATED = "seated", "Seated"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="assessments")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    taken_at = models.DateTimeField(default=timezone.now)
    position = models.CharField(max_length=10, choices=Position.choices, default=Position.STANDING)
    # Clinical text: the one free-text field of an assessment (encrypted at rest by the hardening work).
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [models.Index(fields=["client", "-taken_at"], name="assessment_client_taken_idx")]

    def __str__(self) -> str:
        return f"Assessment {self.pk} of client {self.client_id}"


class PostureFinding(models.Model):
    class Kind(models.TextChoices):
        HEAD_FORWARD = "head_forward", FINDING_KINDS["head_forward"]
        HEAD_TILT = "head_tilt", FINDING_KINDS["head_tilt"]
        HEAD_ROTATION = "head_rotation", FINDING_KINDS["head_rotation"]
        SHOULDER_ELEVATION = "shoulder_elevation", FINDING_KINDS["shoulder_elevation"]
        SHOULDER_PROTRACTION = "shoulder_protraction", FINDING_KINDS["shoulder_protraction"]
        SCAPULAR_WINGING = "scapular_winging", FINDING_KINDS["scapular_winging"]
        THORACIC_HYPERKYPHOSIS = "thoracic_hyperkyphosis", FINDING_KINDS["thoracic_hyperkyphosis"]
        LUMBAR_HYPERLORDOSIS = "lumbar_hyperlordosis", FINDING_KINDS["lumbar_hyperlordosis"]
        LUMBAR_FLATTENED = "lumbar_flattened", FINDING_KINDS["lumbar_flattened"]
        PELVIC_TILT_ANTERIOR = "pelvic_tilt_anterior", FINDING_KINDS["pelvic_tilt_anterior"]
        PELVIC_TILT_POSTERIOR = "pelvic_tilt_posterior", FINDING_KINDS["pelvic_tilt_posterior"]
        PELVIC_OBLIQUITY = "pelvic_obliquity", FINDING_KINDS["pelvic_obliquity"]
        GENU_VALGUM = "genu_valgum", FINDING_KINDS["genu_valgum"]
        GENU_VARUM = "genu_varum", FINDING_KINDS["genu_varum"]
        GENU_RECURVATUM = "genu_recurvatum", FINDING_KINDS["genu_recurvatum"]
        FOOT_PRONATION = "foot_pronation", FINDING_KINDS["foot_pronation"]
        FOOT_SUPINATION = "foot_supination", FINDING_KINDS["foot_supination"]

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        MARKED = "marked", "Marked"

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="findings")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    side = models.CharField(max_length=5, choices=Side.choices, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MILD)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["assessment", "kind", "side"], name="one_posture_finding_per_kind_side")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.side}".strip()


class Photo(models.Model):
    """A re-encoded posture photo. The file lives in private storage under a random name and is
    served only through an access-checked view."""

    class ViewChoice(models.TextChoices):
        ANTERIOR = View.ANTERIOR.value, "Front"
        POSTERIOR = View.POSTERIOR.value, "Back"
        LATERAL_RIGHT = View.LATERAL_RIGHT.value, "Right side"
        LATERAL_LEFT = View.LATERAL_LEFT.value, "Left side"

    class Facing(models.IntegerChoices):
        IMAGE_RIGHT = 1, "Facing right in the photo"
        IMAGE_LEFT = -1, "Facing left in the photo"

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="photos")
    view = models.CharField(max_length=20, choices=ViewChoice.choices)
    facing = models.SmallIntegerField(choices=Facing.choices, default=Facing.IMAGE_RIGHT)
    image_name = models.CharField(max_length=200, editable=False)
    thumbnail_name = models.CharField(max_length=200, editable=False)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    byte_size = models.PositiveIntegerField()
    original_name = models.CharField(max_length=100, blank=True)
    calibration_cm = models.DecimalField(
        max_digits=6,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="The real length between the two calibration marks, in cm.",
    )
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["assessment_id", "view"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "view"], name="one_photo_per_view"),
            models.CheckConstraint(condition=Q(facing__in=[1, -1]), name="photo_facing_is_a_direction"),
        ]

    def __str__(self) -> str:
        return f"{self.get_view_display()} photo of assessment {self.assessment_id}"

    @property
    def view_enum(self) -> View:
        return View(self.view)

    @property
    def side(self) -> str:
        """The body side a lateral view shows ("right"/"left"), else ""."""
        return {View.LATERAL_RIGHT.value: "right", View.LATERAL_LEFT.value: "left"}.get(self.view, "")


class Landmark(models.Model):
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="landmarks")
    name = models.CharField(max_length=40)
    x = models.FloatField()
    y = models.FloatField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["photo", "name"], name="one_landmark_per_name"),
            models.CheckConstraint(condition=Q(x__gte=0, y__gte=0), name="landmark_inside_photo"),
        ]

    def __str__(self) -> str:
        return self.name


class Measure(models.Model):
    """A value computed on the server from a photo's landmarks (knotwork.assessment.angles)."""

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="measures")
    name = models.CharField(max_length=40)
    value = models.FloatField()
    unit = models.CharField(max_length=4)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["photo", "name"], name="one_measure_per_name")]

    def __str__(self) -> str:
        return f"{self.name} = {self.value}{self.unit}"


def motion_choices() -> list[tuple[str, str]]:
    return [(m.id, m.label) for m in norms().motions.values()]


class RomMeasurement(models.Model):
    class Mode(models.TextChoices):
        ACTIVE = "active", "Active"
        PASSIVE = "passive", "Passive"

    class Method(models.TextChoices):
        GONIOMETER = "goniometer", "Goniometer"
        INCLINOMETER = "inclinometer", "Inclinometer"
        CROM = "crom", "CROM device"
        VISUAL = "visual", "Visual estimate"

    class EndFeel(models.TextChoices):
        NOT_TESTED = "", "Not recorded"
        NORMAL = "normal", "Normal for the joint"
        SOFT = "soft", "Soft"
        FIRM = "firm", "Firm"
        HARD = "hard", "Hard"
        SPRINGY = "springy", "Springy block"
        SPASM = "spasm", "Muscle spasm"
        EMPTY = "empty", "Empty (pain stops the movement)"

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="rom")
    motion = models.CharField(max_length=40, choices=motion_choices)
    side = models.CharField(max_length=5, choices=Side.choices, blank=True)
    mode = models.CharField(max_length=7, choices=Mode.choices, default=Mode.ACTIVE)
    degrees = models.SmallIntegerField(validators=[MinValueValidator(-90), MaxValueValidator(220)])
    method = models.CharField(max_length=12, choices=Method.choices, default=Method.GONIOMETER)
    pain = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(10)], help_text="Pain on movement, 0–10")
    end_feel = models.CharField(max_length=10, choices=EndFeel.choices, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "motion", "side", "mode"], name="one_rom_reading_per_motion_side_mode"),
            models.CheckConstraint(condition=Q(degrees__gte=-90, degrees__lte=220), name="rom_degrees_in_range"),
            models.CheckConstraint(condition=Q(pain__isnull=True) | Q(pain__lte=10), name="rom_pain_0_to_10"),
        ]

    def __str__(self) -> str:
        return f"{self.motion} {self.side} {self.degrees}°"

    @property
    def motion_label(self) -> str:
        m = norms().motions.get(self.motion)
        return m.label if m else self.motion


def movement_test_choices() -> list[tuple[str, str]]:
    return [(t.id, t.label) for t in rules().tests.values()]


class MovementTest(models.Model):
    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="movement_tests")
    test = models.CharField(max_length=40, choices=movement_test_choices)
    side = models.CharField(max_length=5, choices=Side.choices, blank=True)
    result = models.CharField(max_length=40)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.test} {self.side}: {self.result}"

    @property
    def definition(self):  # type: ignore[no-untyped-def]
        return rules().tests.get(self.test)

    @property
    def result_label(self) -> str:
        d = self.definition
        r = d.results.get(self.result) if d else None
        return r.label if r else self.result

    @property
    def caution(self) -> str:
        d = self.definition
        r = d.results.get(self.result) if d else None
        return r.caution if r else ""


class NormPreference(models.Model):
    """The ROM norm set a clinic compares against (data/norms.yaml; AAOS by default)."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="+")
    norm_set = models.CharField(max_length=20, default="aaos")

    def __str__(self) -> str:
        return f"{self.clinic_id}: {self.norm_set}"
