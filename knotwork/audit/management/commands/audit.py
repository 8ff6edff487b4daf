from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from knotwork.audit.services import SEAL_GRACE_SECONDS, audit_checkpoint, audit_seal, audit_verify


class Command(BaseCommand):
    help = (
        "Audit log tools. `seal` links every audit row written more than a moment ago into its clinic's chain "
        "(the task worker does this every few seconds); `verify` seals, then recomputes every chain (HMAC under "
        "AUDIT_KEYS), checks it against the checkpoints and fails on a row left unsealed longer than "
        "AUDIT_UNSEALED_MAX_AGE; `checkpoint` seals, then appends every chain head to the checkpoint file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "checkpoint", "seal"])
        parser.add_argument(
            "--no-seal",
            action="store_true",
            help="verify or checkpoint without sealing first (read only, e.g. against a restored copy)",
        )
        parser.add_argument(
            "--grace",
            type=float,
            default=SEAL_GRACE_SECONDS,
            help="seal only rows older than this many seconds (default %(default)s)",
        )
        parser.add_argument(
            "--max-unsealed-age",
            type=float,
            default=None,
            help="verify: fail on a row unsealed for longer than this many seconds (default AUDIT_UNSEALED_MAX_AGE)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "seal" or not options["no_seal"]:
            # Waits for a sealer already at work on a chain rather than skipping it, so everything
            # older than the grace period is in its chain when this returns.
            sealed = audit_seal(grace=options["grace"], wait=True)
            self.stdout.write(f"sealed {sealed} audit row(s)")
        if options["action"] == "seal":
            return
        if options["action"] == "checkpoint":
            heads = audit_checkpoint()
            for chain, seq, _ in heads:
                self.stdout.write(f"{chain}: checkpoint at row {seq}")
            if not heads:
                self.stdout.write("no audit events yet")
            return
        self.verify(options["max_unsealed_age"])

    def verify(self, max_age: float | None) -> None:
        reports = audit_verify(max_unsealed_age=max_age)
        limit = settings.AUDIT_UNSEALED_MAX_AGE if max_age is None else max_age
        broken = [r for r in reports if not r.ok]
        for r in reports:
            waiting = f", {r.unsealed} waiting to be sealed (none older than {limit:g} s)" if r.unsealed else ""
            if r.ok:
                self.stdout.write(f"{r.chain}: {r.rows} rows, chain intact{waiting}")
                continue
            b = r.broken_at
            assert b is not None
            where = f"row {b.seq}" if b.seq is not None else "an unsealed row"
            when = f", {b.at:%Y-%m-%d %H:%M:%S} UTC" if b.at else ""
            self.stdout.write(self.style.ERROR(f"{r.chain}: broken at {where} (id {b.pk}{when}): {r.reason}"))
        if not reports:
            self.stdout.write("no audit events yet")
        if broken:
            raise SystemExit(1)
