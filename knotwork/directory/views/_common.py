"""Small helpers the directory views share."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from knotwork.accounts.models import User
from knotwork.directory.access import is_platform_staff
from knotwork.lib import context


def rate_limited(request: HttpRequest, bucket: str, limit: int, window: int = 60) -> bool:
    """True once this address has made more than ``limit`` requests in ``window`` seconds."""
    key = f"directory:{bucket}:{context.current().ip or request.META.get('REMOTE_ADDR', '')}"
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key) > limit
    except ValueError:  # the counter expired between add and incr
        return False


def platform_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed in as platform staff (a verifier or superuser); everyone else is refused."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not is_platform_staff(request.user):
            raise PermissionDenied("This page is for the platform's verifiers.")
        return view(request, *args, **kwargs)

    return wrapper


def me(request: HttpRequest) -> User:
    """The signed-in user, for views that have already required a sign-in."""
    return cast(User, request.user)
