"""The audit log: one append-only, hash-chained row per read or write of client data.

Each clinic has its own chain (clinic-less events, such as a verifier's, share the "platform"
chain). A row is written in two steps, so that no request waits for another:

1. **Written** by the request, in the request's own transaction, as a plain insert: its content
   and ``mac``, an HMAC of that content under a key from the environment (``AUDIT_KEYS``). No
   shared row is read or locked, so audited requests of one clinic run side by side.
2. **Sealed** a moment later by the sealer (``knotwork.audit.services.audit_seal``, run by the
   task worker every few seconds): it takes the chain head's lock, gives each unsealed row the
   next ``seq``, the previous row's hash as ``prev_hash``, and ``hash``, an HMAC over the content,
   the mac and the link, and moves the head along.

Changing or removing a sealed row breaks every link after it; changing an unsealed row breaks its
mac, and a row made up without the key has none that holds. ``knotwork audit verify`` finds the
first broken row, and reports rows left unsealed for too long. The chain heads are checkpointed
to a file outside the database, so cutting rows off the end is caught too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from knotwork.lib.appendonly import AppendOnlyError, AppendOnlyQuerySet, refuse_change


class AuditQuerySet(AppendOnlyQuerySet):
    noun = "audit events"

    def for_clinic(self, clinic: Any) -> AuditQuerySet:
        return self.filter(clinic=clinic)

    def unsealed(self) -> AuditQuerySet:
        return self.filter(sealed_at__isnull=True)


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
    # Position in the chain, given by the sealer; empty until then.
    seq = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    at = models.DateTimeField(editable=False)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", editable=False)
    actor_label = models.CharField(max_length=254, editable=False)
    role = models.CharField(max_length=20, blank=True, editable=False)
    # No index of its own: audit_clinic_at_idx leads with the clinic, and every index here is paid
    # for on every audited request.
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, null=True, related_name="+", db_index=False)
    action = models.CharField(max_length=20, choices=Action.choices, editable=False)
    object_type = models.CharField(max_length=60, editable=False)
    object_id = models.CharField(max_length=64, blank=True, editable=False)
    detail = models.JSONField(default=dict, blank=True, editable=False)
    ip = models.GenericIPAddressField(null=True, editable=False)
    request_id = models.CharField(max_length=64, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    # Which AUDIT_KEYS key the mac and the hash are HMACs under; empty for rows written before the
    # chain was keyed, whose hash is a plain SHA-256 (see compute_hash).
    key_id = models.CharField(max_length=16, blank=True, default="", editable=False)
    # HMAC of the row's own content (everything but the chain fields), made when the row is written;
    # empty only on rows sealed as they were written, before sealing moved off the request path.
    mac = models.CharField(max_length=64, blank=True, default="", editable=False)
    sealed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            # Only sealed rows have a place in a chain, so rows are written without touching this index.
            models.UniqueConstraint(fields=["chain", "seq"], condition=Q(seq__isnull=False), name="audit_chain_seq_unique"),
            # Sealed: seq, prev_hash, hash and sealed_at all set. Unsealed: none of them.
            models.CheckConstraint(
                condition=(Q(sealed_at__isnull=True, seq__isnull=True, hash="", prev_hash=""))
                | (Q(sealed_at__isnull=False, seq__isnull=False) & ~Q(hash="") & ~Q(prev_hash="")),
                name="audit_sealed_all_or_nothing",
            ),
        ]
        indexes = [
            models.Index(fields=["clinic", "-at"], name="audit_clinic_at_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            # The sealer's work list: small, since rows leave it within seconds.
            models.Index(fields=["chain", "id"], condition=Q(sealed_at__isnull=True), name="audit_unsealed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        refuse_change(self, "audit events")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events cannot be deleted")

    def written_content(self) -> dict[str, object]:
        """The fields known when the row is written (what ``mac`` covers), in a form that survives a
        database round trip."""
        return {
            "chain": self.chain,
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
            "key_id": self.key_id,
        }

    def compute_mac(self, secret: str) -> str:
        """HMAC-SHA256 of :meth:`written_content` under ``secret`` (the key ``key_id`` names)."""
        payload = json.dumps(self.written_content(), sort_keys=True, separators=(",", ":"), default=str).encode()
        return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()

    def content(self) -> dict[str, object]:
        """The fields the hash covers, in a form that survives a database round trip: what was
        written, its place in the chain, and its mac. Rows sealed as they were written have no mac
        (nor, before the chain was keyed, a key id), and their content is exactly what it was then."""
        content: dict[str, object] = {**self.written_content(), "seq": self.seq, "prev_hash": self.prev_hash}
        if not self.key_id:
            del content["key_id"]
        if self.mac:
            content["mac"] = self.mac
        return content

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
    """The last sealed link of each chain. Only the sealer locks this row (to seal one chain at a
    time); writing an audit row never touches it."""

    chain = models.CharField(max_length=32, primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"{self.chain} at row {self.seq}"
