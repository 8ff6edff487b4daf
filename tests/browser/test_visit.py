"""A therapist runs a whole visit: check-in, trigger-point log, technique log (a precaution
acknowledged, a forbidden technique blocked), signing, and the aftercare PDF."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from knotwork.accounts.models import Membership, Role
from knotwork.atlas.services import atlas_load
from knotwork.care import services
from knotwork.care.models import TechniqueApplication, Visit
from knotwork.clients.models import ScreeningFlag
from knotwork.lib.testing import make_client, make_clinic, make_staff
from tests.browser.session import sign_in
from tests.browser.shots import keep_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def episode(live_server, page):
    atlas_load()
    clinic = make_clinic("Harbour")
    user = make_staff("tess@clinic.example", clinic, Role.THERAPIST, mfa=True)
    client = make_client(clinic, first_name="Nora", last_name="Reed")
    common = {"clinic": clinic, "client": client, "rules_version": "1", "reason": "From intake"}
    ScreeningFlag.objects.create(rule_id="cardiovascular", flag_class="precaution", title="Heart condition",
                                 cautions=["deep-pressure", "ischemic-compression"], **common)  # fmt: skip
    ScreeningFlag.objects.create(rule_id="skin-lesion", flag_class="local", title="Skin lesion", regions=["shoulder-top:right"],
                                 forbids=["deep-pressure", "sustained-pressure", "myofascial-release"], **common)  # fmt: skip
    membership = Membership.objects.select_related("clinic", "user").get(user=user)
    episode = services.episode_create(
        membership=membership, client=client, complaint="Right-sided headaches", started_on=timezone.localdate()
    )
    sign_in(page, live_server, user)
    return episode


def log_technique(page, technique: str, muscle: str, trigger_point: str = "") -> None:
    form = page.locator("#technique-form")
    if not form.is_visible():
        page.locator("#techniques summary").click()
    form.locator("select[name=technique]").select_option(technique)
    form.locator("select[name=muscle]").select_option(muscle)
    if trigger_point:
        form.locator("select[name=trigger_point]").select_option(trigger_point)
    form.locator("input[name=pressure]").fill("4")
    form.locator("select[name=response]").select_option("eased")
    form.get_by_role("button", name="Log technique").click()


def test_a_therapist_runs_a_full_visit(page, live_server, episode):
    page.on("dialog", lambda d: d.accept())
    page.goto(f"/clients/{episode.client_id}/episodes/{episode.pk}/")
    page.get_by_role("button", name="Start a visit").click()
    page.wait_for_url("**/visits/*/")

    page.get_by_label("Pain today (0–10)").fill("6")
    page.get_by_role("button", name="Save check-in").click()
    assert page.get_by_label("Subjective").input_value().startswith("Pain today 6/10")

    finding = page.locator("#finding-form")
    finding.locator("select[name=trigger_point]").select_option("upper-trapezius-1")
    finding.get_by_label("Taut band").check()
    finding.get_by_label("Familiar pain reproduced").check()
    finding.get_by_role("button", name="Add to log").click()
    expect(page.locator("#findings-table").get_by_text("Upper trapezius")).to_be_visible()
    assert page.locator('.findings-map [data-cell="shoulder-top:right"]').count() > 0

    log_technique(page, "myofascial-release", "upper-trapezius", "upper-trapezius-1")
    blocked = page.locator("#technique-blocked")
    expect(blocked).to_be_visible()
    expect(blocked).to_contain_text("Skin lesion")

    log_technique(page, "ischemic-compression", "levator-scapulae", "levator-scapulae-1")
    expect(page.locator("#technique-caution")).to_be_visible()
    page.get_by_label("I have read the precautions above and will work within them").check()
    page.locator("#technique-form").get_by_role("button", name="Log technique").click()
    expect(page.locator("#techniques-table").get_by_text("precaution acknowledged")).to_be_visible()
    assert TechniqueApplication.objects.get().technique == "ischemic-compression"
    keep_screenshot(page, "care-visit.png")

    page.get_by_role("button", name="Sign and lock").click()
    assert "Signed" in page.locator("#note-status").inner_text()
    assert Visit.objects.get().signed_at is not None

    page.get_by_role("link", name="Aftercare sheet").click()
    expect(page.get_by_role("heading", name="Your aftercare")).to_be_visible()
    href = page.locator("#aftercare-pdf").get_attribute("href")
    response = page.request.get(live_server.url + href)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf" and response.body()[:4] == b"%PDF"
    # The two refusals answer 422 on purpose (the browser logs that); nothing else may fail.
    assert [e for e in page.console_errors if "status of 422" not in e] == []
