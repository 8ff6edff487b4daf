from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from knotwork.lib.testing import World, atlas_ensure_loaded, make_world

# The blocker of the session's test database while it exists; None before set-up and after tear-down.
_db_blocker = None
# Set once a transactional test has run: its tear-down flushes every table, the atlas included.
_atlas_flushed = False

TRANSACTIONAL_FIXTURES = {"transactional_db", "live_server", "django_db_reset_sequences", "django_db_serialized_rollback"}


def is_transactional(item: pytest.Item) -> bool:
    """Whether pytest-django runs this test outside a rolled-back transaction (and flushes after it)."""
    marker = item.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences") or marker.args[:1] == (True,)):
        return True
    return bool(TRANSACTIONAL_FIXTURES.intersection(getattr(item, "fixturenames", ())))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database, with the atlas loaded and committed once, so every test's transaction sees it."""
    global _db_blocker
    with django_db_blocker.unblock():
        atlas_ensure_loaded()
    _db_blocker = django_db_blocker
    yield
    _db_blocker = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Put the atlas back after transactional tests flushed it, before the next test that runs in a
    transaction (a transactional test loads what it needs itself and is flushed anyway)."""
    global _atlas_flushed
    yield
    _atlas_flushed = _atlas_flushed or is_transactional(item)
    if _atlas_flushed and _db_blocker is not None and nextitem is not None and not is_transactional(nextitem):
        with _db_blocker.unblock():
            atlas_ensure_loaded()
        _atlas_flushed = False


@pytest.fixture
def atlas_empty(db):
    """No atlas rows in this test's transaction (rolled back afterwards), for tests of the first load."""
    from knotwork.atlas.models import AtlasVersion, Muscle, Region, TriggerPoint

    for model in (TriggerPoint, Muscle, Region, AtlasVersion):
        model.objects.all().delete()


@pytest.fixture
def world(db) -> World:
    return make_world()


@pytest.fixture
def as_user(client):
    """Log the test client in as a user (their session skips the sign-in form, not MFA enrolment)."""

    def login(user) -> HttpClient:
        client.force_login(user)
        return client

    return login


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and one-time-code guards live in the cache: no test inherits another's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def compiled_catalogues():
    """The translation catalogues compiled (make does it before the suite; a bare pytest run here)."""
    from tests.lib.catalogues import compile_catalogues

    compile_catalogues()


@pytest.fixture
def english_afterwards():
    """A request leaves its language active in the thread: later tests expect the default."""
    from django.utils import translation

    yield
    translation.deactivate()
