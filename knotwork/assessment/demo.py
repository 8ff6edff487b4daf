"""Demo assessments: a few demo clients get posture findings, ROM readings and, for one, a baseline
and a follow-up side-view photo with landmarks, so the comparison view has something to show."""

from __future__ import annotations

import io
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from knotwork.accounts.models import Clinic, Membership, Role
from knotwork.assessment import angles, services
from knotwork.assessment.demo_assets.figure import side_view_jpeg, side_view_landmarks
from knotwork.assessment.models import Assessment
from knotwork.clients.models import Client

# (first name, last name, checklist findings, ROM readings (motion, side, degrees), movement tests)
DEMO_ASSESSMENTS = (
    (
        "Sophie",
        "Turner",
        [("head_forward", "", "moderate"), ("shoulder_protraction", "both", "moderate"), ("shoulder_elevation", "right", "mild")],
        [
            ("cervical_rotation", "right", 58),
            ("cervical_rotation", "left", 74),
            ("cervical_lateral_flexion", "right", 32),
            ("cervical_lateral_flexion", "left", 40),
            ("cervical_flexion", "", 44),
            ("cervical_extension", "", 46),
        ],
        [("cervical_flexion_rotation", "right", "positive")],
    ),
    (
        "Ravi",
        "Iyer",
        [("pelvic_tilt_anterior", "", "moderate"), ("lumbar_hyperlordosis", "", "mild")],
        [("hip_extension", "right", 12), ("hip_extension", "left", 22), ("thoracolumbar_flexion", "", 70), ("hip_flexion", "right", 118)],
        [("thomas", "right", "hip_flexors_short"), ("straight_leg_raise", "right", "hamstrings_tight")],
    ),
    (
        "Chloe",
        "Dubois",
        [("scapular_winging", "right", "mild")],
        [
            ("shoulder_external_rotation", "right", 70),
            ("shoulder_external_rotation", "left", 92),
            ("shoulder_flexion", "right", 165),
            ("shoulder_flexion", "left", 178),
        ],
        [("apley_scratch", "right", "short_over_shoulder")],
    ),
)


def _therapist(clinic: Clinic) -> Membership | None:
    return (
        Membership.objects.select_related("user", "clinic")
        .filter(clinic=clinic, role=Role.THERAPIST, is_active=True)
        .order_by("id")
        .first()
    )


def _assessment(*, client: Client, membership: Membership, when, findings, rom, tests) -> Assessment:  # type: ignore[no-untyped-def]
    a = services.assessment_create(client=client, membership=membership, data={"taken_at": when, "position": "standing"})
    for kind, side, severity in findings:
        services.finding_add(assessment=a, membership=membership, data={"kind": kind, "side": side, "severity": severity})
    for motion, side, degrees in rom:
        services.rom_add(
            assessment=a,
            membership=membership,
            data={"motion": motion, "side": side, "degrees": degrees, "mode": "active", "method": "goniometer"},
        )
    for test, side, result in tests:
        services.movement_test_add(assessment=a, membership=membership, data={"test": test, "side": side, "result": result})
    return a


def _photo(*, assessment: Assessment, membership: Membership, forward: int) -> None:
    photo = services.photo_add(
        assessment=assessment,
        membership=membership,
        upload=io.BytesIO(side_view_jpeg(forward)),
        name="right-side.jpg",
        view=angles.View.LATERAL_RIGHT.value,
    )
    points = {n: angles.Point(float(x), float(y)) for n, (x, y) in side_view_landmarks(forward).items()}
    services.landmarks_save(photo=photo, membership=membership, points=points, calibration_cm=80.0)


def seed_demo(*, clinic: Clinic, rng: random.Random) -> None:
    """Idempotent: a client who already has an assessment is left alone."""
    membership = _therapist(clinic)
    if membership is None:
        return
    now = timezone.now()
    for first, last, findings, rom, tests in DEMO_ASSESSMENTS:
        client = Client.objects.filter(clinic=clinic, first_name=first, last_name=last).first()
        if client is None or Assessment.objects.filter(client=client).exists():
            continue
        with transaction.atomic():
            baseline = _assessment(
                client=client,
                membership=membership,
                when=now - timedelta(days=42 + rng.randint(0, 6)),
                findings=findings,
                rom=rom,
                tests=tests,
            )
            # Six weeks on: most restricted readings improved by a believable amount.
            better = [(m, s, d + rng.randint(6, 14) if d < 80 else d + rng.randint(0, 4)) for m, s, d in rom]
            follow_up = _assessment(
                client=client,
                membership=membership,
                when=now - timedelta(days=rng.randint(1, 5)),
                findings=findings[1:],
                rom=better,
                tests=[],
            )
        if first == "Sophie":
            _photo(assessment=baseline, membership=membership, forward=15)
            _photo(assessment=follow_up, membership=membership, forward=-10)
