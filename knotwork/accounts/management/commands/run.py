from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from knotwork.accounts.demo import demo_seed
from knotwork.accounts.management.commands.demo import demo_logins_text
from knotwork.accounts.models import User
from knotwork.audit.services import audit_checkpoint
from knotwork.lib.server import server_command
from knotwork.lib.setuplock import setup_lock


class Command(BaseCommand):
    help = "Migrate, load reference data, seed the demo on an empty database, and serve with granian and a worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--dev", action="store_true", help="Django's autoreloading development server")
        parser.add_argument("--workers", type=int, default=2, help="server worker processes")
        parser.add_argument("--no-worker", action="store_true", help="do not start the background task worker")

    def handle(self, *args: Any, **options: Any) -> None:
        self.prepare()
        if options["dev"]:
            call_command("runserver", f"{options['host']}:{options['port']}")
            return
        self.serve(options)

    def prepare(self) -> None:
        with setup_lock():  # another `knotwork run` starting now waits here, then finds it all done
            self._prepare()
        if User.objects.filter(memberships__clinic__is_demo=True).exists():
            self.stdout.write(demo_logins_text())

    def _prepare(self) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        for name in ("atlas", "learn"):
            from django.core.management import get_commands

            if name in get_commands():
                call_command(name, "load", verbosity=0)
        if not User.objects.exists():
            demo_seed()
            self.stdout.write(self.style.SUCCESS("Seeded the demo clinic on this empty database."))
        if "ManifestStaticFilesStorage" in settings.STORAGES["staticfiles"]["BACKEND"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        audit_checkpoint()  # every start anchors the audit chain heads outside the database

    def serve(self, options: dict[str, Any]) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings")}
        procs: list[subprocess.Popen[bytes]] = []
        if not options["no_worker"]:
            procs.append(subprocess.Popen([sys.executable, "-m", "knotwork.cli", "worker"], env=env))  # noqa: S603
        bind = f"{options['host']}:{options['port']}"
        self.stdout.write(f"Knotwork is serving at http://{bind}/ (Ctrl-C to stop)")
        procs.append(subprocess.Popen(server_command(bind, options["workers"]), env=env))  # noqa: S603  (fixed arguments)

        def stop(*_: Any) -> None:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(p.poll() is None for p in procs):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    procs[-1].wait(timeout=1)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for p in procs:
                p.wait(timeout=15)
