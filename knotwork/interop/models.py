"""A client's data export (right of access / portability): requested, built in the background,
downloadable through a signed, time-limited link until it expires."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from knotwork.accounts.models import Clinic
from knotwork.clients.models import Client


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Being prepared"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired (archive deleted)"


class DataExport(models.Model):
    VALID_FOR = timedelta(days=7)

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="data_exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    file_name = models.CharField(max_length=200, blank=True, editable=False)
    byte_size = models.PositiveBigIntegerField(null=True, blank=True)
    row_counts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["pending", "ready", "failed", "expired"]), name="export_status_known"),
            models.CheckConstraint(condition=~Q(status="ready") | ~Q(file_name=""), name="export_ready_has_file"),
        ]

    def __str__(self) -> str:
        return f"Data export {self.pk} of client {self.client_id}"

    @property
    def is_downloadable(self) -> bool:
        return self.status == ExportStatus.READY and self.expires_at > timezone.now()
