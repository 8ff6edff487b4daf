from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from knotwork.accounts.mfa_reset import MfaResetError, mfa_reset


class Command(BaseCommand):
    help = (
        "Remove every sign-in factor (authenticator app, passkeys, recovery codes) of a person who has lost them all, "
        "after checking who they are; audited with the reason. They enrol a new factor at their next sign-in."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--reason", required=True, help="how the person's identity was checked, and why (audited)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            removed = mfa_reset(email=options["email"], reason=options["reason"], operator=getpass.getuser())
        except MfaResetError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Removed {len(removed)} sign-in factor(s) ({', '.join(sorted(set(removed)))}) of {options['email']}.")
