"""Pages at scale: the client chart, the pre-visit summary, the day view and the calendar in a large clinic.

    .venv/bin/python benchmarks/pages.py [--requests 30]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/knotwork .venv/bin/python benchmarks/pages.py

A throwaway database (a SQLite file in a temporary directory, or a separate ``test_knotwork_pages_<pid>``
database on the PostgreSQL server DATABASE_URL names) gets one clinic with 50 therapists and
20,000 clients. Visit history is generated for 2,000 of those clients (an episode each, with
visits and their appointments spread over five years) plus one measured client whose history
runs weekly-ish: 30 visits at 1×, 300 visits over five years at 10×, with findings, pain drawings
and appointments growing in step, and the whole clinic's history growing tenfold too. The measured
therapist has a full day of appointments today; every therapist works Monday to Friday with a
lunch break, and the first 10 have a full week of appointments on the calendar (the calendar is
measured for one therapist, and for all 50 as columns: a day and a week). A second clinic of 10
therapists in the same database, each with a full week, gives the week a desk of that size sees.

Each page is requested through Django's test client (signed in with force_login, no network),
so the time is the server's: middleware, views, queries and templates. Printed per page: p50/p95
over ``--requests`` requests after a warm-up, the query count, and p50 as a multiple of a bare
view (``/healthz``) measured in the same run, at 1× and 10× history. It prints figures; it never
fails on speed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time as clock
from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["KNOTWORK_VAR_DIR"] = tempfile.mkdtemp(prefix="knotwork-pages-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TASKS_BACKEND", "django_tasks.backends.dummy.DummyBackend")
os.environ.setdefault("LOG_LEVEL", "warning")
if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
    # A database of its own on that server; the test runner prefixes it with test_ and drops it.
    _parts = urlsplit(os.environ["DATABASE_URL"])
    os.environ["DATABASE_URL"] = urlunsplit((_parts.scheme, _parts.netloc, f"/knotwork_pages_{os.getpid()}", _parts.query, ""))
else:
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(os.environ['KNOTWORK_VAR_DIR']) / 'pages.sqlite3'}"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.backends.utils import CursorWrapper  # noqa: E402
from django.test import Client as WebClient  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

THERAPISTS = 50
CALENDAR_THERAPISTS = 10  # therapists with a full week on the calendar
CLIENTS = 20_000
WITH_HISTORY = 2_000  # clients given an episode and visits; the rest are on the books without history
BACKGROUND_VISITS = 5  # per client with history, at 1×
MEASURED_VISITS = 30  # the measured client's visits at 1×
DAYS = 5 * 365
BATCH = 2_000
QUALITIES = ("aching", "burning", "sharp", "throbbing")
CELLS = ("temple:right", "temple:left", "neck-posterior-upper:right", "neck-lateral:right", "shoulder-top:left", "jaw:right")


class World:
    """What the generator made, and where the next generated rows go."""

    def __init__(self) -> None:
        from knotwork.accounts.models import Role
        from knotwork.atlas.models import TriggerPoint
        from knotwork.bookings.models import Service
        from knotwork.care.models import Episode
        from knotwork.clients.models import Client
        from knotwork.lib.testing import make_clinic, make_staff

        self.rng = random.Random(12)
        self.clinic = make_clinic("Large clinic", city="Bristol", country="GB")
        self.tz = self.clinic.tz
        self.therapists = [make_staff(f"t{i}@pages.example", self.clinic, Role.THERAPIST) for i in range(THERAPISTS)]
        self.service = Service.objects.create(
            clinic=self.clinic, name="NMT 60", duration_minutes=60, buffer_after_minutes=0, price=Decimal("65")
        )
        self.trigger_points = list(TriggerPoint.objects.all()[:40])
        names = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker")
        firsts = ("Amy", "Ben", "Cara", "Dan", "Ella", "Finn", "Gail", "Hugo", "Isla", "Jack")
        Client.objects.bulk_create(
            [
                Client(clinic=self.clinic, first_name=firsts[i % 10], last_name=f"{names[i // 10 % 10]}-{i}", email=f"c{i}@mail.example",
                       date_of_birth=datetime(1950 + i % 55, 1 + i % 12, 1 + i % 28).date(), phone=f"+44 7700 {i:06d}")
                for i in range(CLIENTS)
            ],
            batch_size=BATCH,
        )  # fmt: skip
        ids = list(Client.objects.filter(clinic=self.clinic).order_by("pk").values_list("pk", flat=True))
        self.measured = Client.objects.get(pk=ids[0])
        self.history_clients = ids[1 : WITH_HISTORY + 1]
        first_day = self.day(DAYS)
        episodes = [
            Episode(clinic=self.clinic, client_id=c, complaint="Neck and shoulder pain", started_on=first_day) for c in self.history_clients
        ]
        Episode.objects.bulk_create(episodes, batch_size=BATCH)
        self.episode_of = dict(Episode.objects.filter(client_id__in=self.history_clients).values_list("client_id", "pk"))
        self.next_slot = [0] * THERAPISTS  # per therapist: the next free (day, hour) index for background history
        self.measured_made = 0

    def day(self, days_back: int):  # type: ignore[no-untyped-def]
        return timezone.localdate(timezone=self.tz) - timedelta(days=days_back)

    def at(self, days_back: int, hour: int) -> datetime:
        return datetime.combine(self.day(days_back), time(hour), tzinfo=self.tz)

    def _visit_rows(self, client_id: int, episode_id: int, therapist, start: datetime, with_notes: bool):  # type: ignore[no-untyped-def]
        from knotwork.bookings.models import Appointment
        from knotwork.care.models import Visit

        end = start + timedelta(hours=1)
        appointment = Appointment(clinic=self.clinic, therapist=therapist, client_id=client_id, service=self.service, starts_at=start,
                                  ends_at=end, block_start=start, block_end=end, status="completed", price=Decimal("65"))  # fmt: skip
        notes = {}
        if with_notes:
            notes = {
                "subjective": "Neck stiff on waking, better by midday. Headache twice this week.",
                "objective": "Taut band right upper trapezius, referral to temple reproduced.",
                "assessment": "Improving; fewer headaches than at the start of care.",
                "plan": "Continue weekly; home stretches twice daily.",
            }
        visit = Visit(clinic=self.clinic, client_id=client_id, episode_id=episode_id, therapist=therapist, started_at=start,
                      pain_today=self.rng.randint(1, 8), signed_at=end, signed_by=therapist, **notes)  # fmt: skip
        return appointment, visit

    def grow_background(self, per_client: int) -> None:
        """``per_client`` more visits (with appointments) for every client with history."""
        from knotwork.bookings.models import Appointment
        from knotwork.care.models import Visit

        appointments, visits = [], []
        for n, client_id in enumerate(self.history_clients * per_client):
            t = (n + client_id) % THERAPISTS
            j = self.next_slot[t]
            self.next_slot[t] += 1
            # Each therapist's (day, hour) index is unique, so no two of their appointments overlap;
            # hours 8-12 only, as the measured client and today's day view use other times.
            appointment, visit = self._visit_rows(
                client_id, self.episode_of[client_id], self.therapists[t], self.at(1 + j % DAYS, 8 + j // DAYS), with_notes=n % 4 == 0
            )
            appointments.append(appointment)
            visits.append(visit)
        Appointment.objects.bulk_create(appointments, batch_size=BATCH)
        Visit.objects.bulk_create(visits, batch_size=BATCH)

    def grow_measured(self, target: int) -> None:
        """The measured client's history up to ``target`` visits, newest first, with findings and drawings."""
        from knotwork.bookings.models import Appointment
        from knotwork.care.models import Episode, TriggerPointFinding, Visit
        from knotwork.clients.models import PainDrawing

        therapist = self.therapists[0]
        appointments, visits, drawings = [], [], []
        for k in range(self.measured_made, target):
            days_back = 2 + k * DAYS // (MEASURED_VISITS * 10)
            if k % 15 == 0:
                episode = Episode.objects.create(clinic=self.clinic, client=self.measured, complaint=f"Episode {k // 15 + 1}: neck pain",
                                                 started_on=self.day(days_back + 1), status="discharged" if k else "active")  # fmt: skip
            appointment, visit = self._visit_rows(self.measured.pk, episode.pk, therapist, self.at(days_back, 18), with_notes=True)
            appointments.append(appointment)
            visits.append(visit)
            if k % 5 == 0:
                marks = [
                    {"cell": c, "intensity": self.rng.randint(2, 8), "quality": self.rng.choice(QUALITIES)}
                    for c in self.rng.sample(CELLS, 3)
                ]
                drawings.append(PainDrawing(clinic=self.clinic, client=self.measured, taken_at=self.at(days_back, 17), marks=marks,
                                            symptoms=["headache"], created_by=therapist))  # fmt: skip
        Appointment.objects.bulk_create(appointments)
        made = Visit.objects.bulk_create(visits)
        PainDrawing.objects.bulk_create(drawings)
        findings = [
            TriggerPointFinding(visit=v, trigger_point=tp, side="right", status="active", taut_band=True, tenderness=self.rng.randint(3, 8))
            for v in made
            for tp in self.rng.sample(self.trigger_points, 3)
        ]
        TriggerPointFinding.objects.bulk_create(findings)
        self.measured_made = target

    def fill_today(self) -> None:
        from knotwork.bookings.models import Appointment

        therapist = self.therapists[0]
        rows = []
        for hour in range(9, 17):
            start = self.at(0, hour)
            rows.append(Appointment(clinic=self.clinic, therapist=therapist, client_id=self.history_clients[hour], service=self.service,
                                    starts_at=start, ends_at=start + timedelta(minutes=50), block_start=start,
                                    block_end=start + timedelta(minutes=50), status="confirmed", price=Decimal("65")))  # fmt: skip
        Appointment.objects.bulk_create(rows)

    def fill_week(self) -> None:
        """Weekly hours for every therapist (Monday to Friday, 09:00-13:00 and 14:00-18:00, so each
        day has a break) and a full week of appointments for the first CALENDAR_THERAPISTS."""
        from knotwork.bookings.models import Appointment, Availability

        Availability.objects.bulk_create(
            [
                Availability(clinic=self.clinic, therapist=t, weekday=wd, start_time=time(a), end_time=time(b))
                for t in self.therapists
                for wd in range(5)
                for a, b in ((9, 13), (14, 18))
            ]
        )
        monday = self.day(0) - timedelta(days=self.day(0).weekday())
        rows = []
        for n, therapist in enumerate(self.therapists[:CALENDAR_THERAPISTS]):
            for d in range(5):
                for hour in (9, 10, 11, 12, 14, 15, 16, 17):
                    day = monday + timedelta(days=d)
                    if therapist == self.therapists[0] and day == self.day(0):
                        continue  # fill_today's
                    start = datetime.combine(day, time(hour), tzinfo=self.tz)
                    client = self.history_clients[(n * 40 + d * 8 + hour) % len(self.history_clients)]
                    rows.append(Appointment(clinic=self.clinic, therapist=therapist, client_id=client, service=self.service,
                                            starts_at=start, ends_at=start + timedelta(minutes=50), block_start=start,
                                            block_end=start + timedelta(minutes=50), status="confirmed", price=Decimal("65")))  # fmt: skip
        Appointment.objects.bulk_create(rows, batch_size=BATCH)

    def ten_therapist_clinic(self):  # type: ignore[no-untyped-def]
        """A second, 10-therapist clinic in the same database, with the same hours and a full week
        for every therapist (400 appointments): the calendar week a desk of that size looks at."""
        from knotwork.accounts.models import Role
        from knotwork.bookings.models import Appointment, Availability, Service
        from knotwork.clients.models import Client
        from knotwork.lib.testing import make_clinic, make_staff

        clinic = make_clinic("Ten-therapist clinic", city="Bristol", country="GB")
        staff = [make_staff(f"ten{i}@pages.example", clinic, Role.THERAPIST) for i in range(CALENDAR_THERAPISTS)]
        service = Service.objects.create(clinic=clinic, name="NMT 60", duration_minutes=60, buffer_after_minutes=0, price=Decimal("65"))
        clients = Client.objects.bulk_create(
            [Client(clinic=clinic, first_name="Client", last_name=f"Ten-{i}", email=f"ten{i}@mail.example") for i in range(200)]
        )
        Availability.objects.bulk_create(
            [
                Availability(clinic=clinic, therapist=t, weekday=wd, start_time=time(a), end_time=time(b))
                for t in staff
                for wd in range(5)
                for a, b in ((9, 13), (14, 18))
            ]
        )
        monday = self.day(0) - timedelta(days=self.day(0).weekday())
        rows = []
        for n, therapist in enumerate(staff):
            for d in range(5):
                for k, hour in enumerate((9, 10, 11, 12, 14, 15, 16, 17)):
                    start = datetime.combine(monday + timedelta(days=d), time(hour), tzinfo=self.tz)
                    rows.append(Appointment(clinic=clinic, therapist=therapist, client=clients[(n * 40 + d * 8 + k) % 200], service=service,
                                            starts_at=start, ends_at=start + timedelta(minutes=50), block_start=start,
                                            block_end=start + timedelta(minutes=50), status="confirmed", price=Decimal("65")))  # fmt: skip
        Appointment.objects.bulk_create(rows)
        return staff[0]


