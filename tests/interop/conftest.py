from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from django.db import transaction

from knotwork.accounts.demo import demo_seed
from knotwork.accounts.models import Clinic
from knotwork.clients.models import Client
from knotwork.outcomes import demo as outcomes_demo


@pytest.fixture(scope="module")
def demo_client_pk(django_db_setup, django_db_blocker) -> Iterator[int]:
    """The full demo clinic (every app's demo) with outcome responses, built once per module inside a
    transaction rolled back at the module's end; each test runs in its own savepoint, so one test's
    writes (audit rows, exports) never reach the next. Gives the richest client's primary key."""
    with django_db_blocker.unblock(), transaction.atomic():
        demo_seed(force=True)
        clinic = Clinic.objects.get(is_demo=True)
        outcomes_demo.seed_demo(clinic=clinic, rng=random.Random(7))
        client = Client.objects.filter(clinic=clinic, episodes__outcome_responses__isnull=False).distinct().order_by("pk").first()
        assert client is not None, "the demo has no client with outcome responses"
        yield client.pk
        transaction.set_rollback(True)


@pytest.fixture
def demo_client(db, demo_client_pk) -> Client:
    """A client of the full demo clinic, the richest record there is; a fresh instance for each test."""
    return Client.objects.get(pk=demo_client_pk)


@pytest.fixture
def atlas_db_client(world):
    """Clinic A's client with one episode, a visit and a score (small and fast)."""
    from django.utils import timezone

    from knotwork.accounts.models import Membership
    from knotwork.atlas.services import atlas_load
    from knotwork.care import services as care
    from knotwork.outcomes import services

    atlas_load()
    m = Membership.objects.select_related("clinic", "user").get(user=world.alice, clinic=world.clinic_a)
    ep = care.episode_create(membership=m, client=world.client_a, complaint="Neck", started_on=timezone.localdate())
    services.response_record(membership=m, episode=ep, measure_id="nprs", items={"now": 5, "best": 3, "worst": 7})
    return world.client_a, ep
