"""`knotwork backup [DIR]`: an online backup of the database and media, safe while the server runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from knotwork.lib.backup import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database (SQLite online backup or pg_dump) and uploaded files into a new directory"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("dest", nargs="?", default=None, help="Where to put the backup directory (default: var/backups)")

    def handle(self, *args: Any, dest: str | None = None, **options: Any) -> None:
        root = Path(dest) if dest else Path(settings.VAR_DIR) / "backups"
        try:
            path = backup(root)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(path))
