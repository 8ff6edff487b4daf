from __future__ import annotations

import io
from pathlib import Path

import pytest

from knotwork.accounts.models import Membership
from knotwork.assessment import angles, services
from knotwork.assessment.demo_assets.figure import side_view_landmarks

FIGURE = Path(__file__).resolve().parents[2] / "knotwork" / "assessment" / "demo_assets" / "side_view.jpg"


def membership(user, clinic) -> Membership:
    return Membership.objects.select_related("clinic", "user").get(user=user, clinic=clinic)


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def assessment_a(world):
    return services.assessment_create(
        client=world.client_a, membership=membership(world.alice, world.clinic_a), data={"position": "standing"}
    )


@pytest.fixture
def photo_a(world, assessment_a, media):
    m = membership(world.alice, world.clinic_a)
    photo = services.photo_add(
        assessment=assessment_a, membership=m, upload=io.BytesIO(FIGURE.read_bytes()), name="side.jpg", view="lateral_right"
    )
    points = {n: angles.Point(float(x), float(y)) for n, (x, y) in side_view_landmarks().items()}
    services.landmarks_save(photo=photo, membership=m, points=points, calibration_cm=80.0)
    return photo
