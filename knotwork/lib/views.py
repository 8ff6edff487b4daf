"""Small helpers every app's views share."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from knotwork.accounts.models import Membership
from knotwork.accounts.permissions import require
from knotwork.lib.middleware import too_large

PAGE_SIZE = 25


def paginate(request: HttpRequest, qs: Any, per_page: int = PAGE_SIZE) -> Page:
    return Paginator(qs, per_page).get_page(request.GET.get("page"))


def staff_view(capability: str) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Login required, a current clinic membership required, and the role must grant ``capability``.

    The view receives the membership as ``membership``.
    """

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            membership: Membership | None = getattr(request, "membership", None)
            if membership is None:
                raise PermissionDenied("This page is for clinic staff.")
            return view(request, *args, membership=require(membership, capability), **kwargs)

        return wrapper

    return decorator


def error_view(status: int, title: str, text: str) -> Callable[..., HttpResponse]:
    def view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
        return render(request, "error.html", {"status": status, "title": title, "text": text}, status=status)

    return view


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


_bad_request = error_view(400, "That request could not be understood", "Check the address or form and try again.")
_too_large = error_view(
    413, "That was too much to send", "The form or file is larger than this site accepts. Send less, or a smaller file."
)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 handler, except that a body over the upload limit is what it is: 413."""
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        if request.path_info.startswith("/api/"):
            return too_large(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
        return _too_large(request, exception)
    return _bad_request(request, exception)
