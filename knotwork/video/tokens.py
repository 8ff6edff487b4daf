"""The room pass: a short-lived signed token the room page hands its script, bound to the room,
the signed-in user and their seat. Every signalling call carries it (``X-Room-Pass`` header) in
addition to the session, so a leaked room id alone is useless and a pass stops working after
PASS_MAX_AGE even in a tab left open."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.signing import BadSignature, SignatureExpired, TimestampSigner, b62_encode

SALT = "knotwork.video.room-pass"
PASS_MAX_AGE = timedelta(hours=4)
HEADER = "X-Room-Pass"


class PassExpired(Exception):
    pass


class PassInvalid(Exception):
    pass


class _Signer(TimestampSigner):
    def __init__(self, issued_at: datetime | None = None) -> None:
        super().__init__(salt=SALT)
        self._issued_at = issued_at

    def timestamp(self) -> str:
        if self._issued_at is None:
            return super().timestamp()
        return b62_encode(int(self._issued_at.timestamp()))


def _claims(room_id: str, user_id: int, seat: str) -> dict[str, Any]:
    return {"r": room_id, "u": user_id, "s": seat}


def room_pass(*, room_id: str, user_id: int, seat: str, issued_at: datetime | None = None) -> str:
    return _Signer(issued_at).sign_object(_claims(room_id, user_id, seat))


def check_room_pass(token: str, *, room_id: str, user_id: int, seat: str) -> None:
    """Raise PassExpired or PassInvalid unless ``token`` is a live pass for exactly this room, user and seat."""
    try:
        claims = _Signer().unsign_object(token, max_age=PASS_MAX_AGE)
    except SignatureExpired:
        raise PassExpired from None
    except (BadSignature, ValueError, TypeError):
        raise PassInvalid from None
    if claims != _claims(room_id, user_id, seat):
        raise PassInvalid
