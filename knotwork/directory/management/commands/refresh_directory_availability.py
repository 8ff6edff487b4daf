from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from knotwork.directory.services import refresh_stale_availability
from knotwork.directory.tasks import refresh_directory_availability


class Command(BaseCommand):
    help = (
        "Recompute the next free first-visit time of listed therapists checked more than 30 minutes ago "
        "(search filters and sorts on it). Run it every 10–15 minutes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", action="store_true", help="work in this process instead of enqueuing for the worker")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["now"]:
            self.stdout.write(f"{refresh_stale_availability()} profile(s) refreshed")
        else:
            result = refresh_directory_availability.enqueue()
            self.stdout.write(f"availability sweep queued ({result.id})")
