"""A therapist paints a drawing on /atlas/explain/ and watches the likely sources update."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from knotwork.accounts.models import Role
from knotwork.lib.testing import make_clinic, make_staff
from tests.browser.session import sign_in as session_sign_in
from tests.browser.shots import keep_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, role=Role.THERAPIST):
    user = make_staff("tess@clinic.example", make_clinic("Harbour"), role, mfa=True)
    session_sign_in(page, live_server, user)
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
        expect(page.get_by_text("Mark where it hurts to see likely sources")).to_be_visible()
        expect(page.locator("#explain-triage [data-verdict='not asked']")).to_be_visible()

        paint(page, "temple:right", 7)
        paint(page, "neck-lateral:right", 5)
        paint(page, "shoulder-top:right", 4)

        items = page.locator(".explain-hypothesis")
        expect(items.nth(2)).to_be_attached()
        top3 = [items.nth(i).get_attribute("data-muscle") for i in range(3)]
        assert {"upper-trapezius", "temporalis"} & set(top3), top3
        assert items.first.get_attribute("data-side") == "right"
        assert "right temple 7/10" in page.locator("[data-bodymap-summary]").inner_text()
        expect(page.locator("[data-explain-intensity-value]")).to_have_text("4")
        expect(page.locator("#explain-status")).to_contain_text("First to examine")
        expect(page.get_by_role("heading", name="Check these first")).to_be_visible()
        keep_screenshot(page, "explain.png")

        items.first.hover()
        expect(cell(page, "temple:right")).to_have_attribute("data-category", "essential")
        expect(page.locator(".explain-zones .explain-zone--essential").first).to_be_attached()
        keep_screenshot(page, "explain-hover.png", full_page=False)
        page.get_by_role("heading", name="Explain a drawing").hover()
        assert cell(page, "temple:right").get_attribute("data-category") is None

        assert page.console_errors == [], page.console_errors

    def test_ticking_a_red_flag_re_runs_the_engine_and_shows_refer_out(self, page, live_server):
        sign_in(page, live_server)
        page.goto("/atlas/explain/")
        paint(page, "temple:right", 6)
        expect(page.locator(".explain-hypothesis").first).to_be_attached()
        page.get_by_text("Ask the red-flag questions").click()
        with page.expect_response(lambda r: r.url.endswith("/atlas/explain/results/")):
            page.locator("input[name='red_flags'][value='thunderclap-headache']").check()
        expect(page.locator("#explain-triage [data-verdict='refer out'][data-triage-level='emergency']")).to_be_visible()
        # an emergency withholds the list; the drawing survives the re-run
        expect(page.locator(".explain-hypothesis")).to_have_count(0)
        expect(cell(page, "temple:right")).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#explain-status")).to_contain_text("Emergency:")
        assert page.console_errors == [], page.console_errors

    def test_heart_like_chest_pain_shows_the_emergency_first_and_no_muscle_list(self, page, live_server):
        sign_in(page, live_server)
        page.goto("/atlas/explain/")
        paint(page, "chest-upper:left", 8)
        paint(page, "upper-arm-medial:left", 5)
        # chest pain spreading to the arm: the heart question comes before any muscle
        expect(page.locator("#explain-triage [data-triage-level='ask-first']")).to_contain_text("chest pain or pressure")
        expect(page.locator(".explain-hypothesis")).to_have_count(0)
        page.locator(".explain-symptoms summary").click()
        with page.expect_response(lambda r: r.url.endswith("/atlas/explain/results/")):
            page.get_by_label("Chest pain like heart pain").check()

        panel = page.locator("#explain-triage [data-triage-level='emergency']")
        expect(panel).to_be_visible()
        expect(panel).to_contain_text("Emergency: refer now.")
        expect(panel).to_contain_text("Call the emergency number now.")
        expect(panel).to_contain_text("withheld until medical clearance")
        expect(page.locator(".explain-hypothesis")).to_have_count(0)
        expect(page.get_by_role("heading", name="Likely sources to examine")).to_have_count(0)
        # first in the reasoning column, above every other result
        assert panel.bounding_box()["y"] < page.locator("#explain-results").bounding_box()["y"]
        expect(page.locator("#explain-status")).to_contain_text("Emergency: refer now.")
        keep_screenshot(page, "explain-emergency.png")

        with page.expect_response(lambda r: r.url.endswith("/atlas/explain/results/")):
            page.get_by_label("A physician has cleared the client (medical clearance)").check()
        expect(page.locator("#explain-triage [data-triage-level='emergency']")).to_contain_text("Medical clearance recorded")
        expect(page.locator(".explain-hypothesis").first).to_be_attached()
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
        keep_screenshot(page, "explain-phone.png")
        assert page.console_errors == [], page.console_errors
