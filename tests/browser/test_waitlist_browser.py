"""The waitlist's acceptance case: a cancelled time is claimed by the first of two waiting clients
and refused to the second, each following the link from their own e-mail."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from knotwork.accounts.models import Membership
from knotwork.bookings import services
from knotwork.bookings import waitlist as wl
from knotwork.bookings.models import Appointment, AppointmentStatus, Availability, Service, WaitlistEntry, WaitlistStatus
from knotwork.lib.testing import make_client, make_clinic, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class WaitlistClaimTests:
    def test_the_first_of_two_waiting_clients_gets_the_cancelled_time_and_the_second_is_told_it_has_gone(self, page, browser):
        clinic = make_clinic("Quayside NMT")
        therapist = make_staff("rhea@quayside.example", clinic, "therapist")
        desk = services.Actor(user=therapist, membership=Membership.objects.get(user=therapist))
        for weekday in range(7):
            Availability.objects.create(clinic=clinic, therapist=therapist, weekday=weekday, start_time=time(8), end_time=time(20))
        consult = Service.objects.create(clinic=clinic, name="Free consultation", duration_minutes=15, price=Decimal("0"))
        day = timezone.localdate(timezone=clinic.tz) + timedelta(days=3)
        start = datetime.combine(day, time(10), tzinfo=clinic.tz)
        booked = services.appointment_book(
            clinic=clinic, therapist=therapist, service=consult, start=start, client=make_client(clinic), actor=desk
        )
        first, second = make_client(clinic, first_name="Nora"), make_client(clinic, first_name="Omar")
        for client in (first, second):
            wl.waitlist_join(
                clinic=clinic, client=client, service=consult, therapist=None, actor=desk,
                window=wl.Window(day - timedelta(days=1), day + timedelta(days=7), (), time(9), time(12)),
            )  # fmt: skip
        mail.outbox.clear()
        services.appointment_cancel(appointment=booked, actor=desk, late=False)  # on commit: the offers go out
        links = {}
        for message in mail.outbox:
            found = re.search(r"https?://\S+/waitlist/claim/\S+/", message.body)
            if found:
                links[message.to[0]] = found.group(0)
        assert set(links) == {first.email, second.email}

        other = browser.new_context()
        try:
            late = other.new_page()
            page.goto(links[first.email])
            late.goto(links[second.email])
            expect(page.get_by_role("heading", name="A time has come free")).to_be_visible()
            expect(late.get_by_role("button", name="Book it")).to_be_visible()

            page.get_by_role("button", name="Book it").click()
            expect(page.get_by_role("heading", name="This time is booked")).to_be_visible()
            late.get_by_role("button", name="Book it").click()
            expect(late.get_by_role("heading", name="That time has gone")).to_be_visible()
            expect(late.get_by_text("someone else has just taken this time")).to_be_visible()
        finally:
            other.close()

        won = Appointment.objects.get(starts_at=start, status=AppointmentStatus.CONFIRMED)
        assert won.client == first
        assert WaitlistEntry.objects.get(client=first).status == WaitlistStatus.BOOKED
        assert WaitlistEntry.objects.get(client=second).status == WaitlistStatus.ACTIVE
        assert page.console_errors == []  # type: ignore[attr-defined]
