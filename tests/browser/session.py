"""Browser tests start signed in: a session made by Django's test client, handed to the page as its cookie."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client


def sign_in(page: Any, live_server: Any, user: Any) -> None:
    http = Client()
    http.force_login(user)
    cookie = http.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
