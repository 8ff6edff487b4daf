"""On a phone the top bar folds its menu behind one button; on a wider screen it is always open."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from knotwork.accounts.models import Role
from knotwork.lib.testing import make_clinic, make_staff
from tests.browser.session import sign_in
from tests.browser.shots import keep_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_menu_folds_on_a_phone_and_opens_with_its_button(page, live_server):
    sign_in(page, live_server, make_staff("tess@quay.example", make_clinic("Quay"), Role.THERAPIST, mfa=True))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/")
    menu = page.get_by_role("button", name="Menu")
    clients = page.get_by_role("link", name="Clients")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(clients).to_be_hidden()
    top = page.get_by_role("heading", level=1).bounding_box()
    assert top is not None and top["y"] < 120  # the page starts right under the folded bar
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(clients).to_be_visible()
    keep_screenshot(page, "menu-open-phone.png", full_page=False)
    page.keyboard.press("Escape")
    expect(clients).to_be_hidden()
    expect(menu).to_be_focused()
    assert page.console_errors == [], page.console_errors


def test_on_a_wide_screen_the_menu_is_always_open(page, live_server):
    sign_in(page, live_server, make_staff("tess@quay.example", make_clinic("Quay"), Role.THERAPIST, mfa=True))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/")
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.get_by_role("link", name="Clients")).to_be_visible()
