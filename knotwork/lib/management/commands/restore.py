"""`knotwork restore DIR`: load a backup into a fresh instance and verify it table by table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from knotwork.lib.backup import BackupError, describe, restore


class Command(BaseCommand):
    help = "Restore a backup made by `knotwork backup` into an empty database, then verify row counts and hashes"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("source", help="A backup directory made by `knotwork backup`")
        parser.add_argument("--force", action="store_true", help="Replace a database that already holds data")

    def handle(self, *args: Any, source: str, force: bool = False, **options: Any) -> None:
        try:
            report = restore(Path(source), force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(describe(report), ending="")
        if report.mismatches:
            raise CommandError("the restored data does not match the backup")
