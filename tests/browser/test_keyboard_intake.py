"""A client fills in the whole intake with the keyboard alone: Tab between fields, arrow keys in radio
groups and on the body map's roving tab stop, Space and Enter to choose, mark and press. No click, no
fill(): what the test reads from the page (which element has focus) it only reads."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from knotwork.clients.models import ConsentSignature, IntakeStatus, IntakeSubmission, PainDrawing
from knotwork.lib.testing import make_client, make_clinic, make_user
from tests.browser.session import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el) return {};
  return {tag: el.tagName.toLowerCase(), id: el.id, name: el.getAttribute('name') || '', type: el.getAttribute('type') || '',
          value: el.value === undefined ? '' : String(el.value), cell: el.getAttribute('data-cell') || '',
          text: (el.textContent || '').trim(), checked: !!el.checked};
}"""
MAX_TABS = 400


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def tab_until(page, matches, *, what: str) -> dict:
    """Press Tab until the focused element satisfies ``matches``; fail after too many presses."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        now = focused(page)
        if matches(now):
            return now
    raise AssertionError(f"Tab never reached {what}")


def tab_to_id(page, element_id: str) -> dict:
    return tab_until(page, lambda f: f.get("id") == element_id, what=f"#{element_id}")


def tab_to_button(page, label: str) -> dict:
    return tab_until(page, lambda f: f.get("tag") == "button" and f.get("text") == label, what=f"the {label!r} button")


def type_into(page, element_id: str, text: str) -> None:
    tab_to_id(page, element_id)
    page.keyboard.type(text)


def choose(page, name: str, value: str) -> None:
    """Tab into a radio group (focus lands on its first option), then arrow to ``value`` (arrows also check)."""
    tab_until(page, lambda f: f.get("type") == "radio" and f.get("name") == name, what=f"the {name} radio group")
    page.keyboard.press("Space")
    for _ in range(10):
        now = focused(page)
        if now["value"] == value:
            assert now["checked"]
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{name}: no option {value!r}")


def continue_(page) -> None:
    tab_to_button(page, "Save and continue")
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_a_client_completes_the_intake_and_a_pain_drawing_with_the_keyboard_only(browser, live_server, settings):
    settings.SITE_URL = live_server.url
    clinic = make_clinic("Harbour")
    user = make_user("kay@mail.example", mfa=False)
    record = make_client(clinic, first_name="Kay", last_name="Board", email="kay@mail.example")
    record.portal_user = user
    record.save()
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server, user)

    page.goto(reverse("portal_intake", args=[record.pk]))
    tab_to_button(page, "Start my intake")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # 1. About you. The date field takes digits in the browser's order (en-US: month, day, year).
    type_into(page, "id_date_of_birth", "02031980")
    type_into(page, "id_phone", "+44 7700 900123")
    type_into(page, "id_emergency_contact_name", "Byron")
    type_into(page, "id_emergency_contact_phone", "+44 7700 900456")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # Enter in a field saves and continues (not "Back")
    expect(page.locator("h1")).to_have_text("Why you are coming")

    # 2. Why you are coming
    type_into(page, "id_reason", "Headaches that start in my neck.")
    type_into(page, "id_goals", "Read for an hour.")
    continue_(page)

    # 3. Your pain: strength 7, "aching", then two areas marked on the map with arrows and Enter/Space.
    tab_to_id(page, "pd-intensity")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert focused(page)["value"] == "7"
    tab_to_id(page, "pd-quality")
    page.keyboard.type("Aching")
    assert focused(page)["value"] == "aching"
    first = tab_until(page, lambda f: bool(f.get("cell")), what="the body map")["cell"]
    page.keyboard.press("ArrowDown")
    second = focused(page)["cell"]
    assert second and second != first
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowRight")
    third = focused(page)["cell"]
    assert third and third not in (first, second)
    page.keyboard.press("Space")
    summary = page.locator("[data-bodymap-summary]")
    expect(summary).to_contain_text("7/10, aching")
    assert summary.inner_text().count("7/10") == 2
    assert page.locator(".bodymap .bm-cell[tabindex='0']").count() == 1  # the map stays one tab stop
    choose(page, "pain_since", "years")
    choose(page, "pain_onset", "gradual")
    choose(page, "pain_pattern", "intermittent")
    continue_(page)

    # 4. Your health: "no" to every yes/no question (the first option is "yes"), and the two texts.
    expect(page.locator("h1")).to_have_text("Your health")
    answered: set[str] = set()
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        now = focused(page)
        if now.get("tag") == "button" and now.get("text") == "Save and continue":
            break
        if now.get("type") == "radio" and now["name"] not in answered:
            page.keyboard.press("ArrowDown")  # from "yes" to "no", which also checks it
            assert focused(page)["value"] == "no"
            answered.add(now["name"])
        elif now.get("id") == "id_medications":
            page.keyboard.type("None")
        elif now.get("id") == "id_allergies":
            page.keyboard.type("Almond oil")
    else:
        raise AssertionError("Tab never reached the Save and continue button")
    assert len(answered) >= 30
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # 5. Activity, work and stress: nothing required.
    expect(page.locator("h1")).to_have_text("Activity, work and stress")
    continue_(page)

    # 6. Your preferences
    choose(page, "pressure", "medium")
    continue_(page)

    # 7. Consent: tick both, sign with the typed name, send.
    expect(page.locator("h1")).to_have_text("Consent and signature")
    tab_to_id(page, "id_agree_consent")
    page.keyboard.press("Space")
    tab_to_id(page, "id_agree_privacy")
    page.keyboard.press("Space")
    tab_to_id(page, "id_typed_name")
    page.keyboard.press("Control+A")
    page.keyboard.type("Kay Board")
    tab_to_button(page, "Sign with my typed name")
    page.keyboard.press("Enter")
    expect(page.locator("[data-signature-status]")).to_have_text("Signed.")
    tab_to_button(page, "Sign and send my intake")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_text("Your intake has been sent to the clinic")).to_be_visible()
    assert errors == [], errors

    intake = IntakeSubmission.objects.get(client=record)
    assert intake.status == IntakeStatus.SUBMITTED and intake.language == "en"
    answers = {k: v["a"] for k, v in intake.answers.items()}
    assert answers["date_of_birth"] == "1980-02-03" and answers["phone"] == "+44 7700 900123"
    assert answers["reason"] == "Headaches that start in my neck." and answers["allergies"] == "Almond oil"
    assert (answers["pain_since"], answers["pain_onset"], answers["pain_pattern"], answers["pressure"]) == (
        "years",
        "gradual",
        "intermittent",
        "medium",
    )
    assert answers["diabetes"] == "no" and all(v == "no" for k, v in answers.items() if k.startswith("rf-"))
    drawing = PainDrawing.objects.get(client=record)
    assert sorted((m["cell"], m["intensity"], m.get("quality")) for m in drawing.marks) == sorted(
        [(second, 7, "aching"), (third, 7, "aching")]
    )
    signatures = ConsentSignature.objects.filter(client=record)
    assert signatures.count() == 2 and {s.typed_name for s in signatures} == {"Kay Board"}
    assert all(s.drawn_svg_path.startswith("M") for s in signatures)
    context.close()
