"""A therapist places landmarks on the shipped side-view photo and gets the expected craniovertebral angle."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from playwright.sync_api import expect

from knotwork.accounts.models import Membership, Role
from knotwork.assessment import services
from knotwork.assessment.demo_assets.figure import side_view_landmarks
from knotwork.assessment.models import Measure
from knotwork.lib.testing import make_client, make_clinic, make_staff
from tests.browser.shots import keep_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIGURE = Path(__file__).resolve().parents[2] / "knotwork" / "assessment" / "demo_assets" / "side_view.jpg"
TO_SCREEN = """([x, y]) => {
  const svg = document.querySelector('[data-stage]');
  const pt = svg.createSVGPoint(); pt.x = x; pt.y = y;
  const p = pt.matrixTransform(svg.getScreenCTM());
  return [p.x, p.y];
}"""


@pytest.fixture
def photo(settings, tmp_path, live_server, page):
    settings.MEDIA_ROOT = tmp_path
    clinic = make_clinic("Harbour")
    user = make_staff("tess@clinic.example", clinic, Role.THERAPIST, mfa=True)
    membership = Membership.objects.select_related("clinic", "user").get(user=user)
    client = make_client(clinic, first_name="Nora", last_name="Reed")
    assessment = services.assessment_create(client=client, membership=membership, data={})
    photo = services.photo_add(
        assessment=assessment, membership=membership, upload=io.BytesIO(FIGURE.read_bytes()), name="side.jpg", view="lateral_right"
    )
    browser_client = Client()
    browser_client.force_login(user)
    cookie = browser_client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    return photo


def placed(page) -> dict[str, list[float]]:
    return json.loads(page.locator("input[name=landmarks]").input_value() or "{}")


def click_at(page, xy):
    x, y = page.evaluate(TO_SCREEN, list(xy))
    page.mouse.click(x, y)


def nudge_to(page, name, target):
    """Select the landmark, zoom in on it, and walk it onto the exact pixel with the arrow keys."""
    page.locator(f'[data-landmark="{name}"]').click()
    stage = page.locator("[data-stage]")
    stage.press("+")
    x, y = placed(page)[name]
    for key, delta in (("ArrowRight", round(target[0] - x)), ("ArrowDown", round(target[1] - y))):
        opposite = {"ArrowRight": "ArrowLeft", "ArrowDown": "ArrowUp"}[key]
        for _ in range(abs(delta)):
            stage.press(key if delta > 0 else opposite)
    page.locator('[data-zoom="reset"]').click()


class LandmarkEditorTests:
    def test_placing_tragus_and_c7_gives_the_figures_cva_within_half_a_degree(self, page, photo):
        page.goto(f"/assessments/photos/{photo.pk}/")
        marks = side_view_landmarks()
        tragus, c7 = marks["tragus"], marks["c7"]
        expected = math.degrees(math.atan2(c7[1] - tragus[1], tragus[0] - c7[0]))

        # Only the landmarks the chosen measure (CVA) needs are offered.
        expect(page.locator('[data-landmark-item="tragus"]')).to_be_visible()
        expect(page.locator('[data-landmark-item="greater_trochanter"]')).to_be_hidden()

        click_at(page, (tragus[0] + 6, tragus[1] - 5))  # a little off, as a real click would be
        assert page.locator('[data-landmark="c7"]').get_attribute("aria-pressed") == "true"  # moved on to the next one
        click_at(page, (c7[0] - 4, c7[1] + 7))
        assert set(placed(page)) == {"tragus", "c7"}

        nudge_to(page, "tragus", tragus)
        nudge_to(page, "c7", c7)
        assert placed(page)["tragus"] == pytest.approx(list(tragus), abs=0.6)

        with page.expect_response(lambda r: r.url.endswith(f"/assessments/photos/{photo.pk}/") and r.request.method == "POST"):
            page.get_by_role("button", name="Save landmarks").click()
        value = page.locator('[data-measure-row="cva"] [data-value]')
        value.wait_for()
        assert float(value.get_attribute("data-value")) == pytest.approx(expected, abs=0.5)
        assert Measure.objects.get(photo=photo, name="cva").value == pytest.approx(expected, abs=0.5)
        expect(page.get_by_text("Possible forward head posture (CVA < 50°)")).to_be_visible()
        keep_screenshot(page, "assessment-landmarks.png")
        assert page.console_errors == []

    def test_a_placed_point_can_be_dragged_to_correct_it(self, page, photo):
        page.goto(f"/assessments/photos/{photo.pk}/")
        click_at(page, (300, 300))
        before = placed(page)["tragus"]
        start = page.evaluate(TO_SCREEN, before)
        end = page.evaluate(TO_SCREEN, [before[0] + 100, before[1] + 50])
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(*end, steps=5)
        page.mouse.up()
        after = placed(page)["tragus"]
        assert after == pytest.approx([before[0] + 100, before[1] + 50], abs=2)
        assert set(placed(page)) == {"tragus"}
        assert page.console_errors == []
