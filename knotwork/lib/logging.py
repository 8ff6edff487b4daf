"""Log plumbing: a request id on every line, and secrets in URLs never reach a log file."""

from __future__ import annotations

import logging
import re

from knotwork.lib import context

# Paths that carry a one-time secret: invitation links, password-reset and email-confirmation keys,
# and bearer tokens pasted into a URL by mistake.
_SECRET_PATHS = [
    (re.compile(r"(/invite/)[^/\s?\"']+"), r"\1[redacted]"),
    (re.compile(r"(/accounts/password/reset/key/)[^/\s?\"']+"), r"\1[redacted]"),
    (re.compile(r"(/accounts/confirm-email/)[^/\s?\"']+"), r"\1[redacted]"),
    (re.compile(r"(/feedback/)[^/\s?\"']+"), r"\1[redacted]"),
    (re.compile(r"kw_[0-9a-f]{8}_[A-Za-z0-9_\-]+"), "kw_[redacted]"),
    (re.compile(r"((?:token|key|code|secret|password)=)[^&\s\"']+", re.I), r"\1[redacted]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATHS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.current().request_id or "-"
        return True


class RedactSecretsFilter(logging.Filter):
    """Rewrites a record's message with secrets in URLs replaced by [redacted]."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class NoTracebackFilter(logging.Filter):
    """Keeps the record's message and drops its traceback (for errors that are the sender's, not ours)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True
