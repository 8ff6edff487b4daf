"""The call page and its signalling calls. Signalling is plain HTTPS: the page posts a message and
polls for the other side's messages after an id, so any app server can answer any request."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from knotwork.video import selectors, services, tokens
from knotwork.video.ice import ice_servers
from knotwork.video.models import MAX_PAYLOAD_BYTES, Seat, Signal, room_window

# What the call page adds to the site's policy: the camera and microphone streams shown in <video>.
VIDEO_CSP = {"media-src": ["'self'", "blob:", "mediastream:"]}


def _permissions_policy() -> str:
    """The site's Permissions-Policy with the camera and microphone allowed to this origin: the site
    denies the microphone everywhere else (knotwork.lib.middleware sets the header by default)."""
    directives = [d.strip() for d in settings.PERMISSIONS_POLICY.split(",") if d.strip()]
    kept = [d for d in directives if not d.startswith(("camera=", "microphone="))]
    return ", ".join(["camera=(self)", "microphone=(self)", *kept])


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


@login_required
@require_safe
@never_cache  # the page carries the room pass
@csp_update(VIDEO_CSP)  # type: ignore[arg-type]  # django-csp types views as taking the request only
def video_room(request: HttpRequest, pk: int) -> HttpResponse:
    appointment, seat = selectors.seat_for(request.user, pk)
    opens, closes = room_window(appointment.starts_at, appointment.ends_at)
    context: dict[str, Any] = {"a": appointment, "seat": seat, "opens": opens, "closes": closes, "now": timezone.now()}
    if not selectors.is_video(appointment) or not selectors.is_open(appointment):
        return render(request, "video/unavailable.html", context)
    room = services.room_open(appointment=appointment)
    peer = appointment.client.full_name if seat == Seat.THERAPIST else appointment.therapist.display_name  # type: ignore[union-attr]
    context.update(
        room=room,
        peer=peer,
        ice_servers=ice_servers(),
        texts=_texts(),
        room_pass=tokens.room_pass(room_id=room.room_id, user_id=cast(int, request.user.pk), seat=seat),
    )
    response = render(request, "video/room.html", context)
    response["Permissions-Policy"] = _permissions_policy()
    return response


def _texts() -> dict[str, str]:
    """What the page's script says, in the page's language; ``{peer}`` is the other person's name."""
    return {
        "waiting_for_admit": _("Waiting for {peer} to let you in."),
        "waiting_for_join": _("Waiting for {peer} to join."),
        "peer_waiting": _("{peer} is waiting to be let in."),
        "connecting": _("Connecting to {peer}…"),
        "connected": _("Connected to {peer}."),
        "reconnecting": _("The connection dropped. Trying to reconnect…"),
        "failed": _("The connection failed. Check your network, or reload the page to try again."),
        "peer_left": _("{peer} left the call."),
        "you_left": _("You left the call."),
        "no_media": _(
            "Your camera or microphone could not be started. {peer} will not see or hear you; check your browser's permissions and reload."
        ),
        "network": _("Cannot reach Knotwork. Retrying…"),
        "camera_off": _("Turn camera off"),
        "camera_on": _("Turn camera on"),
        "mic_off": _("Mute microphone"),
        "mic_on": _("Unmute microphone"),
    }


def _room_call(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in (401), a seat in the room (404), a live pass for it (403), the room open (409)."""

    @wraps(view)
    @never_cache
    def wrapper(request: HttpRequest, room_id: str) -> HttpResponse:
        if not request.user.is_authenticated:
            return _error(401, "not_signed_in", "Sign in to join the call.")
        room, seat = selectors.get_room_for_user(request.user, room_id)
        try:
            tokens.check_room_pass(request.headers.get(tokens.HEADER, ""), room_id=room.room_id, user_id=request.user.pk, seat=seat)
        except tokens.PassExpired:
            return _error(403, "pass_expired", "Your pass for this call has expired. Reload the page to rejoin.")
        except tokens.PassInvalid:
            return _error(403, "pass_invalid", "This request does not carry a valid pass for this call. Reload the page to rejoin.")
        if not selectors.is_open(room.appointment):
            return _error(409, "room_closed", "The call is not open now.")
        try:
            return view(request, room, seat)
        except services.RoomError as exc:
            return _error(exc.status, exc.code, exc.message)

    return wrapper


def _state(room: Any, seat: str) -> dict[str, Any]:
    seats = selectors.participants(room)
    other = Seat.CLIENT if seat == Seat.THERAPIST else Seat.THERAPIST
    return {"me": seats[seat].state if seat in seats else "absent", "peer": seats[other].state if other in seats else "absent"}


@require_POST
@_room_call
def video_join(request: HttpRequest, room: Any, seat: str) -> HttpResponse:
    participant, after = services.participant_join(room=room, user=request.user, seat=seat, audit_role=seat)
    return JsonResponse({"seat": seat, "after": after, "joined": participant.joined_at.isoformat(), **_state(room, seat)})


@require_POST
@_room_call
def video_admit(request: HttpRequest, room: Any, seat: str) -> HttpResponse:
    if seat != Seat.THERAPIST:
        return _error(403, "therapist_only", "Only the therapist can let someone in.")
    services.client_admit(room=room, audit_role=seat)
    return JsonResponse(_state(room, seat))


@require_http_methods(["GET", "POST"])
@_room_call
def video_signals(request: HttpRequest, room: Any, seat: str) -> HttpResponse:
    if request.method == "POST":
        return _send(request, room, seat)
    try:
        after = int(request.GET.get("after", "0"))
    except ValueError:
        return _error(400, "bad_after", "after must be a whole number (the last message id you read).")
    if not 0 <= after < 2**62:
        return _error(400, "bad_after", "after must be a whole number (the last message id you read).")
    signals = [{"id": s.pk, "kind": s.kind, "payload": s.payload} for s in selectors.signals_for(room, reader=seat, after=after)]
    return JsonResponse({"signals": signals, **_state(room, seat)})


def _send(request: HttpRequest, room: Any, seat: str) -> HttpResponse:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > MAX_PAYLOAD_BYTES + 1024 or len(request.body) > MAX_PAYLOAD_BYTES + 1024:
        return _error(413, "too_large", f"A signalling message may be at most {MAX_PAYLOAD_BYTES // 1024} KB.")
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "bad_json", 'Send a JSON object: {"kind": "offer|answer|candidate|bye", "payload": {...}}.')
    if not isinstance(body, dict) or body.get("kind") not in Signal.Kind.values:
        return _error(400, "bad_kind", "kind must be one of offer, answer, candidate, bye.")
    payload = body.get("payload", {})
    if not isinstance(payload, dict):
        return _error(400, "bad_payload", "payload must be a JSON object.")
    text = json.dumps(payload)
    if len(text) > MAX_PAYLOAD_BYTES:
        return _error(413, "too_large", f"A signalling message may be at most {MAX_PAYLOAD_BYTES // 1024} KB.")
    if "\\u0000" in text:  # PostgreSQL's jsonb refuses NUL, and no SDP carries one
        return _error(400, "bad_payload", "payload must not contain NUL characters.")
    signal = services.signal_send(room=room, sender=seat, kind=body["kind"], payload=payload)
    return JsonResponse({"id": signal.pk}, status=201)
