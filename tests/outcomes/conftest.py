from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from knotwork.accounts.models import Membership
from knotwork.atlas.services import atlas_load
from knotwork.care import services as care
from knotwork.care.models import Visit
from knotwork.outcomes import services


def membership(user, clinic) -> Membership:
    return Membership.objects.select_related("clinic", "user").get(user=user, clinic=clinic)


@pytest.fixture
def atlas_db(db):
    atlas_load()


@pytest.fixture
def alice_m(world) -> Membership:
    return membership(world.alice, world.clinic_a)


def signed_visits(m: Membership, episode, when_list) -> list[Visit]:
    out = []
    for when in when_list:
        v = care.visit_start(membership=m, episode=episode, started_at=when)
        care.visit_checkin(membership=m, visit=v, pain_today=5, change_since_last="same", soreness_after_last=None,
                           program_adherence="most")  # fmt: skip
        care.visit_update_notes(membership=m, visit=v, data={"subjective": "Neck ache as before."})
        care.visit_sign(membership=m, visit=v)
        out.append(v)
    return out


@pytest.fixture
def episode_a(world, atlas_db, alice_m):
    start = timezone.now() - timedelta(weeks=6)
    ep = care.episode_create(membership=alice_m, client=world.client_a, complaint="Neck pain and headaches",
                             started_on=timezone.localdate(start))  # fmt: skip
    care.plan_save(membership=alice_m, episode=ep, goals=[{"activity": "Work a full day at the screen", "target": "no headache"}],
                   visits_per_week=1, planned_visits=6, focus=["upper-trapezius"], stages=care.default_stages(), note="")  # fmt: skip
    return ep


@pytest.fixture
def improving(episode_a, alice_m):
    """Four weekly signed visits; NPRS 7 -> 3 and PSFS 3 -> 7 (both cross the MCID)."""
    start = timezone.now() - timedelta(weeks=5)
    visits = signed_visits(alice_m, episode_a, [start + timedelta(weeks=n) for n in range(4)])
    for v, now, psfs in zip(visits, (7, 6, 4, 3), (3, 4, 6, 7), strict=True):
        at = v.started_at + timedelta(minutes=5)
        services.response_record(membership=alice_m, episode=episode_a, measure_id="nprs", taken_at=at,
                                 items={"now": now, "best": now, "worst": now})  # fmt: skip
        services.response_record(membership=alice_m, episode=episode_a, measure_id="psfs", taken_at=at,
                                 items={"activities": [{"activity": "Work a full day at the screen", "score": psfs}]})  # fmt: skip
    return episode_a


@pytest.fixture
def episode_b(world, atlas_db):
    m = membership(world.charlie, world.clinic_b)
    ep = care.episode_create(membership=m, client=world.client_b, complaint="Low back", started_on=timezone.localdate())
    services.response_record(membership=m, episode=ep, measure_id="nprs", items={"now": 5, "best": 5, "worst": 5})
    return ep


@pytest.fixture
def rng():
    return random.Random(3)
