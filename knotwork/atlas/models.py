"""The atlas in the database: so clinical records can point at a muscle or trigger point by key,
and every engine result can name the atlas version it used.

The YAML files under ``data/`` are the source; ``knotwork atlas load`` copies them here. Ids are
public contracts, so a row whose id leaves the data is marked retired, never deleted.
"""

from __future__ import annotations

from django.db import models


class AtlasVersion(models.Model):
    version = models.CharField(max_length=32, unique=True)
    loaded_at = models.DateTimeField(auto_now_add=True)
    regions = models.PositiveIntegerField()
    muscles = models.PositiveIntegerField()
    trigger_points = models.PositiveIntegerField()

    class Meta:
        ordering = ["-loaded_at"]
        get_latest_by = "loaded_at"

    def __str__(self) -> str:
        return f"atlas {self.version}"


class Region(models.Model):
    id = models.SlugField(primary_key=True, max_length=40)
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=10)
    view = models.CharField(max_length=10)
    wpi = models.CharField(max_length=20, blank=True)
    retired = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Muscle(models.Model):
    id = models.SlugField(primary_key=True, max_length=60)
    name = models.CharField(max_length=120)
    group = models.CharField(max_length=30)
    data = models.JSONField(help_text="The validated atlas entry, as loaded")
    retired = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TriggerPoint(models.Model):
    id = models.SlugField(primary_key=True, max_length=80)
    muscle = models.ForeignKey(Muscle, on_delete=models.PROTECT, related_name="trigger_points")
    name = models.CharField(max_length=120)
    data = models.JSONField()
    retired = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.muscle.name} — {self.name}"
