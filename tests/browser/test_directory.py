"""A visitor finds a verified, NMT-certified therapist near Bristol, reads reviews, and books a free consultation."""

from __future__ import annotations

import re
from datetime import time

import pytest
from playwright.sync_api import expect

from knotwork.bookings.models import Availability, Service
from knotwork.directory.models import Credential
from knotwork.directory.reviews import review_create
from knotwork.directory.services import refresh_availability
from knotwork.lib.testing import make_client
from tests.browser.shots import keep_screenshot
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
        expect(page.get_by_role("heading", name=re.compile(r"1 therapist within 25 km of Bristol"))).to_be_visible()
        expect(page.get_by_text("Una Verified")).to_have_count(0)
        keep_screenshot(page, "directory-search.png")

        page.get_by_role("link", name="Rhea Quayle").click()
        expect(page.get_by_role("heading", name="Rhea Quayle")).to_be_visible()
        expect(page.get_by_text("She checked the pressure every time.")).to_be_visible()
        expect(page.get_by_text("Hester V.")).to_be_visible()
        expect(page.get_by_text("Vane")).to_have_count(0)
        keep_screenshot(page, "directory-profile.png")

        page.get_by_role("link", name="Book a free consultation").click()
        page.wait_for_url(f"**/book/{rhea.clinic.slug}/{rhea.user.pk}/{consult.pk}/")
        expect(page.get_by_role("heading", name=re.compile("Free consultation with"))).to_be_visible()
        expect(page.locator("button.slot").first).to_be_visible()
        assert page.console_errors == [], page.console_errors
