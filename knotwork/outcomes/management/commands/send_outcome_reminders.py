from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from knotwork.outcomes.tasks import send_outcome_reminders


class Command(BaseCommand):
    help = "Queue the e-mail reminders for outcome measures that are due (run daily from cron)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = send_outcome_reminders.enqueue()
        self.stdout.write(f"Queued outcome reminders ({result.id}).")
