"""Front office in a browser: a returning client books a follow-up online from the portal, and the
desk finds a client as they type, is refused a time outside the therapist's hours and books one of
the nearest free times offered instead."""

from __future__ import annotations

import re
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from knotwork.accounts.models import Role
from knotwork.bookings.models import Appointment, AppointmentStatus, Availability, BookingPolicy, Service
from knotwork.lib.testing import make_client, make_clinic, make_staff, make_user
from tests.browser.session import sign_in
from tests.browser.shots import keep_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clinic_with_history():
    clinic = make_clinic("Quayside NMT")
    BookingPolicy.objects.create(clinic=clinic, min_notice_minutes=60, horizon_days=60)
    rhea = make_staff("rhea@quayside.example", clinic, Role.THERAPIST)
    for weekday in range(7):
        Availability.objects.create(clinic=clinic, therapist=rhea, weekday=weekday, start_time=time(9), end_time=time(17))
    consult = Service.objects.create(clinic=clinic, name="Consultation", duration_minutes=30, price=Decimal("0"))
    follow_up = Service.objects.create(
        clinic=clinic,
        name="Follow-up session",
        kind=Service.Kind.FOLLOW_UP,
        duration_minutes=60,
        price=Decimal("60.00"),
        online_booking=Service.OnlineBooking.EXISTING,
    )
    login = make_user("vera@mail.example", mfa=False, full_name="Vera Stone")
    vera = make_client(clinic, first_name="Vera", last_name="Stone", phone="07700 900777", portal_user=login)
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(days=21)
    Appointment.objects.create(
        clinic=clinic, therapist=rhea, client=vera, service=consult, starts_at=start, ends_at=start + timedelta(minutes=30),
        block_start=start, block_end=start + timedelta(minutes=30), status=AppointmentStatus.COMPLETED,
    )  # fmt: skip
    return {"clinic": clinic, "rhea": rhea, "follow_up": follow_up, "consult": consult, "login": login, "vera": vera}


class FrontOfficeTests:
    def test_a_returning_client_books_a_follow_up_online(self, page, live_server, clinic_with_history):
        world = clinic_with_history
        sign_in(page, live_server, world["login"])
        page.goto("/")
        expect(page.get_by_text("Your last visit:")).to_be_visible()
        expect(page.get_by_role("link", name=re.compile("^Book again"))).to_be_visible()
        page.get_by_role("link", name=re.compile("^Book at Quayside NMT")).click()
        page.get_by_role("link", name=re.compile("Follow-up session")).click()
        page.get_by_role("link", name="Later →").click()
        page.locator("button.slot").first.click()
        page.wait_for_url("**/book/confirm/")
        expect(page.get_by_text("Booking as")).to_be_visible()
        page.get_by_role("button", name="Confirm booking").click()
        page.wait_for_url(re.compile(r".*/appointments/\d+/$"))
        booked = Appointment.objects.get(service=world["follow_up"])
        assert booked.status == AppointmentStatus.CONFIRMED and booked.client == world["vera"]
        keep_screenshot(page, "returning-client-booked.png")
        assert page.console_errors == [], page.console_errors

    def test_the_desk_finds_a_client_as_they_type_and_books_a_nearest_free_time(self, page, live_server, clinic_with_history):
        world = clinic_with_history
        desk = make_staff("bob@quayside.example", world["clinic"], Role.FRONT_DESK)
        make_client(world["clinic"], first_name="Victor", last_name="Stein")
        sign_in(page, live_server, desk)
        page.goto("/schedule/new/")
        page.get_by_label("Find a client").fill("900777")  # part of Vera's phone number
        choice = page.get_by_role("radio", name=re.compile("Stone, Vera"))
        expect(choice).to_be_visible()
        expect(page.get_by_role("radio", name=re.compile("Stein"))).to_have_count(0)
        choice.check()
        page.get_by_label(re.compile(r"^Therapist")).select_option(label="Rhea")
        page.get_by_label(re.compile(r"^Service")).select_option(label="Follow-up session")
        day = timezone.localdate(timezone=world["clinic"].tz) + timedelta(days=3)
        page.get_by_label(re.compile(r"^Date")).fill(day.isoformat())
        page.get_by_label(re.compile(r"^Start time")).fill("18:30")
        page.get_by_role("button", name="Book", exact=True).click()
        expect(page.get_by_text("outside Rhea's working hours").first).to_be_visible()
        expect(page.get_by_role("heading", name="Nearest free times")).to_be_visible()
        assert not Appointment.objects.filter(service=world["follow_up"]).exists()
        keep_screenshot(page, "desk-outside-hours.png")

        page.locator("button[name=pick]").last.click()
        page.wait_for_url(re.compile(r".*/appointments/\d+/$"))
        booked = Appointment.objects.get(service=world["follow_up"])
        local = booked.starts_at.astimezone(world["clinic"].tz)
        assert booked.client == world["vera"] and time(9) <= local.time() and local.time() <= time(16)
        assert page.console_errors == [], page.console_errors
