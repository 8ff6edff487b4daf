from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from knotwork.pwa.tasks import due_nudges, send_due_nudges


class Command(BaseCommand):
    help = (
        "Push today's home-program nudge to clients who asked for one and whose time has come. Run it every "
        "15 minutes (cron or a systemd timer); it hands the work to the background worker unless --now is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", action="store_true", help="send in this process instead of enqueuing for the worker")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["now"]:
            self.stdout.write(f"{due_nudges(now=timezone.now())} nudge(s) sent")
        else:
            self.stdout.write(f"nudge sweep queued ({send_due_nudges.enqueue().id})")
