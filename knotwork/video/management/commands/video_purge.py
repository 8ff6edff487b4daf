from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from knotwork.video.services import signals_purge


class Command(BaseCommand):
    help = "Delete the signalling messages of video rooms that have closed (run daily from cron; joins also clean up)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{signals_purge()} signalling messages deleted")
