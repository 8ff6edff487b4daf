"""Random sequences of holds, bookings, expiries, cancellations and moves never leave two claims on
one therapist's time overlapping, and every time shown as free can be booked."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from knotwork.bookings import services
from knotwork.bookings.models import BLOCKING_STATUSES, Appointment
from knotwork.bookings.selectors import free_slots
from knotwork.bookings.services import Actor, BookingError
from tests.bookings.conftest import local

pytestmark = pytest.mark.django_db

STARTS = st.integers(min_value=0, max_value=15)  # 09:00 … 12:45 in 15-minute steps


class _Rollback(Exception):
    pass


def booking_machine(world):
    class BookingMachine(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            self.staff = Actor(user=world.alice, membership=world.alice.memberships.get())

        def teardown(self):
            if hasattr(self, "atomic"):
                transaction.set_rollback(True)
                self.atomic.__exit__(None, None, None)

        def _at(self, index: int):
            return local(world, world.monday, 9) + timedelta(minutes=15 * index)

        def _service(self, long: bool):
            return world.session60 if long else world.consult

        @rule(index=STARTS, long=st.booleans())
        def book(self, index, long):
            with suppress(BookingError):
                services.appointment_book(
                    clinic=world.clinic_a,
                    therapist=world.alice,
                    service=self._service(long),
                    start=self._at(index),
                    client=world.client_a,
                    actor=self.staff,
                )

        @rule(index=STARTS, long=st.booleans())
        def hold(self, index, long):
            with suppress(BookingError):
                services.hold_create(
                    clinic=world.clinic_a, therapist=world.alice, service=self._service(long), start=self._at(index), actor=Actor()
                )

        @rule(pick=st.integers(min_value=0, max_value=20))
        def let_a_hold_lapse(self, pick):
            holds = list(Appointment.objects.filter(status="held").order_by("id"))
            if holds:
                Appointment.objects.filter(pk=holds[pick % len(holds)].pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))

        @rule(pick=st.integers(min_value=0, max_value=20))
        def cancel(self, pick):
            active = list(Appointment.objects.active().order_by("id"))
            if active:
                services.appointment_cancel(appointment=active[pick % len(active)], actor=self.staff, late=False)

        @rule(pick=st.integers(min_value=0, max_value=20), index=STARTS)
        def reschedule(self, pick, index):
            active = list(Appointment.objects.active().select_related("clinic", "service", "therapist").order_by("id"))
            if active:
                with suppress(BookingError):
                    services.appointment_reschedule(appointment=active[pick % len(active)], start=self._at(index), actor=self.staff)

        @rule(long=st.booleans())
        def every_time_shown_free_can_be_booked(self, long):
            service = self._service(long)
            shown = free_slots(
                clinic=world.clinic_a, therapist=world.alice, service=service, first_day=world.monday, last_day=world.monday, staff=True
            )
            for slot in shown:
                try:
                    with transaction.atomic():
                        services.appointment_book(
                            clinic=world.clinic_a,
                            therapist=world.alice,
                            service=service,
                            start=slot.start,
                            client=world.client_a,
                            actor=self.staff,
                        )
                        raise _Rollback
                except _Rollback:
                    pass

        @invariant()
        def no_two_claims_overlap(self):
            rows = list(
                Appointment.objects.filter(therapist=world.alice, status__in=BLOCKING_STATUSES).values_list("block_start", "block_end")
            )
            rows.sort()
            for (_, end), (next_start, _) in zip(rows, rows[1:], strict=False):
                assert end <= next_start

    return BookingMachine


class BookingStateMachineTests:
    def test_random_sequences_never_double_book(self, booking):
        run_state_machine_as_test(
            booking_machine(booking),
            settings=settings(
                max_examples=30,
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
            ),
        )
