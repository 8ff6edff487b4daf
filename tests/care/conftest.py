from __future__ import annotations

import pytest
from django.utils import timezone

from knotwork.accounts.models import Membership
from knotwork.atlas.models import Muscle, TriggerPoint
from knotwork.atlas.services import atlas_load
from knotwork.care import services
from knotwork.clients.models import ScreeningFlag


def membership(user, clinic) -> Membership:
    return Membership.objects.select_related("clinic", "user").get(user=user, clinic=clinic)


@pytest.fixture
def atlas_db(db):
    atlas_load()


@pytest.fixture
def alice_m(world) -> Membership:
    return membership(world.alice, world.clinic_a)


@pytest.fixture
def episode_a(world, atlas_db, alice_m):
    return services.episode_create(
        membership=alice_m, client=world.client_a, complaint="Right-sided headaches", started_on=timezone.localdate()
    )


@pytest.fixture
def visit_a(episode_a, alice_m):
    return services.visit_start(membership=alice_m, episode=episode_a)


@pytest.fixture
def episode_b(world, atlas_db):
    return services.episode_create(
        membership=membership(world.charlie, world.clinic_b), client=world.client_b, complaint="Low back", started_on=timezone.localdate()
    )


@pytest.fixture
def visit_b(episode_b, world):
    return services.visit_start(membership=membership(world.charlie, world.clinic_b), episode=episode_b)


def flag(client, *, rule_id: str, flag_class: str, forbids=(), cautions=(), regions=(), title: str = "") -> ScreeningFlag:
    return ScreeningFlag.objects.create(
        clinic=client.clinic,
        client=client,
        rule_id=rule_id,
        rules_version="1",
        flag_class=flag_class,
        title=title or rule_id,
        reason="Test reason",
        forbids=list(forbids),
        cautions=list(cautions),
        regions=list(regions),
    )


@pytest.fixture
def flags_a(world):
    """A heart-condition precaution (cautions ischemic compression) and a local flag on the right shoulder top."""
    return (
        flag(
            world.client_a,
            rule_id="cardiovascular",
            flag_class="precaution",
            cautions=["deep-pressure", "ischemic-compression"],
            title="Heart condition",
        ),
        flag(
            world.client_a,
            rule_id="skin-lesion",
            flag_class="local",
            regions=["shoulder-top:right"],
            forbids=["deep-pressure", "ischemic-compression", "sustained-pressure", "myofascial-release", "nerve-entrapment-release"],
            title="Skin lesion",
        ),
    )


def technique_kwargs(**extra):
    base = {
        "technique": "stretching",
        "muscle": Muscle.objects.get(pk="levator-scapulae"),
        "trigger_point": None,
        "side": "right",
        "hold_s": 30,
        "reps": 2,
        "pressure": 4,
        "response": "eased",
    }
    base.update(extra)
    return base


def tp(pk: str) -> TriggerPoint:
    return TriggerPoint.objects.get(pk=pk)


def finding_data(**extra):
    base = {
        "side": "right",
        "status": "active",
        "taut_band": True,
        "twitch_response": False,
        "referral_reproduced": True,
        "familiar_pain": True,
        "tenderness": 6,
        "ppt_kg_cm2": None,
        "released": False,
    }
    base.update(extra)
    return base
