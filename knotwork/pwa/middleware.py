from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CLEAR_SITE_DATA = '"cache", "storage"'


class ClearSiteDataMiddleware:
    """Adds ``Clear-Site-Data`` to the response of a request that signed someone in or out (see
    :mod:`knotwork.pwa.signals`): the browser empties its caches and storage for the site, the
    service worker's offline copies and any exercise ticks still queued on the device included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "knotwork_clear_site_data", False):
            response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response
