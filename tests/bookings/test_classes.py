"""Group sessions: a class blocks its therapist, seats are booked exactly once, cancellations, pages, API."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connections
from django.test import Client as HttpClient
from django.utils import timezone

from knotwork.accounts.models import Membership
from knotwork.bookings import classes, services
from knotwork.bookings.models import Appointment, AppointmentStatus, ClassSeat, ClassSession, ClassStatus, Room, SeatStatus
from knotwork.bookings.selectors import free_slots
from knotwork.bookings.services import Actor, SlotTaken
from knotwork.lib.testing import make_client, make_user
from tests.bookings.conftest import local


def staff(world, user=None) -> Actor:
    user = user or world.bob
    return Actor(user=user, membership=Membership.objects.get(user=user, clinic=world.clinic_a))


def portal_client(world, n: int):
    user = make_user(f"seat{n}@mail.example", mfa=False)
    return make_client(world.clinic_a, first_name=f"Seat{n}", portal_user=user, email=user.email)


def new_class(world, *, hour=10, capacity=3, minutes=60, room=None, **kw) -> ClassSession:
    return classes.class_create(
        clinic=world.clinic_a,
        therapist=world.alice,
        service=world.session60,
        start=local(world, world.monday, hour),
        duration_minutes=minutes,
        capacity=capacity,
        name=kw.pop("name", "Stretching class"),
        room=room,
        actor=staff(world),
        **kw,
    )


def _race(fn, n: int) -> list:
    barrier = threading.Barrier(n)

    def attempt(i: int):
        try:
            barrier.wait(timeout=30)
            return fn(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(attempt, range(n)))


# --- The class blocks the therapist, through the database guard ----------------------------------------


@pytest.mark.django_db
class ClassBlockingTests:
    def test_a_class_takes_its_therapists_time_as_one_unconfirmable_block(self, booking):
        session = new_class(booking)
        block = session.block
        assert block is not None and block.status == AppointmentStatus.HELD and block.client_id is None
        assert block.therapist_id == booking.alice.pk and block.block_end >= session.ends_at
        assert not block.hold_token_matches("")
        assert session.seats_taken == 0 and session.price == Decimal("65.00") and session.name == "Stretching class"

    def test_a_class_blocks_a_one_to_one_booking_over_it(self, booking):
        new_class(booking, hour=10)
        with pytest.raises(SlotTaken):
            services.appointment_book(
                clinic=booking.clinic_a,
                therapist=booking.alice,
                service=booking.consult,
                start=local(booking, booking.monday, 10, 30),
                client=booking.client_a,
                actor=staff(booking),
            )

    def test_the_slot_engine_does_not_offer_the_class_time(self, booking):
        new_class(booking, hour=10)
        starts = {
            s.start
            for s in free_slots(
                clinic=booking.clinic_a, therapist=booking.alice, service=booking.consult, first_day=booking.monday, last_day=booking.monday
            )
        }
        assert local(booking, booking.monday, 10, 30) not in starts
        assert local(booking, booking.monday, 12) in starts

    def test_a_one_to_one_booking_blocks_an_overlapping_class(self, booking):
        services.appointment_book(
            clinic=booking.clinic_a,
            therapist=booking.alice,
            service=booking.consult,
            start=local(booking, booking.monday, 10, 30),
            client=booking.client_a,
            actor=staff(booking),
        )
        with pytest.raises(classes.ClassConflict, match="already booked"):
            new_class(booking, hour=10)
        assert not ClassSession.objects.exists()
        assert Appointment.objects.filter(status=AppointmentStatus.HELD).count() == 0  # rolled back whole

    def test_a_class_blocks_its_room_for_another_class(self, booking):
        room = Room.objects.create(clinic=booking.clinic_a, name="Studio")
        new_class(booking, hour=10, room=room)
        with pytest.raises(classes.ClassConflict, match="room"):
            classes.class_create(
                clinic=booking.clinic_a,
                therapist=booking.olivia,
                service=booking.session60,
                start=local(booking, booking.monday, 10),
                duration_minutes=45,
                capacity=4,
                room=room,
                actor=staff(booking),
            )

    def test_rules_capacity_and_past_time_and_other_clinic(self, booking):
        with pytest.raises(classes.BookingError, match="between 2 and 50"):
            new_class(booking, capacity=1)
        with pytest.raises(classes.BookingError, match="between 2 and 50"):
            new_class(booking, capacity=51)
        with pytest.raises(classes.BookingError, match="passed"):
            classes.class_create(
                clinic=booking.clinic_a, therapist=booking.alice, service=booking.session60,
                start=timezone.now() - timedelta(hours=1), duration_minutes=60, capacity=3, actor=staff(booking),
            )  # fmt: skip
        with pytest.raises(classes.BookingError, match="not a therapist"):
            classes.class_create(
                clinic=booking.clinic_a, therapist=booking.charlie, service=booking.session60,
                start=local(booking, booking.monday, 10), duration_minutes=60, capacity=3, actor=staff(booking),
            )  # fmt: skip


# --- Seats ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
class SeatTests:
    def test_seats_fill_up_and_the_next_one_is_told_the_class_is_full(self, booking):
        session = new_class(booking, capacity=2)
        one, two, three = (portal_client(booking, i) for i in range(3))
        classes.seat_book(class_session=session, client=one, actor=Actor(user=one.portal_user))
        classes.seat_book(class_session=session, client=two, actor=staff(booking))
        with pytest.raises(classes.ClassFull, match="full: all 2 seats are taken"):
            classes.seat_book(class_session=session, client=three, actor=Actor(user=three.portal_user))
        session.refresh_from_db()
        assert session.seats_taken == 2 and session.is_full

    def test_one_client_gets_one_seat(self, booking):
        session = new_class(booking)
        client = portal_client(booking, 1)
        classes.seat_book(class_session=session, client=client, actor=Actor(user=client.portal_user))
        with pytest.raises(classes.AlreadySeated):
            classes.seat_book(class_session=session, client=client, actor=Actor(user=client.portal_user))
        session.refresh_from_db()
        assert session.seats_taken == 1

    def test_a_client_cannot_book_for_someone_else_or_across_clinics(self, booking):
        session = new_class(booking)
        mine, theirs = portal_client(booking, 1), portal_client(booking, 2)
        with pytest.raises(classes.BookingError, match="only for yourself"):
            classes.seat_book(class_session=session, client=theirs, actor=Actor(user=mine.portal_user))
        with pytest.raises(classes.BookingError, match="not a client of this clinic"):
            classes.seat_book(class_session=session, client=booking.client_b, actor=staff(booking))

    def test_cancelling_a_seat_frees_it_and_the_client_may_book_again(self, booking):
        session = new_class(booking, capacity=2)
        client = portal_client(booking, 1)
        seat = classes.seat_book(class_session=session, client=client, actor=Actor(user=client.portal_user))
        classes.seat_cancel(seat=seat, actor=Actor(user=client.portal_user))
        session.refresh_from_db()
        assert session.seats_taken == 0
        with pytest.raises(classes.ClassStateChanged):
            classes.seat_cancel(seat=seat, actor=Actor(user=client.portal_user))
        again = classes.seat_book(class_session=session, client=client, actor=Actor(user=client.portal_user))
        assert again.pk != seat.pk and ClassSeat.objects.filter(client=client).count() == 2

    def test_cancelling_the_class_cancels_every_seat_frees_the_time_and_mails_each_client_once(
        self, booking, django_capture_on_commit_callbacks
    ):
        session = new_class(booking, capacity=3)
        seated = [portal_client(booking, i) for i in range(2)]
        for c in seated:
            with django_capture_on_commit_callbacks(execute=True):
                classes.seat_book(class_session=session, client=c, actor=staff(booking))
        assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in seated)
        assert "You have a seat in Stretching class" in mail.outbox[0].body
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            classes.class_cancel(class_session=session, actor=staff(booking))
        session.refresh_from_db()
        assert session.status == ClassStatus.CANCELLED and session.seats_taken == 0
        assert set(session.seats.values_list("status", flat=True)) == {SeatStatus.CANCELLED}
        assert Appointment.objects.get(pk=session.block_id).status == AppointmentStatus.EXPIRED
        assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in seated)
        assert "cancelled" in mail.outbox[0].body
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(classes.ClassStateChanged):
            classes.class_cancel(class_session=session, actor=staff(booking))
        assert len(mail.outbox) == 2
        with pytest.raises(classes.ClassStateChanged, match="cancelled"):
            classes.seat_book(class_session=session, client=portal_client(booking, 9), actor=staff(booking))
        # The time is free again for a 1:1 booking.
        services.appointment_book(
            clinic=booking.clinic_a, therapist=booking.alice, service=booking.consult,
            start=local(booking, booking.monday, 10), client=booking.client_a, actor=staff(booking),
        )  # fmt: skip

    def test_the_database_refuses_more_seats_than_capacity(self, booking):
        from django.db import IntegrityError, transaction

        session = new_class(booking, capacity=2)
        with pytest.raises(IntegrityError), transaction.atomic():
            ClassSession.objects.filter(pk=session.pk).update(seats_taken=3)


# --- Races -------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
class SeatRaceTests:
    def test_eight_clients_racing_for_three_seats_get_exactly_three(self, booking):
        session = new_class(booking, capacity=3)
        clients = [portal_client(booking, i) for i in range(8)]

        def book(i: int) -> str:
            try:
                classes.seat_book(class_session=session, client=clients[i], actor=Actor(user=clients[i].portal_user))
            except classes.ClassFull:
                return "full"
            return "booked"

        results = _race(book, 8)
        assert results.count("booked") == 3 and results.count("full") == 5
        session.refresh_from_db()
        assert session.seats_taken == 3
        assert ClassSeat.objects.filter(class_session=session, status=SeatStatus.BOOKED).count() == 3

    def test_one_client_twice_at_once_gets_one_seat(self, booking):
        session = new_class(booking, capacity=5)
        client = portal_client(booking, 1)

        def book(i: int) -> str:
            try:
                classes.seat_book(class_session=session, client=client, actor=Actor(user=client.portal_user))
            except classes.AlreadySeated:
                return "already"
            return "booked"

        results = _race(book, 4)
        assert results.count("booked") == 1 and results.count("already") == 3
        session.refresh_from_db()
        assert session.seats_taken == 1
        assert ClassSeat.objects.filter(class_session=session, status=SeatStatus.BOOKED).count() == 1

    def test_a_class_and_a_one_to_one_booking_racing_for_one_time_let_one_through(self, booking):
        def attempt(i: int) -> str:
            try:
                if i == 0:
                    new_class(booking, hour=14)
                else:
                    services.appointment_book(
                        clinic=booking.clinic_a, therapist=booking.alice, service=booking.consult,
                        start=local(booking, booking.monday, 14, 15), client=booking.client_a, actor=staff(booking),
                    )  # fmt: skip
            except (classes.ClassConflict, SlotTaken):
                return "refused"
            return "ok"

        results = _race(attempt, 2)
        assert sorted(results) == ["ok", "refused"]


# --- Pages ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
class PageTests:
    def test_the_desk_creates_a_class_and_sees_it_listed(self, booking, as_user):
        http = as_user(booking.bob)
        assert "No upcoming classes." in http.get("/schedule/classes/").content.decode()
        form = http.get("/schedule/classes/new/").content.decode()
        assert 'for="id_capacity"' in form and "Europe/London time" in form
        page = http.post(
            "/schedule/classes/new/",
            {
                "name": "Morning stretch", "service": booking.session60.pk, "therapist": booking.alice.pk,
                "date": booking.monday.isoformat(), "time": "10:00", "duration_minutes": 45, "capacity": 6,
            },
        )  # fmt: skip
        assert page.status_code == 302
        session = ClassSession.objects.get()
        assert session.capacity == 6 and session.duration_minutes == 45
        listing = http.get("/schedule/classes/").content.decode()
        assert "Morning stretch" in listing and "0 / 6" in listing

    def test_the_desk_form_shows_a_clash(self, booking, as_user):
        new_class(booking, hour=10)
        http = as_user(booking.bob)
        page = http.post(
            "/schedule/classes/new/",
            {
                "service": booking.session60.pk, "therapist": booking.alice.pk, "date": booking.monday.isoformat(),
                "time": "10:30", "duration_minutes": 30, "capacity": 4,
            },
        )  # fmt: skip
        assert page.status_code == 422 and "already booked at that time" in page.content.decode()

    def test_the_desk_adds_a_client_by_search_and_cancels_the_seat(self, booking, as_user):
        session = new_class(booking)
        http = as_user(booking.bob)
        found = http.get(f"/schedule/classes/{session.pk}/?q=Ada").content.decode()
        assert "Ada Lovelace" in found
        assert http.post(f"/schedule/classes/{session.pk}/", {"client": booking.client_a.pk}).status_code == 302
        seat = ClassSeat.objects.get(class_session=session)
        assert "Ada Lovelace" in http.get(f"/schedule/classes/{session.pk}/").content.decode()
        again = http.post(f"/schedule/classes/{session.pk}/", {"client": booking.client_a.pk})
        assert again.status_code == 409 and "already has a seat" in again.content.decode()
        assert http.post(f"/classes/{session.pk}/seats/{seat.pk}/cancel/").status_code == 302
        seat.refresh_from_db()
        assert seat.status == SeatStatus.CANCELLED

    def test_the_schedule_and_the_calendar_show_the_class_as_a_class(self, booking, as_user):
        session = new_class(booking, hour=10)
        http = as_user(booking.bob)
        day = http.get(f"/schedule/?date={booking.monday.isoformat()}").content.decode()
        assert "Class: Stretching class" in day and f"/schedule/classes/{session.pk}/" in day
        assert "/schedule/classes/" in day  # the desk's link to the classes list
        grid = http.get(f"/schedule/calendar/?view=week&date={booking.monday.isoformat()}&therapist=").content.decode()
        assert "Class: Stretching class" in grid and f'href="/schedule/classes/{session.pk}/"' in grid and "0 of 3 seats" in grid
        assert "Being booked online" not in grid.split('class="cal-legend', 1)[-1].split("</ul>", 1)[-1]  # only in the key

    def test_the_full_message_is_shown_on_the_desk(self, booking, as_user):
        session = new_class(booking, capacity=2)
        for i in range(2):
            classes.seat_book(class_session=session, client=portal_client(booking, i), actor=staff(booking))
        page = as_user(booking.bob).get(f"/schedule/classes/{session.pk}/").content.decode()
        assert "The class is full" in page

    def test_another_clinics_staff_get_404s(self, booking, as_user):
        session = new_class(booking)
        seat = classes.seat_book(class_session=session, client=booking.client_a, actor=staff(booking))
        http = as_user(booking.charlie)
        assert http.get(f"/schedule/classes/{session.pk}/").status_code == 404
        assert http.post(f"/schedule/classes/{session.pk}/cancel/").status_code == 404
        assert http.post(f"/classes/{session.pk}/seats/{seat.pk}/cancel/").status_code == 404
        assert http.post(f"/classes/{session.pk}/book/").status_code == 404

    def test_a_client_books_from_the_public_list_sees_it_and_cancels(self, booking, as_user):
        session = new_class(booking)
        client = portal_client(booking, 1)
        anonymous = HttpClient().get(f"/book/{booking.clinic_a.slug}/classes/").content.decode()
        assert "Stretching class" in anonymous and "Sign in" in anonymous
        http = as_user(client.portal_user)
        fragment = http.get(f"/book/{booking.clinic_a.slug}/classes/", headers={"HX-Request": "true"}).content.decode()
        assert "Book a seat" in fragment and "<html" not in fragment
        assert http.post(f"/classes/{session.pk}/book/").status_code == 302
        mine = http.get("/appointments/classes/").content.decode()
        assert "Stretching class" in mine and "Cancel my seat" in mine
        seat = ClassSeat.objects.get(client=client)
        assert http.post(f"/classes/{session.pk}/seats/{seat.pk}/cancel/").status_code == 302
        assert "No upcoming classes" in http.get("/appointments/classes/").content.decode()

    def test_the_booking_page_and_my_appointments_link_to_classes(self, booking, as_user):
        client = portal_client(booking, 1)
        assert f"/book/{booking.clinic_a.slug}/classes/" in HttpClient().get(f"/book/{booking.clinic_a.slug}/").content.decode()
        assert "/appointments/classes/" in as_user(client.portal_user).get("/appointments/").content.decode()

    def test_a_full_class_is_refused_with_a_message_to_the_client(self, booking, as_user):
        session = new_class(booking, capacity=2)
        for i in range(2):
            classes.seat_book(class_session=session, client=portal_client(booking, i), actor=staff(booking))
        client = portal_client(booking, 5)
        page = as_user(client.portal_user).post(f"/classes/{session.pk}/book/", follow=True)
        assert "This class is full" in page.content.decode()
        assert not ClassSeat.objects.filter(client=client).exists()


# --- API -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
class ApiTests:
    def body(self, booking, **kw):
        return {
            "therapist": booking.alice.pk, "service": booking.session60.pk,
            "start": local(booking, booking.monday, 10).isoformat(), "duration_minutes": 60, "capacity": 3, **kw,
        }  # fmt: skip

    def test_staff_create_list_and_read_a_class(self, booking, as_user):
        http = as_user(booking.bob)
        made = http.post("/api/classes", self.body(booking, name="Yoga for backs"), content_type="application/json")
        assert made.status_code == 201, made.content
        data = made.json()
        assert data["capacity"] == 3 and data["seats_free"] == 3 and data["name"] == "Yoga for backs"
        listed = http.get("/api/classes").json()
        assert listed["count"] == 1 and listed["items"][0]["id"] == data["id"]
        assert http.get(f"/api/classes/{data['id']}").json()["seats"] == []

    def test_create_statuses(self, booking, as_user):
        http = as_user(booking.bob)
        assert http.post("/api/classes", self.body(booking, capacity=1), content_type="application/json").status_code == 400
        assert http.post("/api/classes", self.body(booking, extra=1), content_type="application/json").status_code == 400
        assert (
            http.post("/api/classes", self.body(booking, service=booking.session60.pk + 999), content_type="application/json").status_code
            == 404
        )
        past = self.body(booking, start=(timezone.now() - timedelta(days=1)).isoformat())
        assert http.post("/api/classes", past, content_type="application/json").status_code == 422
        assert http.post("/api/classes", self.body(booking), content_type="application/json").status_code == 201
        clash = http.post("/api/classes", self.body(booking), content_type="application/json")
        assert clash.status_code == 409 and clash.json()["error"]["code"] == "time_taken"
        assert HttpClient().post("/api/classes", self.body(booking), content_type="application/json").status_code == 401
        client = portal_client(booking, 1)
        assert as_user(client.portal_user).post("/api/classes", self.body(booking), content_type="application/json").status_code == 403

    def test_seats_through_the_api_with_idempotency_full_and_cancel(self, booking, as_user):
        session = new_class(booking, capacity=2)
        one, two, three = (portal_client(booking, i) for i in range(3))
        http = HttpClient()
        http.force_login(one.portal_user)
        url = f"/api/classes/{session.pk}/seats"
        first = http.post(url, {}, content_type="application/json", headers={"Idempotency-Key": "seat-1"})
        retry = http.post(url, {}, content_type="application/json", headers={"Idempotency-Key": "seat-1"})
        assert first.status_code == retry.status_code == 201 and first.json() == retry.json()
        dup = http.post(url, {}, content_type="application/json")
        assert dup.status_code == 409 and dup.json()["error"]["code"] == "already_booked"
        assert http.post(url, {"client": two.pk}, content_type="application/json").status_code == 403
        desk = as_user(booking.bob)
        assert desk.post(url, {"client": two.pk}, content_type="application/json").status_code == 201
        assert desk.post(url, {}, content_type="application/json").status_code == 400
        full = desk.post(url, {"client": three.pk}, content_type="application/json")
        assert full.status_code == 409 and full.json()["error"]["code"] == "class_full"
        assert "full" in full.json()["error"]["message"]
        mine = http.get(f"/api/classes/{session.pk}").json()
        assert [s["client"] for s in mine["seats"]] == [one.pk]
        seat_id = first.json()["id"]
        assert http.delete(f"/api/classes/{session.pk}/seats/{seat_id}").status_code == 200
        assert http.delete(f"/api/classes/{session.pk}/seats/{seat_id}").status_code == 409

    def test_another_clinic_gets_404_everywhere(self, booking, as_user):
        session = new_class(booking)
        seat = classes.seat_book(class_session=session, client=booking.client_a, actor=staff(booking))
        http = as_user(booking.charlie)
        assert http.get(f"/api/classes/{session.pk}").status_code == 404
        assert (
            http.post(f"/api/classes/{session.pk}/seats", {"client": booking.client_a.pk}, content_type="application/json").status_code
            == 404
        )
        assert http.delete(f"/api/classes/{session.pk}/seats/{seat.pk}").status_code == 404
        assert http.get("/api/classes").json()["count"] == 0
        stranger = make_user("stranger@mail.example", mfa=False)
        assert as_user(stranger).get(f"/api/classes/{session.pk}").status_code == 404

    def test_the_operations_document_their_statuses(self, booking):
        schema = HttpClient().get("/api/openapi.json").json()
        seats = schema["paths"]["/api/classes/{class_id}/seats"]["post"]["responses"]
        assert {"201", "400", "401", "403", "404", "409", "422"} <= {str(k) for k in seats}
