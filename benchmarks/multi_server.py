"""Several app servers and task workers on one PostgreSQL and one Redis, on loopback.

    .venv/bin/python benchmarks/multi_server.py [--database-url postgres://postgres@127.0.0.1:5432/knotwork_multi]
        [--cache-url redis://127.0.0.1:6379/8] [--bookings 50] [--reminders 60] [--rounds 1]

Starts two app servers (`knotwork run --no-worker`, two granian workers each) and two task workers
(`knotwork worker`), every one with a var folder of its own, as on separate machines, sharing only
the database, the cache (CACHE_URL, Redis) and the keys in the environment. Then it shows:

- a session made on server A works on B (password on A, the one-time code on B, pages on both);
- rate limits are shared: failed sign-ins counted on A and B together, and the live-feedback
  buttons' per-link limit likewise;
- a live-feedback press sent to A is on the therapist's screen (the feed it polls every second)
  served by B at the first poll after A answered;
- simultaneous bookings of one time, split across both servers, make exactly one appointment;
- due reminders, swept by two `knotwork send-reminders` runs at once (cron on two hosts) with two
  workers taking the sweeps, are each sent exactly once;
- SIGKILL to server A while clients write through both loses no write either server acknowledged,
  B goes on serving (sessions included), and the audit chains still verify.

Flushes only the Redis database named in --cache-url and recreates only the PostgreSQL database
named in --database-url. tests/scale/test_multi_server.py runs the same scenarios in CI.
"""

from __future__ import annotations

import argparse
import base64
import email
import hashlib
import hmac
import http.cookiejar
import json
import os
import re
import secrets
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness.processes import (  # noqa: E402
    Process,
    create_database,
    drop_database,
    free_port,
    knotwork_command,
    last_json_line,
    manage,
    post_json,
    wait_healthy,
)

PASSWORD = "correct-horse-battery-staple"  # knotwork.lib.testing's password for its personas
# What a process inherits from the caller; everything else is set here, so a test run's settings
# (config.settings_test puts its own defaults in the environment) never reach the servers.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SYSTEMROOT")

SETUP = """
import json
from datetime import timedelta
from django.utils import timezone
from knotwork.accounts.models import Membership, Role, User
from knotwork.accounts.services import api_token_create
from knotwork.bookings.models import Appointment, AppointmentStatus, BookingPolicy, Service
from knotwork.care import services as care
from knotwork.lib.testing import make_client, make_clinic, make_staff

BOOKERS, REMINDERS, WRITERS, SWEEPS = %(bookers)d, %(reminders)d, %(writers)d, %(sweeps)d
clinic = make_clinic("Scale Clinic")
therapist = make_staff("therapist@scale.example", clinic, Role.THERAPIST)
desk = make_staff("desk@scale.example", clinic, Role.FRONT_DESK)
membership = Membership.objects.get(user=therapist, clinic=clinic)
BookingPolicy.objects.create(clinic=clinic, min_notice_minutes=0, horizon_days=366)  # reminders 24 h and 2 h before
service = Service.objects.create(clinic=clinic, name="NMT 20", duration_minutes=20)

# Two visits in progress, each with a live-feedback link: one to watch, one to press past its limit.
visits, links = [], []
for i in range(2):
    client = make_client(clinic, first_name="Visit", last_name=f"Client{i}")
    episode = care.episode_create(membership=membership, client=client, complaint="Neck pain", started_on=timezone.localdate())
    visit = care.visit_start(membership=membership, episode=episode)
    visits.append(visit.pk)
    links.append(care.feedback_link_issue(membership=membership, visit=visit))

bookers = [make_client(clinic, first_name="Booker", last_name=f"B{i}").pk for i in range(BOOKERS)]
scopes = ["clients:read", "clients:write"]
booking_token = api_token_create(user=desk, clinic=clinic, name="scale", scopes=scopes).secret
# One staff member per writer, so the per-user API rate limit never answers for the kill test. They
# use only their tokens: no password (hashing one costs a noticeable part of a second).
writer_tokens = []
for i in range(WRITERS):
    writer = User.objects.create_user(email=f"writer{i}@scale.example", password=None)
    Membership.objects.create(user=writer, clinic=clinic, role=Role.THERAPIST)
    writer_tokens.append(api_token_create(user=writer, clinic=clinic, name="scale", scopes=scopes).secret)

# Appointments booked two days ago that start within the day: each one's 24-hour reminder is due.
now = timezone.now()
first = now.replace(second=0, microsecond=0) + timedelta(hours=3)
rows = []
for i in range(REMINDERS):
    c = make_client(clinic, first_name="Remind", last_name=f"R{i}", email=f"remind{i}@scale.example")
    start = first + timedelta(minutes=15 * i)
    end = start + timedelta(minutes=10)
    rows.append(Appointment(clinic=clinic, therapist=therapist, client=c, service=service, starts_at=start, ends_at=end,
                            block_start=start, block_end=end, status=AppointmentStatus.CONFIRMED, confirmed_at=now - timedelta(days=2)))
reminded = [a.pk for a in Appointment.objects.bulk_create(rows)]
# Sweeps queued now, before any worker runs: both workers find them as they start.
from knotwork.bookings.tasks import send_due_reminders
sweeps = [str(send_due_reminders.enqueue().id) for _ in range(SWEEPS)]
print(json.dumps({
    "therapist": therapist.pk, "therapist_email": therapist.email, "totp_secret": therapist.totp_secret,
    "desk_email": desk.email, "service": service.pk, "visits": visits, "links": links, "bookers": bookers,
    "booking_token": booking_token, "writer_tokens": writer_tokens, "reminded": reminded, "sweeps": sweeps,
}))
"""


