"""A therapist opens an episode's progress page, sees the chart with its MCID band, and downloads the progress report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from knotwork.accounts.models import Membership, Role
from knotwork.atlas.services import atlas_load
from knotwork.care import services as care
from knotwork.lib.testing import make_client, make_clinic, make_staff
from knotwork.outcomes import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def episode(live_server, page):
    atlas_load()
    clinic = make_clinic("Harbour")
    user = make_staff("tess@clinic.example", clinic, Role.THERAPIST, mfa=True)
    m = Membership.objects.select_related("clinic", "user").get(user=user)
    client = make_client(clinic, first_name="Nora", last_name="Reed")
    ep = care.episode_create(membership=m, client=client, complaint="Neck pain", started_on=timezone.localdate() - timedelta(weeks=5))
    start = timezone.now() - timedelta(weeks=4)
    for n, pain in enumerate((7, 5, 3)):
        v = care.visit_start(membership=m, episode=ep, started_at=start + timedelta(weeks=n))
        care.visit_update_notes(membership=m, visit=v, data={"subjective": "Neck ache."})
        care.visit_sign(membership=m, visit=v)
        services.response_record(membership=m, episode=ep, measure_id="nprs", taken_at=v.started_at + timedelta(minutes=5),
                                 items={"now": pain, "best": pain, "worst": pain})  # fmt: skip
    browser_client = Client()
    browser_client.force_login(user)
    cookie = browser_client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    return ep


def test_a_therapist_sees_the_chart_with_its_mcid_band_and_downloads_the_report(live_server, page, episode):
    page.goto(f"{live_server.url}/clients/{episode.client_id}/episodes/{episode.pk}/progress/")
    chart = page.locator("svg.outcome-chart").first
    expect(chart).to_be_visible()
    assert "MCID band" in chart.inner_html()
    expect(page.get_by_text("Clinically important improvement").first).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("link", name="Progress report (PDF)").click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    assert page.console_errors == []
