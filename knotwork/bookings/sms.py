"""Text-message reminders through a pluggable sender.

Set ``KNOTWORK_SMS_SENDER`` to the dotted path of a class with ``send(*, to: str, text: str)``
to use a real gateway; the default writes a line to the log (number masked) and sends nothing.
"""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


class SmsSender(Protocol):
    def send(self, *, to: str, text: str) -> None: ...


class LoggingSmsSender:
    """Records that a text would have gone out. Never logs the message or the full number."""

    def send(self, *, to: str, text: str) -> None:
        digits = "".join(ch for ch in to if ch.isdigit())
        log.info("sms to …%s (%d characters)", digits[-3:], len(text))


def sms_sender() -> SmsSender:
    path = getattr(settings, "KNOTWORK_SMS_SENDER", "") or "knotwork.bookings.sms.LoggingSmsSender"
    return import_string(path)()
