"""Video rooms: who may sit in a call, the room pass, the time window, the waiting room and the
signalling messages (tests/browser/test_video.py connects two real browsers)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient
from django.urls import reverse

from knotwork.accounts.models import Role
from knotwork.audit.models import AuditEvent
from knotwork.bookings.models import AppointmentStatus, Service
from knotwork.lib.testing import make_client, make_staff, make_user
from knotwork.video import tokens
from knotwork.video.ice import parse_ice_servers
from knotwork.video.models import MAX_PAYLOAD_BYTES, Participant, Signal, VideoRoom
from knotwork.video.services import signals_purge
from tests.video.conftest import make_video_appointment

pytestmark = pytest.mark.django_db

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"}


class Caller:
    """One signed-in browser: opens the room page, keeps its pass, makes the page's calls."""

    def __init__(self, user, appointment):
        self.http = HttpClient()
        self.http.force_login(user)
        self.appointment = appointment
        self.room_pass = ""
        self.room_id = ""

    def open(self):
        response = self.http.get(reverse("video_room", args=[self.appointment.pk]))
        found = re.search(r'data-pass="([^"]+)"', response.content.decode())
        if found:
            self.room_pass = found.group(1)
            self.room_id = VideoRoom.objects.get(appointment=self.appointment).room_id
        return response

    def _url(self, name):
        return reverse(name, args=[self.room_id])

    def post(self, name, body=None, *, raw=None, room_pass=None):
        data = raw if raw is not None else json.dumps(body or {})
        return self.http.post(
            self._url(name),
            data=data,
            content_type="application/json",
            headers={"X-Room-Pass": self.room_pass if room_pass is None else room_pass},
        )

    def get(self, after=0, *, room_pass=None):
        return self.http.get(
            self._url("video_signals"), {"after": after}, headers={"X-Room-Pass": self.room_pass if room_pass is None else room_pass}
        )

    def send(self, kind, payload=None):
        return self.post("video_signals", {"kind": kind, "payload": payload or {}})


@pytest.fixture
def therapist(call):
    return Caller(call.alice, call.appointment)


@pytest.fixture
def client_(call):
    return Caller(call.ada, call.appointment)


def in_call(therapist, client_):
    therapist.open(), client_.open()
    therapist.post("video_join"), client_.post("video_join")
    assert therapist.post("video_admit").status_code == 200


