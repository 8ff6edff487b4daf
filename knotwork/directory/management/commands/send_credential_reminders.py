from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from knotwork.directory.tasks import due_credential_reminders, refresh_expired, send_credential_reminders


class Command(BaseCommand):
    help = (
        "E-mail therapists and clinic owners 60 and 14 days before a verified licence or certification expires. "
        "Run it daily; each reminder is sent at most once per credential, offset and expiry date."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", action="store_true", help="send in this process instead of enqueuing for the worker")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["now"]:
            refreshed = refresh_expired()
            sent = due_credential_reminders()
            self.stdout.write(f"{sent} credential reminder(s) sent; {refreshed} profile(s) with lapsed credentials refreshed")
        else:
            result = send_credential_reminders.enqueue()
            self.stdout.write(f"credential reminder sweep queued ({result.id})")
