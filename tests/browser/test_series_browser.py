"""The desk books a weekly series of six in a browser: one week is taken, the plan page says so,
the desk picks another time that day for it, and all six are booked together."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from knotwork.accounts.models import Role
from knotwork.bookings.models import Appointment, AppointmentSeries, Availability, BookingPolicy, Service
from knotwork.lib.testing import make_client, make_clinic, make_staff
from tests.browser.session import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def diary():
    clinic = make_clinic("Series NMT")
    BookingPolicy.objects.create(clinic=clinic)
    rhea = make_staff("rhea@series.example", clinic, Role.THERAPIST)
    desk = make_staff("desk@series.example", clinic, Role.FRONT_DESK)
    for weekday in range(7):
        Availability.objects.create(clinic=clinic, therapist=rhea, weekday=weekday, start_time=time(9), end_time=time(17))
    service = Service.objects.create(clinic=clinic, name="NMT session", duration_minutes=60, price=Decimal("60.00"))
    vera = make_client(clinic, first_name="Vera", last_name="Stone", phone="07700 900777")
    first = timezone.localdate(timezone=clinic.tz) + timedelta(days=3)
    # Someone else already has Rhea at 10:00 in the third week.
    taken = datetime.combine(first + timedelta(weeks=2), time(10), tzinfo=clinic.tz)
    Appointment.objects.create(
        clinic=clinic, therapist=rhea, client=make_client(clinic), service=service, starts_at=taken, ends_at=taken + service.duration,
        block_start=taken, block_end=taken + service.duration, price=service.price,
    )  # fmt: skip
    return {"clinic": clinic, "rhea": rhea, "desk": desk, "vera": vera, "first": first, "service": service}


def test_the_desk_books_a_weekly_series_of_six_choosing_another_time_for_the_one_that_conflicts(page, live_server, diary):
    sign_in(page, live_server, diary["desk"])
    page.goto("/schedule/new/")
    page.get_by_label("Find a client").fill("900777")
    page.get_by_role("radio", name=re.compile("Stone, Vera")).check()
    page.get_by_label(re.compile(r"^Therapist")).select_option(label="Rhea")
    page.get_by_label(re.compile(r"^Service")).select_option(label="NMT session")
    page.get_by_label(re.compile(r"^Date")).fill(diary["first"].isoformat())
    page.get_by_label(re.compile(r"^Start time")).fill("10:00")
    page.get_by_label("Repeat this appointment").check()
    page.get_by_label(re.compile(r"^Every how many weeks")).fill("1")
    page.get_by_label("After a number of appointments").check()
    page.get_by_label(re.compile(r"^Number of appointments")).fill("6")
    page.get_by_role("button", name="Book", exact=True).click()

    expect(page.get_by_role("heading", name="Check the series")).to_be_visible()
    expect(page.locator(".series-occurrence")).to_have_count(6)
    expect(page.get_by_text("already has an appointment at that time")).to_be_visible()
    assert not AppointmentSeries.objects.exists()
    choices = page.get_by_role("group", name="What to do with appointment 3")
    choices.get_by_role("radio", name=re.compile(r"^Book at 11:00")).check()
    page.get_by_role("button", name="Book the series").click()

    page.wait_for_url(re.compile(r".*/appointments/\d+/$"))
    expect(page.get_by_text("Part of a series (1 of 6)")).to_be_visible()
    series = AppointmentSeries.objects.get()
    rows = list(series.appointments.order_by("starts_at"))
    assert len(rows) == 6 and all(a.client == diary["vera"] for a in rows)
    assert [a.local_start.time() for a in rows] == [time(10), time(10), time(11), time(10), time(10), time(10)]
    assert page.console_errors == [], page.console_errors
