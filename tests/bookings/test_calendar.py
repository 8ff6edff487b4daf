"""The desk's calendar: the time grid, moving an appointment on it (drag or form, one endpoint and
the same guarded reschedule), the calendar API, and a constant number of queries per page."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from knotwork.accounts.models import Role
from knotwork.audit.models import AuditEvent
from knotwork.bookings import services
from knotwork.bookings.calendar import Blocked, blocked_segments, calendar_grid
from knotwork.bookings.models import Appointment, AppointmentStatus, Availability, AvailabilityException, Room, Service
from knotwork.bookings.services import Actor
from knotwork.bookings.slots import WeeklyHours
from knotwork.lib.testing import make_client, make_staff
from tests.bookings.conftest import local

pytestmark = pytest.mark.django_db

CALENDAR = reverse("calendar")


def _book(world, hour: int, minute: int = 0, *, therapist=None, service=None, client=None, day=None) -> Appointment:
    return services.appointment_book(
        clinic=world.clinic_a,
        therapist=therapist or world.alice,
        service=service or world.session60,
        start=local(world, day or world.monday, hour, minute),
        client=client or world.client_a,
        actor=Actor(user=world.bob, membership=world.bob.memberships.get()),
    )


def _move_url(appointment: Appointment) -> str:
    return reverse("calendar_move", args=[appointment.pk])


def _move(world, appointment: Appointment, **changes) -> dict:
    data = {
        "day": world.monday.isoformat(),
        "at": "10:00",
        "therapist": appointment.therapist_id,
        "duration": int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
    }
    return {**data, **changes}


@pytest.fixture
def two_therapists(booking):
    """Clinic A with a second therapist, Theo, working Mondays 12:00–18:00."""
    booking.theo = make_staff("theo@a.example", booking.clinic_a, Role.THERAPIST)
    Availability.objects.create(clinic=booking.clinic_a, therapist=booking.theo, weekday=0, start_time=time(12), end_time=time(18))
    return booking


class CalendarGridTests:
    def test_owner_front_desk_and_therapist_see_the_grid(self, as_user, two_therapists):
        world = two_therapists
        _book(world, 10)
        for user in (world.olivia, world.bob, world.alice):
            response = as_user(user).get(CALENDAR, {"date": world.monday.isoformat()})
            assert response.status_code == 200, user
            html = response.content.decode()
            assert "Ada Lovelace" in html and "NMT session" in html and "10:00–11:00" in html
            assert 'class="cal-scroll"' in html

    def test_a_therapist_starts_on_their_own_column_and_the_desk_on_everyone(self, as_user, two_therapists):
        world = two_therapists
        _book(world, 13, therapist=world.theo)
        mine = as_user(world.alice).get(CALENDAR, {"date": world.monday.isoformat()})
        assert mine.context["q"].therapist_id == world.alice.pk
        assert [c.title for c in mine.context["grid"].days[0].columns] == [world.alice.display_name]
        assert "Ada Lovelace" not in mine.content.decode()  # Theo's appointment is not in Alice's column
        everyone = as_user(world.alice).get(CALENDAR, {"date": world.monday.isoformat(), "therapist": ""})
        assert len(everyone.context["grid"].days[0].columns) == 2
        desk = as_user(world.bob).get(CALENDAR, {"date": world.monday.isoformat()})
        assert {c.title for c in desk.context["grid"].days[0].columns} == {world.alice.display_name, world.theo.display_name}

    def test_the_week_view_has_seven_days_from_monday_and_links_empty_slots_to_the_booking_page(self, as_user, two_therapists):
        world = two_therapists
        wednesday = world.monday + timedelta(days=2)
        response = as_user(world.bob).get(CALENDAR, {"date": wednesday.isoformat(), "view": "week"})
        grid = response.context["grid"]
        assert [d.day for d in grid.days] == [world.monday + timedelta(days=i) for i in range(7)]
        html = response.content.decode()
        prefill = f"{reverse('appointment_new')}?therapist={world.theo.pk}&amp;date={world.monday.isoformat()}&amp;at=12:00"
        assert prefill in html
        page = as_user(world.bob).get(
            reverse("appointment_new"), {"therapist": world.theo.pk, "date": world.monday.isoformat(), "at": "12:00"}
        )
        form = page.context["form"]
        assert form["therapist"].value() == world.theo.pk and str(form["at"].value()) == "12:00:00"
        assert form["day"].value() == world.monday

    def test_breaks_time_off_and_hours_outside_work_are_shaded(self, as_user, booking):
        world = booking
        Availability.objects.filter(therapist=world.alice, weekday=0).delete()
        Availability.objects.create(clinic=world.clinic_a, therapist=world.alice, weekday=0, start_time=time(9), end_time=time(12))
        Availability.objects.create(clinic=world.clinic_a, therapist=world.alice, weekday=0, start_time=time(13), end_time=time(17))
        AvailabilityException.objects.create(
            clinic=world.clinic_a, therapist=world.alice, day=world.monday, kind="off", start_time=time(15), end_time=time(16)
        )
        response = as_user(world.bob).get(CALENDAR, {"date": world.monday.isoformat()})
        column = response.context["grid"].days[0].columns[0]
        kinds = [s.kind for s in column.shades]
        assert kinds == [Blocked.OUTSIDE, Blocked.BREAK, Blocked.TIME_OFF, Blocked.OUTSIDE]
        html = response.content.decode()
        assert "Break" in html and "Time off" in html

    def test_a_whole_day_off_is_one_shade_and_says_so(self, as_user, booking):
        AvailabilityException.objects.create(clinic=booking.clinic_a, therapist=booking.alice, day=booking.monday, kind="off")
        response = as_user(booking.bob).get(CALENDAR, {"date": booking.monday.isoformat()})
        column = response.context["grid"].days[0].columns[0]
        assert [s.kind for s in column.shades] == [Blocked.DAY_OFF] and column.note == "Day off" and column.openings == []

    def test_blocked_segments_name_each_gap(self, booking):
        weekly = [WeeklyHours(0, time(9), time(12)), WeeklyHours(0, time(13), time(17))]
        found = blocked_segments(booking.monday, tz=booking.tz, weekly=weekly, exceptions=[])
        assert [(s.start, s.end, s.kind) for s in found] == [(0, 540, "outside_hours"), (720, 780, "break"), (1020, 1440, "outside_hours")]

    def test_overlapping_appointments_sit_side_by_side(self, booking):
        _book(booking, 10)
        Appointment.objects.filter(therapist=booking.alice).update(status=AppointmentStatus.COMPLETED)
        _book(booking, 10, 30)
        grid = calendar_grid(clinic=booking.clinic_a, first=booking.monday, last=booking.monday)
        column = grid.days[0].columns[0]
        assert column.lanes == 2 and sorted(p.lane for p in column.items) == [1, 2]

    def test_the_room_view_has_a_column_per_room(self, as_user, booking):
        Room.objects.create(clinic=booking.clinic_a, name="Garden room")
        Room.objects.create(clinic=booking.clinic_a, name="Quiet room")
        Service.objects.filter(pk=booking.session60.pk).update(needs_room=True)
        booking.session60.refresh_from_db()
        _book(booking, 10)
        response = as_user(booking.bob).get(CALENDAR, {"date": booking.monday.isoformat(), "by": "room"})
        columns = response.context["grid"].days[0].columns
        assert [c.title for c in columns] == ["Garden room", "Quiet room", "No room"]
        assert len(columns[0].items) == 1
        assert ">By room<" in response.content.decode()

    def test_cancelled_appointments_leave_the_grid(self, as_user, booking):
        appointment = _book(booking, 10)
        services.appointment_cancel(appointment=appointment, actor=Actor(user=booking.bob, membership=booking.bob.memberships.get()))
        response = as_user(booking.bob).get(CALENDAR, {"date": booking.monday.isoformat()})
        assert response.context["grid"].appointments == []

    def test_listed_appointments_are_audited(self, as_user, booking):
        appointment = _book(booking, 10)
        as_user(booking.bob).get(CALENDAR, {"date": booking.monday.isoformat()})
        event = AuditEvent.objects.filter(action="list", object_type="bookings.appointment").latest("seq")
        assert event.detail["ids"] == [appointment.pk]

    def test_the_schedule_page_links_to_the_calendar(self, as_user, booking):
        assert CALENDAR in as_user(booking.bob).get(reverse("schedule")).content.decode()


class CalendarAddressTests:
    @pytest.mark.parametrize("bad", ["2026-02-30", "2026-13-01", "9999-99-99", "0001-01-01", "yesterday"])
    def test_an_impossible_date_sends_the_desk_to_today_with_a_note(self, as_user, booking, bad):
        response = as_user(booking.bob).get(CALENDAR, {"date": bad, "view": "week"})
        assert response.status_code == 302 and "date=" not in response["Location"] and "view=week" in response["Location"]
        followed = as_user(booking.bob).get(response["Location"], follow=True)
        assert followed.status_code == 200 and "There is no date" in followed.content.decode()

    def test_a_malformed_therapist_is_a_400_and_another_clinics_therapist_a_404(self, as_user, booking):
        web = as_user(booking.bob)
        assert web.get(CALENDAR, {"therapist": "abc"}).status_code == 400
        assert web.get(CALENDAR, {"therapist": "99999999999999999999999"}).status_code == 400
        assert web.get(CALENDAR, {"therapist": booking.charlie.pk}).status_code == 404

    def test_anonymous_visitors_sign_in_and_clients_are_refused(self, client, booking):
        assert client.get(CALENDAR).status_code == 302


class CalendarMoveTests:
    def test_charlie_cannot_see_or_move_clinic_as_appointment(self, as_user, booking):
        appointment = _book(booking, 10)
        web = as_user(booking.charlie)
        assert web.get(_move_url(appointment)).status_code == 404
        assert web.post(_move_url(appointment), _move(booking, appointment, at="14:00")).status_code == 404
        assert Appointment.objects.get(pk=appointment.pk).starts_at == local(booking, booking.monday, 10)

    def test_the_form_moves_to_another_time_therapist_and_length(self, as_user, two_therapists):
        world = two_therapists
        appointment = _book(world, 10)
        web = as_user(world.bob)
        page = web.get(_move_url(appointment))
        assert page.status_code == 200 and 'name="duration"' in page.content.decode()
        response = web.post(_move_url(appointment), _move(world, appointment, at="13:00", therapist=world.theo.pk, duration=45))
        assert response.status_code == 302 and response["Location"].startswith(CALENDAR)
        moved = Appointment.objects.get(pk=appointment.pk)
        assert moved.therapist == world.theo and moved.starts_at == local(world, world.monday, 13)
        assert moved.ends_at - moved.starts_at == timedelta(minutes=45)
        assert moved.block_end == moved.ends_at + timedelta(minutes=15)  # the service's buffer still applies
        event = AuditEvent.objects.filter(action="update", object_type="bookings.appointment").latest("seq")
        assert set(event.detail["fields"]) == {"starts_at", "therapist", "ends_at"} and event.detail["to_therapist"] == world.theo.pk

    def test_a_drag_posts_json_to_the_same_endpoint(self, as_user, booking):
        appointment = _book(booking, 10)
        response = as_user(booking.bob).post(
            _move_url(appointment), _move(booking, appointment, at="11:30"), HTTP_ACCEPT="application/json"
        )
        assert response.status_code == 200 and response.json()["ok"] is True
        assert "11:30" in response.json()["message"]
        assert Appointment.objects.get(pk=appointment.pk).starts_at == local(booking, booking.monday, 11, 30)

    def test_a_conflict_is_refused_by_the_database_guard_with_the_nearest_free_times(self, as_user, booking):
        first = _book(booking, 10)
        second = _book(booking, 13)
        web = as_user(booking.bob)
        response = web.post(_move_url(second), _move(booking, second, at="10:30"), HTTP_ACCEPT="application/json")
        body = response.json()
        assert response.status_code == 409 and body["ok"] is False and "taken" in body["message"]
        assert body["alternatives"] and all({"day", "at", "start", "label"} <= set(a) for a in body["alternatives"])
        # Every time offered is really free: the first one is accepted.
        pick = body["alternatives"][0]
        again = web.post(_move_url(second), _move(booking, second, day=pick["day"], at=pick["at"]), HTTP_ACCEPT="application/json")
        assert again.json()["ok"]
        assert Appointment.objects.get(pk=first.pk).starts_at == local(booking, booking.monday, 10)

    def test_the_form_shows_the_refusal_and_alternatives_and_keeps_what_was_typed(self, as_user, booking):
        _book(booking, 10)
        second = _book(booking, 13)
        response = as_user(booking.bob).post(_move_url(second), _move(booking, second, at="10:30"))
        html = response.content.decode()
        assert response.status_code == 409 and "Nearest free times" in html and 'name="pick"' in html
        assert 'value="10:30"' in html
        assert Appointment.objects.get(pk=second.pk).starts_at == local(booking, booking.monday, 13)

    def test_a_picked_alternative_moves_there(self, as_user, booking):
        appointment = _book(booking, 10)
        pick = local(booking, booking.monday, 15).isoformat()
        response = as_user(booking.bob).post(_move_url(appointment), {**_move(booking, appointment, at="03:00"), "pick": pick})
        assert response.status_code == 302
        assert Appointment.objects.get(pk=appointment.pk).starts_at == local(booking, booking.monday, 15)

    def test_outside_working_hours_is_refused_unless_overridden_with_a_reason(self, as_user, booking):
        appointment = _book(booking, 10)
        web = as_user(booking.bob)
        refused = web.post(_move_url(appointment), _move(booking, appointment, at="18:00"), HTTP_ACCEPT="application/json")
        assert refused.status_code == 422 and "working hours" in refused.json()["message"] and refused.json()["alternatives"]
        assert Appointment.objects.get(pk=appointment.pk).starts_at == local(booking, booking.monday, 10)
        no_reason = web.post(_move_url(appointment), {**_move(booking, appointment, at="18:00"), "outside_hours": "on"})
        assert no_reason.status_code == 400
        done = web.post(
            _move_url(appointment), {**_move(booking, appointment, at="18:00"), "outside_hours": "on", "outside_hours_reason": "Late shift"}
        )
        assert done.status_code == 302
        assert Appointment.objects.get(pk=appointment.pk).starts_at == local(booking, booking.monday, 18)
        event = AuditEvent.objects.filter(action="update", object_type="bookings.appointment").latest("seq")
        assert event.detail["outside_hours"] is True and event.detail["reason"] == "Late shift"

    def test_a_longer_length_that_runs_into_the_next_appointment_is_refused(self, as_user, booking):
        first = _book(booking, 10)
        _book(booking, 11, 15)
        response = as_user(booking.bob).post(_move_url(first), _move(booking, first, duration=90), HTTP_ACCEPT="application/json")
        assert response.status_code == 409
        assert Appointment.objects.get(pk=first.pk).ends_at == local(booking, booking.monday, 11)

    def test_bad_values_are_a_400_with_the_fields_named(self, as_user, booking):
        appointment = _book(booking, 10)
        response = as_user(booking.bob).post(
            _move_url(appointment), _move(booking, appointment, day="2026-02-30", duration=2), HTTP_ACCEPT="application/json"
        )
        assert response.status_code == 400 and {"day", "duration"} <= set(response.json()["fields"])

    def test_another_clinics_therapist_is_not_a_choice(self, as_user, booking):
        appointment = _book(booking, 10)
        response = as_user(booking.bob).post(
            _move_url(appointment), _move(booking, appointment, therapist=booking.charlie.pk), HTTP_ACCEPT="application/json"
        )
        assert response.status_code == 400 and "therapist" in response.json()["fields"]
        assert Appointment.objects.get(pk=appointment.pk).therapist == booking.alice

    def test_a_client_cannot_change_therapist_or_length_through_the_service(self, booking):
        appointment = _book(booking, 10)
        with pytest.raises(services.BookingError):
            services.appointment_reschedule(
                appointment=appointment, start=local(booking, booking.monday, 14), actor=Actor(user=booking.alice), duration_minutes=30
            )


class CalendarApiTests:
    URL = "/api/calendar"

    def test_it_returns_appointments_and_blocked_time_in_the_window(self, as_user, booking):
        appointment = _book(booking, 10)
        response = as_user(booking.bob).get(self.URL, {"start": booking.monday.isoformat(), "end": booking.monday.isoformat()})
        assert response.status_code == 200
        body = response.json()
        assert body["time_zone"] == "Europe/London"
        row = body["appointments"][0]
        assert row["id"] == appointment.pk and row["client_name"] == "Ada Lovelace" and row["status_label"] == "Confirmed"
        assert {b["kind"] for b in body["blocked"]} == {"outside_hours"} and all(b["label"] for b in body["blocked"])

    def test_statuses(self, as_user, client, booking):
        day = booking.monday.isoformat()
        assert client.get(self.URL, {"start": day, "end": day}).status_code == 401
        web = as_user(booking.bob)
        assert web.get(self.URL, {"start": "2026-02-30", "end": day}).status_code == 400
        assert web.get(self.URL, {"start": day}).status_code == 400
        too_long = web.get(self.URL, {"start": day, "end": (booking.monday + timedelta(days=42)).isoformat()})
        assert too_long.status_code == 422 and "42 days" in too_long.json()["error"]["message"]
        assert web.get(self.URL, {"start": day, "end": (booking.monday - timedelta(days=1)).isoformat()}).status_code == 422
        assert web.get(self.URL, {"start": day, "end": day, "therapist": booking.charlie.pk}).status_code == 404
        room_b = Room.objects.create(clinic=booking.clinic_b, name="B room")
        assert web.get(self.URL, {"start": day, "end": day, "room": room_b.pk}).status_code == 404
        assert web.get(self.URL, {"start": day, "end": (booking.monday + timedelta(days=41)).isoformat()}).status_code == 200

    def test_charlie_sees_only_his_own_clinic(self, as_user, booking):
        _book(booking, 10)
        day = booking.monday.isoformat()
        body = as_user(booking.charlie).get(self.URL, {"start": day, "end": day}).json()
        assert body["appointments"] == []

    def test_every_status_is_documented(self, client):
        schema = client.get("/api/openapi.json").json()
        responses = schema["paths"]["/api/calendar"]["get"]["responses"]
        assert {"200", "400", "401", "403", "404", "422", "429"} <= {str(k) for k in responses}


class CalendarQueryCountTests:
    def _diary(self, world, therapists: int) -> None:
        service = Service.objects.create(clinic=world.clinic_a, name="Short", duration_minutes=30, price=Decimal("0"))
        for n in range(therapists):
            person = world.alice if n == 0 else make_staff(f"t{n}@a.example", world.clinic_a, Role.THERAPIST)
            for weekday in range(5):
                Availability.objects.get_or_create(
                    clinic=world.clinic_a, therapist=person, weekday=weekday, start_time=time(9), end_time=time(17)
                )
            for day in range(5):
                for hour in (9, 11, 14):
                    client = make_client(world.clinic_a)
                    _book(world, hour, therapist=person, service=service, client=client, day=world.monday + timedelta(days=day))

    def _count(self, web, world) -> int:
        web.get(CALENDAR, {"date": world.monday.isoformat(), "view": "week", "therapist": ""})  # session and caches warm
        with CaptureQueriesContext(connection) as queries:
            response = web.get(CALENDAR, {"date": world.monday.isoformat(), "view": "week", "therapist": ""})
        assert response.status_code == 200
        return len(queries)

    def test_the_week_costs_the_same_queries_for_one_therapist_or_ten(self, as_user, booking):
        web = as_user(booking.bob)
        self._diary(booking, 1)
        one = self._count(web, booking)
        assert Appointment.objects.count() == 15
        Appointment.objects.all().delete()
        self._diary(booking, 10)
        ten = self._count(web, booking)
        assert Appointment.objects.count() == 150
        assert one == ten
