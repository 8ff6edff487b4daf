"""The body map is one tab stop; arrow keys move between neighbouring areas and Enter marks one."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from knotwork.accounts.models import Role
from knotwork.lib.testing import make_clinic, make_staff
from tests.browser.session import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACTIVE = "() => document.activeElement && document.activeElement.getAttribute('data-cell')"
STOPS = "() => document.querySelectorAll('[data-bodymap] .bm-cell[tabindex=\"0\"]').length"


def test_arrow_keys_move_between_areas_and_the_map_is_one_tab_stop(page, live_server):
    sign_in(page, live_server, make_staff("tess@quay.example", make_clinic("Quay"), Role.THERAPIST, mfa=True))
    page.goto(live_server.url + "/atlas/explain/")
    first = page.locator("[data-bodymap] .bm-cell[tabindex='0']")
    expect(first).to_have_count(1)
    first.focus()
    start = page.evaluate(ACTIVE)
    assert start
    page.keyboard.press("ArrowDown")
    below = page.evaluate(ACTIVE)
    assert below and below != start
    page.keyboard.press("ArrowRight")
    right = page.evaluate(ACTIVE)
    assert right and right != below
    assert page.evaluate(STOPS) == 1  # still one tab stop: the area that has focus
    page.keyboard.press("Enter")
    expect(page.locator(f"[data-bodymap] .bm-cell[data-cell='{right}'][tabindex='0']")).to_have_attribute("aria-pressed", "true")
    described = page.evaluate("() => document.getElementById(document.activeElement.getAttribute('aria-describedby')).textContent")
    assert "Arrow keys" in described
    page.keyboard.press("End")
    assert page.evaluate(ACTIVE) not in (start, right)
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE) is None  # one Tab leaves the map
    assert page.console_errors == [], page.console_errors
