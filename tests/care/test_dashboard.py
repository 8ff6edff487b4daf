"""The dashboard's day and "needs attention" panels (bookings and care contribute them)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from knotwork.audit.models import Action, AuditEvent
from knotwork.bookings.models import Appointment, Service
from knotwork.care import services
from knotwork.clients.models import IntakeStatus, IntakeSubmission

pytestmark = pytest.mark.django_db


def _today_at(world, clinic, therapist, client, hour: int) -> Appointment:
    service = Service.objects.filter(clinic=clinic).first() or Service.objects.create(
        clinic=clinic, name="NMT session", duration_minutes=60, price=Decimal("65")
    )
    start = datetime.combine(timezone.localdate(timezone=clinic.tz), time(hour), tzinfo=clinic.tz)
    return Appointment.objects.create(
        clinic=clinic, therapist=therapist, client=client, service=service, starts_at=start, ends_at=start + timedelta(hours=1),
        block_start=start, block_end=start + timedelta(hours=1), status="confirmed",
    )  # fmt: skip


class DashboardTests:
    def test_a_therapist_sees_their_own_day_with_a_note_action_and_what_waits_for_them(self, world, as_user, episode_a, alice_m):
        mine = _today_at(world, world.clinic_a, world.alice, world.client_a, 9)
        other = _today_at(world, world.clinic_a, world.olivia, world.client_a, 11)
        _today_at(world, world.clinic_b, world.charlie, world.client_b, 10)
        draft = services.visit_start(membership=alice_m, episode=episode_a)
        now = timezone.now()
        IntakeSubmission.objects.create(clinic=world.clinic_a, client=world.client_a, status=IntakeStatus.SUBMITTED, submitted_at=now)
        page = as_user(world.alice).get(reverse("home")).content.decode()
        assert "Your day" in page
        assert reverse("appointment_detail", args=[mine.pk]) in page and reverse("appointment_detail", args=[other.pk]) not in page
        assert reverse("appointment_visit", args=[mine.pk]) in page  # "Start note"
        assert world.client_b.full_name not in page
        assert reverse("visit_detail", args=[draft.pk]) in page and "Notes to sign" in page
        assert reverse("intake_review", args=[world.client_a.pk]) in page
        listed = AuditEvent.objects.filter(action=Action.LIST, object_type="bookings.appointment").latest("id")
        assert listed.detail["ids"] == [mine.pk]

    def test_front_desk_sees_the_clinics_day_without_clinical_panels_or_note_actions(self, world, as_user, episode_a):
        appointment = _today_at(world, world.clinic_a, world.alice, world.client_a, 9)
        page = as_user(world.bob).get(reverse("home")).content.decode()
        assert "Today at the clinic" in page and reverse("appointment_detail", args=[appointment.pk]) in page
        assert reverse("appointment_visit", args=[appointment.pk]) not in page
        assert "Notes to sign" not in page and "Intakes to read" not in page

    def test_an_empty_day_and_nothing_waiting_say_so(self, world, as_user, atlas_db):
        page = as_user(world.alice).get(reverse("home")).content.decode()
        assert "Nothing booked today." in page and "Every note of yours is signed." in page and "No intake is waiting." in page

    def test_the_dashboard_runs_a_constant_number_of_queries(self, world, as_user, episode_a, alice_m, django_assert_max_num_queries):
        web = as_user(world.alice)
        _today_at(world, world.clinic_a, world.alice, world.client_a, 8)
        services.visit_start(membership=alice_m, episode=episode_a)  # one of each list, so every panel audits from the start
        web.get(reverse("home"))
        with django_assert_max_num_queries(40) as first:
            web.get(reverse("home"))
        for hour in range(10, 16):
            _today_at(world, world.clinic_a, world.alice, world.client_a, hour)
            services.visit_start(membership=alice_m, episode=episode_a)
        with django_assert_max_num_queries(len(first.captured_queries)):
            web.get(reverse("home"))
