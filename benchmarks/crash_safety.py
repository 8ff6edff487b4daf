"""Crash safety: write through the API while the server is killed with SIGKILL, many rounds.

    .venv/bin/python benchmarks/crash_safety.py [--rounds 20] [--database sqlite|postgres]

Each round starts gunicorn (2 workers) on loopback, runs 4 writer threads that create clients
through POST /api/clients with an API token, kills the whole server with SIGKILL at a random
moment, and starts it again. At the end it checks that every write the server acknowledged
(201) is in the database, that no write is half-applied (every client has its audit row, which
the same transaction writes), that the audit chains verify, and, on SQLite, PRAGMA
integrity_check. It uses a throwaway database; real data is never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    out = subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    return out.stdout


SETUP = """
from knotwork.accounts.models import Role
from knotwork.accounts.services import api_token_create
from knotwork.lib.testing import make_clinic, make_staff
clinic = make_clinic("Crash Clinic")
owner = make_staff("owner@crash.example", clinic, Role.OWNER)
print(api_token_create(user=owner, clinic=clinic, name="crash", scopes=["clients:read", "clients:write"]).secret)
"""

CHECK = """
import json, sys
from django.db import connection
from knotwork.audit.models import AuditEvent
from knotwork.audit.services import audit_verify
from knotwork.clients.models import Client
acked = set(json.load(open(sys.argv[-1] if False else %r)))
names = set(Client.objects.values_list("last_name", flat=True))
audited = set(AuditEvent.objects.filter(object_type__icontains="client", action="create").values_list("object_id", flat=True))
clients = dict(Client.objects.values_list("pk", "last_name"))
result = {
    "acknowledged": len(acked),
    "lost": len(acked - names),
    "stored": len(names),
    "half_applied": sum(1 for pk in clients if str(pk) not in audited),
    "chains_ok": all(r.ok for r in audit_verify()),
}
if connection.vendor == "sqlite":
    with connection.cursor() as c:
        c.execute("PRAGMA integrity_check")
        result["integrity_check"] = c.fetchone()[0]
print(json.dumps(result))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/knotwork_crash")
    opts = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="knotwork-crash-"))
    env = {
        **os.environ,
        "KNOTWORK_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "LOG_LEVEL": "error",
        "ALLOWED_HOSTS": "127.0.0.1",
        "EMAIL_BACKEND": "memory",
        "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
    }
    if opts.database == "postgres":
        dbname = opts.postgres_url.rsplit("/", 1)[1]
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", dbname], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", dbname], check=True)
        env["DATABASE_URL"] = opts.postgres_url
    else:
        env["DATABASE_URL"] = f"sqlite:///{var / 'crash.sqlite3'}"
    manage(env, "migrate", "-v0")
    manage(env, "createcachetable")
    manage(env, "collectstatic", "--noinput", "-v0")  # as `knotwork run` does before serving
    token = manage(env, "shell", "-c", SETUP).strip().splitlines()[-1]

    acked: list[str] = []
    lock = threading.Lock()
    counter = iter(range(10**9))
    kills = 0
    errors: list[int] = []
    started = time.monotonic()
    for _ in range(opts.rounds):
        port = free_port()
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--log-level", "error"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=open(var / "server.log", "a"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        stop = threading.Event()

        def writer(port: int = port, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                with lock:
                    name = f"crash-{next(counter)}"
                body = json.dumps({"first_name": "Kill", "last_name": name}).encode()
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/clients",
                    data=body,
                    method="POST",
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                )
                try:
                    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
                        if resp.status == 201:
                            with lock:
                                acked.append(name)
                except urllib.error.HTTPError as exc:
                    errors.append(exc.code)
                except (urllib.error.URLError, OSError, ConnectionError):
                    time.sleep(0.05)

        threads = [threading.Thread(target=writer) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(random.uniform(0.5, 2.0))
        os.killpg(server.pid, signal.SIGKILL)
        kills += 1
        server.wait()
        stop.set()
        for t in threads:
            t.join()
    ack_file = var / "acked.json"
    ack_file.write_text(json.dumps(acked))
    result = json.loads(manage(env, "shell", "-c", CHECK % str(ack_file)).strip().splitlines()[-1])
    result.update({"database": opts.database, "rounds": kills, "seconds": round(time.monotonic() - started, 1)})
    result["http_errors"] = {str(c): errors.count(c) for c in sorted(set(errors))}
    print(json.dumps(result, indent=1))
    ok = result["lost"] == 0 and result["half_applied"] == 0 and result["chains_ok"] and result.get("integrity_check", "ok") == "ok"
    print("crash safety:", "OK" if ok else "FAILED")


if __name__ == "__main__":
    main()
