"""`knotwork rotate-key`: re-encrypt every encrypted field with the first key in FIELD_ENCRYPTION_KEYS.

Rotation: put a new key first (`knotwork rotate-key --new` prints one), keep the old key after
it, restart, run `knotwork rotate-key`, then drop the old key and restart again.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from knotwork.lib.crypto import encrypted_fields, new_key, reencrypt_model


class Command(BaseCommand):
    help = "Re-encrypt clinical text with the first key in FIELD_ENCRYPTION_KEYS (--new prints a fresh key)"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--new", action="store_true", help="Print a new key to put first in FIELD_ENCRYPTION_KEYS, and stop")

    def handle(self, *args: Any, new: bool = False, **options: Any) -> None:
        if new:
            self.stdout.write(new_key())
            return
        total = 0
        for model, names in encrypted_fields():
            n = reencrypt_model(model, names)
            total += n
            self.stdout.write(f"{model._meta.label}: {n} rows ({', '.join(names)})")
        self.stdout.write(f"re-encrypted {total} rows with the first key")
