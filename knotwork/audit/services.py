from __future__ import annotations

import datetime as dt
import functools
import hmac
import json
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connection, connections, models, router, transaction
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


# One statement needs no savepoint of its own: if the insert fails, the caller's transaction fails
# with it, which is what a change that cannot be audited must do.
@transaction.atomic(savepoint=False)
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
    """Write one event for the clinic's chain, in the caller's transaction: it is kept exactly when
    the change it describes is. Actor, IP and request id default to the current request.

    The row is a plain insert carrying its own mac; it reads and locks no shared row, so audited
    requests of one clinic never wait for each other. The sealer links it into the chain a few
    seconds later (:func:`audit_seal`); until then ``seq``, ``prev_hash`` and ``hash`` are empty.

    ``detail`` must never carry clinical text or secrets: ids, field names and counts only.
    """
    ctx = context.current()
    user = _actor(actor if actor is not None else ctx.user)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk or ""
        if clinic is None:  # the id when the row has it, so the clinic is not loaded just for this
            clinic = getattr(obj, "clinic_id", None) or getattr(obj, "clinic", None)
    clinic_id = getattr(clinic, "pk", clinic)
    event = AuditEvent(
        chain=_chain_key(clinic_id),
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
        key_id=signing_key_id(),
    )
    event.mac = event.compute_mac(settings.AUDIT_KEYS[event.key_id])
    _insert(event)
    return event


def _insert(event: AuditEvent) -> None:
    """``event.save()`` without building the same INSERT again for every request: this runs on every
    audited request, and the ORM's statement compilation was about a third of its cost (measured on
    PostgreSQL, benchmarks/audit_concurrency.py). Values are prepared by the fields themselves."""
    using = router.db_for_write(AuditEvent)
    conn = connections[using]
    values = [f.get_db_prep_save(getattr(event, f.attname), conn) for f in _INSERT_FIELDS]
    with conn.cursor() as cursor:
        if conn.features.can_return_columns_from_insert:
            cursor.execute(_insert_sql(conn.vendor, returning=True), values)
            event.pk = cursor.fetchone()[0]
        else:
            cursor.execute(_insert_sql(conn.vendor, returning=False), values)
            event.pk = conn.ops.last_insert_id(cursor, AuditEvent._meta.db_table, AuditEvent._meta.pk.column)
    event._state.adding, event._state.db = False, using


_INSERT_FIELDS = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]


@functools.cache
def _insert_sql(vendor: str, *, returning: bool) -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(quote(f.column) for f in _INSERT_FIELDS)
    placeholders = ", ".join(["%s"] * len(_INSERT_FIELDS))
    sql = f"INSERT INTO {quote(AuditEvent._meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608  (names from the model)
    return sql + (f" RETURNING {quote(AuditEvent._meta.pk.column)}" if returning else "")


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


SEAL_GRACE_SECONDS = 2.0
"""Rows younger than this are left for the next sealing run (see :func:`audit_seal`)."""
SEAL_BATCH = 500
"""Rows sealed per transaction: the chain head's lock is held for one batch at a time."""
SEAL_INTERVAL_SECONDS = 2.0
"""How often the task worker's sealer runs (:func:`run_sealer`)."""


class SealConflict(Exception):
    """A row about to be sealed was sealed by someone else: the batch is rolled back."""


def _keyed_mac_holds(event: AuditEvent, keys: dict[str, str]) -> bool:
    secret = keys.get(event.key_id)
    return bool(event.mac and secret and hmac.compare_digest(event.compute_mac(secret), event.mac))


def _unsealed_chains() -> list[str]:
    return sorted(set(AuditEvent.objects.unsealed().order_by().values_list("chain", flat=True).distinct()))


