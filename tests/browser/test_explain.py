"""A therapist paints a drawing on /atlas/explain/ and watches the likely sources update."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.test import Client

from knotwork.accounts.models import Role
from knotwork.lib.testing import make_clinic, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Set KNOTWORK_SCREENSHOTS=/some/dir to keep pictures of the page for a look by eye.
SHOTS = os.environ.get("KNOTWORK_SCREENSHOTS")


def sign_in(page, live_server, role=Role.THERAPIST):
    user = make_staff("tess@clinic.example", make_clinic("Harbour"), role, mfa=True)
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    return user


def cell(page, cell_id):
    # Quoted attribute values need no escaping of the ":" in a cell id.
    return page.locator(f'.bodymap [data-cell="{cell_id}"]').first


SET_SLIDER = "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }"


def paint(page, cell_id, intensity):
    page.locator("#explain-intensity").evaluate(SET_SLIDER, str(intensity))
    with page.expect_response(lambda r: r.url.endswith("/atlas/explain/results/")):
        cell(page, cell_id).click()


class ExplainPageTests:
    def test_painting_updates_the_ranked_list_and_hovering_a_source_shows_its_zones(self, page, live_server):
        sign_in(page, live_server)
        page.goto("/atlas/explain/")
        assert page.get_by_text("Mark where it hurts to see likely sources").is_visible()
        assert page.locator("#explain-redflag-verdict [data-verdict='not asked']").is_visible()

        paint(page, "temple:right", 7)
        paint(page, "neck-lateral:right", 5)
        paint(page, "shoulder-top:right", 4)

        items = page.locator(".explain-hypothesis")
        assert items.count() >= 3
        top3 = [items.nth(i).get_attribute("data-muscle") for i in range(3)]
        assert {"upper-trapezius", "temporalis"} & set(top3), top3
        assert items.first.get_attribute("data-side") == "right"
        assert "right temple 7/10" in page.locator("[data-bodymap-summary]").inner_text()
        assert page.locator("[data-explain-intensity-value]").inner_text() == "4"
        assert "First to examine" in page.locator("#explain-status").inner_text()
        assert page.get_by_role("heading", name="Check these first").is_visible()
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, "explain.png"), full_page=True)

        items.first.hover()
        assert cell(page, "temple:right").get_attribute("data-category") == "essential"
        assert page.locator(".explain-zones .explain-zone--essential").count() > 0
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, "explain-hover.png"))
        page.get_by_role("heading", name="Explain a drawing").hover()
        assert cell(page, "temple:right").get_attribute("data-category") is None

        assert page.console_errors == [], page.console_errors

    def test_ticking_a_red_flag_re_runs_the_engine_and_shows_refer_out(self, page, live_server):
        sign_in(page, live_server)
        page.goto("/atlas/explain/")
        paint(page, "temple:right", 6)
        page.get_by_text("Ask the red-flag questions").click()
        with page.expect_response(lambda r: r.url.endswith("/atlas/explain/results/")):
            page.locator("input[name='red_flags'][value='thunderclap-headache']").check()
        assert page.locator("#explain-redflag-verdict [data-verdict='refer out']").is_visible()
        # the drawing and the list survive the re-run
        assert page.locator(".explain-hypothesis").count() > 0
        assert cell(page, "temple:right").get_attribute("aria-pressed") == "true"
        assert page.console_errors == [], page.console_errors

    def test_on_a_phone_the_columns_stack(self, page, live_server):
        sign_in(page, live_server)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto("/atlas/explain/")
        paint(page, "temple:right", 7)
        paint(page, "neck-lateral:right", 5)
        drawing = page.locator(".explain-input").bounding_box()
        results = page.locator(".explain-output").bounding_box()
        assert results["y"] >= drawing["y"] + drawing["height"]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        if SHOTS:
            page.screenshot(path=os.path.join(SHOTS, "explain-phone.png"), full_page=True)
        assert page.console_errors == [], page.console_errors
