"""The STUN/TURN servers handed to the browsers (RTCConfiguration.iceServers), from the
``WEBRTC_ICE_SERVERS`` setting: a JSON list of RTCIceServer objects, e.g.
``[{"urls": ["turn:turn.example.org:3478"], "username": "knotwork", "credential": "..."}]``.
docs/video.md has the coturn set-up."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


def parse_ice_servers(raw: str) -> list[dict[str, Any]]:
    """Validate the JSON text of WEBRTC_ICE_SERVERS; raise ImproperlyConfigured naming the variable."""

    def bad(why: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(f"WEBRTC_ICE_SERVERS {why} (see docs/video.md)")

    try:
        value = json.loads(raw or "[]")
    except ValueError:
        raise bad("must be JSON: a list of {urls, username?, credential?} objects") from None
    if not isinstance(value, list):
        raise bad("must be a JSON list")
    servers = []
    for entry in value:
        if not isinstance(entry, dict) or "urls" not in entry:
            raise bad("entries must be objects with urls")
        urls = entry["urls"] if isinstance(entry["urls"], list) else [entry["urls"]]
        if not urls or not all(isinstance(u, str) and u.startswith(SCHEMES) for u in urls):
            raise bad(f"urls must start with one of {', '.join(SCHEMES)}")
        server: dict[str, Any] = {"urls": urls}
        for key in ("username", "credential"):
            if key in entry:
                if not isinstance(entry[key], str):
                    raise bad(f"{key} must be a string")
                server[key] = entry[key]
        if any(u.startswith(("turn:", "turns:")) for u in urls) and not ("username" in server and "credential" in server):
            raise bad("TURN servers need a username and credential")
        servers.append(server)
    return servers


@cache
def ice_servers() -> list[dict[str, Any]]:
    return parse_ice_servers(getattr(settings, "WEBRTC_ICE_SERVERS", "[]"))