def totp(secret: str, at: float | None = None) -> str:
    """The current six-digit code of an authenticator app (RFC 6238, 30 s steps, HMAC-SHA1)."""
    counter = int(time.time() if at is None else at) // 30
    digest = hmac.new(base64.b32decode(secret, casefold=True), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


class Browser:
    """One person's browser: its cookies go to every server, as they would behind one host name and a
    load balancer (cookies are not bound to a port). Each request names the server it goes to."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def cookie(self, name: str) -> str:
        return next((c.value or "" for c in self.jar if c.name == name), "")

    def get(self, port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, str]:
        return self._open(urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {}))

    def post(self, port: int, path: str, data: dict[str, str], headers: dict[str, str] | None = None) -> tuple[int, str, str]:
        """A form POST with the CSRF token, as the page's form sends it."""
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": self.cookie("csrftoken")}).encode()
        hdrs = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self._open(urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=hdrs, method="POST"))

    def _open(self, req: urllib.request.Request) -> tuple[int, str, str]:
        """Status, the path it ended on (after redirects) and the body."""
        try:
            with self.opener.open(req, timeout=20) as resp:
                return int(resp.status), urllib.parse.urlsplit(resp.geturl()).path, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, urllib.parse.urlsplit(exc.geturl()).path, exc.read().decode(errors="replace")


