"""Outcome responses (one administration of one measure) and each episode's measurement schedule.

Measure definitions are data (``data/measures.yaml``, loaded by :mod:`knotwork.outcomes.scoring`);
a response stores the measure id and version it was scored with, the answers (``items``: the one
clinical field here) and the computed score. Score-only instruments store the total alone.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from knotwork.accounts.models import Clinic
from knotwork.clients.models import Client


class Source(models.TextChoices):
    CLINIC = "clinic", "Recorded in clinic"
    PORTAL = "portal", "Answered in the portal"
    DRAWING = "drawing", "Derived from a pain drawing"


class OutcomeResponseQuerySet(models.QuerySet["OutcomeResponse"]):
    def for_measure(self, measure_id: str) -> OutcomeResponseQuerySet:
        return self.filter(measure=measure_id)


class OutcomeResponse(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="outcome_responses")
    episode = models.ForeignKey("care.Episode", on_delete=models.CASCADE, related_name="outcome_responses")
    measure = models.CharField(max_length=30)
    measure_version = models.CharField(max_length=40)
    taken_at = models.DateTimeField(default=timezone.now)
    items = models.JSONField(default=dict, blank=True)
    score = models.DecimalField(max_digits=7, decimal_places=2)
    scoring_rule = models.CharField(max_length=120, blank=True, help_text="How the score was computed, incl. missing-item handling.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CLINIC)
    drawing = models.ForeignKey("clients.PainDrawing", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OutcomeResponseQuerySet.as_manager()

    class Meta:
        ordering = ["taken_at", "id"]
        indexes = [models.Index(fields=["episode", "measure", "taken_at"], name="outcome_episode_measure_idx")]
        constraints = [models.CheckConstraint(condition=Q(source__in=["clinic", "portal", "drawing"]), name="outcome_source_known")]

    def __str__(self) -> str:
        return f"{self.measure} {self.score} for episode {self.episode_id}"


class OutcomeSchedule(models.Model):
    """When an episode's measures are asked: a baseline, then every ``every_n_visits`` signed
    visits, and at discharge. ``no_change_after`` sets when "no important change" is flagged."""

    episode = models.OneToOneField("care.Episode", on_delete=models.CASCADE, related_name="outcome_schedule")
    measures = models.JSONField(default=list)
    every_n_visits = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1), MaxValueValidator(20)])
    no_change_after = models.PositiveSmallIntegerField(default=4, validators=[MinValueValidator(1), MaxValueValidator(30)])
    remind = models.BooleanField(default=True, help_text="E-mail the client a link when a portal measure is due.")
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    DEFAULT_MEASURES = ("nprs", "psfs", "groc")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(every_n_visits__gte=1), name="outcome_schedule_every_positive"),
            models.CheckConstraint(condition=Q(no_change_after__gte=1), name="outcome_schedule_no_change_positive"),
        ]

    def __str__(self) -> str:
        return f"Outcome schedule of episode {self.episode_id}"
