from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from knotwork.care.tasks import due_checkins, send_due_checkins


class Command(BaseCommand):
    help = (
        "E-mail the post-session check-ins that are due (24 h after each signed visit). Run it every 15 minutes "
        "(cron or a systemd timer); it hands the work to the background worker unless --now is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", action="store_true", help="send in this process instead of enqueuing for the worker")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["now"]:
            self.stdout.write(f"{due_checkins(now=timezone.now())} check-in(s) sent")
        else:
            result = send_due_checkins.enqueue()
            self.stdout.write(f"check-in sweep queued ({result.id})")
