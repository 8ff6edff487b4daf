"""``knotwork eval``: recall@k on clinical vignettes and, with ``--atlas``, atlas self-consistency."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knotwork.atlas.management.commands.explain import raw_stream, run_engine_command
from knotwork.engine.commands import eval_main


class Command(BaseCommand):
    help = "Measure the reasoning engine on vignettes, and the atlas against itself (--atlas)."

    def add_arguments(self, parser: CommandParser) -> None:
        # Only for call_command(); from the shell run_from_argv() hands argv to the engine untouched.
        parser.add_argument("engine_args", nargs=argparse.REMAINDER, metavar="ARG")

    def run_from_argv(self, argv: list[str]) -> None:
        run_engine_command(eval_main, argv)

    def handle(self, *args: Any, **options: Any) -> None:
        code = eval_main(list(options["engine_args"]), out=raw_stream(self.stdout), err=raw_stream(self.stderr))
        if code:
            raise CommandError("knotwork eval failed; see the message above", returncode=code)
