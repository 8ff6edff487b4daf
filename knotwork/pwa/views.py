"""The installable portal: manifest, service worker, offline page, push subscriptions and the
person's notification choices. docs/pwa.md describes what works offline and why."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from knotwork.accounts.models import User
from knotwork.pwa import push
from knotwork.pwa.forms import PushPreferencesForm, SubscriptionForm
from knotwork.pwa.models import PushSubscription
from knotwork.pwa.services import subscription_remove, subscription_save

SW_STATIC = ("knotwork/site.css", "knotwork/site.js", "care/care.css", "pwa/offline.js", "pwa/icon-192.png")
"""Static files the service worker stores when it installs, so the offline pages have their look."""


@cache
def _static_version() -> str:
    """A hash of the files the worker precaches: a new release installs a new worker and cache."""
    digest = hashlib.sha256()
    for name in SW_STATIC:
        path = finders.find(name)
        if isinstance(path, str):
            with open(path, "rb") as fh:
                digest.update(fh.read())
    digest.update(render_to_string("pwa/sw.js", _worker_context("")).encode())
    return digest.hexdigest()[:12]


@require_GET
@cache_control(max_age=3600, public=True)
def manifest(request: HttpRequest) -> HttpResponse:
    data = {
        "name": "Knotwork: my care",
        "short_name": "Knotwork",
        "description": "Your appointments, home exercises and aftercare from your therapist.",
        "id": "/",
        "start_url": "/?source=app",
        "scope": "/",
        "display": "standalone",
        "background_color": "#fbfaf7",
        "theme_color": "#0f5257",
        "icons": [
            {"src": static("pwa/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("pwa/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": static("pwa/icon-maskable-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    }
    return HttpResponse(json.dumps(data, indent=1), content_type="application/manifest+json")


@require_GET
@cache_control(no_cache=True, max_age=0)
def service_worker(request: HttpRequest) -> HttpResponse:
    """The worker, served from the site root so its scope is the whole site; browsers re-check it
    on every navigation (no-cache), and it changes whenever a precached file does."""
    return HttpResponse(render_to_string("pwa/sw.js", _worker_context(_static_version())), content_type="text/javascript; charset=utf-8")


def _worker_context(version: str) -> dict[str, str]:
    return {
        "version": version,
        "precache_json": json.dumps([static(n) for n in SW_STATIC]),
        "offline_url": reverse("pwa_offline"),
        "static_prefix": settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/" + settings.STATIC_URL,
    }


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    """Shown by the worker when a page is asked for offline and no copy of it is on the device."""
    return render(request, "pwa/offline.html")


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


@require_POST
@login_required
def subscribe(request: HttpRequest) -> HttpResponse:
    """Save this browser's push subscription (``PushSubscription.toJSON()`` posted as JSON)."""
    if not push.is_configured():
        return _json_error("Notifications are not set up on this site.", 404)
    try:
        raw = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _json_error("Send the subscription as JSON.")
    keys = raw.get("keys") if isinstance(raw, dict) else None
    form = SubscriptionForm(
        {
            "endpoint": raw.get("endpoint") if isinstance(raw, dict) else None,
            "p256dh": keys.get("p256dh") if isinstance(keys, dict) else None,
            "auth": keys.get("auth") if isinstance(keys, dict) else None,
            "device": (raw.get("device") if isinstance(raw, dict) else "") or request.headers.get("User-Agent", "")[:120],
        }
    )
    if not form.is_valid():
        return JsonResponse({"detail": "That subscription cannot be used.", "errors": form.errors.get_json_data()}, status=400)
    subscription, created = subscription_save(user=request.user, **form.cleaned_data)
    return JsonResponse({"id": subscription.pk, "created": created}, status=201 if created else 200)


@require_POST
@login_required
def unsubscribe(request: HttpRequest) -> HttpResponse:
    try:
        raw = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _json_error("Send the endpoint as JSON.")
    endpoint = raw.get("endpoint") if isinstance(raw, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        return _json_error("Say which subscription to remove.")
    removed = subscription_remove(user=request.user, endpoint=endpoint)
    return JsonResponse({"removed": removed})


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    prefs = push.preferences_for(request.user)
    form = PushPreferencesForm(request.POST or None, instance=prefs)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your notification choices are saved."))
        return redirect("pwa_preferences")
    devices = PushSubscription.objects.filter(user=cast(User, request.user))
    context = {"form": form, "devices": devices, "configured": push.is_configured(), "vapid_key": push.public_key()}
    return render(request, "pwa/preferences.html", context, status=400 if form.errors else 200)


@require_POST
@login_required
def device_remove(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(PushSubscription, pk=pk, user=cast(User, request.user))
    subscription_remove(user=request.user, endpoint=subscription.endpoint)
    messages.success(request, _("That device will not get notifications any more."))
    return redirect("pwa_preferences")
