from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand

from knotwork.audit.services import start_sealer_thread


class Command(BaseCommand):
    help = "Run the background task worker (django-tasks database backend) and the audit sealer beside it."

    def handle(self, *args: Any, **options: Any) -> None:
        start_sealer_thread()  # links new audit rows into their chains every few seconds
        call_command("db_worker")
