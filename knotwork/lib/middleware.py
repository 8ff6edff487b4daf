from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.functional import SimpleLazyObject

from knotwork.lib import context

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
TOO_LARGE = "The request is larger than this server accepts ({limit} MB)."


class EdgeMiddleware:
    """First in the chain: answers what must not depend on anything after it.

    ``/healthz`` (the process is alive) and ``/readyz`` (the database and the cache answer) are
    served before host validation, the HTTPS redirect, sessions and sign-in, because a load
    balancer probes each server by address over plain HTTP; they say nothing but ``ok``/``ready``.
    A request whose declared body is over ``MAX_REQUEST_BYTES`` gets 413 before a byte of it is read.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path == "/healthz":
            from knotwork.lib.views import healthz

            return healthz(request)
        if path == "/readyz":
            return _ready()
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > settings.MAX_REQUEST_BYTES:
            return too_large(request, settings.MAX_REQUEST_BYTES)
        return self.get_response(request)


def too_large_answer(path: str, limit: int) -> tuple[str, bytes]:
    """The 413's content type and body for a request to ``path``: the API's error body, or a sentence."""
    message = TOO_LARGE.format(limit=f"{limit / 1048576:.1f}".removesuffix(".0"))
    if path.startswith("/api/"):
        from knotwork.lib.api import error_body

        return "application/json", json.dumps(error_body(413, message, code="too_large")).encode()
    return "text/plain; charset=utf-8", message.encode()


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    """413 in the shape the caller reads (see :func:`too_large_answer`)."""
    content_type, body = too_large_answer(request.path_info, limit)
    return HttpResponse(body, status=413, content_type=content_type)


def _ready() -> HttpResponse:
    from django.core.cache import cache
    from django.db import connection

    probe = f"readyz:{uuid.uuid4().hex}"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        cache.set(probe, 1, 10)
        ok = cache.get(probe) == 1
        cache.delete(probe)
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log only
        log.warning("readyz: not ready (%s)", type(exc).__name__)
        ok = False
    return HttpResponse("ready" if ok else "not ready", status=200 if ok else 503, content_type="text/plain")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the entry TRUSTED_PROXY_COUNT hops back in X-Forwarded-For."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        chain = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Gives every request an id (kept from a well-formed X-Request-ID header), and makes the id,
    the client address and the user available to services and logs for the request's duration."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        # The user is resolved lazily: authentication middleware runs after this one.
        ctx = context.RequestContext(
            request_id=request_id,
            ip=client_ip(request),
            user=SimpleLazyObject(lambda: getattr(request, "user", None)),
        )
        token = context.set_current(ctx)
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class RejectNulMiddleware:
    """Refuses text holding a NUL character with a 400 before any view sees it: PostgreSQL cannot
    store or compare such text, so a search or an API write with one would otherwise be a server
    error. Query parameters and JSON bodies are checked; form fields already refuse NUL (Django's
    CharField), and file uploads are binary by nature."""

    MESSAGE = "Text may not contain NUL (\\0) characters."

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bad = any(_has_nul(k) or _has_nul(v) for k, values in request.GET.lists() for v in values)
        if not bad and request.content_type == "application/json":
            try:
                body = request.body
            except RequestDataTooBig:
                return self.get_response(request)  # the view answers an oversized body in its own shape
            if b"\\u0000" in body:
                try:
                    bad = _has_nul(json.loads(body))
                except ValueError:
                    bad = False  # the API answers malformed JSON itself
        if not bad:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            from knotwork.lib.api import error_body  # the API module loads ninja: only when needed

            return JsonResponse(error_body(400, self.MESSAGE), status=400)
        return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain; charset=utf-8")