class WhoMayJoinTests:
    def test_the_therapist_and_the_client_both_get_the_room_and_one_room_is_made(self, therapist, client_):
        assert therapist.open().status_code == 200
        page = client_.open()
        assert page.status_code == 200
        assert b"This call is not recorded" in page.content
        assert VideoRoom.objects.count() == 1
        assert len(VideoRoom.objects.get().room_id) >= 32
        assert page["Permissions-Policy"].startswith("camera=(self), microphone=(self)")
        assert "mediastream:" in page["Content-Security-Policy"]

    @pytest.mark.parametrize("who", ["bob", "olivia", "charlie", "another_client", "another_therapist"])
    def test_anyone_else_gets_404_and_no_room_is_made(self, call, who):
        others = {
            "bob": call.bob,  # front desk of the same clinic: no clinical access, no seat
            "olivia": call.olivia,  # the clinic's owner, not this appointment's therapist
            "charlie": call.charlie,
            "another_client": make_user("eve@mail.example", mfa=False),
            "another_therapist": make_staff("tess@a.example", call.clinic_a, Role.THERAPIST),
        }
        make_client(call.clinic_a, portal_user=others["another_client"])
        http = HttpClient()
        http.force_login(others[who])
        assert http.get(reverse("video_room", args=[call.appointment.pk])).status_code == 404
        assert not VideoRoom.objects.exists()

    def test_a_third_user_cannot_use_an_open_room_even_with_its_id_and_a_participants_pass(self, call, therapist, client_):
        in_call(therapist, client_)
        for intruder in (call.bob, call.charlie, make_user("eve@mail.example", mfa=False)):
            http = HttpClient()
            http.force_login(intruder)
            headers = {"X-Room-Pass": client_.room_pass}
            assert http.get(reverse("video_signals", args=[client_.room_id]), headers=headers).status_code == 404
            response = http.post(
                reverse("video_signals", args=[client_.room_id]), data='{"kind": "bye"}', content_type="application/json", headers=headers
            )
            assert response.status_code == 404
        assert Participant.objects.get(seat="client").state == "admitted"

    def test_an_unknown_room_is_404_and_anonymous_callers_401(self, therapist, client_):
        therapist.open()
        assert therapist.http.get(reverse("video_signals", args=["nope"])).status_code == 404
        anonymous = HttpClient().get(reverse("video_signals", args=[therapist.room_id]), headers={"X-Room-Pass": therapist.room_pass})
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "not_signed_in"

    def test_an_in_person_appointment_has_no_room(self, call, client_):
        Service.objects.filter(pk=call.appointment.service_id).update(mode=Service.Mode.IN_PERSON)
        page = client_.open()
        assert page.status_code == 200
        assert b"This appointment is in person" in page.content
        assert not VideoRoom.objects.exists()

    def test_the_join_link_shows_to_the_two_participants_only(self, call):
        url = reverse("video_room", args=[call.appointment.pk]).encode()
        detail = reverse("appointment_detail", args=[call.appointment.pk])
        for user, shown in ((call.alice, True), (call.ada, True), (call.bob, False), (call.olivia, False)):
            http = HttpClient()
            http.force_login(user)
            assert (url in http.get(detail).content) is shown, user
        http = HttpClient()
        http.force_login(call.ada)
        assert url in http.get(reverse("my_appointments")).content


class PassTests:
    def test_every_call_needs_the_pass_of_this_user_and_seat(self, call, therapist, client_):
        therapist.open(), client_.open()
        assert client_.post("video_join", room_pass="").status_code == 403
        # alice's pass is no good in Ada's hands, and a pass for another room is no good here.
        assert client_.post("video_join", room_pass=therapist.room_pass).json()["error"]["code"] == "pass_invalid"
        other = tokens.room_pass(room_id="elsewhere", user_id=call.ada.pk, seat="client")
        assert client_.post("video_join", room_pass=other).status_code == 403
        assert client_.post("video_join").status_code == 200

    def test_an_expired_pass_is_403_with_a_clear_message(self, call, therapist):
        therapist.open()
        old = tokens.room_pass(
            room_id=therapist.room_id,
            user_id=call.alice.pk,
            seat="therapist",
            issued_at=therapist.appointment.starts_at - tokens.PASS_MAX_AGE - timedelta(minutes=10),
        )
        response = therapist.get(room_pass=old)
        assert response.status_code == 403
        assert response.json()["error"] == {
            "code": "pass_expired",
            "message": "Your pass for this call has expired. Reload the page to rejoin.",
            "fields": {},
        }


class WindowTests:
    @pytest.mark.parametrize(
        ("starts_in", "shown"),
        [(timedelta(minutes=16), "The room is not open yet"), (timedelta(minutes=-61), "This call has ended")],
    )
    def test_outside_the_window_the_page_says_when_it_opens_or_that_it_ended(self, call, starts_in, shown):
        tess = make_staff("tess@a.example", call.clinic_a, Role.THERAPIST)
        appointment = make_video_appointment(call.clinic_a, tess, call.client_a, starts_in=starts_in)
        page = Caller(call.ada, appointment).open()
        assert page.status_code == 200
        assert shown.encode() in page.content
        assert not VideoRoom.objects.filter(appointment=appointment).exists()

    def test_the_room_is_open_from_15_minutes_before_until_30_minutes_after(self, call):
        tess, theo = (make_staff(f"{n}@a.example", call.clinic_a, Role.THERAPIST) for n in ("tess", "theo"))
        soon = make_video_appointment(call.clinic_a, tess, call.client_a, starts_in=timedelta(minutes=14))
        late = make_video_appointment(call.clinic_a, theo, call.client_a, starts_in=timedelta(minutes=-59))  # ended 29 min ago
        for appointment in (soon, late):
            assert b"data-pass=" in Caller(call.ada, appointment).open().content

    def test_a_cancelled_appointment_does_not_open_and_its_open_room_closes(self, call, therapist, client_):
        in_call(therapist, client_)
        call.appointment.status = AppointmentStatus.CANCELLED
        call.appointment.save(update_fields=["status"])
        assert b"This appointment is cancelled" in client_.open().content
        response = client_.send("offer", OFFER)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "room_closed"