def count_queries(request: Callable[[], object]) -> int:
    """Queries one request runs, on any connection or thread (middleware may hop threads)."""
    original = CursorWrapper._execute_with_wrappers
    seen = [0]

    def counting(self, sql, params, many, executor):  # type: ignore[no-untyped-def]
        seen[0] += 1
        return original(self, sql, params, many, executor)

    CursorWrapper._execute_with_wrappers = counting  # type: ignore[method-assign]
    try:
        request()
    finally:
        CursorWrapper._execute_with_wrappers = original  # type: ignore[method-assign]
    return seen[0]


def slowest_queries(request: Callable[[], object], top: int) -> list[tuple[float, str]]:
    """The ``top`` slowest queries of one request, in milliseconds, for finding where a page's time goes."""
    original = CursorWrapper._execute_with_wrappers
    timed: list[tuple[float, str]] = []

    def timing(self, sql, params, many, executor):  # type: ignore[no-untyped-def]
        started = clock.perf_counter()
        try:
            return original(self, sql, params, many, executor)
        finally:
            timed.append(((clock.perf_counter() - started) * 1000, sql))

    CursorWrapper._execute_with_wrappers = timing  # type: ignore[method-assign]
    try:
        request()
    finally:
        CursorWrapper._execute_with_wrappers = original  # type: ignore[method-assign]
    return sorted(timed, reverse=True)[:top]


