"""Where the pages that take a card load Stripe.js from, and the Content-Security-Policy that
admits exactly that (docs/money.md, "Online payments (Stripe)").

``STRIPE_JS_URL`` defaults to Stripe's own ``https://js.stripe.com/v3/``; the policy is built
from it when each page is served, so a test server pointing it at a local Stripe peer's stand-in
script gets a policy for that peer and nothing wider."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase

DEFAULT_JS_URL = "https://js.stripe.com/v3/"
HOOKS_ORIGIN = "https://hooks.stripe.com"  # 3-D Secure challenges are framed from here


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def js_url() -> str:
    return str(getattr(settings, "STRIPE_JS_URL", "") or DEFAULT_JS_URL)


def csp() -> dict[str, list[str]]:
    """Stripe's own Stripe.js talks to api.stripe.com; a stand-in (localstripe's) to its own origin."""
    js = _origin(js_url())
    api = "https://api.stripe.com" if js == _origin(DEFAULT_JS_URL) else js
    return {"script-src": [js], "frame-src": [js, HOOKS_ORIGIN], "connect-src": [api]}


def with_stripe_csp(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Widen this view's Content-Security-Policy by what Stripe.js needs (django-csp's per-response update)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response._csp_update = csp()  # type: ignore[attr-defined]
        return response

    return wrapped
