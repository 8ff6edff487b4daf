"""A visitor finds a verified, NMT-certified therapist near Bristol, reads reviews, and books a free consultation."""

from __future__ import annotations

import re
from datetime import time

import pytest

from knotwork.bookings.models import Availability, Service
from knotwork.directory.models import Credential
from knotwork.directory.reviews import review_create
from knotwork.directory.services import refresh_availability
from knotwork.lib.testing import make_client
from tests.directory.conftest import BRISTOL, completed_appointment, make_credential, portal_login, therapist_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class DirectoryFlowTests:
    def test_a_visitor_finds_a_verified_therapist_reads_reviews_and_books_a_free_consultation(self, page):
        rhea = therapist_at("Rhea Quayle", BRISTOL, headline="NMT for headaches", conditions=["headaches"], nmt_level=2)
        therapist_at("Una Verified", BRISTOL)  # listed, but nothing verified: filtered out
        make_credential(rhea)
        make_credential(rhea, Credential.Kind.NMT)
        for weekday in range(7):
            Availability.objects.create(clinic=rhea.clinic, therapist=rhea.user, weekday=weekday, start_time=time(8), end_time=time(20))
        consult = Service.objects.create(
            clinic=rhea.clinic, name="Free consultation", kind=Service.Kind.CONSULTATION, duration_minutes=15, price=0
        )
        client = make_client(rhea.clinic, first_name="Hester", last_name="Vane")
        review_create(
            appointment=completed_appointment(rhea.clinic, rhea.user, client),
            author=portal_login(client, "hester@mail.example"),
            data={"overall": 5, "communication": 5, "pressure_respected": 5, "results": 4, "text": "She checked the pressure every time."},
        )
        refresh_availability(rhea)

        page.goto("/therapists/")
        page.get_by_label("Near").fill("Bristol")
        page.get_by_label("Licence verified").check()
        page.get_by_label("NMT certified").check()
        page.get_by_role("button", name="Search").click()
        page.wait_for_url(re.compile(r".*near=Bristol.*"))
        assert page.get_by_role("heading", name=re.compile(r"1 therapist within 25 km of Bristol")).is_visible()
        assert page.get_by_text("Una Verified").count() == 0
        page.screenshot(path="/tmp/directory-search.png", full_page=True)

        page.get_by_role("link", name="Rhea Quayle").click()
        assert page.get_by_role("heading", name="Rhea Quayle").is_visible()
        assert page.get_by_text("She checked the pressure every time.").is_visible()
        assert page.get_by_text("Hester V.").is_visible()
        assert page.get_by_text("Vane").count() == 0
        page.screenshot(path="/tmp/directory-profile.png", full_page=True)

        page.get_by_role("link", name="Book a free consultation").click()
        page.wait_for_url(f"**/book/{rhea.clinic.slug}/{rhea.user.pk}/{consult.pk}/")
        assert page.get_by_role("heading", name=re.compile("Free consultation with")).is_visible()
        assert page.locator("button.slot").count() > 0
        assert page.console_errors == [], page.console_errors
