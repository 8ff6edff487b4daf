from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knotwork.accounts.demo import DEMO_CLIENT_LOGIN, DEMO_PASSWORD, DEMO_STAFF, DEMO_VERIFIER, RealDataError, demo_seed
from knotwork.accounts.models import Role


def demo_logins_text() -> str:
    lines = [f"Demo logins (password: {DEMO_PASSWORD}):"]
    lines += [f"  {p.email:<28} {Role(p.role).label}" for p in DEMO_STAFF]
    lines += [f"  {DEMO_VERIFIER.email:<28} credential verifier (platform)"]
    lines += [f"  {DEMO_CLIENT_LOGIN:<28} client portal"]
    lines += ["Staff sign in with two-factor codes: `knotwork demo-code <email>` prints the current one."]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Create the demo clinic, staff and clients. Idempotent; refuses a database with real clinics."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Seed even though real clinics exist")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = demo_seed(force=options["force"])
        except RealDataError as exc:
            raise CommandError(str(exc)) from None
        made = ", ".join(f"{n} {k}" for k, n in created.items() if n) or "nothing new (already there)"
        self.stdout.write(f"Demo clinic ready: {made}.")
        self.stdout.write(demo_logins_text())
