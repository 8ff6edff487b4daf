from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from knotwork.audit.services import audit_checkpoint, audit_verify


class Command(BaseCommand):
    help = (
        "Audit log tools. `verify` recomputes every chain (HMAC under AUDIT_KEYS) and checks it against the "
        "checkpoints, reporting the first broken link; `checkpoint` appends every chain head to the checkpoint file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "checkpoint"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "checkpoint":
            heads = audit_checkpoint()
            for chain, seq, _ in heads:
                self.stdout.write(f"{chain}: checkpoint at row {seq}")
            if not heads:
                self.stdout.write("no audit events yet")
            return
        reports = audit_verify()
        broken = [r for r in reports if not r.ok]
        for r in reports:
            if r.ok:
                self.stdout.write(f"{r.chain}: {r.rows} rows, chain intact")
            else:
                b = r.broken_at
                assert b is not None
                self.stdout.write(
                    self.style.ERROR(f"{r.chain}: broken at row {b.seq} (id {b.pk}, {b.at:%Y-%m-%d %H:%M:%S} UTC): {r.reason}")
                )
        if not reports:
            self.stdout.write("no audit events yet")
        if broken:
            raise SystemExit(1)
