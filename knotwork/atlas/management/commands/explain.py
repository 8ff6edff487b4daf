"""``knotwork explain``: likely trigger-point sources to examine for a pain drawing (see docs/engine.md)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knotwork.engine.commands import explain_main

_DJANGO_GLOBALS = ("--settings", "--pythonpath")


def engine_argv(argv: list[str]) -> list[str]:
    """``argv`` of ``manage.py <command> …`` without the program, the command, and the two
    options Django's own launcher has already applied (``--settings``, ``--pythonpath``)."""
    out: list[str] = []
    rest = iter(argv[2:])
    for arg in rest:
        if arg in _DJANGO_GLOBALS:
            next(rest, None)
        elif not arg.startswith(tuple(f"{g}=" for g in _DJANGO_GLOBALS)):
            out.append(arg)
    return out


def raw_stream(wrapper: Any) -> TextIO:
    """The stream behind a command's OutputWrapper: it would add a newline to every chunk json.dump writes."""
    return cast(TextIO, getattr(wrapper, "_out", wrapper))


def run_engine_command(main: Callable[..., int], argv: list[str]) -> None:
    """Run an engine command from the shell and exit with its status (none on success)."""
    try:
        code = main(engine_argv(argv), out=sys.stdout, err=sys.stderr)
        sys.stdout.flush()
    except BrokenPipeError:
        # `knotwork explain … | head`: the reader left; stop quietly, as a Unix tool does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    if code:
        sys.exit(code)


class Command(BaseCommand):
    help = "List likely trigger-point sources to examine for a pain drawing. `knotwork explain --help` lists the options."

    def add_arguments(self, parser: CommandParser) -> None:
        # Only for call_command(); from the shell run_from_argv() hands argv to the engine untouched.
        parser.add_argument("engine_args", nargs=argparse.REMAINDER, metavar="ARG")

    def run_from_argv(self, argv: list[str]) -> None:
        run_engine_command(explain_main, argv)

    def handle(self, *args: Any, **options: Any) -> None:
        code = explain_main(list(options["engine_args"]), out=raw_stream(self.stdout), err=raw_stream(self.stderr))
        if code:
            raise CommandError("knotwork explain failed; see the message above", returncode=code)
