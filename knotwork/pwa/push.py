"""Sending Web Push messages (RFC 8030 delivery, RFC 8291 encryption, RFC 8292 VAPID).

Configuration comes from the environment (see docs/pwa.md): ``WEB_PUSH_VAPID_PRIVATE_KEY`` (the
application server's private key, base64url), ``WEB_PUSH_VAPID_PUBLIC_KEY`` (its public key, the
``applicationServerKey`` browsers subscribe with) and ``WEB_PUSH_SUBJECT`` (a ``mailto:`` or
``https:`` contact for the push services). Without both keys push is off: nothing is offered in the
portal and nothing is sent. ``knotwork push-keys`` prints a fresh pair.

A subscription's endpoint is a URL the browser gave us and the server will POST to, so it is only
accepted over HTTPS on a known push service's host (``WEB_PUSH_ENDPOINT_HOSTS``): a portal user
cannot make the server call an address of their choosing.

Messages carry a title, a short line and a link; never anything clinical (a lock screen is
public). The payload is encrypted for the subscription's keys; the push service sees only its size.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from knotwork.pwa.models import PushKind, PushPreferences, PushSubscription

log = logging.getLogger(__name__)

TTL_SECONDS = 12 * 3600
"""How long a push service keeps a message for a device that is offline."""
MAX_FAILURES = 5
"""Consecutive failed deliveries after which a subscription is dropped."""


def public_key() -> str:
    return str(getattr(settings, "WEB_PUSH_VAPID_PUBLIC_KEY", "") or "")


def is_configured() -> bool:
    return bool(public_key() and getattr(settings, "WEB_PUSH_VAPID_PRIVATE_KEY", ""))


def endpoint_allowed(endpoint: str) -> bool:
    """Whether the server may deliver to ``endpoint``: HTTPS on a listed push-service host (a host
    or any subdomain of it). ``WEB_PUSH_ALLOW_LOOPBACK`` (tests only) also admits http on 127.0.0.1."""
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        port = parts.port  # raises on a malformed port
    except ValueError:
        return False
    if not host or parts.username or parts.password:
        return False
    if getattr(settings, "WEB_PUSH_ALLOW_LOOPBACK", False) and parts.scheme == "http" and host == "127.0.0.1":
        return True
    if parts.scheme != "https" or port not in (None, 443):
        return False
    hosts = getattr(settings, "WEB_PUSH_ENDPOINT_HOSTS", ())
    return any(host == h or host.endswith("." + h) for h in hosts)


def preferences_for(user: Any) -> PushPreferences:
    prefs = PushPreferences.objects.filter(user=user).first()
    if prefs is not None:
        return prefs
    client = user.client_records.select_related("clinic").filter(archived_at__isnull=True).first()
    tz = client.clinic.time_zone if client is not None else "UTC"
    prefs, _ = PushPreferences.objects.get_or_create(user=user, defaults={"time_zone": tz})
    return prefs


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_quiet(prefs: PushPreferences, now: datetime) -> bool:
    """Whether ``now`` falls in the person's quiet hours (in their time zone; a span may cross midnight)."""
    start, end = prefs.quiet_from, prefs.quiet_until
    if start == end:
        return False
    local: time = now.astimezone(_zone(prefs.time_zone)).time()
    return start <= local < end if start < end else (local >= start or local < end)


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str
    url: str

    def payload(self) -> str:
        return json.dumps({"title": self.title, "body": self.body, "url": self.url, "tag": self.kind}, separators=(",", ":"))


def _deliver(subscription: PushSubscription, message: Message) -> bool:
    from pywebpush import WebPushException, webpush

    try:
        webpush(
            subscription.as_info(),
            data=message.payload(),
            vapid_private_key=str(settings.WEB_PUSH_VAPID_PRIVATE_KEY),
            vapid_claims={"sub": str(getattr(settings, "WEB_PUSH_SUBJECT", "") or "mailto:admin@localhost")},
            ttl=TTL_SECONDS,
            timeout=10,
        )
    except WebPushException as exc:
        status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
        if status in (404, 410):  # the browser unsubscribed or the subscription expired: forget it
            subscription.delete()
            log.info("push subscription %s is gone (%s); removed", subscription.pk, status)
        else:
            _failed(subscription, f"push service answered {status}")
        return False
    except Exception as exc:  # network trouble: a push is best-effort, the e-mail still went
        _failed(subscription, type(exc).__name__)
        return False
    PushSubscription.objects.filter(pk=subscription.pk).update(last_sent_at=timezone.now(), failures=0)
    return True


def _failed(subscription: PushSubscription, why: str) -> None:
    log.warning("push to subscription %s failed: %s", subscription.pk, why)
    PushSubscription.objects.filter(pk=subscription.pk).update(failures=F("failures") + 1)
    PushSubscription.objects.filter(pk=subscription.pk, failures__gte=MAX_FAILURES).delete()


def send(user: Any, message: Message, *, now: datetime | None = None) -> int:
    """Push ``message`` to every device of ``user`` that may receive it now. Returns how many took it.

    Nothing is sent when push is not configured, the person turned this kind off, or it is their
    quiet time (the message is dropped, not held: reminders and check-ins also go by e-mail)."""
    if user is None or not is_configured():
        return 0
    subscriptions = list(PushSubscription.objects.filter(user=user))
    if not subscriptions:
        return 0
    prefs = preferences_for(user)
    if not prefs.wants(message.kind) or is_quiet(prefs, now or timezone.now()):
        return 0
    return sum(_deliver(s, message) for s in subscriptions)


KINDS = tuple(PushKind)
