"""A visitor reads an article, follows related reading, takes the self-check and is handed on."""

from __future__ import annotations

import json

import pytest

from knotwork.engine import red_flag_questions
from knotwork.learn.content import content_load
from knotwork.learn.models import Article
from tests.browser.shots import keep_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SET_SLIDER = "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }"


def test_a_visitor_reads_follows_related_reading_and_takes_the_self_check(page, live_server):
    content_load()

    page.goto("/learn/")
    page.get_by_role("link", name="Trigger points and referred pain, explained").click()
    page.wait_for_url("**/learn/trigger-points-and-referred-pain/")
    assert page.locator("h1").inner_text() == "Trigger points and referred pain, explained"
    assert page.locator(".learn-muscles .bodymap").count() >= 1
    keep_screenshot(page, "learn-article.png")

    related = page.locator(".learn-related a").first
    title = related.inner_text()
    related.click()
    page.wait_for_url("**/learn/headaches-and-neck-muscles/")
    assert page.locator("h1").inner_text() == title
    assert Article.objects.get(slug="headaches-and-neck-muscles").view_count == 0  # headless chromium says so in its user agent

    page.get_by_role("link", name="Take the self-check").last.click()
    page.wait_for_url("**/self-check/")
    page.locator("#sc-intensity").evaluate(SET_SLIDER, "7")
    page.locator('.bodymap [data-cell="neck-posterior-upper:right"]').first.click()
    page.locator('.bodymap [data-cell="shoulder-top:right"]').first.click()
    drawing = json.loads(page.locator("input[data-bodymap-output]").input_value())
    assert {m["cell"] for m in drawing["marks"]} == {"neck-posterior-upper:right", "shoulder-top:right"}
    page.get_by_label("6 weeks to 3 months").check()
    page.get_by_label("Less pain").check()
    for flag in red_flag_questions():
        page.locator(f'input[name="rf_{flag.id}"][value="no"]').check()
    keep_screenshot(page, "learn-selfcheck-form.png")
    page.get_by_role("button", name="See my result").click()

    result = page.locator('[data-selfcheck-verdict="consult"]')
    result.wait_for()
    assert "A free consultation looks worthwhile" in result.inner_text()
    assert "Upper trapezius" in result.inner_text()
    handoff = page.locator('[data-handoff][data-condition="neck-pain"]')
    assert handoff.count() == 1 and "neck pain" in handoff.inner_text()
    # The drawing survives the round trip, painted on the map again.
    assert page.locator('.bodymap [data-cell="shoulder-top:right"][aria-pressed="true"]').count() >= 1
    keep_screenshot(page, "learn-selfcheck-result.png")
    assert page.console_errors == []
