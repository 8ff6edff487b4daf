"""The client presses More, Less and Stop on their phone while the therapist's visit screen updates."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from knotwork.accounts.models import Membership, Role
from knotwork.atlas.services import atlas_load
from knotwork.care import services
from knotwork.care.models import PressureFeedback
from knotwork.lib.testing import make_client, make_clinic, make_staff
from tests.browser.shots import keep_screenshot
from tests.browser.test_visit import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def visit(live_server, page):
    atlas_load()
    clinic = make_clinic("Harbour")
    user = make_staff("tess@clinic.example", clinic, Role.THERAPIST, mfa=True)
    membership = Membership.objects.select_related("clinic", "user").get(user=user)
    client = make_client(clinic, first_name="Nora", last_name="Reed")
    episode = services.episode_create(membership=membership, client=client, complaint="Neck pain", started_on=timezone.localdate())
    sign_in(page, live_server, user)
    return services.visit_start(membership=membership, episode=episode)


def test_presses_on_the_phone_show_on_the_therapists_screen(page, browser, live_server, visit):
    page.goto(f"/visits/{visit.pk}/")
    page.get_by_role("button", name="Start live feedback").click()
    expect(page.locator(".qr-box svg")).to_be_visible()
    link = page.locator("#feedback-link").get_attribute("href")

    phone_context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone = phone_context.new_page()
    phone_errors: list[str] = []
    phone.on("console", lambda m: phone_errors.append(m.text) if m.type == "error" else None)
    try:
        phone.goto(link)
        for label in ("More", "Less"):
            phone.get_by_role("button", name=label).click()
            phone.locator(".fb-sent").get_by_text(f"Sent: {label}").wait_for()
            page.locator("#feed-latest").get_by_text(label).wait_for(timeout=5000)
        phone.get_by_role("button", name="Stop").click()
        banner = page.locator("#stop-banner")
        banner.wait_for(timeout=5000)
        assert "STOP" in banner.inner_text()
        assert page.locator("#feedback-feed [aria-live=assertive]").count() == 1
        keep_screenshot(phone, "care-feedback-phone.png", full_page=False)
        keep_screenshot(page, "care-feedback-therapist.png")
    finally:
        phone_context.close()
    assert list(PressureFeedback.objects.order_by("at", "id").values_list("kind", flat=True)) == ["more", "less", "stop"]
    assert page.console_errors == [] and phone_errors == []
