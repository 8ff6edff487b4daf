"""A client accepts the portal invitation, fills in the intake with a painted drawing, signs and
submits; a therapist then reads the pre-visit summary."""

from __future__ import annotations

import pytest
from django.conf import settings
from playwright.sync_api import expect

from knotwork.accounts.models import Role
from knotwork.accounts.services import invitation_create
from knotwork.clients.models import ConsentSignature, IntakeStatus, IntakeSubmission, PainDrawing, ScreeningFlag
from knotwork.lib.testing import make_client, make_clinic, make_staff, make_user
from tests.browser.session import sign_in
from tests.browser.shots import keep_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SET_SLIDER = "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }"


def paint(page, cell_id, intensity, quality=""):
    page.locator("#pd-intensity").evaluate(SET_SLIDER, str(intensity))
    page.locator("#pd-quality").select_option(quality)
    page.locator(f'.bodymap [data-cell="{cell_id}"]').first.click()


def next_step(page):
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_load_state("domcontentloaded")


class IntakeJourneyTests:
    def test_a_client_goes_from_invitation_to_a_signed_submitted_intake_and_the_therapist_reads_it(self, page, live_server):
        clinic = make_clinic("Harbour")
        therapist = make_staff("tess@clinic.example", clinic, Role.THERAPIST, mfa=True)
        record = make_client(clinic, first_name="Ada", last_name="Lovelace", email="ada@mail.example")
        issued = invitation_create(clinic=clinic, email="ada@mail.example", invited_by=therapist, client=record)
        sign_in(page, live_server, make_user("ada@mail.example", mfa=False))

        page.goto(issued.url.replace(settings.SITE_URL, ""))
        page.get_by_role("button", name="Accept as ada@mail.example").click()
        page.get_by_role("link", name="Complete your intake").click()
        page.get_by_role("button", name="Start my intake").click()

        assert "Step 1 of" in page.locator(".intake-progress-count").inner_text()
        page.locator("#id_date_of_birth").fill("1980-02-03")
        page.locator("#id_phone").fill("+44 7700 900123")
        page.locator("#id_emergency_contact_name").fill("Byron")
        page.locator("#id_emergency_contact_phone").fill("+44 7700 900456")
        next_step(page)

        page.locator("#id_reason").fill("Headaches that start in my neck.")
        page.locator("#id_goals").fill("Read for an hour.")
        next_step(page)

        paint(page, "temple:right", 7, "aching")
        paint(page, "neck-posterior-upper:right", 5)
        page.locator('.bodymap [data-cell="shoulder-top:right"]').first.focus()
        page.keyboard.press("Enter")  # keyboard painting, at the last intensity (5)
        summary = page.locator("[data-bodymap-summary]").inner_text()
        assert "right temple 7/10, aching" in summary and summary.count("5/10") == 2
        keep_screenshot(page, "intake-drawing-desktop.png")
        page.get_by_label("More than a year").check()
        page.get_by_label("Gradually").check()
        page.get_by_label("It comes and goes").check()
        next_step(page)

        for radio in page.locator('.intake-form input[type="radio"][value="no"]').all():
            radio.check()
        page.locator('input[name="varicose_veins"][value="yes"]').check()
        page.locator('input[name="varicose_where"][value="calf:left"]').check()
        page.locator("#id_medications").fill("None")
        page.locator("#id_allergies").fill("Almond oil")
        next_step(page)
        next_step(page)  # activity, work and stress: nothing required
        page.get_by_label("Medium").check()
        next_step(page)

        # Sending unsigned is refused and the error is shown at the top.
        page.get_by_label("I have read the consent").check()
        page.get_by_label("I have read the privacy notice").check()
        page.locator("#id_typed_name").fill("Ada Lovelace")
        page.get_by_role("button", name="Sign and send my intake").click()
        page.wait_for_load_state("load")
        expect(page.locator(".error-summary")).to_be_visible()
        assert IntakeSubmission.objects.get(client=record).status == IntakeStatus.DRAFT

        page.locator("[data-signature-pad]").scroll_into_view_if_needed()
        box = page.locator("[data-signature-pad]").bounding_box()
        page.mouse.move(box["x"] + 20, box["y"] + box["height"] * 0.6)
        page.mouse.down()
        for i in range(1, 30):
            page.mouse.move(box["x"] + 20 + i * 9, box["y"] + box["height"] * (0.3 + 0.4 * (i % 3) / 2))
        page.mouse.up()
        assert page.locator("[data-signature-output]").input_value().startswith("M"), page.console_errors
        page.get_by_role("button", name="Sign and send my intake").click()
        expect(page.get_by_text("Your intake has been sent to the clinic")).to_be_visible()
        assert page.console_errors == []

        intake = IntakeSubmission.objects.get(client=record)
        assert intake.status == IntakeStatus.SUBMITTED
        assert ConsentSignature.objects.filter(client=record).count() == 2
        assert {m["cell"] for m in PainDrawing.objects.get(client=record).marks} == {
            "temple:right",
            "neck-posterior-upper:right",
            "shoulder-top:right",
        }
        assert ScreeningFlag.objects.get(client=record).regions == ["calf:left"]

        # The therapist's side
        page.context.clear_cookies()
        sign_in(page, live_server, therapist)
        page.goto(f"/clients/{record.pk}/summary/")
        assert page.locator(".flag--local .flag-title").inner_text() == "Varicose veins"
        assert page.locator(".explain-hypothesis").count() >= 1
        assert page.locator('.summary-drawing [data-cell="temple:right"]').first.get_attribute("data-value") == "7"
        assert page.console_errors == []
        keep_screenshot(page, "previsit-summary.png")

    def test_the_drawing_step_works_at_phone_width(self, browser, live_server):
        clinic = make_clinic("Harbour")
        record = make_client(clinic, first_name="Ada", last_name="Lovelace")
        record.portal_user = make_user("ada@mail.example", mfa=False)
        record.save()
        context = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, has_touch=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in(page, live_server, record.portal_user)
        page.goto(f"/portal/{record.pk}/intake/")
        page.get_by_role("button", name="Start my intake").click()
        page.goto(f"/portal/{record.pk}/intake/pain/")
        page.locator("#pd-intensity").evaluate(SET_SLIDER, "8")
        page.locator('.bodymap [data-cell="thigh-anterior:right"]').first.tap()
        assert "8/10" in page.locator("[data-bodymap-summary]").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 392
        keep_screenshot(page, "intake-drawing-phone.png")
        assert errors == []
        context.close()
