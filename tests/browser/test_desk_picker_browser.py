"""The desk books a returning client through the free-times panel (the issue's acceptance case), and
adds a new client in place without losing the booking it was typing."""

from __future__ import annotations

import re
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from knotwork.accounts.models import Role
from knotwork.bookings.models import Appointment, AppointmentStatus, Availability, BookingPolicy, Service
from knotwork.clients.models import Client
from knotwork.lib.testing import make_client, make_clinic, make_staff
from tests.browser.session import sign_in
from tests.browser.shots import keep_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk_world():
    clinic = make_clinic("Quayside NMT")
    BookingPolicy.objects.create(clinic=clinic, min_notice_minutes=60, horizon_days=60)
    rhea = make_staff("rhea@quayside.example", clinic, Role.THERAPIST)
    for weekday in range(7):
        Availability.objects.create(clinic=clinic, therapist=rhea, weekday=weekday, start_time=time(9), end_time=time(17))
    follow_up = Service.objects.create(clinic=clinic, name="Follow-up session", duration_minutes=60, price=Decimal("60.00"))
    vera = make_client(clinic, first_name="Vera", last_name="Stone", phone="07700 900777", clinical_alerts="Allergic to arnica")
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(days=21)
    Appointment.objects.create(
        clinic=clinic, therapist=rhea, client=vera, service=follow_up, starts_at=start, ends_at=start + timedelta(hours=1),
        block_start=start, block_end=start + timedelta(hours=1), status=AppointmentStatus.COMPLETED,
    )  # fmt: skip
    desk = make_staff("bob@quayside.example", clinic, Role.FRONT_DESK)
    return {"clinic": clinic, "rhea": rhea, "follow_up": follow_up, "vera": vera, "desk": desk}


class DeskPickerTests:
    def test_the_desk_books_a_returning_client_through_the_free_times(self, page, live_server, desk_world):
        world = desk_world
        sign_in(page, live_server, world["desk"])
        page.goto("/schedule/new/")
        page.get_by_label("Find a client").fill("Stone")
        page.get_by_role("radio", name=re.compile("Stone, Vera")).check()
        glance = page.locator("#client-glance")
        expect(glance.get_by_text("Vera Stone at a glance")).to_be_visible()
        expect(glance.get_by_text("Clinical alert")).to_be_visible()
        expect(glance.get_by_text("arnica")).to_have_count(0)

        page.get_by_label(re.compile(r"^Therapist")).select_option(label="Rhea")
        page.get_by_label(re.compile(r"^Service")).select_option(label="Follow-up session")
        today = timezone.localdate(timezone=world["clinic"].tz)
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        week = page.locator("#desk-slots-panel .desk-week")
        expect(week).to_have_text(re.compile("^Week of"))
        page.locator("#desk-slots-panel").get_by_role("button", name="Next week →").click()
        expect(week).to_have_text(f"Week of {monday.day} {monday:%B %Y}")
        expect(page.locator("#desk-slots-panel").get_by_role("button", name="Next week →")).to_be_focused()
        first = page.locator("#desk-slots-panel details[open] button.slot-time").first
        chosen_day, chosen_at = first.get_attribute("data-day"), first.get_attribute("data-at")
        first.click()
        expect(first).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_label(re.compile(r"^Date"))).to_have_value(chosen_day)
        expect(page.get_by_label(re.compile(r"^Start time"))).to_have_value(chosen_at)
        assert not Appointment.objects.filter(starts_at__gt=timezone.now()).exists()  # filling is not booking
        keep_screenshot(page, "desk-free-times.png")

        page.get_by_role("button", name="Book", exact=True).click()
        page.wait_for_url(re.compile(r".*/appointments/\d+/$"))
        booked = Appointment.objects.get(starts_at__gt=timezone.now())
        local = booked.starts_at.astimezone(world["clinic"].tz)
        assert booked.client == world["vera"] and booked.therapist == world["rhea"]
        assert local.date().isoformat() == chosen_day and local.strftime("%H:%M") == chosen_at
        assert page.console_errors == [], page.console_errors

    def test_the_desk_adds_a_new_client_in_place_and_keeps_the_booking_typed(self, page, live_server, desk_world):
        sign_in(page, live_server, desk_world["desk"])
        page.goto("/schedule/new/")
        page.get_by_label(re.compile(r"^Therapist")).select_option(label="Rhea")
        page.get_by_label(re.compile(r"^Service")).select_option(label="Follow-up session")
        page.get_by_label("Find a client").fill("Nora Quill")
        expect(page.get_by_text("No client matches")).to_be_visible()
        page.get_by_role("button", name="New client").click()
        expect(page.get_by_label("First name")).to_be_focused()
        expect(page.get_by_label("First name")).to_have_value("Nora")
        page.get_by_label("Last name").fill("Quill")
        page.get_by_role("button", name="Add client").click()
        expect(page.get_by_text("Give an e-mail address or a phone number")).to_be_visible()
        page.get_by_label("Phone").fill("07700 900777")  # Vera's number: offered instead
        page.get_by_label("Phone").press("Enter")
        expect(page.get_by_text("Already a client?")).to_be_visible()
        keep_screenshot(page, "desk-new-client-match.png")
        page.get_by_role("button", name="Add as a new client anyway").click()
        expect(page.get_by_text("Nora Quill was added")).to_be_visible()
        nora = Client.objects.get(last_name="Quill")
        expect(page.get_by_role("radio", name=re.compile("Quill, Nora"))).to_be_checked()
        expect(page.locator("#client-glance").get_by_text("Nora Quill at a glance")).to_be_visible()
        expect(page.get_by_label(re.compile(r"^Service"))).to_have_value(str(desk_world["follow_up"].pk))
        page.locator("#desk-slots-panel details[open] button.slot-time").first.click()
        page.get_by_role("button", name="Book", exact=True).click()
        page.wait_for_url(re.compile(r".*/appointments/\d+/$"))
        assert Appointment.objects.get(client=nora).service == desk_world["follow_up"]
        assert page.console_errors == [], page.console_errors
