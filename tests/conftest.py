from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from knotwork.lib.testing import World, make_world


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
