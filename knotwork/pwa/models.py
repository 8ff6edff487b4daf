"""Web Push subscriptions and what each person chose to receive.

A subscription is one browser on one device (the push service's endpoint and the keys that
encrypt messages for it); preferences are per person, so a new phone inherits them.
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.utils import timezone


class PushKind(models.TextChoices):
    REMINDER = "reminder", "Appointment reminders"
    CHECKIN = "checkin", "After-visit check-ins"
    NUDGE = "nudge", "Home-program nudges"


class PushPreferences(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_preferences")
    reminders = models.BooleanField("Appointment reminders", default=True)
    checkins = models.BooleanField("After-visit check-ins", default=True)
    nudges = models.BooleanField("A daily nudge for my home exercises", default=False)
    nudge_at = models.TimeField("Nudge me at", default=time(18, 0))
    quiet_from = models.TimeField("Quiet from", default=time(21, 0))
    quiet_until = models.TimeField("Quiet until", default=time(8, 0))
    time_zone = models.CharField(max_length=64, default="UTC")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"notification choices of user {self.user_id}"

    def wants(self, kind: str) -> bool:
        return {PushKind.REMINDER: self.reminders, PushKind.CHECKIN: self.checkins, PushKind.NUDGE: self.nudges}.get(kind, False)  # type: ignore[call-overload]


class PushSubscription(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    device = models.CharField(max_length=120, blank=True, help_text="A label from the browser, shown so the person can tell devices apart.")
    created_at = models.DateTimeField(default=timezone.now)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.device or f"push subscription {self.pk}"

    def as_info(self) -> dict[str, object]:
        """The subscription as the Push API hands it over (what pywebpush takes)."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class NudgeLog(models.Model):
    """One home-program nudge per person per day, claimed before it is sent."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="pwa_one_nudge_per_day")]

    def __str__(self) -> str:
        return f"nudge for user {self.user_id} on {self.day}"
