"""Small helpers every app's views share."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from knotwork.accounts.models import Membership
from knotwork.accounts.permissions import require

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
