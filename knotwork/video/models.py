"""Video consultation rooms: one per appointment of a video service, its two seats and the
signalling messages the browsers exchange through Knotwork. Media never passes through here:
the browsers connect to each other (or through a TURN relay); see docs/video.md."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models

# The room opens this long before the appointment starts and closes this long after it ends.
OPENS_BEFORE = timedelta(minutes=15)
CLOSES_AFTER = timedelta(minutes=30)
# One signalling message (an SDP offer with many codecs is a few KB; a candidate a few hundred bytes).
MAX_PAYLOAD_BYTES = 32 * 1024
# Messages kept per room at once: a real call needs a few dozen; past this the sender is told to wait.
MAX_SIGNALS_PER_ROOM = 500


def new_room_id() -> str:
    return secrets.token_urlsafe(24)


class VideoRoom(models.Model):
    """Created the first time one of the two participants opens the appointment's call."""

    appointment = models.OneToOneField("bookings.Appointment", on_delete=models.CASCADE, related_name="video_room")
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.CASCADE, related_name="+")
    # The id in the signalling URLs: random and unguessable (a pass is still needed on every call).
    room_id = models.CharField(max_length=40, unique=True, default=new_room_id, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when both participants have left (their messages are deleted then); cleared on a new join.
    closed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Video room for appointment {self.appointment_id}"

    def window(self) -> tuple[datetime, datetime]:
        return room_window(self.appointment.starts_at, self.appointment.ends_at)


def room_window(starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    return starts_at - OPENS_BEFORE, ends_at + CLOSES_AFTER


class Seat(models.TextChoices):
    THERAPIST = "therapist", "Therapist"
    CLIENT = "client", "Client"


class Participant(models.Model):
    """One of the room's two seats. The therapist is in as soon as they join; the client waits
    until the therapist admits them."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting to be let in"
        ADMITTED = "admitted", "In the call"
        LEFT = "left", "Left"

    room = models.ForeignKey(VideoRoom, on_delete=models.CASCADE, related_name="participants")
    seat = models.CharField(max_length=10, choices=Seat.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices)
    joined_at = models.DateTimeField()
    admitted_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "seat"], name="video_one_participant_per_seat")]

    def __str__(self) -> str:
        return f"{self.get_seat_display()} ({self.get_state_display()})"


class Signal(models.Model):
    """A WebRTC signalling message from one seat to the other, read by polling after an id."""

    class Kind(models.TextChoices):
        OFFER = "offer", "Offer"
        ANSWER = "answer", "Answer"
        CANDIDATE = "candidate", "ICE candidate"
        BYE = "bye", "Hang-up"

    room = models.ForeignKey(VideoRoom, on_delete=models.CASCADE, related_name="signals")
    sender = models.CharField(max_length=10, choices=Seat.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["room", "sender", "id"], name="video_signal_room_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.get_sender_display()}"