def measure(web: WebClient, url: str, requests: int) -> dict[str, float]:
    for _ in range(3):  # warm-up: first-request imports, template loading
        response = web.get(url)
    if response.status_code != 200:
        sys.exit(f"{url} answered {response.status_code}; the figures would be meaningless.")
    queries = count_queries(lambda: web.get(url))
    times = []
    for _ in range(requests):
        started = clock.perf_counter()
        web.get(url)
        times.append((clock.perf_counter() - started) * 1000)
    times.sort()
    return {"p50": statistics.median(times), "p95": times[min(len(times) - 1, round(0.95 * len(times)) - 1)], "queries": queries}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--slowest", type=int, default=0, metavar="N", help="also print each page's N slowest queries at 10×")
    opts = parser.parse_args()

    from django.test.utils import setup_databases, teardown_databases

    from knotwork.care.models import Visit

    setup_test_environment()
    names = setup_databases(verbosity=0, interactive=False)
    try:
        call_command("atlas", "load", verbosity=0)
        started = clock.monotonic()
        with transaction.atomic():
            world = World()
            world.grow_background(BACKGROUND_VISITS)
            world.grow_measured(MEASURED_VISITS)
            world.fill_today()
            world.fill_week()
            ten_desk = world.ten_therapist_clinic()
        print(f"{connection.vendor}: generated 1× in {clock.monotonic() - started:.0f} s: {Visit.objects.count():,} visits")
        web = WebClient()
        web.force_login(world.therapists[0])
        ten = WebClient()
        ten.force_login(ten_desk)
        calendar = reverse("calendar")
        pages = {
            "bare view (/healthz)": (web, reverse("healthz")),
            "client chart (client_detail)": (web, reverse("client_detail", args=[world.measured.pk])),
            "pre-visit summary (previsit_summary)": (web, reverse("previsit_summary", args=[world.measured.pk])),
            "therapist day view (schedule)": (web, reverse("schedule") + f"?therapist={world.therapists[0].pk}"),
            "calendar week, one therapist (calendar)": (web, f"{calendar}?view=week&therapist={world.therapists[0].pk}"),
            "calendar week, 10-therapist clinic (calendar)": (ten, f"{calendar}?view=week&therapist="),
            "calendar day, all 50 therapists (calendar)": (web, f"{calendar}?view=day&therapist="),
            "calendar week, all 50 therapists (calendar)": (web, f"{calendar}?view=week&therapist="),
        }
        results = {"1×": {name: measure(client, url, opts.requests) for name, (client, url) in pages.items()}}
        started = clock.monotonic()
        with transaction.atomic():
            world.grow_background(BACKGROUND_VISITS * 9)
            world.grow_measured(MEASURED_VISITS * 10)
        if connection.vendor == "postgresql":
            with connection.cursor() as c:
                c.execute("ANALYZE")
        print(f"generated 10× in {clock.monotonic() - started:.0f} s: {Visit.objects.count():,} visits")
        results["10×"] = {name: measure(client, url, opts.requests) for name, (client, url) in pages.items()}
        for name, (client, url) in pages.items() if opts.slowest else ():
            print(f"\n{name} at 10×, slowest queries:")
            for ms, sql in slowest_queries(lambda client=client, url=url: client.get(url), opts.slowest):
                print(f"  {ms:7.2f} ms  {sql[:400]}")

        measured_visits = {"1×": MEASURED_VISITS, "10×": MEASURED_VISITS * 10}
        print(f"\n{connection.vendor}, {THERAPISTS} therapists, {CLIENTS:,} clients, {opts.requests} requests per page")
        print("| page | history | measured client's visits | p50 ms | p95 ms | × bare view (p50) | queries |")
        print("|---|---|---|---|---|---|---|")
        for scale, rows in results.items():
            bare = rows["bare view (/healthz)"]["p50"]
            for name, r in rows.items():
                cells = (name, scale, measured_visits[scale], f"{r['p50']:.1f}", f"{r['p95']:.1f}", f"{r['p50'] / bare:.1f}", r["queries"])
                print("| " + " | ".join(str(c) for c in cells) + " |")
        steady = all(results["1×"][n]["queries"] == results["10×"][n]["queries"] for n in pages)
        print("query counts constant from 1× to 10×:", "yes" if steady else "NO")
    finally:
        teardown_databases(names, verbosity=0)


if __name__ == "__main__":
    main()
