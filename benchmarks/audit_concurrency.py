"""Audited writes of one clinic, side by side: what the audit log costs a busy clinic.

    .venv/bin/python benchmarks/audit_concurrency.py [--writers 8] [--seconds 8] [--rounds 3]
        [--database postgres://postgres@127.0.0.1:5432/knotwork_audit_bench]

N writer processes (default 8), each with its own PostgreSQL connection, all on ONE clinic, run
transactions as fast as they can for a fixed time. Each transaction is a small real change (one
client's phone number, each writer its own client, so the change itself never queues) and, in
the audited modes, its audit row:

- ``none``: the change alone, no audit row (the ceiling);
- ``sealed``: the change plus ``audit_record`` as Knotwork writes it now (a plain insert), while a
  sealer process links rows into the chain every 2 s, as the task worker does;
- ``inline``: the change plus the audit row linked into the chain inside the transaction under
  the chain head's row lock, as ``audit_record`` did before sealing moved off the request path;
- ``insert``: as ``sealed`` but with no sealer running until the clock stops: what the insert on
  the request path costs by itself, apart from the sealing work the database also does.

Modes alternate round by round, so a machine busy with other work disturbs all of them alike;
the median of the rounds is reported, with each audited mode as a share of ``none``. At the end
everything is sealed and ``audit_verify`` must find one intact chain holding every audited write.
It runs in a throwaway database (test_<name>), created and dropped here; real data is never touched.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("none", "sealed", "inline", "insert")


def _django(database: str) -> None:
    os.environ["DATABASE_URL"] = database
    os.environ.setdefault("KNOTWORK_VAR_DIR", tempfile.mkdtemp(prefix="knotwork-audit-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def inline_audit_record(*, action: str, obj, actor) -> None:
    """The audit write as it was before sealing left the request path: lock the chain head, link and
    hash the row, move the head, all inside the caller's transaction."""
    from django.conf import settings
    from django.utils import timezone

    from knotwork.audit.models import AuditChainHead, AuditEvent
    from knotwork.audit.services import signing_key_id

    chain = f"clinic:{obj.clinic_id}"
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(chain=chain)
    event = AuditEvent(
        chain=chain, seq=head.seq + 1, at=timezone.now(), actor=actor, actor_label=actor.email, clinic_id=obj.clinic_id,
        action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk), prev_hash=head.hash, key_id=signing_key_id(),
    )  # fmt: skip
    secret = settings.AUDIT_KEYS[event.key_id]
    event.mac = event.compute_mac(secret)  # so these rows verify beside the new ones
    event.hash = event.compute_hash(secret)
    event.sealed_at = event.at
    event.save()
    AuditChainHead.objects.filter(pk=head.pk).update(seq=event.seq, hash=event.hash)


def writer(mode: str, client_id: int, user_id: int, seconds: float, barrier, results) -> None:
    from django.db import connection, transaction

    from knotwork.accounts.models import User
    from knotwork.audit.services import audit_record
    from knotwork.clients.models import Client

    client = Client.objects.get(pk=client_id)
    actor = User.objects.get(pk=user_id)
    done = 0
    barrier.wait()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with transaction.atomic():
            Client.objects.filter(pk=client.pk).update(phone=f"+44 7700 {done % 1000000:06d}")
            if mode in ("sealed", "insert"):
                audit_record(action="update", obj=client, actor=actor)
            elif mode == "inline":
                inline_audit_record(action="update", obj=client, actor=actor)
        done += 1
    connection.close()
    results.put(done)


def sealer(stop, interval: float) -> None:
    from knotwork.audit.services import audit_seal

    while not stop.is_set():
        audit_seal()
        stop.wait(interval)


def run_round(mode: str, clients: list[int], user_id: int, seconds: float) -> float:
    from django.db import connections

    connections.close_all()  # never share a connection across fork
    ctx = mp.get_context("fork")
    barrier, results, stop = ctx.Barrier(len(clients)), ctx.Queue(), ctx.Event()
    seal = ctx.Process(target=sealer, args=(stop, 2.0)) if mode == "sealed" else None
    if seal:
        seal.start()
    procs = [ctx.Process(target=writer, args=(mode, c, user_id, seconds, barrier, results)) for c in clients]
    for p in procs:
        p.start()
    total = sum(results.get(timeout=seconds + 120) for _ in procs)
    for p in procs:
        p.join()
    if seal:
        stop.set()
        seal.join()
    return total / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/knotwork_audit_bench")
    args = parser.parse_args()
    if not args.database.startswith(("postgres://", "postgresql://")):
        sys.exit("this benchmark measures PostgreSQL: pass a postgres:// URL")
    _django(args.database)
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from knotwork.accounts.models import Role
        from knotwork.audit.models import AuditEvent
        from knotwork.audit.services import audit_seal, audit_verify
        from knotwork.lib.testing import make_client, make_clinic, make_staff

        clinic = make_clinic("Busy Clinic")
        user = make_staff("therapist@busy.example", clinic, Role.THERAPIST, mfa=False)
        clients = [make_client(clinic).pk for _ in range(args.writers)]
        rates: dict[str, list[float]] = {m: [] for m in MODES}
        for r in range(args.rounds):
            for mode in MODES:
                rates[mode].append(run_round(mode, clients, user.pk, args.seconds))
                audit_seal(grace=0, wait=True)  # whatever the last sealing run left
                print(f"round {r + 1} {mode:>6}: {rates[mode][-1]:8.0f} writes/s", flush=True)
        median = {m: statistics.median(v) for m, v in rates.items()}
        pg_major = connection.pg_version // 10000  # type: ignore[attr-defined]
        reports = audit_verify()
        audited = AuditEvent.objects.count()
        # Each round's audited rate against the same round's unaudited one, so a load change on the
        # machine between rounds moves both sides of the ratio.
        ratios = {m: [a / n for a, n in zip(rates[m], rates["none"], strict=True)] for m in MODES}
        labels = {
            "none": "no audit",
            "sealed": "audit, sealed apart (now)",
            "inline": "audit, chained inline (before)",
            "insert": "audit insert, sealer stopped",
        }
        print()
        print(f"{args.writers} writers on one clinic, PostgreSQL {pg_major}, {args.rounds} rounds of {args.seconds:g} s (medians)")
        for m in MODES:
            share = (
                ""
                if m == "none"
                else f"  {statistics.median(ratios[m]):6.1%} of no audit (rounds {min(ratios[m]):.0%}-{max(ratios[m]):.0%})"
            )
            print(f"  {labels[m]:<31} {median[m]:7.0f} writes/s{share}")
        ok = all(r.ok for r in reports) and sum(r.rows for r in reports) == audited and not any(r.unsealed for r in reports)
        print(f"  audit rows {audited}, all sealed and chained: {'verified' if ok else 'NOT VERIFIED'}")
        if not ok:
            sys.exit(1)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
