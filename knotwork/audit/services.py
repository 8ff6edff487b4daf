from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from knotwork.audit.models import AuditChainHead, AuditEvent
from knotwork.lib import context

GENESIS = "0" * 64


def _chain_key(clinic_id: int | None) -> str:
    return f"clinic:{clinic_id}" if clinic_id else "platform"


def _actor(user: Any) -> Any:
    # A lazy request user may be anonymous; only a saved user is an actor.
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


@transaction.atomic
def audit_record(
    *,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    clinic: Any = None,
    actor: Any = None,
    role: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the clinic's chain. Actor, IP and request id default to the current request.

    ``detail`` must never carry clinical text or secrets: ids, field names and counts only.
    """
    ctx = context.current()
    user = _actor(actor if actor is not None else ctx.user)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk or ""
        if clinic is None:
            clinic = getattr(obj, "clinic", None)
    clinic_id = getattr(clinic, "pk", clinic)
    chain = _chain_key(clinic_id)
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(chain=chain)
    event = AuditEvent(
        chain=chain,
        seq=head.seq + 1,
        at=timezone.now(),
        actor=user,
        actor_label=(user.email if user else "system"),
        role=role,
        clinic_id=clinic_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail or {},
        ip=ctx.ip,
        request_id=ctx.request_id,
        prev_hash=head.hash,
    )
    event.hash = event.compute_hash()
    event.save()
    AuditChainHead.objects.filter(pk=head.pk).update(seq=event.seq, hash=event.hash)
    return event


def audit_many(*, action: str, objects: Iterable[models.Model], clinic: Any, role: str = "") -> None:
    """One event for a list view: which ids were shown, not one row each."""
    rows = list(objects)
    if rows:
        ids = [o.pk for o in rows]
        audit_record(
            action=action,
            object_type=rows[0]._meta.label_lower,
            clinic=clinic,
            role=role,
            detail={"ids": ids[:200], "count": len(ids)},
        )


@dataclass(frozen=True)
class ChainReport:
    chain: str
    rows: int
    broken_at: AuditEvent | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def audit_verify(*, chains: Iterable[str] | None = None) -> list[ChainReport]:
    """Walk every chain in order and report the first row whose link or hash does not hold."""
    names = list(chains) if chains is not None else list(AuditChainHead.objects.values_list("chain", flat=True))
    reports = []
    for chain in sorted(names):
        prev, expected_seq, rows, broken, reason = GENESIS, 1, 0, None, ""
        for event in AuditEvent.objects.filter(chain=chain).order_by("seq").iterator(chunk_size=2000):
            rows += 1
            if event.seq != expected_seq:
                broken, reason = event, f"row {expected_seq} is missing"
            elif event.prev_hash != prev:
                broken, reason = event, "does not link to the previous row"
            elif event.compute_hash() != event.hash:
                broken, reason = event, "content does not match its hash (altered)"
            if broken:
                break
            prev, expected_seq = event.hash, expected_seq + 1
        if not broken:
            head = AuditChainHead.objects.filter(chain=chain).first()
            if head and head.seq != expected_seq - 1:
                reason = f"the chain ends at row {expected_seq - 1} but its head says {head.seq} (rows removed)"
                broken = AuditEvent(chain=chain, seq=expected_seq)
        reports.append(ChainReport(chain=chain, rows=rows, broken_at=broken, reason=reason))
    return reports


def audit_filter(
    qs: models.QuerySet[AuditEvent],
    *,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> models.QuerySet[AuditEvent]:
    if actor:
        qs = qs.filter(actor_label__icontains=actor)
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if since:
        qs = qs.filter(at__date__gte=since)
    if until:
        qs = qs.filter(at__date__lte=until)
    return qs
