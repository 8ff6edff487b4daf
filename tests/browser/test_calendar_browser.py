"""The desk's calendar in a browser: dragging an appointment to another therapist's column moves it,
and dragging it onto a taken time is refused with the nearest free times, nothing changed."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from knotwork.accounts.models import Role
from knotwork.bookings.models import Appointment, Availability, BookingPolicy, Service
from knotwork.lib.testing import make_client, make_clinic, make_staff
from tests.browser.session import sign_in
from tests.browser.shots import keep_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _appointment(clinic, therapist, service, day, hour: int) -> Appointment:
    start = datetime.combine(day, time(hour), tzinfo=clinic.tz)
    end = start + service.duration
    return Appointment.objects.create(
        clinic=clinic, therapist=therapist, client=make_client(clinic), service=service, starts_at=start, ends_at=end,
        block_start=start, block_end=end, price=service.price,
    )  # fmt: skip


@pytest.fixture
def diary():
    clinic = make_clinic("Calendar NMT")
    BookingPolicy.objects.create(clinic=clinic)
    rhea = make_staff("rhea@calendar.example", clinic, Role.THERAPIST)
    otto = make_staff("otto@calendar.example", clinic, Role.THERAPIST)
    desk = make_staff("desk@calendar.example", clinic, Role.FRONT_DESK)
    for person in (rhea, otto):
        for weekday in range(7):
            Availability.objects.create(clinic=clinic, therapist=person, weekday=weekday, start_time=time(9), end_time=time(17))
    service = Service.objects.create(clinic=clinic, name="NMT session", duration_minutes=60, price=Decimal("60.00"))
    day = timezone.localdate(timezone=clinic.tz) + timedelta(days=2)
    early = _appointment(clinic, rhea, service, day, 10)
    late = _appointment(clinic, rhea, service, day, 13)
    return {"clinic": clinic, "rhea": rhea, "otto": otto, "desk": desk, "day": day, "early": early, "late": late}


def _drag(page, source, to_x: float, to_y: float, grab_dy: float = 10) -> None:
    box = source.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + grab_dy)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 3, box["y"] + grab_dy + 8, steps=3)
    page.mouse.move(to_x, to_y, steps=12)
    page.mouse.up()


class CalendarDragTests:
    def test_dragging_to_another_therapists_column_moves_it(self, page, live_server, diary):
        sign_in(page, live_server, diary["desk"])
        page.goto(f"/schedule/calendar/?date={diary['day'].isoformat()}&therapist=")
        early = page.locator(f'a.cal-appt[data-move$="/{diary["early"].pk}/move/"]')
        otto_column = page.locator(f'.cal-col[data-therapist="{diary["otto"].pk}"]')
        box, target = early.bounding_box(), otto_column.bounding_box()
        _drag(page, early, target["x"] + target["width"] / 2, box["y"] + 10)
        expect(page.locator("#cal-feedback")).to_contain_text(re.compile("Moved to .* at 10:00 with Otto"))
        moved = Appointment.objects.get(pk=diary["early"].pk)
        assert moved.therapist == diary["otto"] and moved.starts_at.astimezone(diary["clinic"].tz).hour == 10
        expect(otto_column.locator("a.cal-appt")).to_have_count(1)  # the grid was refreshed
        keep_screenshot(page, "calendar-dragged-to-another-therapist.png")
        assert page.console_errors == [], page.console_errors

    def test_dragging_onto_a_taken_time_is_refused_with_the_nearest_free_times(self, page, live_server, diary):
        sign_in(page, live_server, diary["desk"])
        page.goto(f"/schedule/calendar/?date={diary['day'].isoformat()}&therapist=")
        early = page.locator(f'a.cal-appt[data-move$="/{diary["early"].pk}/move/"]')
        late = page.locator(f'a.cal-appt[data-move$="/{diary["late"].pk}/move/"]')
        target = early.bounding_box()
        _drag(page, late, target["x"] + target["width"] / 2, target["y"] + 10 + target["height"] / 2)
        feedback = page.locator("#cal-feedback")
        expect(feedback).to_contain_text("taken")
        expect(feedback.get_by_role("button", name=re.compile("^Move to"))).not_to_have_count(0)
        assert Appointment.objects.get(pk=diary["late"].pk).starts_at.astimezone(diary["clinic"].tz).hour == 13
        expect(late).to_contain_text("13:00–14:00")  # put back where it was
        # One of the nearest free times is one click away.
        feedback.get_by_role("button", name=re.compile("^Move to")).first.click()
        expect(feedback).to_contain_text("Moved to")
        assert Appointment.objects.get(pk=diary["late"].pk).starts_at != diary["late"].starts_at
        keep_screenshot(page, "calendar-refused-with-alternatives.png")
