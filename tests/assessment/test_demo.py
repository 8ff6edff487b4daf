"""The demo seed gives a few demo clients believable assessments, once."""

from __future__ import annotations

import random

import pytest

from knotwork.accounts.models import Role
from knotwork.assessment.demo import seed_demo
from knotwork.assessment.models import Assessment, Measure, Photo, RomMeasurement
from knotwork.assessment.selectors import implicated_muscles_for_client
from knotwork.lib.testing import make_client, make_clinic, make_staff

pytestmark = pytest.mark.django_db


class SeedDemoTests:
    def test_it_adds_assessments_with_photos_rom_and_implicated_muscles_and_is_idempotent(self, media):
        clinic = make_clinic("Demo", is_demo=True)
        make_staff("sam@demo.example", clinic, Role.THERAPIST)
        sophie = make_client(clinic, first_name="Sophie", last_name="Turner")
        make_client(clinic, first_name="Ravi", last_name="Iyer")
        seed_demo(clinic=clinic, rng=random.Random(1))
        counts = (Assessment.objects.count(), Photo.objects.count(), RomMeasurement.objects.count())
        seed_demo(clinic=clinic, rng=random.Random(1))
        assert (Assessment.objects.count(), Photo.objects.count(), RomMeasurement.objects.count()) == counts
        assert counts[0] == 4 and counts[1] == 2
        cvas = sorted(Measure.objects.filter(name="cva").values_list("value", flat=True))
        assert cvas[0] < 45.5 < 50 < cvas[1]  # baseline moderate–severe, follow-up unflagged
        assert "levator-scapulae" in implicated_muscles_for_client(sophie)

    def test_a_clinic_without_a_therapist_gets_nothing(self):
        clinic = make_clinic("Empty", is_demo=True)
        make_client(clinic, first_name="Sophie", last_name="Turner")
        seed_demo(clinic=clinic, rng=random.Random(1))
        assert not Assessment.objects.exists()