@dataclass
class Cluster:
    """Two app servers (A, B) and two task workers on one database and one cache."""

    database_url: str
    cache_url: str
    var: Path
    server_workers: int = 2
    collect_static: bool = True  # False: serve static files unprocessed (a test's start-up skips collectstatic)
    ports: dict[str, int] = field(default_factory=dict)
    cron: list[subprocess.Popen[str]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # how long preparing, starting and stopping took
    processes: dict[str, Process] = field(default_factory=dict)
    seed: dict[str, Any] = field(default_factory=dict)
    therapist: Browser | None = None
    keys: dict[str, str] = field(
        default_factory=lambda: {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "AUDIT_KEYS": f"k1:{secrets.token_urlsafe(48)}",
        }
    )

    def env(self, name: str) -> dict[str, str]:
        """The environment of one process: shared database, cache and keys; a var folder of its own."""
        env = {k: os.environ[k] for k in INHERITED if k in os.environ}
        site = f"http://127.0.0.1:{self.ports['A']}" if "A" in self.ports else "http://127.0.0.1"
        return {
            **env,
            **self.keys,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": self.database_url,
            "CACHE_URL": self.cache_url,
            "KNOTWORK_REQUIRE_SECRET_KEY": "true",  # a key generated into one machine's var folder would split the cluster
            "KNOTWORK_VAR_DIR": str(self.var / name),
            "SITE_URL": site,
            "DEBUG": "false",
            "LOG_LEVEL": "warning",
            "EMAIL_BACKEND": "file",  # each process writes the mail it sends under its own var folder
            "SMS_QUIET_HOURS": "",
            "PYTHONUNBUFFERED": "1",
            **({} if self.collect_static else {"STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage"}),
        }

    def flush_cache(self) -> None:
        import redis

        redis.Redis.from_url(self.cache_url).flushdb()  # this database number only

    def prepare(self, *, bookers: int, reminders: int, writers: int = 4, sweeps: int = 0) -> None:
        """The cluster's data, written before anything serves (the database is migrated already).
        ``sweeps``: reminder sweeps to queue now, for the workers to find as they start (instead of
        :func:`begin_reminder_sweeps`' cron runs, which cost a process each)."""
        began = time.monotonic()
        self.ports = {"A": free_port(), "B": free_port()}
        self.flush_cache()
        script = SETUP % {"bookers": bookers, "reminders": reminders, "writers": writers, "sweeps": sweeps}
        self.seed = last_json_line(manage(self.env("setup"), "shell", "-c", script))
        self.seconds["prepare"] = round(time.monotonic() - began, 1)

    def start(self) -> None:
        """Both servers and both workers at once; the servers' start-up preparation takes turns
        under knotwork's PostgreSQL advisory lock."""
        began = time.monotonic()
        for name in ("A", "B"):
            cmd = knotwork_command("run", "--no-worker", "--host", "127.0.0.1", "--port", str(self.ports[name]))
            self.processes[name] = Process(f"server {name}", [*cmd, "--workers", str(self.server_workers)], self.env(name), self.log(name))
        for name in ("W1", "W2"):
            self.processes[name] = Process(f"worker {name}", knotwork_command("worker"), self.env(name), self.log(name))
        for name in ("A", "B"):
            wait_healthy(self.ports[name], process=self.processes[name], timeout=180)
            wait_healthy(self.ports[name], process=self.processes[name], timeout=30, path="/readyz")
        for name in ("W1", "W2"):
            if not self.processes[name].alive:
                raise RuntimeError(f"worker {name} exited:\n{self.processes[name].tail()}")
        self.seconds["start"] = round(time.monotonic() - began, 1)

    def log(self, name: str) -> Path:
        return self.var / f"{name}.log"

    def stop(self) -> None:
        began = time.monotonic()
        for proc in self.processes.values():
            proc.terminate()  # all at once; then each is waited for
        for proc in self.processes.values():
            proc.stop()
        self.seconds["stop"] = round(time.monotonic() - began, 1)
        (self.var / "seconds.json").write_text(json.dumps(self.seconds))

    def sql(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()  # type: ignore[arg-type]

    def knotwork(self, *args: str) -> tuple[int, str]:
        """Run a one-off `knotwork` command against the cluster; its exit code and output."""
        out = subprocess.run(knotwork_command(*args), env=self.env("cli"), capture_output=True, text=True, timeout=300)  # noqa: S603
        return out.returncode, out.stdout + out.stderr


# --- the scenarios -----------------------------------------------------------------------------


def session_across_servers(cluster: Cluster) -> dict[str, Any]:
    """Sign in with the password on A, give the one-time code on B, then open the visit on both."""
    a, b = cluster.ports["A"], cluster.ports["B"]
    browser = Browser()
    browser.get(a, "/accounts/login/")
    _, after_password, _ = browser.post(a, "/accounts/login/", {"login": cluster.seed["therapist_email"], "password": PASSWORD})
    _, after_code, _ = browser.post(b, "/accounts/2fa/authenticate/", {"code": totp(cluster.seed["totp_secret"])})
    visit = f"/visits/{cluster.seed['visits'][0]}/"
    pages = {}
    for name, port in (("A", a), ("B", b)):
        status, path, _ = browser.get(port, visit)
        pages[name] = {"status": status, "path": path}
    cluster.therapist = browser
    return {"after_password": after_password, "after_code": after_code, "visit": visit, "pages": pages}


def shared_rate_limits(cluster: Cluster) -> dict[str, Any]:
    """Failed sign-ins of one account, and presses of one feedback link, counted across A and B."""
    a, b = cluster.ports["A"], cluster.ports["B"]
    # allauth: 5 failed sign-ins per account (and address) in 5 minutes. 3 on A, 2 on B, then the
    # right password: refused while the two servers count together.
    intruder = Browser()
    intruder.get(a, "/accounts/login/")
    failed = []
    for port in (a, a, a, b, b):
        status, path, _ = intruder.post(port, "/accounts/login/", {"login": cluster.seed["desk_email"], "password": "not-the-password"})
        failed.append({"status": status, "path": path})
    status, path, body = intruder.post(b, "/accounts/login/", {"login": cluster.seed["desk_email"], "password": PASSWORD})
    sign_in = {"status": status, "path": path, "told_too_many": "Too many failed login attempts" in body}
    # Live feedback: 40 presses a minute per link. Alternate the servers: 40 pass, then both refuse.
    phone = Browser()
    link = cluster.seed["links"][1]
    phone.get(a, f"/feedback/{link}/")
    presses = [phone.post((a, b)[i % 2], f"/feedback/{link}/press/", {"kind": "good"}, {"HX-Request": "true"})[0] for i in range(44)]
    return {"failed_sign_ins": failed, "right_password_after_5_failures": sign_in, "press_statuses": presses}


def live_feedback(cluster: Cluster) -> dict[str, Any]:
    """A press on A, then the therapist's feed (which their screen polls every second) from B."""
    assert cluster.therapist is not None, "session_across_servers signs the therapist in first"
    a, b = cluster.ports["A"], cluster.ports["B"]
    phone = Browser()
    link, visit = cluster.seed["links"][0], cluster.seed["visits"][0]
    phone.get(a, f"/feedback/{link}/")
    status, _, ack = phone.post(a, f"/feedback/{link}/press/", {"kind": "stop"}, {"HX-Request": "true"})
    acknowledged = time.monotonic()
    polls = 0
    while True:
        polls += 1
        feed_status, _, feed = cluster.therapist.get(b, f"/visits/{visit}/feedback/feed/", {"HX-Request": "true"})
        if 'id="stop-banner"' in feed or time.monotonic() - acknowledged > 5:
            break
        time.sleep(0.02)
    return {
        "press_status": status,
        "feed_status": feed_status,
        "polls_until_seen": polls,
        "seen": 'id="stop-banner"' in feed,
        "ms_from_answer_to_screen": round((time.monotonic() - acknowledged) * 1000, 1),
    }


def simultaneous_bookings(cluster: Cluster, n: int) -> dict[str, Any]:
    """``n`` clients book the same time at once, alternately through A and B."""
    ports = (cluster.ports["A"], cluster.ports["B"])
    start = (datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=5)).isoformat()
    barrier = threading.Barrier(n)
    statuses: list[tuple[str, int]] = []
    lock = threading.Lock()

    def book(i: int) -> None:
        payload = {
            "therapist": cluster.seed["therapist"],
            "service": cluster.seed["service"],
            "start": start,
            "client": cluster.seed["bookers"][i],
            "outside_hours_reason": "multi-server test",
        }
        barrier.wait()
        try:
            status, _ = post_json(ports[i % 2], "/api/bookings", json.dumps(payload).encode(), cluster.seed["booking_token"], timeout=60)
        except OSError as exc:
            status = -1
            print("booking request failed:", exc, file=sys.stderr)
        with lock:
            statuses.append(("AB"[i % 2], status))

    threads = [threading.Thread(target=book, args=(i,)) for i in range(n)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - began
    rows = cluster.sql("SELECT count(*) FROM bookings_appointment WHERE starts_at = %s AND status = 'confirmed'", (start,))
    return {
        "requests": n,
        "statuses": dict(Counter(s for _, s in statuses)),
        "booked_through": [server for server, s in statuses if s == 201],
        "appointments_at_that_time": rows[0][0],
        "seconds": round(seconds, 2),
    }


def _mail_to(cluster: Cluster, pattern: str) -> dict[str, Counter[str]]:
    """Per worker: how many messages went to each address matching ``pattern`` (file backend)."""
    sent: dict[str, Counter[str]] = {}
    for name in ("W1", "W2"):
        counts: Counter[str] = Counter()
        for path in sorted((cluster.var / name / "mail").glob("*.log")):
            for chunk in path.read_text(errors="replace").split("-" * 79):
                message = email.message_from_string(chunk.strip())
                to = message.get("To", "")
                if re.fullmatch(pattern, to) and message.get("Subject", "").startswith("Reminder:"):
                    counts[to] += 1
        sent[name] = counts
    return sent


def begin_reminder_sweeps(cluster: Cluster, *, runs: int = 2) -> None:
    """`knotwork send-reminders`, the cron entry, on ``runs`` "hosts" at once; each queues a sweep."""
    cluster.cron = [
        subprocess.Popen(  # noqa: S603  (our own command)
            knotwork_command("send-reminders"), env=cluster.env(f"cron{i}"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for i in range(runs)
    ]


def reminders_once(cluster: Cluster, *, timeout: float = 90) -> dict[str, Any]:
    """The sweeps queued (by the cron runs, or before the workers started), taken by both workers:
    every due reminder must be sent exactly once. Starts the cron runs if nothing queued sweeps."""
    began = time.monotonic()
    if not cluster.cron and not cluster.seed["sweeps"]:
        begin_reminder_sweeps(cluster)
    runs = cluster.cron
    sweeps_at_once = len(runs) + len(cluster.seed["sweeps"])
    outputs = [r.communicate(timeout=120)[0] for r in runs]
    task = "knotwork.bookings.tasks.send_due_reminders"
    while True:
        rows = cluster.sql("SELECT status, worker_ids FROM django_tasks_database_dbtaskresult WHERE task_path = %s", (task,))
        if len(rows) >= sweeps_at_once and all(s in ("SUCCESSFUL", "FAILED") for s, _ in rows):
            break
        if time.monotonic() - began > timeout:
            break
        time.sleep(0.2)
    reminded = cluster.seed["reminded"]
    logs = cluster.sql(
        "SELECT appointment_id, count(*) FILTER (WHERE NOT skipped), count(*) FILTER (WHERE email_sent) "
        "FROM bookings_reminderlog WHERE appointment_id = ANY(%s) GROUP BY appointment_id",
        (reminded,),
    )
    mail = _mail_to(cluster, r"remind\d+@scale\.example")
    total: Counter[str] = Counter()
    for counts in mail.values():
        total.update(counts)
    return {
        "cron_runs": [o.strip().splitlines()[-1] if o.strip() else "" for o in outputs],
        "cron_exit_codes": [r.returncode for r in runs],
        "sweeps": dict(Counter(s for s, _ in rows)),
        "sweeps_per_worker_process": len({w for _, ids in rows for w in ids}),
        "due_reminders": len(reminded),
        "appointments_with_one_sent_reminder": sum(1 for _, sent, mailed in logs if sent == 1 and mailed == 1),
        "reminder_rows_not_one": sum(1 for _, sent, _ in logs if sent != 1) + (len(reminded) - len(logs)),
        "emails": sum(total.values()),
        "addresses_mailed": len(total),
        "addresses_mailed_twice": sum(1 for c in total.values() if c > 1),
        "emails_per_worker": {name: sum(c.values()) for name, c in mail.items()},
        "seconds": round(time.monotonic() - began, 1),
    }


def kill_one_server(cluster: Cluster, *, before: float = 1.5, after: float = 1.5, after_acks: int = 8) -> dict[str, Any]:
    """Writers create clients through both servers; A is killed with SIGKILL mid-stream. A writer
    whose server stops answering moves to the other, as a load balancer would send it. Writing goes
    on for ``after`` seconds after the kill, and until B has acknowledged ``after_acks`` writes
    (at most 30 s), however slow the machine."""
    ports = {"A": cluster.ports["A"], "B": cluster.ports["B"]}
    down: set[str] = set()
    acked: list[tuple[str, int, bool]] = []  # (server, client id, acknowledged after the kill)
    unanswered: list[str] = []
    other: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    killed = threading.Event()
    counter = iter(range(10**9))

    def writer(token: str, prefer: str) -> None:
        server = prefer
        while not stop.is_set():
            if server in down:
                server = "B" if server == "A" else "A"
            with lock:
                name = f"scale-{next(counter)}"
            body = json.dumps({"first_name": "Kill", "last_name": name}).encode()
            try:
                status, answer = post_json(ports[server], "/api/clients", body, token, timeout=5)
            except OSError:  # no answer: the write may or may not have happened, and was never acknowledged
                with lock:
                    unanswered.append(server)
                    down.add(server)
                continue
            with lock:
                if status == 201:
                    acked.append((server, int(answer["id"]), killed.is_set()))
                else:
                    other.append(status)

    tokens = cluster.seed["writer_tokens"]
    threads = [threading.Thread(target=writer, args=(t, "AB"[i % 2])) for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    time.sleep(before)
    cluster.processes["A"].kill()
    killed.set()
    time.sleep(after)
    deadline = time.monotonic() + 30
    while sum(1 for _, _, after_kill in acked if after_kill) < after_acks and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join()
    ids = [pk for _, pk, _ in acked]
    stored = {r[0] for r in cluster.sql("SELECT id FROM clients_client WHERE id = ANY(%s)", (ids,))}
    audited = {
        int(r[0])
        for r in cluster.sql(
            "SELECT object_id FROM audit_auditevent WHERE object_type = 'clients.client' AND action = 'create' AND object_id = ANY(%s)",
            ([str(i) for i in ids],),
        )
    }
    # B still serves, the therapist's session included (it lives in the database, not on A).
    assert cluster.therapist is not None
    session_status, session_path, _ = cluster.therapist.get(ports["B"], f"/visits/{cluster.seed['visits'][0]}/")
    verify_code, verify_out = cluster.knotwork("audit", "verify")
    return {
        "acknowledged": len(acked),
        "acknowledged_by": dict(Counter(s for s, _, _ in acked)),
        "acknowledged_after_kill": sum(1 for _, _, after_kill in acked if after_kill),
        "unanswered": len(unanswered),
        "other_statuses": dict(Counter(other)),
        "lost": len(set(ids) - stored),
        "half_applied": len(stored - audited),
        "a_is_dead": not cluster.processes["A"].alive,
        "b_healthy": _status(ports["B"], "/readyz"),
        "session_on_b": {"status": session_status, "path": session_path},
        "audit_verify_exit": verify_code,
        "audit_verify": verify_out.strip().splitlines()[-3:],
    }


def _status(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:  # noqa: S310  (loopback)
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return -1


def run_all(cluster: Cluster, *, bookings: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, scenario in (
        ("session", lambda: session_across_servers(cluster)),
        ("rate_limits", lambda: shared_rate_limits(cluster)),
        ("live_feedback", lambda: live_feedback(cluster)),
        ("bookings", lambda: simultaneous_bookings(cluster, bookings)),
        ("reminders", lambda: reminders_once(cluster)),
        ("kill", lambda: kill_one_server(cluster)),
    ):
        began = time.monotonic()
        results[name] = scenario()
        results[name]["scenario_seconds"] = round(time.monotonic() - began, 2)
    return results


def verdict(results: dict[str, Any]) -> list[str]:
    """What did not hold, in words (empty: everything did)."""
    failures = []
    s = results["session"]
    pages_ok = all(p["status"] == 200 and p["path"] == s["visit"] for p in s["pages"].values())
    if s["after_password"] != "/accounts/2fa/authenticate/" or not pages_ok:
        failures.append(f"session: {s}")
    r = results["rate_limits"]
    if r["right_password_after_5_failures"]["path"] != "/accounts/login/" or not r["right_password_after_5_failures"]["told_too_many"]:
        failures.append(f"sign-in limit not shared: {r['right_password_after_5_failures']}")
    if r["press_statuses"][:40] != [200] * 40 or r["press_statuses"][40:] != [429] * 4:
        failures.append(f"feedback limit not shared: {r['press_statuses']}")
    f = results["live_feedback"]
    if not (f["press_status"] == 200 and f["seen"] and f["polls_until_seen"] == 1):
        failures.append(f"live feedback: {f}")
    b = results["bookings"]
    if b["statuses"] != {201: 1, 409: b["requests"] - 1} or b["appointments_at_that_time"] != 1:
        failures.append(f"bookings: {b}")
    m = results["reminders"]
    if not (
        m["sweeps"] == {"SUCCESSFUL": 2}
        and m["appointments_with_one_sent_reminder"] == m["due_reminders"] == m["emails"] == m["addresses_mailed"]
        and m["reminder_rows_not_one"] == m["addresses_mailed_twice"] == 0
    ):
        failures.append(f"reminders: {m}")
    k = results["kill"]
    if not (
        k["lost"] == k["half_applied"] == 0
        and k["acknowledged_after_kill"] > 0
        and k["a_is_dead"]
        and k["b_healthy"] == 200
        and k["session_on_b"]["status"] == 200
        and k["audit_verify_exit"] == 0
        and not k["other_statuses"]
    ):
        failures.append(f"kill: {k}")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/knotwork_multi")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--bookings", type=int, default=50)
    parser.add_argument("--reminders", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=1, help="run everything this many times, each on a fresh cluster")
    opts = parser.parse_args()
    if not opts.database_url.startswith(("postgres://", "postgresql://")):
        sys.exit("--database-url must be a PostgreSQL URL: several servers share one database server")

    ok = True
    for n in range(opts.rounds):
        began = time.monotonic()
        cluster = Cluster(opts.database_url, opts.cache_url, Path(tempfile.mkdtemp(prefix="knotwork-multi-")))
        create_database(opts.database_url)
        migrate_env = cluster.env("migrate")
        manage(migrate_env, "migrate", "-v0")
        migrated = time.monotonic()
        cluster.prepare(bookers=opts.bookings, reminders=opts.reminders)
        try:
            cluster.start()
            started = time.monotonic()
            results = run_all(cluster, bookings=opts.bookings)
        finally:
            cluster.stop()
            drop_database(opts.database_url)
        results["timing"] = {
            "migrate_seconds": round(migrated - began, 1),
            "start_seconds": round(started - migrated, 1),
            "total_seconds": round(time.monotonic() - began, 1),
        }
        failures = verdict(results)
        ok = ok and not failures
        print(json.dumps({"round": n + 1, **results}, indent=1, default=str))
        for failure in failures:
            print("FAILED:", failure)
        print(f"logs: {cluster.var}")
    print("multi-server:", "OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
