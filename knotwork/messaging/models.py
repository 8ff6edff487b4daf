"""Secure messages between a client and their clinic.

A thread belongs to one client record, so to one clinic. Message bodies are client data: every
read and write is audited, and e-mail notifications never carry them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from knotwork.accounts.models import Clinic
from knotwork.lib.crypto import EncryptedTextField


class ThreadQuerySet(models.QuerySet["Thread"]):
    def for_clinic(self, clinic: Clinic | int) -> ThreadQuerySet:
        return self.filter(clinic=clinic)


class Thread(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="threads")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="threads")
    subject = models.CharField(max_length=120)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(db_index=True)

    objects = ThreadQuerySet.as_manager()

    class Meta:
        ordering = ["-last_message_at", "-id"]
        indexes = [models.Index(fields=["clinic", "-last_message_at"], name="thread_clinic_recent_idx")]

    def __str__(self) -> str:
        return self.subject


class Message(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # Which side wrote it: the client, or someone at the clinic. Read state and notifications follow it.
    from_client = models.BooleanField()
    body = EncryptedTextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Message {self.pk} in thread {self.thread_id}"


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="messaging/", max_length=200)
    display_name = models.CharField(max_length=100)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return self.display_name


class ReadMarker(models.Model):
    """How far one person has read a thread; unread counts compare messages with it."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="read_markers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["thread", "user"], name="one_read_marker_per_reader")]

    def __str__(self) -> str:
        return f"{self.user_id} read thread {self.thread_id} at {self.read_at}"
