"""The `knotwork` console command: Knotwork's own commands, and every Django management command.

`knotwork run` migrates, loads reference data, seeds the demo on an empty database and serves;
`knotwork --help` lists the rest. Every command honours DATABASE_URL.
"""

from __future__ import annotations

import os
import sys

COMMANDS = {
    "run": "Migrate, load reference data, seed the demo on an empty database, and serve (--dev for autoreload)",
    "worker": "Run the background task worker alone (for deployments with several machines)",
    "demo": "Create the demo clinic, staff and clients (idempotent; refuses a database with real data)",
    "demo-code": "Print the current one-time sign-in code of a demo staff account",
    "check": "Check the installation (--deploy: production readiness, Knotwork's checks included)",
    "audit": "Audit log tools: `knotwork audit verify` walks every hash chain",
    "money": "Money tools: `knotwork money verify` recomputes invoices, numbering and balances from the ledger",
    "send-reminders": "Queue appointment reminders that are due (run from cron every few minutes)",
    "send-checkins": "Queue post-visit check-ins that are due (run from cron every 15 minutes)",
    "atlas": "The trigger-point atlas: load, regions, list, show, refers-to",
    "explain": "Rank likely trigger-point sources for a pain drawing",
    "eval": "Evaluate the reasoning engine on vignettes, or the atlas against itself (--atlas)",
    "backup": "Online backup of the database and uploaded files (safe while serving)",
    "restore": "Restore a backup into a fresh instance and verify it table by table",
    "rotate-key": "Re-encrypt clinical text with the first key in FIELD_ENCRYPTION_KEYS (--new prints a key)",
    "mfa-reset": "Remove every sign-in factor of someone who lost them all (--reason, audited); they enrol again",
    "migrate": "Apply database migrations",
    "createsuperuser": "Create a platform administrator",
}


# Commands typed with a hyphen whose Django module names use an underscore.
HYPHENATED = ("demo-code", "send-reminders", "send-checkins", "rotate-key", "mfa-reset")


def _help() -> str:
    width = max(len(c) for c in COMMANDS)
    lines = ["usage: knotwork <command> [options]", "", "Knotwork commands:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in COMMANDS.items()]
    lines += [
        "",
        "Every Django management command works too (`knotwork help` lists them all).",
        "`knotwork <command> --help` describes one command.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_help())
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    command = args[0].replace("-", "_") if args[0] in HYPHENATED else args[0]
    execute_from_command_line(["knotwork", command, *args[1:]])


if __name__ == "__main__":
    main()
