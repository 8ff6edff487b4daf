from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from knotwork.audit.models import AuditChainHead, AuditEvent
from knotwork.lib import context

GENESIS = "0" * 64
log = logging.getLogger(__name__)


def signing_key_id() -> str:
    """The id of the key new rows are signed with: the first of AUDIT_KEYS."""
    return next(iter(settings.AUDIT_KEYS))


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
        key_id=signing_key_id(),
    )
    event.hash = event.compute_hash(settings.AUDIT_KEYS[event.key_id])
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
    """Walk every chain in order and report the first row whose link, hash or key does not hold,
    then check the chain against every checkpoint written for it (see :func:`audit_checkpoint`)."""
    names = list(chains) if chains is not None else list(AuditChainHead.objects.values_list("chain", flat=True))
    checkpoints = read_checkpoints()
    keys: dict[str, str] = settings.AUDIT_KEYS
    reports = []
    for chain in sorted(names):
        prev, expected_seq, rows, broken, reason = GENESIS, 1, 0, None, ""
        keyed = False
        marks = checkpoints.get(chain, {})
        for event in AuditEvent.objects.filter(chain=chain).order_by("seq").iterator(chunk_size=2000):
            rows += 1
            if event.seq != expected_seq:
                broken, reason = event, f"row {expected_seq} is missing"
            elif event.prev_hash != prev:
                broken, reason = event, "does not link to the previous row"
            elif event.key_id and event.key_id not in keys:
                broken, reason = event, f"signed with key {event.key_id!r}, which is not in AUDIT_KEYS"
            elif keyed and not event.key_id:
                broken, reason = event, "an unkeyed row after keyed ones (rewritten without the key)"
            elif event.compute_hash(keys.get(event.key_id)) != event.hash:
                broken, reason = event, "content does not match its hash (altered)"
            elif event.seq in marks and marks[event.seq] != event.hash:
                broken, reason = event, "differs from the checkpoint written for this row (rewritten)"
            if broken:
                break
            keyed = keyed or bool(event.key_id)
            prev, expected_seq = event.hash, expected_seq + 1
        last = expected_seq - 1
        if not broken:
            head = AuditChainHead.objects.filter(chain=chain).first()
            beyond = [seq for seq in marks if seq > last]
            if head and head.seq != last:
                reason = f"the chain ends at row {last} but its head says {head.seq} (rows removed)"
                broken = AuditEvent(chain=chain, seq=expected_seq)
            elif beyond:
                reason = f"the chain ends at row {last} but a checkpoint records row {max(beyond)} (rows removed)"
                broken = AuditEvent(chain=chain, seq=expected_seq)
        reports.append(ChainReport(chain=chain, rows=rows, broken_at=broken, reason=reason))
    missing = sorted(set(checkpoints) - set(names)) if chains is None else []
    for chain in missing:  # a whole chain gone, head and all
        reports.append(ChainReport(chain=chain, rows=0, broken_at=AuditEvent(chain=chain, seq=1), reason="checkpointed but gone"))
    return reports


def audit_checkpoint(path: Path | None = None) -> list[tuple[str, int, str]]:
    """Append every chain's head (chain, row, hash) to the checkpoint file and the log: two places
    outside the database, so rows cut off the end of a chain, or a chain rebuilt without the key,
    are caught by :func:`audit_verify`. Run it daily (`knotwork audit checkpoint`, e.g. from cron)."""
    target = Path(path or settings.AUDIT_CHECKPOINT_FILE)
    heads = [(h.chain, h.seq, h.hash) for h in AuditChainHead.objects.order_by("chain") if h.seq]
    if not heads:
        return []
    target.parent.mkdir(parents=True, exist_ok=True)
    at = timezone.now().isoformat(timespec="seconds")
    lines = "".join(json.dumps({"chain": c, "seq": seq, "hash": h, "at": at}, sort_keys=True) + "\n" for c, seq, h in heads)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, lines.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    for chain, seq, digest in heads:
        log.info("audit checkpoint %s row %s %s", chain, seq, digest)
    return heads


def read_checkpoints(path: Path | None = None) -> dict[str, dict[int, str]]:
    """chain -> {row: hash} from the checkpoint file (none yet: empty). A line that does not parse
    is skipped: the file is append-only, and a torn last line from a crash is not an attack."""
    target = Path(path or settings.AUDIT_CHECKPOINT_FILE)
    out: dict[str, dict[int, str]] = {}
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        try:
            mark = json.loads(line)
            out.setdefault(str(mark["chain"]), {})[int(mark["seq"])] = str(mark["hash"])
        except (ValueError, KeyError, TypeError):
            continue
    return out


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
