"""Text messages: the senders, quiet hours, and Twilio's request signatures.

``KNOTWORK_SMS_SENDER`` picks the sender: ``log`` (default; writes a masked line and sends
nothing), ``twilio`` (Twilio's Messages REST API), ``http`` (a generic JSON gateway), or the
dotted path of a class with ``send(*, to: str, text: str) -> str`` returning the gateway's
message id ("" when it has none) and raising :class:`SmsError` when the text was not accepted.

Both HTTP senders speak plain HTTPS through the standard library (one endpoint each does not
justify an SDK), with separate connect and read timeouts and bounded retries:

* retried, with doubling back-off: no connection could be made (nothing reached the gateway),
  429 and 5xx answers (the gateway says it did not take the message);
* never retried: 4xx answers (retrying cannot fix a bad number or bad credentials), and a
  request that was sent but never answered within the read timeout. The gateway may have
  accepted that one, and a retry could text the client twice; a reminder goes at most once.

Nothing here logs a message body or more than the last three digits of a number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock
from typing import Protocol
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.module_loading import import_string

from knotwork.lib.urls import absolute_url

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 10.0
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class SmsError(Exception):
    """A text was not accepted. ``reason`` is a short code safe to log and store (no body, no number)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:64]


class SmsSender(Protocol):
    def send(self, *, to: str, text: str) -> str: ...


def mask_number(number: str) -> str:
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"…{digits[-3:]}"


class LoggingSmsSender:
    """Records that a text would have gone out. Never logs the message or the full number."""

    def send(self, *, to: str, text: str) -> str:
        log.info("sms to %s (%d characters)", mask_number(to), len(text))
        return ""


# --- HTTP with timeouts and bounded retries ---------------------------------------------------


class _NotConnected(Exception):
    """The connection (TCP or TLS) could not be made: the request never left."""


@dataclass(frozen=True)
class HttpPolicy:
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    backoff: float

    @classmethod
    def from_settings(cls) -> HttpPolicy:
        return cls(
            connect_timeout=float(settings.SMS_CONNECT_TIMEOUT),
            read_timeout=float(settings.SMS_READ_TIMEOUT),
            max_attempts=max(1, int(settings.SMS_MAX_ATTEMPTS)),
            backoff=float(settings.SMS_RETRY_BACKOFF),
        )


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    elif parts.scheme == "http" and host in _LOOPBACK:
        # Plain HTTP only to this machine (a local relay or the tests): credentials never cross a network unencrypted.
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    else:
        raise ImproperlyConfigured("SMS gateway addresses must be https:// (plain http only on loopback)")
    path = parts.path or "/"
    return conn, f"{path}?{parts.query}" if parts.query else path


def post(url: str, body: bytes, headers: dict[str, str], *, policy: HttpPolicy, sleep: Callable[[float], None] = time.sleep) -> bytes:
    """POST with the retry rules in the module docstring; the 2xx response body, or :class:`SmsError`."""
    for attempt in range(1, policy.max_attempts + 1):
        wait = policy.backoff * 2 ** (attempt - 1)
        conn, target = _connection(url, policy.connect_timeout)
        try:
            try:
                conn.connect()
            except OSError as exc:
                raise _NotConnected from exc
            assert conn.sock is not None  # connect() succeeded
            conn.sock.settimeout(policy.read_timeout)
            conn.request("POST", target, body=body, headers={**headers, "Content-Length": str(len(body))})
            response = conn.getresponse()
            data = response.read(256 * 1024)
            status = response.status
            retry_after = response.getheader("Retry-After") or ""
        except _NotConnected:
            reason = "connect-failed"
        except TimeoutError:
            raise SmsError("timeout") from None
        except OSError:
            raise SmsError("connection-lost") from None
        except http.client.HTTPException:
            raise SmsError("bad-response") from None
        else:
            if 200 <= status < 300:
                return data
            if status != 429 and status < 500:
                raise SmsError(_http_reason(status, data))
            reason = f"http-{status}"
            if retry_after.isdigit():
                wait = max(wait, float(retry_after))
        finally:
            conn.close()
        if attempt < policy.max_attempts:
            sleep(min(wait, MAX_BACKOFF_SECONDS))
    raise SmsError(f"{reason} after {policy.max_attempts} attempts")


def _http_reason(status: int, data: bytes) -> str:
    """``http-400`` plus the gateway's own error code when it gives one (Twilio: 21211 bad number, 21610 opted out)."""
    try:
        code = json.loads(data).get("code")
    except (ValueError, AttributeError):
        code = None
    return f"http-{status}/{code}" if isinstance(code, int | str) and str(code).isalnum() else f"http-{status}"