class WaitingRoomTests:
    def test_the_client_waits_until_the_therapist_admits_them(self, therapist, client_):
        therapist.open(), client_.open()
        joined = therapist.post("video_join").json()
        assert {k: joined[k] for k in ("seat", "after", "me", "peer")} == {
            "seat": "therapist",
            "after": 0,
            "me": "admitted",
            "peer": "absent",
        }
        joined = client_.post("video_join").json()
        assert (joined["me"], joined["peer"]) == ("waiting", "admitted")
        assert therapist.get().json()["peer"] == "waiting"
        # Nothing but a hang-up flows before the admit.
        assert client_.send("offer", OFFER).json()["error"]["code"] == "not_admitted"
        assert client_.post("video_admit").status_code == 403
        assert therapist.post("video_admit").json() == {"me": "admitted", "peer": "admitted"}
        assert client_.get().json()["me"] == "admitted"
        assert client_.send("offer", OFFER).status_code == 201

    def test_joining_and_admitting_are_audited(self, therapist, client_):
        in_call(therapist, client_)
        events = AuditEvent.objects.filter(object_type="bookings.appointment", object_id=str(therapist.appointment.pk))
        assert sorted((e.action, e.detail["video"], e.role) for e in events) == [
            ("accept", "admit", "therapist"),
            ("view", "join", "client"),
            ("view", "join", "therapist"),
        ]

    def test_admitting_with_nobody_waiting_is_a_409(self, therapist):
        therapist.open()
        therapist.post("video_join")
        response = therapist.post("video_admit")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "nobody_waiting"

    def test_a_client_who_left_waits_again_on_rejoining(self, therapist, client_):
        in_call(therapist, client_)
        assert client_.send("bye").status_code == 201
        assert therapist.get().json()["peer"] == "left"
        assert client_.post("video_join").json()["me"] == "waiting"


