"""Reads: who sits where in an appointment's call, a room for a user, messages after an id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404
from django.utils import timezone

from knotwork.accounts.models import Capability
from knotwork.bookings.models import Appointment, AppointmentStatus, Service
from knotwork.bookings.selectors import get_appointment_for_user
from knotwork.video.models import Participant, Seat, Signal, VideoRoom, room_window

# Statuses in which the call can take place (an attended appointment may be marked during the call).
OPEN_STATUSES = (AppointmentStatus.CONFIRMED, AppointmentStatus.COMPLETED)
SIGNALS_PER_READ = 50


def seat_for(user: Any, appointment_id: int) -> tuple[Appointment, Seat]:
    """The appointment and the seat ``user`` takes in its call, or 404.

    Exactly two people have a seat: the appointment's own therapist (while a member of its clinic
    with clinical access) and the client whose portal login the appointment is for. Everyone else
    gets a 404 — other clients, other clinics' staff, and also the front desk, the owner and the
    other therapists of the same clinic: a consultation is a private clinical conversation, and the
    desk's role carries no clinical access.
    """
    appointment, membership = get_appointment_for_user(user, appointment_id, audit=False)
    if membership is None:
        return appointment, Seat.CLIENT
    if appointment.therapist_id == user.pk and membership.can(Capability.VIEW_CLINICAL):
        return appointment, Seat.THERAPIST
    raise Http404("No such appointment")


def is_video(appointment: Appointment) -> bool:
    return appointment.service.mode == Service.Mode.VIDEO


def is_open(appointment: Appointment, *, now: datetime | None = None) -> bool:
    opens, closes = room_window(appointment.starts_at, appointment.ends_at)
    return appointment.status in OPEN_STATUSES and opens <= (now or timezone.now()) < closes


def get_room_for_user(user: Any, room_id: str) -> tuple[VideoRoom, Seat]:
    """The room and the caller's seat; 404 for an unknown room or anyone without a seat in it."""
    room = VideoRoom.objects.filter(room_id=room_id).first()
    if room is None or not getattr(user, "is_authenticated", False):
        raise Http404("No such room")
    appointment, seat = seat_for(user, room.appointment_id)
    if not is_video(appointment):
        raise Http404("No such room")
    room.appointment = appointment  # fetched with its clinic, client, service and therapist
    return room, seat


def participants(room: VideoRoom) -> dict[str, Participant]:
    return {p.seat: p for p in Participant.objects.filter(room=room)}


def signals_for(room: VideoRoom, *, reader: str, after: int) -> list[Signal]:
    """The other seat's messages after ``after``, oldest first (at most SIGNALS_PER_READ)."""
    return list(Signal.objects.filter(room=room, id__gt=after).exclude(sender=reader).order_by("id")[:SIGNALS_PER_READ])
