"""The bookings API: public slots, holds, idempotent bookings, cancel and move, and who may do what."""

from __future__ import annotations

import pytest

from knotwork.bookings.models import Appointment, AppointmentStatus, IdempotencyRecord
from knotwork.lib.testing import make_user
from tests.bookings.conftest import local

pytestmark = pytest.mark.django_db


def _slots_url(world, day):
    return f"/api/bookings/slots?therapist={world.alice.pk}&service={world.consult.pk}&start={day}&end={day}"


def _direct(world, hour=10, minute=0, service=None):
    return {
        "therapist": world.alice.pk,
        "service": (service or world.consult).pk,
        "start": local(world, world.monday, hour, minute).isoformat(),
        "client": world.client_a.pk,
    }


class SlotsApiTests:
    def test_anyone_can_list_free_slots_and_the_answer_names_no_one(self, client, booking):
        response = client.get(_slots_url(booking, booking.monday))
        assert response.status_code == 200
        data = response.json()
        assert data["time_zone"] == "Europe/London" and len(data["slots"]) == 32  # 09:00–16:45 every 15 minutes
        assert "alice" not in response.content.decode().lower() and "Ada" not in response.content.decode()

    def test_taken_time_disappears_from_the_slots(self, as_user, client, booking):
        as_user(booking.alice).post("/api/bookings", _direct(booking), content_type="application/json")
        client.logout()
        starts = [s["start"] for s in client.get(_slots_url(booking, booking.monday)).json()["slots"]]
        assert local(booking, booking.monday, 10).isoformat() not in starts

    def test_bad_ranges_and_unknown_ids_are_clear_errors(self, client, booking):
        assert (
            client.get(
                f"/api/bookings/slots?therapist={booking.alice.pk}&service={booking.consult.pk}&start=2026-01-10&end=2026-01-01"
            ).status_code
            == 400
        )
        assert (
            client.get(
                f"/api/bookings/slots?therapist={booking.charlie.pk}&service={booking.consult.pk}&start=2026-01-01&end=2026-01-02"
            ).status_code
            == 404
        )
        assert (
            client.get(
                f"/api/bookings/slots?therapist={booking.alice.pk}&service={booking.staff_only.pk}&start=2026-01-01&end=2026-01-02"
            ).status_code
            == 404
        )
        assert client.get("/api/bookings/slots?therapist=x").status_code == 400


class BookingApiTests:
    def test_holds_and_bookings_need_a_signed_in_caller(self, client, booking):
        assert client.post("/api/bookings/holds", {}, content_type="application/json").status_code == 401
        assert client.post("/api/bookings", _direct(booking), content_type="application/json").status_code == 401
        assert not Appointment.objects.exists()

    def test_a_signed_in_client_holds_then_confirms_for_their_own_record(self, as_user, booking):
        user = make_user("ada@mail.example", mfa=False)
        booking.client_a.portal_user = user
        booking.client_a.save()
        api = as_user(user)
        hold = api.post(
            "/api/bookings/holds",
            {"therapist": booking.alice.pk, "service": booking.consult.pk, "start": local(booking, booking.monday, 10).isoformat()},
            content_type="application/json",
        )
        assert hold.status_code == 201
        done = api.post("/api/bookings", {"hold": hold.json()["id"], "hold_token": hold.json()["token"]}, content_type="application/json")
        assert done.status_code == 201 and done.json()["status"] == "confirmed" and done.json()["client"] == booking.client_a.pk

    def test_a_retried_request_with_the_same_key_returns_the_first_answer_and_books_nothing_new(self, as_user, booking):
        api = as_user(booking.bob)  # front desk books for anyone in the clinic
        first = api.post("/api/bookings", _direct(booking), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
        again = api.post("/api/bookings", _direct(booking), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        assert Appointment.objects.count() == 1 and IdempotencyRecord.objects.count() == 1

    def test_the_same_key_with_a_different_body_is_a_422(self, as_user, booking):
        api = as_user(booking.bob)
        api.post("/api/bookings", _direct(booking), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-2")
        other = api.post("/api/bookings", _direct(booking, hour=14), content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-2")
        assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
        assert Appointment.objects.count() == 1

    def test_an_overlap_is_a_409_with_the_nearest_free_slots(self, as_user, booking):
        api = as_user(booking.alice)
        api.post("/api/bookings", _direct(booking, service=booking.session60), content_type="application/json")
        clash = api.post("/api/bookings", _direct(booking, minute=30), content_type="application/json")
        assert clash.status_code == 409
        body = clash.json()
        assert body["error"]["code"] == "slot_taken" and len(body["nearest"]) == 5
        assert all(
            s["start"] >= local(booking, booking.monday, 11, 15).isoformat() or s["start"] < local(booking, booking.monday, 10).isoformat()
            for s in body["nearest"]
        )

    def test_cancel_and_move_work_for_the_clinic_and_are_idempotent(self, as_user, booking):
        api = as_user(booking.alice)
        made = api.post("/api/bookings", _direct(booking), content_type="application/json").json()
        moved = api.post(
            f"/api/bookings/{made['id']}/reschedule",
            {"start": local(booking, booking.monday, 15).isoformat()},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="m",
        )
        assert moved.status_code == 200 and moved.json()["start"] == local(booking, booking.monday, 15).isoformat()
        cancel = api.post(f"/api/bookings/{made['id']}/cancel", {}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="c")
        retry = api.post(f"/api/bookings/{made['id']}/cancel", {}, content_type="application/json", HTTP_IDEMPOTENCY_KEY="c")
        assert cancel.status_code == retry.status_code == 200 and retry.json()["status"] == "cancelled"

    def test_another_clinic_gets_404_and_changes_nothing(self, as_user, booking):
        made = as_user(booking.alice).post("/api/bookings", _direct(booking), content_type="application/json").json()
        api = as_user(booking.charlie)
        assert api.get(f"/api/bookings/{made['id']}").status_code == 404
        assert api.post(f"/api/bookings/{made['id']}/cancel", {}, content_type="application/json").status_code == 404
        assert (
            api.post(
                f"/api/bookings/{made['id']}/reschedule",
                {"start": local(booking, booking.monday, 15).isoformat()},
                content_type="application/json",
            ).status_code
            == 404
        )
        assert api.post("/api/bookings", _direct(booking), content_type="application/json").status_code in (404, 422)
        assert Appointment.objects.get(pk=made["id"]).status == AppointmentStatus.CONFIRMED
        assert Appointment.objects.count() == 1

    def test_extra_fields_are_rejected(self, as_user, booking):
        response = as_user(booking.alice).post(
            "/api/bookings", {**_direct(booking), "status": "completed"}, content_type="application/json"
        )
        assert response.status_code == 400
