"""At sign-in and sign-out the browser is told to drop what the service worker stored for offline
use (``Clear-Site-Data``), so a shared phone never shows one person's home program to the next.
The receivers only mark the request; :class:`knotwork.pwa.middleware.ClearSiteDataMiddleware`
adds the header to the response."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver


@receiver(user_logged_in, dispatch_uid="pwa-clear-on-login")
@receiver(user_logged_out, dispatch_uid="pwa-clear-on-logout")
def _mark_request(sender: Any, request: Any = None, **kwargs: Any) -> None:
    if request is not None:
        request.knotwork_clear_site_data = True
