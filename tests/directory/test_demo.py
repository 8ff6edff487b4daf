from __future__ import annotations

from pathlib import Path

import pytest

from knotwork.accounts.demo import demo_seed
from knotwork.accounts.models import Clinic
from knotwork.directory import demo
from knotwork.directory.models import Credential, Review, TherapistProfile
from knotwork.directory.search import SearchParams, search

pytestmark = pytest.mark.django_db


class DemoTests:
    def test_the_demo_lists_both_therapists_with_verified_credentials_and_reviews_and_is_idempotent(self):
        import random

        demo_seed()
        clinic = Clinic.objects.get(is_demo=True)
        demo.seed_demo(clinic=clinic, rng=random.Random(7))
        demo.seed_demo(clinic=clinic, rng=random.Random(7))
        profiles = TherapistProfile.objects.listed()
        assert profiles.count() == 2
        assert all(p.licence_verified() and p.nmt_certified() for p in profiles)
        assert Credential.objects.filter(kind="licence").order_by("expires_on").first().days_left() == 40
        assert Review.objects.filter(status="published").count() >= 2
        assert Review.objects.count() == sum(p.review_count for p in profiles)
        found = search(SearchParams(near="Bristol", verified=True, nmt_certified=True))
        assert found.count == 2

    def test_the_readme_says_where_the_demo_clinic_is_and_how_to_find_it(self):
        demo_seed()
        clinic = Clinic.objects.get(is_demo=True)
        readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
        assert f"The demo clinic, {clinic.name}, is in {clinic.city}" in readme
        assert f"/therapists/?near={clinic.city}" in readme
