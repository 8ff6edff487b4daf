"""Writes: open a room, join it, admit the client, send a signalling message, clean up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.bookings.models import Appointment
from knotwork.video.models import CLOSES_AFTER, MAX_SIGNALS_PER_ROOM, Participant, Seat, Signal, VideoRoom

State = Participant.State


class RoomError(Exception):
    """A request the room cannot take now; ``status`` and ``code`` become the JSON error."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def room_open(*, appointment: Appointment) -> VideoRoom:
    """The appointment's room, created the first time someone opens the call."""
    room = VideoRoom.objects.filter(appointment=appointment).first()
    if room is not None:
        return room
    try:
        with transaction.atomic():
            return VideoRoom.objects.create(appointment=appointment, clinic_id=appointment.clinic_id)
    except IntegrityError:  # the other participant opened it at the same moment
        return VideoRoom.objects.get(appointment=appointment)


@transaction.atomic
def participant_join(*, room: VideoRoom, user: Any, seat: str, audit_role: str) -> tuple[Participant, int]:
    """Take the seat: the therapist is in at once; the client waits to be admitted (a client who is
    already in, e.g. reloading the page, stays in). Returns the participant and the id after which
    the page reads messages: anything older belongs to an earlier page and is never replayed."""
    now = timezone.now()
    participant = Participant.objects.select_for_update().filter(room=room, seat=seat).first()
    if participant is None:
        try:
            with transaction.atomic():
                participant = Participant.objects.create(room=room, seat=seat, user=user, joined_at=now, state=State.WAITING)
        except IntegrityError:  # the same person joined from another tab at the same moment
            participant = Participant.objects.select_for_update().get(room=room, seat=seat)
    keep_admitted = seat == Seat.CLIENT and participant.state == State.ADMITTED
    participant.user, participant.joined_at, participant.left_at = user, now, None
    if seat == Seat.THERAPIST:
        participant.state, participant.admitted_at = State.ADMITTED, now
    elif not keep_admitted:
        participant.state, participant.admitted_at = State.WAITING, None
    participant.save()
    # This seat's messages from an earlier page are stale: the new page negotiates afresh.
    Signal.objects.filter(room=room, sender=seat).delete()
    if room.closed_at is not None:
        VideoRoom.objects.filter(pk=room.pk).update(closed_at=None)
        room.closed_at = None
    signals_purge(now=now)  # other rooms' leftovers, so the table stays small without a cron job too
    after = Signal.objects.filter(room=room).aggregate(last=Max("id"))["last"] or 0
    audit_record(action=Action.VIEW, obj=room.appointment, role=audit_role, detail={"video": "join", "room": room.pk, "seat": seat})
    return participant, after


@transaction.atomic
def client_admit(*, room: VideoRoom, audit_role: str) -> Participant:
    """The therapist lets the waiting client in; the client's page then starts the connection."""
    therapist = Participant.objects.filter(room=room, seat=Seat.THERAPIST, state=State.ADMITTED).first()
    if therapist is None:
        raise RoomError("not_joined", "Join the call before admitting anyone.")
    client = Participant.objects.select_for_update().filter(room=room, seat=Seat.CLIENT).first()
    if client is None or client.state == State.LEFT:
        raise RoomError("nobody_waiting", "Nobody is waiting to be let in.")
    if client.state == State.WAITING:
        client.state, client.admitted_at = State.ADMITTED, timezone.now()
        client.save(update_fields=["state", "admitted_at"])
        audit_record(
            action=Action.ACCEPT,
            obj=room.appointment,
            role=audit_role,
            detail={"video": "admit", "room": room.pk, "client_user": client.user_id},
        )
    return client


@transaction.atomic
def signal_send(*, room: VideoRoom, sender: str, kind: str, payload: dict[str, Any]) -> Signal:
    """Store one message for the other seat. Offers, answers and candidates flow only once the
    client is admitted; a hang-up (``bye``) is always accepted and marks the sender as left."""
    me = Participant.objects.select_for_update().filter(room=room, seat=sender).first()
    if me is None or me.state == State.LEFT:
        raise RoomError("not_joined", "Join the call first.")
    if kind == Signal.Kind.BYE and payload.get("joined") not in (None, me.joined_at.isoformat()):
        # A page that was reloaded says goodbye after its successor joined: that is not a hang-up.
        raise RoomError("stale_page", "This page has been replaced by a newer one.")
    if kind != Signal.Kind.BYE:
        if not Participant.objects.filter(room=room, seat=Seat.CLIENT, state=State.ADMITTED).exists():
            raise RoomError("not_admitted", "The client has not been let in yet.")
        if Signal.objects.filter(room=room).count() >= MAX_SIGNALS_PER_ROOM:
            raise RoomError("too_many_messages", "Too many messages in this call; wait a moment and try again.", 429)
    signal = Signal.objects.create(room=room, sender=sender, kind=kind, payload=payload)
    if kind == Signal.Kind.BYE:
        me.state, me.left_at = State.LEFT, timezone.now()
        me.save(update_fields=["state", "left_at"])
        if not Participant.objects.filter(room=room).exclude(state=State.LEFT).exists():
            # Both have gone: nothing is left to read. The room reopens if someone joins again.
            Signal.objects.filter(room=room).delete()
            VideoRoom.objects.filter(pk=room.pk).update(closed_at=timezone.now())
    return signal


def signals_purge(*, now: datetime | None = None) -> int:
    """Delete the messages of every room whose window has closed; returns how many went."""
    now = now or timezone.now()
    deleted, _ = Signal.objects.filter(room__appointment__ends_at__lt=now - CLOSES_AFTER).delete()
    return deleted
