from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Membership billing. `bill` opens the periods that are due (and ends, pauses or resumes memberships on their day) "
        "and sends the charges due, retries included. `knotwork send_reminders` enqueues the same run; with --now it runs here."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["bill"])
        parser.add_argument("--now", action="store_true", help="bill and charge in this process instead of enqueuing for the worker")

    def handle(self, *args: Any, **options: Any) -> None:
        from knotwork.billing.membership_billing import bill_memberships, run

        if options["now"]:
            counts = run(charge_now=True)
            self.stdout.write(", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "nothing due")
        else:
            result = bill_memberships.enqueue()
            self.stdout.write(f"membership billing run queued ({result.id})")
