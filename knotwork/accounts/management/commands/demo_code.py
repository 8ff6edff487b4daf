from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knotwork.accounts.demo import RealDataError, demo_code


class Command(BaseCommand):
    help = "Print the current one-time sign-in code of a demo staff account (demo databases only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.stdout.write(demo_code(options["email"]))
        except (RealDataError, LookupError) as exc:
            raise CommandError(str(exc)) from None
