"""Web Push: real encryption and VAPID signatures delivered over HTTP to a push service on
loopback (tests/pwa/push_peer.py), the person's choices and quiet hours, and the subscription
endpoints' validation."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from knotwork.lib.testing import make_user
from knotwork.pwa import push
from knotwork.pwa import tasks as push_tasks
from knotwork.pwa.models import NudgeLog, PushKind, PushPreferences, PushSubscription
from knotwork.pwa.services import subscription_save

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=LONDON)


def _subscribe(user, peer, name="phone"):
    device, endpoint = peer.new_device(name)
    info = device.subscription(endpoint)
    subscription, _ = subscription_save(user=user, endpoint=endpoint, p256dh=info["keys"]["p256dh"], auth=info["keys"]["auth"])
    return device, subscription


@pytest.fixture
def ada(world):
    user = make_user("ada@portal.example", mfa=False)
    world.client_a.portal_user = user
    world.client_a.save()
    PushPreferences.objects.create(user=user, time_zone="Europe/London")
    return user


class DeliveryTests:
    def test_the_payload_arrives_encrypted_for_the_device_and_signed_by_the_server(self, push_peer, ada):
        _subscribe(ada, push_peer)
        message = push.Message(PushKind.REMINDER, "Appointment at Clinic A", "You are booked for Friday at 10:00.", "/")
        assert push.send(ada, message, now=NOON) == 1
        [delivery] = push_peer.deliveries
        assert delivery.error == ""
        assert delivery.payload == {
            "title": "Appointment at Clinic A",
            "body": "You are booked for Friday at 10:00.",
            "url": "/",
            "tag": "reminder",
        }
        assert delivery.vapid_claims["aud"] == push_peer.base and delivery.vapid_claims["sub"] == "mailto:ops@knotwork.example"
        assert delivery.vapid_claims["exp"] > timezone.now().timestamp()
        assert int(delivery.headers["ttl"]) == push.TTL_SECONDS
        assert PushSubscription.objects.get().last_sent_at is not None

    def test_every_device_of_the_person_gets_it_and_nobody_else(self, push_peer, ada, world):
        _subscribe(ada, push_peer, "phone")
        _subscribe(ada, push_peer, "laptop")
        other = make_user("bea@portal.example", mfa=False)
        _subscribe(other, push_peer, "bea")
        assert push.send(ada, push.Message(PushKind.REMINDER, "t", "b", "/"), now=NOON) == 2
        assert sorted(d.path for d in push_peer.deliveries) == ["/push/laptop", "/push/phone"]

    def test_a_subscription_the_push_service_calls_gone_is_forgotten(self, push_peer, ada):
        _subscribe(ada, push_peer)
        push_peer.status["/push/phone"] = 410
        assert push.send(ada, push.Message(PushKind.REMINDER, "t", "b", "/"), now=NOON) == 0
        assert not PushSubscription.objects.exists()

    def test_repeated_failures_drop_the_subscription_after_the_limit(self, push_peer, ada):
        _, subscription = _subscribe(ada, push_peer)
        push_peer.status["/push/phone"] = 500
        for attempt in range(1, push.MAX_FAILURES):
            push.send(ada, push.Message(PushKind.REMINDER, "t", "b", "/"), now=NOON)
            assert PushSubscription.objects.get().failures == attempt
        push.send(ada, push.Message(PushKind.REMINDER, "t", "b", "/"), now=NOON)
        assert not PushSubscription.objects.exists()

    def test_nothing_is_sent_without_keys(self, push_peer, ada, settings):
        _subscribe(ada, push_peer)
        settings.WEB_PUSH_VAPID_PRIVATE_KEY = ""
        assert push.send(ada, push.Message(PushKind.REMINDER, "t", "b", "/"), now=NOON) == 0
        assert push_peer.deliveries == []


class ChoiceTests:
    def test_a_kind_turned_off_is_not_sent(self, push_peer, ada):
        _subscribe(ada, push_peer)
        PushPreferences.objects.filter(user=ada).update(checkins=False)
        assert push.send(ada, push.Message(PushKind.CHECKIN, "t", "b", "/"), now=NOON) == 0
        assert push.send(ada, push.Message(PushKind.REMINDER, "t", "b", "/"), now=NOON) == 1

    @pytest.mark.parametrize(
        ("start", "end", "at", "quiet"),
        [
            (time(21), time(8), time(22, 30), True),
            (time(21), time(8), time(7, 59), True),
            (time(21), time(8), time(8, 0), False),
            (time(21), time(8), time(20, 59), False),
            (time(13), time(14), time(13, 30), True),
            (time(13), time(14), time(14, 0), False),
            (time(9), time(9), time(9, 0), False),
        ],
    )
    def test_quiet_hours_are_read_in_the_persons_zone_and_may_cross_midnight(self, ada, start, end, at, quiet):
        prefs = PushPreferences.objects.get(user=ada)
        prefs.quiet_from, prefs.quiet_until = start, end
        local = datetime.combine(NOON.date(), at, tzinfo=LONDON)
        assert push.is_quiet(prefs, local.astimezone(ZoneInfo("UTC"))) is quiet

    def test_during_quiet_hours_nothing_goes_out(self, push_peer, ada):
        _subscribe(ada, push_peer)
        late = datetime(2026, 6, 10, 23, 0, tzinfo=LONDON)
        assert push.send(ada, push.Message(PushKind.REMINDER, "t", "b", "/"), now=late) == 0
        assert push_peer.deliveries == []


class EndpointTests:
    @pytest.mark.parametrize(
        ("endpoint", "ok"),
        [
            ("https://fcm.googleapis.com/fcm/send/abc", True),
            ("https://updates.push.services.mozilla.com/wpush/v2/abc", True),
            ("https://web.push.apple.com/abc", True),
            ("https://wns2-par02p.notify.windows.com/w/?token=abc", True),
            ("http://fcm.googleapis.com/fcm/send/abc", False),
            ("https://fcm.googleapis.com:8443/fcm/send/abc", False),
            ("https://evilfcm.googleapis.com.attacker.example/x", False),
            ("https://googleapis.com/x", False),
            ("https://169.254.169.254/latest/meta-data", False),
            ("https://user:pw@fcm.googleapis.com/x", False),
            ("http://127.0.0.1:9/x", False),
            ("javascript:alert(1)", False),
            ("https://[::1/", False),
        ],
    )
    def test_only_known_push_services_over_https_are_ever_called(self, endpoint, ok):
        assert push.endpoint_allowed(endpoint) is ok

    def _body(self, peer, name="phone"):
        device, endpoint = peer.new_device(name)
        return json.dumps(device.subscription(endpoint))

    def test_the_portal_saves_a_subscription_and_a_second_save_updates_it(self, client, push_peer, ada):
        client.force_login(ada)
        body = self._body(push_peer)
        first = client.post(reverse("pwa_subscribe"), body, content_type="application/json")
        again = client.post(reverse("pwa_subscribe"), body, content_type="application/json")
        assert (first.status_code, again.status_code) == (201, 200)
        assert PushSubscription.objects.filter(user=ada).count() == 1

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda s: {**s, "endpoint": "https://attacker.example/hook"},
            lambda s: {**s, "keys": {**s["keys"], "p256dh": "not-a-key"}},
            lambda s: {**s, "keys": {**s["keys"], "auth": "c2hvcnQ"}},
            lambda s: {**s, "keys": "nope"},
            lambda s: ["a", "list"],
            lambda s: {},
        ],
    )
    def test_a_bad_subscription_is_refused_with_a_clear_error(self, client, push_peer, ada, mangle):
        client.force_login(ada)
        body = mangle(json.loads(self._body(push_peer)))
        response = client.post(reverse("pwa_subscribe"), json.dumps(body), content_type="application/json")
        assert response.status_code == 400 and "detail" in response.json()
        assert not PushSubscription.objects.exists()

    def test_malformed_json_is_a_400_and_push_off_is_a_404(self, client, push_peer, ada, settings):
        client.force_login(ada)
        assert client.post(reverse("pwa_subscribe"), "{not json", content_type="application/json").status_code == 400
        settings.WEB_PUSH_VAPID_PUBLIC_KEY = ""
        assert client.post(reverse("pwa_subscribe"), self._body(push_peer), content_type="application/json").status_code == 404

    def test_signed_out_visitors_cannot_subscribe(self, client, push_peer):
        response = client.post(reverse("pwa_subscribe"), self._body(push_peer), content_type="application/json")
        assert response.status_code == 302 and not PushSubscription.objects.exists()

    def test_a_person_removes_only_their_own_devices(self, client, push_peer, ada):
        other = make_user("bea@portal.example", mfa=False)
        _, theirs = _subscribe(other, push_peer, "bea")
        _, mine = _subscribe(ada, push_peer, "ada")
        client.force_login(ada)
        assert client.post(reverse("pwa_device_remove", args=[theirs.pk])).status_code == 404
        gone = client.post(reverse("pwa_unsubscribe"), json.dumps({"endpoint": theirs.endpoint}), content_type="application/json")
        assert gone.json() == {"removed": 0}
        assert client.post(reverse("pwa_device_remove", args=[mine.pk])).status_code == 302
        assert list(PushSubscription.objects.values_list("user", flat=True)) == [other.pk]


class PreferencesPageTests:
    def test_the_page_saves_choices_and_refuses_a_nudge_inside_quiet_hours(self, client, push_peer, ada):
        client.force_login(ada)
        page = client.get(reverse("pwa_preferences"))
        assert page.status_code == 200 and push.public_key() in page.content.decode()
        bad = client.post(
            reverse("pwa_preferences"),
            {"reminders": "on", "nudges": "on", "nudge_at": "22:00", "quiet_from": "21:00", "quiet_until": "08:00"},
        )
        assert bad.status_code == 400 and "inside your quiet hours" in bad.content.decode()
        ok = client.post(reverse("pwa_preferences"), {"nudges": "on", "nudge_at": "19:30", "quiet_from": "22:00", "quiet_until": "07:00"})
        assert ok.status_code == 302
        prefs = PushPreferences.objects.get(user=ada)
        assert (prefs.reminders, prefs.checkins, prefs.nudges, prefs.nudge_at) == (False, False, True, time(19, 30))

    def test_without_keys_the_page_says_so_and_offers_no_button(self, client, ada):
        client.force_login(ada)
        html = client.get(reverse("pwa_preferences")).content.decode()
        assert "does not send notifications yet" in html and "push-device" not in html


class SweepTests:
    def test_a_due_appointment_reminder_is_pushed_with_time_and_place_only(self, push_peer, ada, world):
        from knotwork.bookings.models import BookingPolicy, Service
        from knotwork.bookings.tasks import due_reminders
        from tests.bookings.helpers import confirmed_appointment

        BookingPolicy.objects.create(clinic=world.clinic_a)
        world.session60 = Service.objects.create(clinic=world.clinic_a, name="NMT session", duration_minutes=60)
        now = timezone.now().replace(microsecond=0)
        PushPreferences.objects.filter(user=ada).update(quiet_from=time(0), quiet_until=time(0))
        confirmed_appointment(world, now + timedelta(hours=1), confirmed_at=now - timedelta(days=3))
        _subscribe(ada, push_peer)
        assert due_reminders(now=now) == 1
        [delivery] = push_peer.deliveries
        assert delivery.payload["tag"] == "reminder" and world.clinic_a.name in delivery.payload["title"]
        assert "NMT" not in json.dumps(delivery.payload)

    def test_the_nudge_goes_once_a_day_after_its_time_and_only_with_exercises_left(self, push_peer, ada, world):
        from knotwork.care.models import AdherenceLog, HomeProgram, HomeProgramItem

        program = HomeProgram.objects.create(clinic=world.clinic_a, client=world.client_a)
        item = HomeProgramItem.objects.create(program=program, exercise="chin-tuck", sets=1, reps=5, hold_s=5, per_day=1)
        PushPreferences.objects.filter(user=ada).update(nudges=True, nudge_at=time(18), quiet_from=time(22), quiet_until=time(7))
        _subscribe(ada, push_peer)
        day = datetime(2026, 6, 10, tzinfo=LONDON)
        assert push_tasks.due_nudges(now=day.replace(hour=17, minute=59)) == 0
        assert push_tasks.due_nudges(now=day.replace(hour=18, minute=5)) == 1
        assert push_tasks.due_nudges(now=day.replace(hour=19)) == 0
        assert push_peer.deliveries[0].payload["url"] == reverse("portal_program", args=[world.client_a.pk])
        next_day = day + timedelta(days=1)
        AdherenceLog.objects.create(item=item, day=next_day.date(), done=True)
        assert push_tasks.due_nudges(now=next_day.replace(hour=18, minute=30)) == 0
        assert list(NudgeLog.objects.values_list("day", flat=True)) == [day.date()]
