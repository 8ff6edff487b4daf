"""Absolute links for places without a request: e-mails, text messages, calendar files, webhooks."""

from __future__ import annotations

from django.conf import settings


def absolute_url(path: str) -> str:
    """``path`` (as returned by ``reverse``) on the public address in ``SITE_URL``.

    Mail and texts are built by the worker, which has no request to take a host from, and a host
    taken from a request is whatever the caller sent; ``SITE_URL`` is the one address we vouch for.
    """
    if path.startswith(("http://", "https://")):
        return path
    return settings.SITE_URL.rstrip("/") + "/" + path.lstrip("/")
