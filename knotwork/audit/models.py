"""The audit log: one append-only, hash-chained row per read or write of client data.

Each clinic has its own chain (clinic-less events, such as a verifier's, share the "platform"
chain). A row's hash covers its content and the previous row's hash, so changing or removing
any row breaks every link after it; ``knotwork audit verify`` finds the first broken one. The
hash is an HMAC under a key from the environment (``AUDIT_KEYS``), so someone who can write to
the database but does not hold the key cannot recompute the chain after changing a row, and the
chain heads are checkpointed to a file outside the database, so cutting rows off the end is
caught too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.conf import settings
from django.db import models

from knotwork.lib.appendonly import AppendOnlyError, AppendOnlyQuerySet, refuse_change


class AuditQuerySet(AppendOnlyQuerySet):
    noun = "audit events"

    def for_clinic(self, clinic: Any) -> AuditQuerySet:
        return self.filter(clinic=clinic)


class Action(models.TextChoices):
    VIEW = "view", "Viewed"
    LIST = "list", "Listed"
    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"
    EXPORT = "export", "Exported"
    SIGN = "sign", "Signed"
    ACKNOWLEDGE = "acknowledge", "Acknowledged"
    INVITE = "invite", "Invited"
    ACCEPT = "accept", "Accepted"
    REVOKE = "revoke", "Revoked"
    LOGIN = "login", "Signed in"
    LOGOUT = "logout", "Signed out"
    LOGIN_FAILED = "login_failed", "Failed sign-in"
    MFA = "mfa", "Changed two-factor settings"


class AuditEvent(models.Model):
    chain = models.CharField(max_length=32, editable=False)
    seq = models.PositiveBigIntegerField(editable=False)
    at = models.DateTimeField(editable=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", editable=False)
    actor_label = models.CharField(max_length=254, editable=False)
    role = models.CharField(max_length=20, blank=True, editable=False)
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, null=True, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices, editable=False)
    object_type = models.CharField(max_length=60, editable=False)
    object_id = models.CharField(max_length=64, blank=True, editable=False)
    detail = models.JSONField(default=dict, blank=True, editable=False)
    ip = models.GenericIPAddressField(null=True, editable=False)
    request_id = models.CharField(max_length=64, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)
    # Which AUDIT_KEYS key the hash is an HMAC under; empty for rows written before the chain was
    # keyed, whose hash is a plain SHA-256 (see compute_hash).
    key_id = models.CharField(max_length=16, blank=True, default="", editable=False)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique")]
        indexes = [
            models.Index(fields=["clinic", "-at"], name="audit_clinic_at_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        refuse_change(self, "audit events")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events cannot be deleted")

    def content(self) -> dict[str, object]:
        """The fields the hash covers, in a form that survives a database round trip."""
        return {
            "chain": self.chain,
            "seq": self.seq,
            "at": self.at.isoformat(timespec="microseconds"),
            "actor": self.actor_id,
            "actor_label": self.actor_label,
            "role": self.role,
            "clinic": self.clinic_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "detail": self.detail,
            "ip": self.ip,
            "request_id": self.request_id,
            "prev_hash": self.prev_hash,
            **({"key_id": self.key_id} if self.key_id else {}),
        }

    def compute_hash(self, secret: str | None = None) -> str:
        """HMAC-SHA256 of the content under ``secret`` (the key ``key_id`` names); a row without a
        key id is from before the chain was keyed and has a plain SHA-256."""
        payload = json.dumps(self.content(), sort_keys=True, separators=(",", ":"), default=str).encode()
        if self.key_id:
            if secret is None:
                raise ValueError("a keyed audit row needs its key to be hashed")
            return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
        return hashlib.sha256(payload).hexdigest()


class AuditChainHead(models.Model):
    """The last link of each chain. Locking this row serialises appends to one chain."""

    chain = models.CharField(max_length=32, primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"{self.chain} at row {self.seq}"
