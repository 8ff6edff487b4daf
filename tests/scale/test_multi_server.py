"""Two app servers and two task workers on one PostgreSQL and one Redis, on loopback.

Each process is started with the production entry points (`knotwork run --no-worker`, `knotwork
worker`) and a var folder of its own, as on separate machines; they share only the database, the
cache and the keys in their environment. The scenarios are benchmarks/multi_server.py's, at a size
that keeps this module to about 26 s of CPU time for all its processes (most of it starting them);
`python benchmarks/multi_server.py` runs them bigger and prints the figures. Collected only on
PostgreSQL (tests/scale/conftest.py).

The servers' database is a copy of the suite's own (already migrated) test database, made with
PostgreSQL's CREATE DATABASE ... TEMPLATE, and dropped at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.harness.processes import create_database, drop_database, manage, with_database
from benchmarks.multi_server import (
    Cluster,
    kill_one_server,
    live_feedback,
    reminders_once,
    session_across_servers,
    shared_rate_limits,
    simultaneous_bookings,
)

# Asks pytest-django for the suite's test database, which the cluster's database is copied from
# (the tests themselves reach the cluster's database only through the servers and psycopg).
pytestmark = pytest.mark.django_db

REDIS_URL = os.environ.get("KNOTWORK_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
BOOKINGS = 50
REMINDERS = 30


@pytest.fixture(scope="module")
def cluster(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    from django.db import connection, connections

    template = connection.settings_dict["NAME"]
    assert template.startswith("test_"), f"not the suite's test database: {template}"
    with django_db_blocker.unblock():
        connections.close_all()  # PostgreSQL copies only a database nobody is connected to
    url = with_database(os.environ["DATABASE_URL"], f"{template}_scale")
    # One granian worker per server (benchmarks/multi_server.py runs two), and static files served
    # unprocessed: both only save start-up seconds, and neither changes what crosses between servers.
    running = Cluster(url, REDIS_URL, tmp_path_factory.mktemp("multi-server"), server_workers=1, collect_static=False)
    try:
        create_database(url, template=template)
    except RuntimeError:  # something else still holds a session on the test database: migrate a fresh one
        create_database(url)
        manage(running.env("migrate"), "migrate", "-v0")
    try:
        # Two reminder sweeps queued before the workers start: each worker finds one as it comes up.
        # (benchmarks/multi_server.py queues them with two `knotwork send-reminders` runs at once.)
        running.prepare(bookers=BOOKINGS, reminders=REMINDERS, sweeps=2)
        running.start()
        yield running
    finally:
        running.stop()
        running.flush_cache()
        drop_database(url)


@pytest.fixture(scope="module")
def signed_in(cluster: Cluster) -> dict[str, Any]:
    """The therapist signs in: password on A, one-time code on B (the later scenarios use the session)."""
    return session_across_servers(cluster)


def test_a_session_made_on_server_a_works_on_server_b(signed_in: dict[str, Any]) -> None:
    assert signed_in["after_password"] == "/accounts/2fa/authenticate/"  # A took the password, the session says "code next"
    assert signed_in["after_code"] not in ("/accounts/2fa/authenticate/", "/accounts/login/")  # B knew that and took the code
    visit = signed_in["visit"]
    assert signed_in["pages"] == {"A": {"status": 200, "path": visit}, "B": {"status": 200, "path": visit}}


def test_rate_limits_are_counted_across_both_servers(cluster: Cluster, signed_in: dict[str, Any]) -> None:
    result = shared_rate_limits(cluster)
    # Three failures on A and two on B make the five allowed: the right password is then refused.
    assert [f["path"] for f in result["failed_sign_ins"]] == ["/accounts/login/"] * 5
    refused = result["right_password_after_5_failures"]
    assert refused["path"] == "/accounts/login/" and refused["told_too_many"]
    # 40 presses a minute per feedback link, alternately on A and B: 40 pass, then both servers refuse.
    assert result["press_statuses"] == [200] * 40 + [429] * 4


def test_a_feedback_press_on_a_is_on_the_therapists_screen_served_by_b(cluster: Cluster, signed_in: dict[str, Any]) -> None:
    result = live_feedback(cluster)
    assert result["press_status"] == 200 and result["feed_status"] == 200
    # The first poll after A answered shows it; the screen polls every second.
    assert result["seen"] and result["polls_until_seen"] == 1


def test_simultaneous_bookings_of_one_time_through_both_servers_make_exactly_one(cluster: Cluster) -> None:
    result = simultaneous_bookings(cluster, BOOKINGS)
    assert result["statuses"] == {201: 1, 409: BOOKINGS - 1}
    assert result["appointments_at_that_time"] == 1


def test_a_due_reminder_is_sent_exactly_once_with_two_workers(cluster: Cluster) -> None:
    result = reminders_once(cluster)
    assert result["sweeps"] == {"SUCCESSFUL": 2}
    assert result["due_reminders"] == REMINDERS
    assert result["appointments_with_one_sent_reminder"] == REMINDERS and result["reminder_rows_not_one"] == 0
    assert result["emails"] == result["addresses_mailed"] == REMINDERS and result["addresses_mailed_twice"] == 0


def test_killing_server_a_loses_nothing_either_server_acknowledged(cluster: Cluster, signed_in: dict[str, Any]) -> None:
    result = kill_one_server(cluster, before=1.0, after=1.0)
    assert result["a_is_dead"] and result["b_healthy"] == 200
    assert result["acknowledged"] > 0 and result["acknowledged_after_kill"] > 0
    assert result["lost"] == 0 and result["half_applied"] == 0
    assert result["other_statuses"] == {}
    assert result["session_on_b"]["status"] == 200  # the therapist's session outlived server A
    assert result["audit_verify_exit"] == 0, result["audit_verify"]