class SignallingTests:
    def test_each_side_reads_the_others_messages_in_order_after_an_id(self, therapist, client_):
        in_call(therapist, client_)
        ids = [
            client_.send(kind, payload).json()["id"]
            for kind, payload in [("offer", OFFER), ("candidate", {"candidate": "a"}), ("candidate", {"candidate": "b"})]
        ]
        therapist.send("answer", {"type": "answer", "sdp": "v=0"})
        read = therapist.get().json()["signals"]
        assert [(s["id"], s["kind"]) for s in read] == list(zip(ids, ["offer", "candidate", "candidate"], strict=True))
        assert read[0]["payload"] == OFFER
        assert [s["payload"]["candidate"] for s in therapist.get(after=ids[0]).json()["signals"]] == ["a", "b"]
        assert therapist.get(after=ids[-1]).json()["signals"] == []
        assert [s["kind"] for s in client_.get().json()["signals"]] == ["answer"]

    def test_a_reloaded_pages_late_goodbye_does_not_end_the_new_pages_call(self, therapist, client_):
        in_call(therapist, client_)
        old_page = client_.post("video_join").json()["joined"]
        new_page = client_.post("video_join").json()["joined"]
        assert old_page != new_page
        response = client_.send("bye", {"joined": old_page})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "stale_page"
        assert therapist.get().json()["peer"] == "admitted"
        assert client_.send("bye", {"joined": new_page}).status_code == 201
        assert therapist.get().json()["peer"] == "left"

    def test_a_poll_costs_the_same_number_of_queries_however_many_messages_wait(self, therapist, client_):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        in_call(therapist, client_)
        client_.send("offer", OFFER)
        with CaptureQueriesContext(connection) as one:
            assert len(therapist.get().json()["signals"]) == 1
        for n in range(20):
            client_.send("candidate", {"candidate": str(n)})
        with CaptureQueriesContext(connection) as many:
            assert len(therapist.get().json()["signals"]) == 21
        assert len(many) == len(one) <= 10

    def test_a_rejoining_page_does_not_replay_old_messages(self, therapist, client_):
        in_call(therapist, client_)
        client_.send("offer", OFFER)
        therapist_last = therapist.send("answer", {"type": "answer", "sdp": "v=0"}).json()["id"]
        rejoined = client_.post("video_join").json()
        assert rejoined["after"] >= therapist_last
        assert rejoined["me"] == "admitted"  # a reload does not send the client back to the waiting room
        assert therapist.get().json()["signals"] == []  # the client's stale offer is gone

    @pytest.mark.parametrize(
        ("raw", "code"),
        [
            ("{not json", "bad_json"),
            ("[1, 2]", "bad_kind"),
            ('{"kind": "hello"}', "bad_kind"),
            ('{"kind": "offer", "payload": "sdp"}', "bad_payload"),
            ('{"kind": "offer", "payload": {"sdp": "a\\u0000b"}}', None),
        ],
    )
    def test_bad_messages_are_400s(self, therapist, client_, raw, code):
        in_call(therapist, client_)
        response = client_.post("video_signals", raw=raw)
        assert response.status_code == 400
        if code:
            assert response.json()["error"]["code"] == code
        assert not Signal.objects.exists()

    def test_a_bad_after_is_a_400(self, therapist, client_):
        in_call(therapist, client_)
        assert therapist.get(after="x").status_code == 400
        assert therapist.get(after=-1).status_code == 400

    def test_a_message_over_the_size_limit_is_refused(self, therapist, client_):
        in_call(therapist, client_)
        big = {"type": "offer", "sdp": "a" * MAX_PAYLOAD_BYTES}
        response = client_.send("offer", big)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"
        assert client_.send("offer", {"type": "offer", "sdp": "a" * (MAX_PAYLOAD_BYTES - 100)}).status_code == 201

    def test_when_both_hang_up_the_messages_are_deleted(self, therapist, client_):
        in_call(therapist, client_)
        client_.send("offer", OFFER)
        therapist.send("bye")
        assert Signal.objects.count() == 2
        client_.send("bye")
        assert not Signal.objects.exists()
        assert VideoRoom.objects.get().closed_at is not None

    def test_messages_of_rooms_past_their_window_are_purged(self, call, therapist, client_):
        in_call(therapist, client_)
        client_.send("offer", OFFER)
        assert signals_purge(now=call.appointment.ends_at + timedelta(minutes=29)) == 0
        assert signals_purge(now=call.appointment.ends_at + timedelta(minutes=31)) == 1
        call_command("video_purge")


class IceServerSettingTests:
    def test_valid_servers_are_passed_on(self):
        turn = {"urls": ["turn:turn.example.org:3478?transport=udp"], "username": "u", "credential": "c"}
        raw = json.dumps([{"urls": "stun:stun.example.org:3478"}, turn])
        assert parse_ice_servers(raw) == [{"urls": ["stun:stun.example.org:3478"]}, turn]
        assert parse_ice_servers("") == []

    @pytest.mark.parametrize("raw", ["{", '{"urls": "stun:x"}', '[{"urls": "http://x"}]', '[{"urls": "turn:x"}]', "[1]"])
    def test_a_bad_value_names_the_variable(self, raw):
        from django.core.exceptions import ImproperlyConfigured

        with pytest.raises(ImproperlyConfigured, match="WEBRTC_ICE_SERVERS"):
            parse_ice_servers(raw)
