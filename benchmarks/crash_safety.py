"""Crash safety: write through the API while the server is killed with SIGKILL, many rounds.

    .venv/bin/python benchmarks/crash_safety.py [--rounds 20] [--database sqlite|postgres]

Each round starts the production server (granian, 2 workers) on loopback, runs 5 writer threads with an API token,
kills the whole server with SIGKILL at a random moment, and starts it again. Two threads create
clients through POST /api/clients; two book appointments through POST /api/bookings with an
Idempotency-Key, each at a time of its own; one (the front desk) records payments through POST
/api/payments with an Idempotency-Key, each with a reference of its own. A booking or payment
whose answer never arrived (the server died first) is retried with the same key and the same body
once the server is back, as a client should. At the end it checks that every write the server
acknowledged (201) is in the database, that no write is half-applied (every client, booking and
payment has its audit row, which the same transaction writes; every payment its ledger entry),
that no retry created a second appointment or a second payment (double-charged) or was refused
because its own first attempt had taken the time, that `knotwork money verify` is clean, that the
audit chains verify, and, on SQLite, PRAGMA integrity_check. It uses a throwaway database; real
data is never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
import urllib.error
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness.processes import Process, create_database, free_port, last_json_line, manage, post_json, wait_healthy  # noqa: E402
from knotwork.lib.server import server_command  # noqa: E402

SETUP = """
import json
from knotwork.accounts.models import Role
from knotwork.accounts.services import api_token_create
from knotwork.bookings.models import BookingPolicy, Service
from knotwork.lib.testing import make_client, make_clinic, make_staff
clinic = make_clinic("Crash Clinic")
owner = make_staff("owner@crash.example", clinic, Role.OWNER)
BookingPolicy.objects.create(clinic=clinic, min_notice_minutes=0, horizon_days=366)
service = Service.objects.create(clinic=clinic, name="NMT 20", duration_minutes=20)
client = make_client(clinic, first_name="Booked", last_name="Client")
# One staff member and token per writer thread, so the per-user API rate limit (600/min) rarely answers.
tokens = [
    api_token_create(user=make_staff(f"writer{i}@crash.example", clinic, Role.THERAPIST), clinic=clinic, name="crash",
                     scopes=["clients:read", "clients:write"]).secret
    for i in range(4)
]
desk = make_staff("desk@crash.example", clinic, Role.FRONT_DESK)
tokens.append(api_token_create(user=desk, clinic=clinic, name="crash", scopes=["clients:read", "clients:write"]).secret)
print(json.dumps({"tokens": tokens, "therapist": owner.pk, "service": service.pk, "client": client.pk}))
"""

CHECK = """
import json, sys
from django.db import connection
from knotwork.audit.models import AuditEvent
from knotwork.audit.services import audit_verify
from knotwork.clients.models import Client
from collections import Counter
from knotwork.bookings.models import Appointment
state = json.load(open(%r))
acked = set(state["clients"])
names = set(Client.objects.values_list("last_name", flat=True)) - {"Client"}
audited = set(AuditEvent.objects.filter(object_type__icontains="client", action="create").values_list("object_id", flat=True))
clients = dict(Client.objects.exclude(last_name="Client").values_list("pk", "last_name"))
from datetime import datetime
booked = {a.starts_at.isoformat(): a.pk for a in Appointment.objects.all()}
created = dict(Appointment.objects.values_list("pk", "created_at"))
per_start = Counter(a.starts_at for a in Appointment.objects.all())
booking_audited = set(AuditEvent.objects.filter(object_type="bookings.appointment", action="create").values_list("object_id", flat=True))
retried = state["retried"]
from knotwork.billing.models import LedgerEntry, Payment
from knotwork.billing.verify import verify_money
references = Counter(Payment.objects.values_list("reference", flat=True))
payment_audited = set(AuditEvent.objects.filter(object_type="billing.payment", action="create").values_list("object_id", flat=True))
ledgered = set(LedgerEntry.objects.filter(payment__isnull=False).values_list("payment_id", flat=True))
result = {
    "acknowledged": len(acked),
    "lost": len(acked - names),
    "stored": len(names),
    "half_applied": sum(1 for pk in clients if str(pk) not in audited),
    "bookings_acknowledged": len(state["bookings"]),
    "bookings_lost": sum(1 for start, pk in state["bookings"].items() if booked.get(start) != pk),
    "bookings_half_applied": sum(1 for pk in booked.values() if str(pk) not in booking_audited),
    "retried_with_same_key": len(retried),
    "retries_replayed_or_booked": sum(1 for r in retried if r["status"] == 201 and booked.get(r["start"]) == r["id"]),
    # the first attempt had committed before the server died: the retry got the stored answer
    "retries_answered_from_first_attempt": sum(
        1 for r in retried if r["status"] == 201 and r["id"] in created and created[r["id"]] < datetime.fromisoformat(r["sent_at"])),
    "retries_refused_by_own_first_attempt": sum(1 for r in retried if r["status"] == 409),
    "duplicate_appointments": sum(n - 1 for n in per_start.values() if n > 1),
    "payments_acknowledged": len(state["payments"]),
    "payments_lost": sum(1 for ref in state["payments"] if references.get(ref, 0) == 0),
    "payments_double_charged": sum(n - 1 for n in references.values() if n > 1),
    "payments_half_applied": sum(
        1 for pk in Payment.objects.values_list("pk", flat=True) if str(pk) not in payment_audited or pk not in ledgered),
    "money_verify_findings": len(verify_money().findings),
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
        create_database(opts.postgres_url)
        env["DATABASE_URL"] = opts.postgres_url
    else:
        env["DATABASE_URL"] = f"sqlite:///{var / 'crash.sqlite3'}"
    manage(env, "migrate", "-v0")
    manage(env, "createcachetable")
    manage(env, "collectstatic", "--noinput", "-v0")  # as `knotwork run` does before serving
    seed = last_json_line(manage(env, "shell", "-c", SETUP))
    first_start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)

    acked: list[str] = []
    bookings: dict[str, int] = {}  # start -> appointment id, for every 201 the writer received
    payments: list[str] = []  # the reference of every payment the server acknowledged
    unanswered: list[tuple[str, str, bytes, str]] = []  # (path, Idempotency-Key, body, token) of writes whose answer never came
    retried: list[dict[str, object]] = []
    retried_payments: list[int] = []
    lock = threading.Lock()
    counter = iter(range(10**9))
    kills = 0
    errors: list[int] = []

    def post(port: int, path: str, body: bytes, token: str) -> tuple[int, dict[str, object]]:
        return post_json(port, path, body, token, timeout=5)

    def send(port: int, path: str, key: str, body: bytes, token: str) -> tuple[int, dict[str, object]]:
        return post_json(port, path, body, token, {"Idempotency-Key": key}, timeout=5)

    def acknowledged(path: str, body: bytes, answer: dict[str, object]) -> None:
        if path == "/api/payments":
            payments.append(json.loads(body)["reference"])
        else:
            bookings[json.loads(body)["start"]] = answer["id"]  # type: ignore[assignment]

    def serve() -> tuple[Process, int]:
        port = free_port()
        server = Process("server", [*server_command(f"127.0.0.1:{port}", 2), "--log-level", "error"], env, var / "server.log")
        wait_healthy(port, process=server, timeout=20)
        return server, port

    def retry_unanswered(port: int) -> None:
        """Send every write whose answer was lost again, same key and body, until it is answered."""
        while unanswered:
            path, key, body, token = unanswered[0]
            sent_at = datetime.now(UTC).isoformat()
            try:
                status, answer = send(port, path, key, body, token)
            except (urllib.error.URLError, OSError, ConnectionError):
                return  # the server died again; the next round retries
            if status == 429:  # rate limited: wait and send the same request again, as a client should
                time.sleep(1)
                continue
            unanswered.pop(0)
            if status == 201:
                acknowledged(path, body, answer)
            if path == "/api/bookings":
                start = json.loads(body)["start"]
                retried.append({"start": start, "status": status, "id": answer.get("id"), "sent_at": sent_at})
            else:
                retried_payments.append(status)

    started = time.monotonic()
    for _ in range(opts.rounds):
        server, port = serve()
        retry_unanswered(port)
        stop = threading.Event()

        def client_writer(token: str, port: int = port, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                with lock:
                    name = f"crash-{next(counter)}"
                try:
                    status, _ = post(port, "/api/clients", json.dumps({"first_name": "Kill", "last_name": name}).encode(), token)
                except (urllib.error.URLError, OSError, ConnectionError):
                    time.sleep(0.05)
                    continue
                with lock:
                    if status == 201:
                        acked.append(name)
                    else:
                        errors.append(status)

        def booking_writer(token: str, port: int = port, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                with lock:
                    start = (first_start + timedelta(minutes=30 * next(counter))).isoformat()
                key = str(uuid.uuid4())
                # Round-the-clock starts, outside any working hours: staff book those only with a stated reason.
                payload = {
                    "therapist": seed["therapist"],
                    "service": seed["service"],
                    "start": start,
                    "client": seed["client"],
                    "outside_hours_reason": "crash-safety benchmark",
                }
                body = json.dumps(payload).encode()
                try:
                    status, answer = send(port, "/api/bookings", key, body, token)
                except (urllib.error.URLError, OSError, ConnectionError):
                    with lock:
                        unanswered.append(("/api/bookings", key, body, token))
                    time.sleep(0.05)
                    continue
                with lock:
                    if status == 201:
                        acknowledged("/api/bookings", body, answer)
                    else:
                        errors.append(status)

        def payment_writer(token: str, port: int = port, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                with lock:
                    reference = f"crash-pay-{next(counter)}"
                key = str(uuid.uuid4())
                payload = {"client": seed["client"], "method": "cash", "amount": "12.50", "currency": "GBP", "reference": reference}
                body = json.dumps(payload).encode()
                try:
                    status, answer = send(port, "/api/payments", key, body, token)
                except (urllib.error.URLError, OSError, ConnectionError):
                    with lock:
                        unanswered.append(("/api/payments", key, body, token))
                    time.sleep(0.05)
                    continue
                with lock:
                    if status == 201:
                        acknowledged("/api/payments", body, answer)
                    else:
                        errors.append(status)

        writers = (client_writer, client_writer, booking_writer, booking_writer, payment_writer)
        threads = [threading.Thread(target=w, args=(token,)) for w, token in zip(writers, seed["tokens"], strict=True)]
        for t in threads:
            t.start()
        time.sleep(random.uniform(0.5, 2.0))
        server.kill()
        kills += 1
        stop.set()
        for t in threads:
            t.join()
    server, port = serve()  # one last start, only to answer the retries of the final round
    retry_unanswered(port)
    server.stop()
    ack_file = var / "acked.json"
    ack_file.write_text(json.dumps({"clients": acked, "bookings": bookings, "retried": retried, "payments": payments}))
    result = last_json_line(manage(env, "shell", "-c", CHECK % str(ack_file)))
    result.update({"database": opts.database, "rounds": kills, "seconds": round(time.monotonic() - started, 1)})
    result["http_errors"] = {str(c): errors.count(c) for c in sorted(set(errors))}
    result["payments_retried_with_same_key"] = len(retried_payments)
    print(json.dumps(result, indent=1))
    ok = (
        result["lost"] == result["half_applied"] == result["bookings_lost"] == result["bookings_half_applied"] == 0
        and result["retries_refused_by_own_first_attempt"] == result["duplicate_appointments"] == 0
        and result["retries_replayed_or_booked"] == result["retried_with_same_key"]
        and result["payments_lost"] == result["payments_double_charged"] == result["payments_half_applied"] == 0
        and result["money_verify_findings"] == 0
        and all(status == 201 for status in retried_payments)
        and result["chains_ok"]
        and result.get("integrity_check", "ok") == "ok"
        and not unanswered
    )
    print("crash safety:", "OK" if ok else "FAILED")


if __name__ == "__main__":
    main()
