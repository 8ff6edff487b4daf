"""Load (figure 12): locust against a production server on PostgreSQL, loopback only.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/knotwork .venv/bin/python benchmarks/load.py
    .venv/bin/python benchmarks/load.py --users 100 --spawn-rate 20 --duration 5m

DATABASE_URL only names the PostgreSQL server: a separate throwaway database
(``knotwork_load_<pid>``) is created next to it, migrated, seeded with the demo clinic plus
bookable therapists and one API token per simulated user, and dropped at the end. The server is
``knotwork run --no-worker --workers 3`` (granian) bound to 127.0.0.1. The scenario lives in
benchmarks/locustfile.py. Afterwards it prints the request total, server errors (5xx), p95 of
reads and of the booking calls from locust's CSV, and the number of overlapping active
appointments in the database. It prints figures; it never fails on speed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/knotwork"
BOOKING_NAMES = ("POST /api/bookings/holds", "POST /api/bookings")

SETUP = r"""
import json
from datetime import time
from django.db import transaction
from knotwork.accounts.models import Clinic, Role
from knotwork.accounts.services import api_token_create
from knotwork.bookings.models import Availability, BookingPolicy, Service
from knotwork.care.models import Visit
from knotwork.clients.models import Client
from knotwork.lib.testing import make_client, make_staff

USERS = %(users)d
BOOKABLE = %(bookable)d
with transaction.atomic():
    clinic = Clinic.objects.get(slug="harbour-street")
    BookingPolicy.objects.filter(clinic=clinic).update(min_notice_minutes=60, horizon_days=60)
    service = Service.objects.filter(clinic=clinic, therapist__isnull=True, duration_minutes__gte=45).exclude(
        online_booking=Service.OnlineBooking.STAFF).order_by("position").first()
    bookable = []
    for i in range(BOOKABLE):
        t = make_staff(f"load-therapist{i}@harbour.example", clinic, Role.THERAPIST)
        for weekday in range(7):
            Availability.objects.create(clinic=clinic, therapist=t, weekday=weekday, start_time=time(8), end_time=time(20))
        bookable.append(t.pk)
    clients = [make_client(clinic, first_name=f"Load{i}", last_name="Client").pk for i in range(200)]
    tokens = []
    for i in range(USERS):
        staff = make_staff(f"load-user{i}@harbour.example", clinic, Role.THERAPIST)
        issued = api_token_create(user=staff, clinic=clinic, name="load", scopes=["clients:read", "clients:write", "engine"])
        tokens.append(issued.secret)
    visits = list(Visit.objects.filter(clinic=clinic).values_list("pk", "client_id")[:200])
print(json.dumps({"service": service.pk, "therapists": bookable, "clients": clients, "tokens": tokens,
                  "visits": [v for v, _ in visits], "visit_clients": sorted({c for _, c in visits})}))
"""

OVERLAPS = """
from django.db import connection
with connection.cursor() as c:
    c.execute('''
        SELECT count(*) FROM bookings_appointment a JOIN bookings_appointment b
          ON a.therapist_id = b.therapist_id AND a.id < b.id
         AND a.block_start < b.block_end AND b.block_start < a.block_end
         WHERE a.status IN ('requested', 'confirmed') AND b.status IN ('requested', 'confirmed')''')
    overlaps = c.fetchone()[0]
    c.execute("SELECT count(*) FROM bookings_appointment WHERE status IN ('requested', 'confirmed')")
    active = c.fetchone()[0]
print(overlaps, active)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{out.stderr[-4000:]}")
    return out.stdout


