from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from knotwork.billing.verify import verify_money


class Command(BaseCommand):
    help = (
        "Money tools. `verify` recomputes every invoice from its lines and every balance from the ledger, "
        "checks each clinic's numbering for gaps and repeats, and exits 1 on any inconsistency."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_money()
        summary = f"{report.invoices} invoices, {report.payments} payments, {report.entries} ledger entries"
        if report.ok:
            self.stdout.write(f"{summary}: consistent")
            return
        for finding in report.findings or []:
            self.stdout.write(self.style.ERROR(str(finding)))
        self.stdout.write(self.style.ERROR(f"{summary}: {len(report.findings or [])} inconsistencies"))
        raise SystemExit(1)
