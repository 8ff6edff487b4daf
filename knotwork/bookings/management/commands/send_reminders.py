from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from knotwork.bookings.services import holds_expire, stale_idempotency_cleanup
from knotwork.bookings.tasks import due_reminders, send_due_reminders


class Command(BaseCommand):
    help = (
        "Send appointment reminders that are due. Run it every few minutes (cron or a systemd timer); "
        "it hands the work to the background worker unless --now is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", action="store_true", help="send in this process instead of enqueuing for the worker")

    def handle(self, *args: Any, **options: Any) -> None:
        expired = holds_expire()
        cleaned = stale_idempotency_cleanup()
        from knotwork.billing.deposits import void_unpaid

        void_unpaid()  # invoices of online bookings whose deposit never came
        from knotwork.billing.membership_billing import bill_memberships

        bill_memberships.enqueue()  # membership periods due, and their charges
        from knotwork.billing.shop import void_abandoned

        void_abandoned()  # online gift-card and package orders never paid
        if options["now"]:
            sent = due_reminders(now=timezone.now())
            self.stdout.write(f"{sent} reminder(s) sent; {expired} lapsed hold(s) released; {cleaned} old idempotency record(s) removed")
        else:
            result = send_due_reminders.enqueue()
            self.stdout.write(
                f"reminder sweep queued ({result.id}); {expired} lapsed hold(s) released; {cleaned} old idempotency record(s) removed"
            )