def psql(server_url: str, sql: str) -> None:
    parts = urlsplit(server_url)
    admin = urlunsplit((parts.scheme.replace("postgres", "postgresql", 1) if parts.scheme == "postgres" else parts.scheme,
                        parts.netloc, "/postgres", "", ""))  # fmt: skip
    subprocess.run(["psql", admin, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True)


def percentile_row(rows: list[dict[str, str]], names: tuple[str, ...] | None, *, exclude: tuple[str, ...] = ()) -> dict[str, float]:
    """Request-weighted p95 over several locust rows (upper bound: the largest row p95 among those with traffic)."""
    chosen = [r for r in rows if r["Name"] != "Aggregated" and (names is None or r["Name"] in names) and r["Name"] not in exclude]
    count = sum(int(r["Request Count"]) for r in chosen)
    return {
        "requests": count,
        "p95_ms_max_of_endpoints": max((float(r["95%"]) for r in chosen if int(r["Request Count"])), default=0.0),
        "p50_ms_weighted": round(sum(float(r["50%"]) * int(r["Request Count"]) for r in chosen) / count, 1) if count else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--spawn-rate", type=int, default=20)
    parser.add_argument("--duration", default="5m", help="locust --run-time, e.g. 5m or 90s")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database and the CSV directory")
    opts = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith(("postgres://", "postgresql://")):
        print(f"load: skipped; DATABASE_URL must name a PostgreSQL server, e.g. DATABASE_URL={DEFAULT_SERVER} (or `make bench-load`).")
        return
    if shutil.which("locust", path=str(BIN)) is None:
        subprocess.run([str(BIN / "pip"), "install", "--quiet", "-e", ".[load]"], cwd=ROOT, check=True)

    dbname = f"knotwork_load_{os.getpid()}"
    parts = urlsplit(server_url)
    db_url = urlunsplit((parts.scheme, parts.netloc, f"/{dbname}", parts.query, ""))
    var = Path(tempfile.mkdtemp(prefix="knotwork-load-"))
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "KNOTWORK_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "LOG_LEVEL": "error",
        "ALLOWED_HOSTS": "127.0.0.1",
        "EMAIL_BACKEND": "memory",
        # Confirmation e-mails are queued for the worker, which this run does not start.
        "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
        # Each simulated visitor sends its own address in X-Forwarded-For, as if behind one proxy,
        # so per-visitor rate limits see 100 visitors rather than one loopback address.
        "TRUSTED_PROXY_COUNT": "1",
    }
    psql(server_url, f'CREATE DATABASE "{dbname}"')
    server: subprocess.Popen[bytes] | None = None
    try:
        started = time.monotonic()
        manage(env, "migrate", "-v0")
        manage(env, "createcachetable")
        for name in ("atlas", "learn"):
            manage(env, name, "load")
        manage(env, "demo")
        seed = json.loads(manage(env, "shell", "-c", SETUP % {"users": opts.users + 20, "bookable": 20}).strip().splitlines()[-1])
        seed_file = var / "seed.json"
        seed_file.write_text(json.dumps(seed))
        print(f"prepared {dbname} in {time.monotonic() - started:.0f} s")

        port = free_port()
        server = subprocess.Popen(
            [str(BIN / "knotwork"), "run", "--no-worker", "--host", "127.0.0.1", "--port", str(port), "--workers", str(opts.workers)],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=open(var / "server.log", "w"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit(f"server did not start; see {var / 'server.log'}")
                time.sleep(0.5)

        prefix = var / "locust"
        subprocess.run(
            [str(BIN / "locust"), "-f", str(ROOT / "benchmarks" / "locustfile.py"), "--headless", "-u", str(opts.users),
             "-r", str(opts.spawn_rate), "-t", opts.duration, "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix),
             "--only-summary", "--loglevel", "WARNING"],
            cwd=ROOT, env={**env, "KNOTWORK_LOAD_SEED": str(seed_file)}, check=False,
        )  # fmt: skip
        rows = list(csv.DictReader(open(f"{prefix}_stats.csv")))  # noqa: SIM115
        failures = list(csv.DictReader(open(f"{prefix}_failures.csv")))  # noqa: SIM115
        total = next(r for r in rows if r["Name"] == "Aggregated")
        server_errors = sum(int(f["Occurrences"]) for f in failures if "server error" in f["Error"])
        overlaps, active = manage(env, "shell", "-c", OVERLAPS).strip().splitlines()[-1].split()
        result = {
            "users": opts.users,
            "duration": opts.duration,
            "server_workers": opts.workers,
            "requests": int(total["Request Count"]),
            "failures": int(total["Failure Count"]),
            "server_errors_5xx": server_errors,
            "requests_per_s": round(float(total["Requests/s"]), 1),
            "p95_all_ms": float(total["95%"]),
            "reads": percentile_row(rows, None, exclude=BOOKING_NAMES),
            "booking": percentile_row(rows, BOOKING_NAMES),
            "active_appointments": int(active),
            "overlapping_active_appointments": int(overlaps),
        }
        print("\n| endpoint | requests | failures | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['Name']} | {r['Request Count']} | {r['Failure Count']} | {r['50%']} | {r['95%']} | {r['99%']} |")
        for f in failures:
            print(f"failure: {f['Method']} {f['Name']}: {f['Error']} x{f['Occurrences']}")
        print(json.dumps(result, indent=1))
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if not opts.keep:
            psql(server_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            shutil.rmtree(var, ignore_errors=True)
        else:
            print(f"kept database {dbname} and {var}")


if __name__ == "__main__":
    main()
