from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knotwork.learn.content import ContentError, articles_rerender, content_load
from knotwork.learn.services import related_rebuild


class Command(BaseCommand):
    help = "Client education articles: load the shipped ones, recompute related reading, re-render HTML."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("load", help="create or update the shipped platform articles (idempotent)")
        sub.add_parser("related", help="recompute related reading for every published article")
        sub.add_parser("rerender", help="render every article's HTML again (after an atlas update)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "load":
            try:
                report = content_load()
            except ContentError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"articles: {report.created} created, {report.updated} updated, {report.unchanged} unchanged")
        elif action == "related":
            self.stdout.write(f"related reading recomputed for {related_rebuild()} articles")
        else:
            self.stdout.write(f"{articles_rerender()} articles re-rendered")
