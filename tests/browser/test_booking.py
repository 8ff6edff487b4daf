"""A new visitor books a free consultation end to end: pick a time, sign up, confirm."""

from __future__ import annotations

import re
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from knotwork.bookings.models import Appointment, AppointmentStatus, Availability, Service
from knotwork.clients.models import Client
from knotwork.lib.testing import make_clinic, make_staff
from tests.browser.shots import keep_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class BookingFlowTests:
    def test_a_new_visitor_books_a_free_consultation_including_sign_up(self, page):
        clinic = make_clinic("Quayside NMT")
        therapist = make_staff("rhea@quayside.example", clinic, "therapist")
        for weekday in range(7):
            Availability.objects.create(clinic=clinic, therapist=therapist, weekday=weekday, start_time=time(8), end_time=time(20))
        Service.objects.create(clinic=clinic, name="Free consultation", duration_minutes=15, price=Decimal("0"))

        page.goto(f"/book/{clinic.slug}/")
        page.get_by_role("link", name=re.compile("Free consultation")).click()
        expect(page.get_by_text("Europe/London").first).to_be_visible()
        page.get_by_role("link", name="Later →").click()  # next week: well clear of the notice period
        page.locator("button.slot").first.click()
        page.wait_for_url("**/book/confirm/")
        expect(page.get_by_role("heading", name="Confirm your booking")).to_be_visible()
        assert Appointment.objects.get().status == AppointmentStatus.HELD

        page.locator("#main").get_by_role("link", name="Create an account").click()
        page.locator('input[name="email"]').fill("vera@mail.example")
        page.locator('input[name="password1"]').fill("a long and unusual passphrase")
        page.locator('input[name="password2"]').fill("a long and unusual passphrase")
        page.get_by_role("button", name="Sign Up").click()
        page.wait_for_load_state()
        link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body)
        assert link, mail.outbox[-1].body
        page.goto(link.group(0).replace("http://testserver", page.url.split("/accounts")[0]))
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url("**/book/confirm/")

        page.get_by_label("First name").fill("Vera")
        page.get_by_label("Last name").fill("Stone")
        page.get_by_role("button", name="Confirm booking").click()
        page.wait_for_url(re.compile(r".*/appointments/\d+/$"))
        expect(page.get_by_text("Your appointment is booked")).to_be_visible()
        appointment = Appointment.objects.get()
        assert appointment.status == AppointmentStatus.CONFIRMED
        assert appointment.client == Client.objects.get(clinic=clinic, first_name="Vera", portal_user__email="vera@mail.example")
        assert appointment.starts_at > timezone.now() + timedelta(days=1)
        keep_screenshot(page, "booking-confirmed.png")
        assert page.console_errors == [], page.console_errors