def _seal_batch(chain: str, *, cutoff: dt.datetime, after_id: int, batch: int, wait: bool) -> tuple[int, int, bool]:
    """Seal the next batch of one chain. Returns (rows sealed, last id looked at, more to do)."""
    keys: dict[str, str] = settings.AUDIT_KEYS
    with transaction.atomic():
        # The only lock in the audit log. A sealer that finds it taken leaves the chain to the one
        # holding it (wait=False) or queues behind it (wait=True); either way, after the lock it
        # reads the rows afresh, so nothing is sealed twice.
        head = AuditChainHead.objects.select_for_update(skip_locked=not wait).filter(chain=chain).first()
        if head is None:
            return 0, after_id, False
        rows = list(AuditEvent.objects.unsealed().filter(chain=chain, id__gt=after_id).order_by("id")[:batch])
        seq, prev, now = head.seq, head.hash, timezone.now()
        params: list[tuple[Any, ...]] = []
        last_id, more = after_id, len(rows) == batch
        for event in rows:
            if event.at >= cutoff:  # only a prefix of rows older than the grace period
                more = False
                break
            last_id = event.pk
            if not _keyed_mac_holds(event, keys):
                # Altered since it was written, or made up without the key: it stays out of the chain
                # (verify names it) rather than being vouched for by the chain's hash.
                log.error("audit row id %s in %s has no valid mac; not sealed", event.pk, chain)
                continue
            event.seq, event.prev_hash = seq + 1, prev
            event.hash = event.compute_hash(keys[event.key_id])
            seq, prev = event.seq, event.hash
            params.append((seq, event.prev_hash, event.hash, connection.ops.adapt_datetimefield_value(now), event.pk))
        if params:
            table = AuditEvent._meta.db_table
            with connection.cursor() as cursor:
                # The ORM refuses updates to audit rows; sealing is the one update there is, and only
                # of a row not sealed yet.
                cursor.executemany(
                    f"UPDATE {table} SET seq = %s, prev_hash = %s, hash = %s, sealed_at = %s WHERE id = %s AND sealed_at IS NULL",  # noqa: S608  (names from the model)
                    params,
                )
                if cursor.rowcount != len(params):
                    raise SealConflict(f"{chain}: {len(params) - cursor.rowcount} row(s) already sealed")
            AuditChainHead.objects.filter(pk=chain).update(seq=seq, hash=prev)
        return len(params), last_id, more


def audit_seal(
    *,
    chains: Iterable[str] | None = None,
    grace: float = SEAL_GRACE_SECONDS,
    batch: int = SEAL_BATCH,
    wait: bool = False,
    now: dt.datetime | None = None,
) -> int:
    """Link every unsealed row older than ``grace`` seconds (before ``now``) into its chain, in id
    order, a batch per transaction; returns how many rows were sealed.

    Unsealed rows are found by their empty ``sealed_at``, never by "ids after the last one sealed",
    so a row whose transaction commits after rows with higher ids is sealed by a later run, never
    skipped. The grace period keeps such late rows rare: a row is sealed only once it is older
    than ``grace``, and sealing stops at the first younger row, so rows of transactions still open
    are normally waited for and the chain follows the ids. Safe to run anywhere and any number of
    times at once: only the holder of a chain head's lock seals that chain.
    """
    names = list(chains) if chains is not None else _unsealed_chains()
    total = 0
    for chain in names:
        AuditChainHead.objects.get_or_create(chain=chain)
        cutoff = (now or timezone.now()) - dt.timedelta(seconds=grace)
        after_id, more = 0, True
        while more:
            sealed, after_id, more = _seal_batch(chain, cutoff=cutoff, after_id=after_id, batch=batch, wait=wait)
            total += sealed
    return total


