"""Secure messages between a client and their clinic.

A thread belongs to one client record, so to one clinic. Message bodies are client data: every
read and write is audited, and e-mail notifications never carry them.

A thread has a kind: ``admin`` (booking, payment, forms: the front desk reads and answers) or
``clinical`` (therapists and the owner only). The kind decides which capability reading and writing
need (``thread_capability``), so the front desk never sees a clinical thread.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from knotwork.accounts.models import Capability, Clinic, Membership
from knotwork.lib.crypto import EncryptedTextField


class ThreadKind(models.TextChoices):
    ADMIN = "admin", "Booking and admin"
    CLINICAL = "clinical", "Clinical"


# (read, write) capability per kind: the one definition of who may see which thread.
_KIND_CAPABILITIES: dict[str, tuple[str, str]] = {
    ThreadKind.ADMIN: (Capability.VIEW_DEMOGRAPHICS, Capability.EDIT_DEMOGRAPHICS),
    ThreadKind.CLINICAL: (Capability.VIEW_CLINICAL, Capability.EDIT_CLINICAL),
}


def thread_capability(kind: str, *, write: bool = False) -> str:
    """The capability a staff member needs to read (or write in) a thread of this kind."""
    read, edit = _KIND_CAPABILITIES.get(kind, _KIND_CAPABILITIES[ThreadKind.CLINICAL])
    return edit if write else read


KIND_CHANGE_REFUSED = "Only a therapist or the clinic owner can change who may read a conversation."


def may_change_kind(membership: Membership | None) -> bool:
    """Only clinicians (therapists, owner) decide whether a thread is clinical."""
    return membership is not None and membership.can(Capability.EDIT_CLINICAL)


def kinds_for(membership: Membership, *, write: bool = False) -> list[str]:
    """The kinds of thread this membership may read (or start and write in), admin first."""
    return [kind for kind in ThreadKind.values if membership.can(thread_capability(kind, write=write))]


class ThreadQuerySet(models.QuerySet["Thread"]):
    def for_clinic(self, clinic: Clinic | int) -> ThreadQuerySet:
        return self.filter(clinic=clinic)

    def visible_to(self, membership: Membership) -> ThreadQuerySet:
        """The clinic's threads of the kinds this staff member may read."""
        return self.for_clinic(membership.clinic_id).filter(kind__in=kinds_for(membership))


class Thread(models.Model):
    Kind = ThreadKind

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="threads")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="threads")
    subject = models.CharField(max_length=120)
    # Clinical is the safe default: a thread nobody classified stays with the clinicians.
    kind = models.CharField(max_length=10, choices=ThreadKind.choices, default=ThreadKind.CLINICAL)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(db_index=True)

    objects = ThreadQuerySet.as_manager()

    class Meta:
        ordering = ["-last_message_at", "-id"]
        indexes = [models.Index(fields=["clinic", "-last_message_at"], name="thread_clinic_recent_idx")]
        constraints = [models.CheckConstraint(condition=models.Q(kind__in=ThreadKind.values), name="thread_kind_known")]

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
