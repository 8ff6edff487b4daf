"""Fifty people reach for one slot at the same moment: the database lets exactly one through.

Each attempt runs in its own thread with its own database connection, released together by a
barrier, against a real (file or server) database — no test transaction hides the race.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client as HttpClient

from knotwork.bookings import services
from knotwork.bookings.models import Appointment
from knotwork.bookings.services import Actor, SlotTaken
from tests.bookings.conftest import local

pytestmark = pytest.mark.django_db(transaction=True)

ATTEMPTS = 50


def _race(fn, n: int = ATTEMPTS) -> list:
    barrier = threading.Barrier(n)

    def attempt(i: int):
        try:
            barrier.wait(timeout=30)
            return fn(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(attempt, range(n)))


class ConcurrentBookingTests:
    def test_fifty_simultaneous_holds_for_one_slot_let_exactly_one_through(self, booking):
        start = local(booking, booking.monday, 10)

        def hold(i: int) -> str:
            try:
                services.hold_create(
                    clinic=booking.clinic_a, therapist=booking.alice, service=booking.session60, start=start, actor=Actor()
                )
            except SlotTaken:
                return "taken"
            return "held"

        results = _race(hold)
        assert results.count("held") == 1
        assert results.count("taken") == ATTEMPTS - 1
        assert Appointment.objects.blocking().count() == 1

    def test_fifty_simultaneous_api_bookings_get_one_201_and_409s_naming_the_nearest_free_slots(self, booking):
        start = local(booking, booking.monday, 11).isoformat()
        browsers = []
        for _ in range(ATTEMPTS):
            browser = HttpClient()
            browser.force_login(booking.alice)
            browsers.append(browser)
        body = {"therapist": booking.alice.pk, "service": booking.consult.pk, "start": start, "client": booking.client_a.pk}

        def book(i: int):
            response = browsers[i].post("/api/bookings", body, content_type="application/json")
            return response.status_code, response.json()

        results = _race(book)
        statuses = sorted(code for code, _ in results)
        assert statuses == [201] + [409] * (ATTEMPTS - 1)
        refusal = next(data for code, data in results if code == 409)
        assert refusal["error"]["code"] == "slot_taken"
        assert "just taken" in refusal["error"]["message"]
        assert refusal["nearest"] and all(s["start"] != start for s in refusal["nearest"])
        assert Appointment.objects.filter(client=booking.client_a).count() == 1

    def test_overlapping_but_not_identical_attempts_still_let_only_one_through(self, booking):
        # 10:00, 10:15, 10:30 … for a 60-minute session with a 15-minute buffer all overlap 10:30–11:45.
        starts = [local(booking, booking.monday, 10, 15 * (i % 4)) for i in range(20)]

        def hold(i: int) -> str:
            try:
                services.hold_create(
                    clinic=booking.clinic_a, therapist=booking.alice, service=booking.session60, start=starts[i], actor=Actor()
                )
            except SlotTaken:
                return "taken"
            return "held"

        results = _race(hold, 20)
        assert results.count("held") == 1