# --- senders --------------------------------------------------------------------------------


class TwilioSmsSender:
    """Twilio's Messages resource: a form POST with HTTP Basic auth (Account SID : auth token)."""

    def __init__(self, *, policy: HttpPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.auth_token = settings.TWILIO_AUTH_TOKEN
        self.sender = settings.TWILIO_FROM
        if not (self.account_sid and self.auth_token and self.sender):
            raise ImproperlyConfigured("Sending texts through Twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM")
        self.url = f"{settings.TWILIO_API_BASE.rstrip('/')}/2010-04-01/Accounts/{quote(self.account_sid, safe='')}/Messages.json"
        self.policy = policy or HttpPolicy.from_settings()
        self.sleep = sleep

    def send(self, *, to: str, text: str) -> str:
        form = {"To": to, "Body": text}
        # A messaging service (its SID starts with MG) picks the number itself.
        form["MessagingServiceSid" if self.sender.startswith("MG") else "From"] = self.sender
        if settings.SITE_URL:
            form["StatusCallback"] = absolute_url(reverse("sms_status"))
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        headers = {
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": "Knotwork",
        }
        data = post(self.url, urlencode(form).encode(), headers, policy=self.policy, sleep=self.sleep)
        message_id = _json_field(data, "sid")
        log.info("sms to %s accepted by Twilio", mask_number(to))
        return message_id


class HttpSmsSender:
    """Any gateway that takes ``{"to": ..., "text": ...}`` as JSON with a bearer token; its
    answer's ``id`` (if any) is kept as the message id."""

    def __init__(self, *, policy: HttpPolicy | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = settings.SMS_HTTP_URL
        self.token = settings.SMS_HTTP_TOKEN
        if not (self.url and self.token):
            raise ImproperlyConfigured("The HTTP text-message gateway needs SMS_HTTP_URL and SMS_HTTP_TOKEN")
        self.policy = policy or HttpPolicy.from_settings()
        self.sleep = sleep

    def send(self, *, to: str, text: str) -> str:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "Knotwork",
        }
        data = post(self.url, json.dumps({"to": to, "text": text}).encode(), headers, policy=self.policy, sleep=self.sleep)
        log.info("sms to %s accepted by the gateway", mask_number(to))
        return _json_field(data, "id")


def _json_field(data: bytes, name: str) -> str:
    try:
        value = json.loads(data).get(name)
    except (ValueError, AttributeError):
        return ""
    return str(value)[:64] if isinstance(value, str | int) else ""


SENDERS = {
    "log": "knotwork.bookings.sms.LoggingSmsSender",
    "twilio": "knotwork.bookings.sms.TwilioSmsSender",
    "http": "knotwork.bookings.sms.HttpSmsSender",
}


def sms_sender() -> SmsSender:
    name = getattr(settings, "KNOTWORK_SMS_SENDER", "") or "log"
    return import_string(SENDERS.get(name.lower(), name))()


# --- quiet hours ----------------------------------------------------------------------------


def quiet_hours() -> tuple[clock, clock] | None:
    """``SMS_QUIET_HOURS`` ("21:00-08:00") as (start, end); None when texts may go at any hour."""
    raw = getattr(settings, "SMS_QUIET_HOURS", "")
    if not raw:
        return None
    start, end = (clock.fromisoformat(part) for part in raw.split("-"))
    return None if start == end else (start, end)


def next_text_time(now: datetime, zone: ZoneInfo) -> datetime:
    """``now`` if a text may go now in ``zone``, else the end of the current quiet period."""
    hours = quiet_hours()
    if hours is None:
        return now
    start, end = hours
    local = now.astimezone(zone)
    at = local.time()
    if start < end:  # e.g. 13:00-14:00, within one day
        quiet, day = start <= at < end, local.date()
    else:  # across midnight, e.g. 21:00-08:00
        quiet, day = (at >= start or at < end), local.date()
        if at >= start:
            day += timedelta(days=1)
    if not quiet:
        return now
    return datetime.combine(day, end, tzinfo=zone)


# --- Twilio's webhook signatures --------------------------------------------------------------


def twilio_signature(url: str, params: Iterable[tuple[str, str]], token: str) -> str:
    """Base64 HMAC-SHA1, keyed by the auth token, of the full URL followed by every POST
    parameter's name and value, sorted by name (then value), with no separators."""
    payload = url + "".join(f"{name}{value}" for name, value in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def twilio_signature_valid(url: str, params: Iterable[tuple[str, str]], signature: str) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    if not token or not signature:
        return False
    return hmac.compare_digest(twilio_signature(url, params, token), signature)
