"""Locust scenario for figure 12; benchmarks/load.py prepares the database and runs it.

    KNOTWORK_LOAD_SEED=/path/seed.json locust -f benchmarks/locustfile.py --headless -u 100 -r 20 -t 5m --host http://127.0.0.1:PORT

The mix, per simulated person: directory search near Bristol (public), free slots of a therapist
(public), a booking (hold, then confirm with an Idempotency-Key, as clinic staff booking for a
client), a therapist reading a client's visit history and one visit (the care API), and the
reasoning engine explaining a pain drawing. Each simulated person has its own API token, and its
own client address in X-Forwarded-For so the per-visitor rate limits see 100 visitors rather than
one. A refused booking (409: someone else took the slot; 422) is an expected answer under
contention and counts as a success; any 5xx is a failure named "server error".
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from datetime import date, timedelta
from pathlib import Path

from locust import FastHttpUser, between, task

SEED = json.loads(Path(os.environ["KNOTWORK_LOAD_SEED"]).read_text())
_numbers = itertools.count()

CONDITIONS = ("", "", "headaches", "neck-pain", "low-back-pain")
DRAWINGS = (
    {"marks": [{"cell": "temple:right", "intensity": 6}], "symptoms": ["headache"]},
    {"marks": [{"cell": "temple:left", "intensity": 5}, {"cell": "temple:right", "intensity": 4}], "symptoms": []},
    {"marks": [{"cell": "temple:right", "intensity": 7, "quality": "aching"}], "symptoms": ["headache"], "top": 5},
)


class ClinicVisitor(FastHttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        n = next(_numbers)
        self.token = SEED["tokens"][n % len(SEED["tokens"])]
        self.visitor = {"X-Forwarded-For": f"10.77.{n // 250}.{n % 250 + 1}"}
        self.auth = {**self.visitor, "Authorization": f"Bearer {self.token}"}

    def _get(self, url: str, name: str, *, headers: dict[str, str] | None = None, **kw: object) -> dict | None:
        with self.client.get(url, name=name, catch_response=True, headers=headers or self.visitor, **kw) as r:  # type: ignore[arg-type]
            return self._judge(r, ok=(200,))

    def _judge(self, r, *, ok: tuple[int, ...]) -> dict | None:  # type: ignore[no-untyped-def]
        if r.status_code >= 500 or r.status_code == 0:
            r.failure(f"server error {r.status_code}")
            return None
        if r.status_code not in ok:
            r.failure(f"unexpected {r.status_code}: {r.text[:120]}")
            return None
        r.success()
        return r.json() if r.content else {}

    @task(4)
    def directory_search(self) -> None:
        params = {"near": "Bristol", "radius_km": random.choice((10, 25, 50)), "condition": random.choice(CONDITIONS)}
        self._get("/api/directory/therapists", "GET /api/directory/therapists", params=params)

    def _slots(self) -> tuple[int, list[dict]]:
        therapist = random.choice(SEED["therapists"])
        first = date.today() + timedelta(days=random.randint(1, 40))
        params = {
            "therapist": therapist,
            "service": SEED["service"],
            "start": first.isoformat(),
            "end": (first + timedelta(days=6)).isoformat(),
        }
        body = self._get("/api/bookings/slots", "GET /api/bookings/slots", params=params)
        return therapist, (body or {}).get("slots", [])

    @task(4)
    def slot_view(self) -> None:
        self._slots()

    @task(2)
    def book(self) -> None:
        therapist, slots = self._slots()
        if not slots:
            return
        slot = random.choice(slots[:20])
        hold_in = {"therapist": therapist, "service": SEED["service"], "start": slot["start"]}
        with self.client.post(
            "/api/bookings/holds", json=hold_in, headers=self.auth, name="POST /api/bookings/holds", catch_response=True
        ) as r:
            hold = self._judge(r, ok=(201, 409, 422))
        if not hold or "id" not in hold:
            return
        book_in = {"hold": hold["id"], "hold_token": hold["token"], "client": random.choice(SEED["clients"])}
        headers = {**self.auth, "Idempotency-Key": str(uuid.uuid4())}
        with self.client.post("/api/bookings", json=book_in, headers=headers, name="POST /api/bookings", catch_response=True) as r:
            self._judge(r, ok=(201, 409, 422))

    @task(3)
    def therapist_notes(self) -> None:
        if not SEED["visit_clients"]:
            return
        client_id = random.choice(SEED["visit_clients"])
        listing = self._get("/api/visits", "GET /api/visits", params={"client_id": client_id}, headers=self.auth)
        items = (listing or {}).get("items", [])
        if items:
            self._get(f"/api/visits/{random.choice(items)['id']}", "GET /api/visits/{id}", headers=self.auth)

    @task(2)
    def engine_explain(self) -> None:
        with self.client.post(
            "/api/engine/explain", json=random.choice(DRAWINGS), headers=self.auth, name="POST /api/engine/explain", catch_response=True
        ) as r:
            self._judge(r, ok=(200,))