def run_sealer(*, interval: float = SEAL_INTERVAL_SECONDS, stop: threading.Event | None = None) -> None:
    """Seal every ``interval`` seconds until ``stop`` is set: the task worker runs this in a thread
    beside its task loop. A failed run is logged and the next one tries again."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            close_old_connections()
            audit_seal()
        except Exception:
            log.exception("audit sealing failed; retrying in %s s", interval)
        finally:
            close_old_connections()
        stop.wait(interval)
    connection.close()  # this thread's own connection


def start_sealer_thread(*, interval: float = SEAL_INTERVAL_SECONDS) -> threading.Thread:
    thread = threading.Thread(target=run_sealer, kwargs={"interval": interval}, name="audit-sealer", daemon=True)
    thread.start()
    return thread


@dataclass(frozen=True)
class ChainReport:
    chain: str
    rows: int
    broken_at: AuditEvent | None
    reason: str = ""
    unsealed: int = 0  # rows written but not yet linked into the chain (young ones are no fault)

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _walk_sealed(chain: str, keys: dict[str, str], marks: dict[int, str]) -> tuple[int, int, AuditEvent | None, str]:
    """Check one chain's sealed rows in order. Returns (rows, last seq, first broken row, reason)."""
    prev, expected_seq, rows = GENESIS, 1, 0
    keyed = macced = False
    for event in AuditEvent.objects.filter(chain=chain, seq__isnull=False).order_by("seq").iterator(chunk_size=2000):
        rows += 1
        reason = ""
        if event.seq != expected_seq:
            reason = f"row {expected_seq} is missing"
        elif event.prev_hash != prev:
            reason = "does not link to the previous row"
        elif event.key_id and event.key_id not in keys:
            reason = f"signed with key {event.key_id!r}, which is not in AUDIT_KEYS"
        elif keyed and not event.key_id:
            reason = "an unkeyed row after keyed ones (rewritten without the key)"
        elif macced and not event.mac:
            reason = "a row without the mac it is written with, after rows with one (made outside Knotwork)"
        elif event.compute_hash(keys.get(event.key_id)) != event.hash:
            reason = "content does not match its hash (altered)"
        elif event.mac and not _keyed_mac_holds(event, keys):
            reason = "content does not match the mac it was written with (altered)"
        elif event.seq in marks and marks[event.seq] != event.hash:
            reason = "differs from the checkpoint written for this row (rewritten)"
        if reason:
            return rows, expected_seq - 1, event, reason
        keyed, macced = keyed or bool(event.key_id), macced or bool(event.mac)
        prev, expected_seq = event.hash, expected_seq + 1
    return rows, expected_seq - 1, None, ""


def _check_unsealed(chain: str, keys: dict[str, str], max_age: float) -> tuple[int, AuditEvent | None, str]:
    """Rows not yet in the chain: each must carry a mac that holds, and none may wait longer than
    ``max_age`` seconds (the sealer should have linked it long before). Returns (count, first
    failing row, reason)."""
    too_old = timezone.now() - dt.timedelta(seconds=max_age)
    count, first, reason = 0, None, ""
    for event in AuditEvent.objects.filter(chain=chain, seq__isnull=True).order_by("id").iterator(chunk_size=2000):
        count += 1
        if first is not None:
            continue
        if event.key_id not in keys:
            first, reason = event, f"unsealed, and signed with key {event.key_id!r}, which is not in AUDIT_KEYS"
        elif not _keyed_mac_holds(event, keys):
            first, reason = event, "unsealed, and its content does not match the mac it was written with (altered or made outside Knotwork)"
        elif event.at < too_old:
            first, reason = event, f"unsealed for more than {max_age:g} s (is the sealer running?)"
    return count, first, reason


def audit_verify(*, chains: Iterable[str] | None = None, max_unsealed_age: float | None = None) -> list[ChainReport]:
    """Walk every chain in order and report the first row whose link, hash, mac or key does not
    hold, then check the chain against every checkpoint written for it (see :func:`audit_checkpoint`).
    Rows not sealed yet must each carry a valid mac, and none may be older than
    ``max_unsealed_age`` seconds (default ``AUDIT_UNSEALED_MAX_AGE``). Reads only; the command
    seals first."""
    max_age = float(settings.AUDIT_UNSEALED_MAX_AGE if max_unsealed_age is None else max_unsealed_age)
    if chains is not None:
        names = list(chains)
    else:
        names = sorted(set(AuditChainHead.objects.values_list("chain", flat=True)) | set(_unsealed_chains()))
    checkpoints = read_checkpoints()
    keys: dict[str, str] = settings.AUDIT_KEYS
    reports = []
    for chain in sorted(names):
        marks = checkpoints.get(chain, {})
        rows, last, broken, reason = _walk_sealed(chain, keys, marks)
        if not broken:
            head = AuditChainHead.objects.filter(chain=chain).first()
            beyond = [seq for seq in marks if seq > last]
            if head and head.seq != last:
                reason = f"the chain ends at row {last} but its head says {head.seq} (rows removed)"
                broken = AuditEvent(chain=chain, seq=last + 1)
            elif beyond:
                reason = f"the chain ends at row {last} but a checkpoint records row {max(beyond)} (rows removed)"
                broken = AuditEvent(chain=chain, seq=last + 1)
        unsealed, bad_unsealed, unsealed_reason = _check_unsealed(chain, keys, max_age)
        if not broken and bad_unsealed is not None:
            broken, reason = bad_unsealed, unsealed_reason
        reports.append(ChainReport(chain=chain, rows=rows, broken_at=broken, reason=reason, unsealed=unsealed))
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
