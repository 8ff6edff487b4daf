"""Reminder texts over real HTTP: a small gateway on a loopback port stands in for Twilio's Messages
endpoint and for a generic JSON gateway, so requests, retries and timeouts are real ones."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from knotwork.bookings.models import Appointment, BookingPolicy, ReminderLog, SmsStatus
from knotwork.bookings.sms import HttpPolicy, HttpSmsSender, SmsError, TwilioSmsSender, next_text_time
from knotwork.bookings.tasks import due_reminders
from tests.bookings.helpers import confirmed_appointment

pytestmark = pytest.mark.django_db

SID, TOKEN, BEARER = "AC0123456789abcdef", "twilio-test-token", "gateway-test-token"
PHONE = "+447700900555"
SITE = "https://clinic.example"


@dataclass
class Gateway:
    """What the fake gateway saw, and what it will answer next (one scripted answer per request;
    when the script runs out every request succeeds)."""

    url: str = ""
    requests: list[dict] = field(default_factory=list)
    script: list[tuple[int, float]] = field(default_factory=list)  # (status, seconds to wait first)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attempts(self, path_end: str = "Messages.json") -> int:
        return sum(1 for r in self.requests if r["path"].endswith(path_end))


def _handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep the test output clean
            pass

        def _answer(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with gateway.lock:
                gateway.requests.append({"path": self.path, "headers": dict(self.headers), "body": raw})
                n = len(gateway.requests)
                status, delay = gateway.script.pop(0) if gateway.script else (201, 0.0)
            if delay:
                time.sleep(delay)
            if self.path == f"/2010-04-01/Accounts/{SID}/Messages.json":
                expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._answer(401, {"code": 20003, "message": "Authenticate"})
                if status == 400:
                    return self._answer(400, {"code": 21211, "message": "Invalid 'To' Phone Number"})
                if status >= 300:
                    return self._answer(status, {"message": "try later"})
                return self._answer(201, {"sid": f"SM{n:032d}", "status": "queued"})
            if self.path == "/generic/send":
                if self.headers.get("Authorization") != f"Bearer {BEARER}":
                    return self._answer(401, {"error": "token"})
                if status >= 300:
                    return self._answer(status, {"error": "no"})
                return self._answer(202, {"id": f"msg-{n}"})
            return self._answer(404, {})

    return Handler


@pytest.fixture
def gateway(settings):
    state = Gateway()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    server.block_on_close = False  # a handler still sleeping out a timeout test must not hold teardown
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.SITE_URL = SITE
    settings.KNOTWORK_SMS_SENDER = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = SID, TOKEN, "+15005550006"
    settings.TWILIO_API_BASE = state.url
    settings.SMS_HTTP_URL, settings.SMS_HTTP_TOKEN = f"{state.url}/generic/send", BEARER
    settings.SMS_CONNECT_TIMEOUT, settings.SMS_READ_TIMEOUT = 1, 0.5
    settings.SMS_MAX_ATTEMPTS, settings.SMS_RETRY_BACKOFF = 3, 0.01
    settings.SMS_QUIET_HOURS = ""
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def texting(booking):
    """Clinic A sends text reminders and Ada has opted in."""
    BookingPolicy.objects.filter(clinic=booking.clinic_a).update(sms_reminders=True, reminder_offsets_hours=[24])
    booking.client_a.phone = "+44 7700 900555"
    booking.client_a.reminders_by_sms = True
    booking.client_a.save()
    return booking


def _appointment(world, start: datetime, booked: datetime | None = None) -> Appointment:
    return confirmed_appointment(world, start, confirmed_at=booked or start - timedelta(days=7))


def _sign(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    # Written out from Twilio's description, independently of the code under test.
    payload = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


class TwilioSenderTests:
    def test_it_posts_the_form_with_basic_auth_and_a_status_callback(self, gateway):
        message_id = TwilioSmsSender().send(to=PHONE, text="Reminder: Clinic A, Mon 10:00")
        assert message_id.startswith("SM")
        (request,) = gateway.requests
        assert request["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
        assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
        assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
        form = {k: v[0] for k, v in parse_qs(request["body"].decode()).items()}
        assert form == {
            "To": PHONE,
            "From": "+15005550006",
            "Body": "Reminder: Clinic A, Mon 10:00",
            "StatusCallback": f"{SITE}/sms/status/",
        }

    def test_wrong_credentials_are_a_4xx_and_not_retried(self, gateway, settings):
        settings.TWILIO_AUTH_TOKEN = "not-the-token"
        with pytest.raises(SmsError, match="http-401"):
            TwilioSmsSender().send(to=PHONE, text="x")
        assert gateway.attempts() == 1

    @pytest.mark.parametrize("status", [500, 503, 429])
    def test_a_server_error_or_rate_limit_is_retried_until_it_succeeds(self, gateway, status):
        gateway.script = [(status, 0), (status, 0)]
        assert TwilioSmsSender().send(to=PHONE, text="x").startswith("SM")
        assert gateway.attempts() == 3

    def test_retries_are_bounded(self, gateway):
        gateway.script = [(500, 0)] * 5
        waits: list[float] = []
        with pytest.raises(SmsError, match="http-500 after 3 attempts"):
            TwilioSmsSender(sleep=waits.append).send(to=PHONE, text="x")
        assert gateway.attempts() == 3 and waits == [0.01, 0.02]  # doubling back-off between attempts

    def test_a_bad_request_is_not_retried(self, gateway):
        gateway.script = [(400, 0)]
        with pytest.raises(SmsError) as error:
            TwilioSmsSender().send(to=PHONE, text="x")
        assert error.value.reason == "http-400/21211" and gateway.attempts() == 1

    def test_an_unanswered_request_times_out_once_and_is_not_repeated(self, gateway):
        gateway.script = [(201, 2.0)]  # the gateway sleeps well past the 0.5 s read timeout
        started = time.monotonic()
        with pytest.raises(SmsError, match="timeout"):
            TwilioSmsSender().send(to=PHONE, text="x")
        assert time.monotonic() - started < 1.5
        assert gateway.attempts() == 1  # it may have been accepted: a retry could text twice

    def test_a_refused_connection_is_retried_then_reported(self, settings):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = SID, TOKEN, "+15005550006"
        settings.TWILIO_API_BASE = f"http://127.0.0.1:{port}"
        waits: list[float] = []
        policy = HttpPolicy(connect_timeout=0.5, read_timeout=0.5, max_attempts=3, backoff=0.01)
        with pytest.raises(SmsError, match="connect-failed after 3 attempts"):
            TwilioSmsSender(policy=policy, sleep=waits.append).send(to=PHONE, text="x")
        assert len(waits) == 2

    def test_plain_http_is_refused_off_this_machine(self, settings):
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM = SID, TOKEN, "+15005550006"
        settings.TWILIO_API_BASE = "http://api.twilio.example"
        from django.core.exceptions import ImproperlyConfigured

        with pytest.raises(ImproperlyConfigured, match="https"):
            TwilioSmsSender().send(to=PHONE, text="x")


class HttpSenderTests:
    def test_it_posts_json_with_a_bearer_token(self, gateway):
        assert HttpSmsSender().send(to=PHONE, text="Hello") == "msg-1"
        (request,) = gateway.requests
        assert request["path"] == "/generic/send" and request["headers"]["Authorization"] == f"Bearer {BEARER}"
        assert request["headers"]["Content-Type"] == "application/json"
        assert json.loads(request["body"]) == {"to": PHONE, "text": "Hello"}

    def test_it_retries_a_server_error_but_not_a_refusal(self, gateway):
        gateway.script = [(502, 0)]
        assert HttpSmsSender().send(to=PHONE, text="x") == "msg-2"
        gateway.script = [(422, 0)]
        with pytest.raises(SmsError, match="http-422"):
            HttpSmsSender().send(to=PHONE, text="x")
        assert gateway.attempts("/generic/send") == 3


class ReminderTextTests:
    def test_a_due_reminder_is_texted_once_however_often_the_sweep_runs(self, gateway, texting, caplog):
        appointment = _appointment(texting, timezone.now() + timedelta(hours=5))
        now = timezone.now()
        assert due_reminders(now=now) == 1
        assert due_reminders(now=now) == 0
        assert due_reminders(now=now + timedelta(minutes=5)) == 0
        assert gateway.attempts() == 1
        entry = ReminderLog.objects.get(appointment=appointment)
        assert entry.sms_sent and entry.sms_status == SmsStatus.SENT and entry.sms_message_id.startswith("SM")
        form = parse_qs(gateway.requests[0]["body"].decode())
        assert form["To"] == [texting.client_a.phone] and f"{SITE}/appointments/{appointment.pk}/" in form["Body"][0]
        # Neither the text nor the number reaches the log.
        assert "900555" not in caplog.text and "Reminder:" not in caplog.text

    def test_a_text_stuck_mid_send_is_never_sent_again(self, gateway, texting):
        # A worker that died after claiming leaves the row at "sending": the claim is the idempotency key.
        appointment = _appointment(texting, timezone.now() + timedelta(hours=5))
        ReminderLog.objects.create(appointment=appointment, offset_hours=24, starts_at=appointment.starts_at, sms_status=SmsStatus.SENDING)
        assert due_reminders(now=timezone.now()) == 0
        assert gateway.attempts() == 0

    def test_a_timed_out_text_is_recorded_as_failed_without_holding_up_the_sweep(self, gateway, texting):
        gateway.script = [(201, 2.0)]
        appointment = _appointment(texting, timezone.now() + timedelta(hours=5))
        started = time.monotonic()
        assert due_reminders(now=timezone.now()) == 1
        assert time.monotonic() - started < 1.5
        entry = ReminderLog.objects.get(appointment=appointment)
        assert entry.sms_status == SmsStatus.FAILED and entry.sms_error == "timeout" and not entry.sms_sent
        assert entry.email_sent  # the e-mail reminder went regardless
        assert due_reminders(now=timezone.now()) == 0 and gateway.attempts() == 1

    def test_a_rejected_number_is_recorded_and_not_retried(self, gateway, texting):
        gateway.script = [(400, 0)]
        appointment = _appointment(texting, timezone.now() + timedelta(hours=5))
        due_reminders(now=timezone.now())
        entry = ReminderLog.objects.get(appointment=appointment)
        assert entry.sms_status == SmsStatus.FAILED and entry.sms_error == "http-400/21211"
        assert gateway.attempts() == 1

    def test_quiet_hours_hold_a_text_until_morning_in_the_clinics_zone(self, gateway, texting, settings, mailoutbox):
        settings.SMS_QUIET_HOURS = "21:00-08:00"
        london = ZoneInfo("Europe/London")
        assert texting.clinic_a.tz == london
        day = timezone.localdate() + timedelta(days=3)
        late_evening = datetime.combine(day, datetime.min.time(), tzinfo=london).replace(hour=22, minute=30)
        appointment = _appointment(texting, late_evening.replace(hour=20) + timedelta(days=1))  # its 24 h reminder fell due at 20:00
        assert due_reminders(now=late_evening) == 1
        entry = ReminderLog.objects.get(appointment=appointment)
        morning = late_evening.replace(hour=8, minute=0) + timedelta(days=1)
        assert entry.sms_status == SmsStatus.DEFERRED and entry.sms_due_at == morning
        assert gateway.attempts() == 0 and len(mailoutbox) == 1  # e-mail is not held back
        due_reminders(now=morning - timedelta(minutes=1))
        assert gateway.attempts() == 0
        due_reminders(now=morning + timedelta(minutes=2))
        due_reminders(now=morning + timedelta(minutes=7))
        assert gateway.attempts() == 1
        entry.refresh_from_db()
        assert entry.sms_status == SmsStatus.SENT and entry.sms_sent

    def test_a_held_text_is_dropped_when_the_client_opts_out_meanwhile(self, gateway, texting, settings):
        settings.SMS_QUIET_HOURS = "21:00-08:00"
        london = ZoneInfo("Europe/London")
        day = timezone.localdate() + timedelta(days=3)
        late_evening = datetime.combine(day, datetime.min.time(), tzinfo=london).replace(hour=23)
        appointment = _appointment(texting, late_evening + timedelta(hours=12))
        due_reminders(now=late_evening)
        texting.client_a.reminders_by_sms = False
        texting.client_a.save()
        due_reminders(now=late_evening + timedelta(hours=10))
        assert gateway.attempts() == 0
        assert ReminderLog.objects.get(appointment=appointment).sms_status == SmsStatus.SKIPPED

    def test_quiet_hours_across_midnight_and_within_a_day(self, settings):
        london = ZoneInfo("Europe/London")
        at = datetime(2026, 3, 2, 7, 30, tzinfo=london)
        settings.SMS_QUIET_HOURS = "21:00-08:00"
        assert next_text_time(at, london) == at.replace(hour=8, minute=0)
        assert next_text_time(at.replace(hour=12), london) == at.replace(hour=12)
        assert next_text_time(at.replace(hour=21), london) == datetime(2026, 3, 3, 8, 0, tzinfo=london)
        settings.SMS_QUIET_HOURS = "12:00-14:00"
        assert next_text_time(at.replace(hour=13), london) == at.replace(hour=14, minute=0)
        settings.SMS_QUIET_HOURS = ""
        assert next_text_time(at, london) == at


class WebhookTests:
    def _post(self, client, path: str, params: dict[str, str], signature: str | None = None):
        signature = _sign(f"{SITE}{path}", params) if signature is None else signature
        return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)

    def test_stop_turns_text_reminders_off_and_start_back_on(self, client, gateway, texting):
        params = {"From": PHONE, "To": "+15005550006", "Body": "Stop", "MessageSid": "SM1", "AccountSid": SID}
        response = self._post(client, "/sms/inbound/", params)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
        texting.client_a.refresh_from_db()
        assert not texting.client_a.reminders_by_sms
        _appointment(texting, timezone.now() + timedelta(hours=5))
        due_reminders(now=timezone.now())
        assert gateway.attempts() == 0  # opted out: no text, though the clinic sends them
        self._post(client, "/sms/inbound/", {**params, "Body": "START"})
        texting.client_a.refresh_from_db()
        assert texting.client_a.reminders_by_sms

    def test_other_replies_change_nothing_and_other_numbers_are_not_touched(self, client, gateway, texting):
        self._post(client, "/sms/inbound/", {"From": PHONE, "Body": "stop by at 3?"})
        self._post(client, "/sms/inbound/", {"From": "+447700900556", "Body": "STOP"})
        texting.client_a.refresh_from_db()
        assert texting.client_a.reminders_by_sms

    def test_a_national_format_number_on_file_is_matched(self, client, gateway, texting):
        texting.client_a.phone = "07700 900555"
        texting.client_a.save()
        self._post(client, "/sms/inbound/", {"From": PHONE, "Body": "UNSUBSCRIBE"})
        texting.client_a.refresh_from_db()
        assert not texting.client_a.reminders_by_sms

    @pytest.mark.parametrize("path", ["/sms/inbound/", "/sms/status/"])
    def test_a_bad_or_missing_signature_is_refused_and_nothing_changes(self, client, gateway, texting, path):
        params = {"From": PHONE, "Body": "STOP", "MessageSid": "SM1", "MessageStatus": "failed"}
        forged = _sign(f"{SITE}{path}", params, token="someone-elses-token")
        assert self._post(client, path, params, signature=forged).status_code == 403
        assert self._post(client, path, params, signature="").status_code == 403
        tampered = _sign(f"{SITE}{path}", {**params, "Body": "START"})
        assert self._post(client, path, params, signature=tampered).status_code == 403
        texting.client_a.refresh_from_db()
        assert texting.client_a.reminders_by_sms

    def test_the_status_callback_records_delivery_and_never_goes_backwards(self, client, gateway, texting):
        appointment = _appointment(texting, timezone.now() + timedelta(hours=5))
        due_reminders(now=timezone.now())
        entry = ReminderLog.objects.get(appointment=appointment)
        callback = parse_qs(gateway.requests[0]["body"].decode())["StatusCallback"][0]
        path = callback.removeprefix(SITE)
        params = {"MessageSid": entry.sms_message_id, "MessageStatus": "delivered", "AccountSid": SID, "To": PHONE}
        assert self._post(client, path, params).status_code == 204
        entry.refresh_from_db()
        assert entry.sms_status == SmsStatus.DELIVERED and entry.sms_updated_at is not None
        self._post(client, path, {**params, "MessageStatus": "sent"})  # late and out of order
        entry.refresh_from_db()
        assert entry.sms_status == SmsStatus.DELIVERED

    def test_a_failed_delivery_keeps_twilios_error_code(self, client, gateway, texting):
        appointment = _appointment(texting, timezone.now() + timedelta(hours=5))
        due_reminders(now=timezone.now())
        entry = ReminderLog.objects.get(appointment=appointment)
        params = {"MessageSid": entry.sms_message_id, "MessageStatus": "undelivered", "ErrorCode": "30003"}
        self._post(client, "/sms/status/", params)
        entry.refresh_from_db()
        assert entry.sms_status == SmsStatus.UNDELIVERED and entry.sms_error == "twilio-30003"
