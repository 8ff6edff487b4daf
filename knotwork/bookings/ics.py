"""iCalendar (RFC 5545) for appointments: attachments, single downloads and therapists' feeds.

Calendars end up in third-party services, so events carry the service, time and place only:
no notes, no reasons for the visit, and in a therapist's feed the client's initials, not name.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.urls import reverse
from icalendar import Calendar, Event

from knotwork.bookings.models import Appointment, AppointmentStatus

PRODID = "-//Knotwork//Bookings//EN"
CANCELLED = (AppointmentStatus.CANCELLED, AppointmentStatus.LATE_CANCELLED)


def _initials(appointment: Appointment) -> str:
    client = appointment.client
    if client is None:
        return "hold"
    return "".join(f"{part[:1].upper()}." for part in (client.first_name, client.last_name) if part)


def _location(appointment: Appointment) -> str:
    if appointment.service.mode == "video":
        return "Video call (the link comes from the clinic)"
    clinic = appointment.clinic
    return ", ".join(p for p in (clinic.name, clinic.address, clinic.city, clinic.postcode) if p)


def appointment_event(appointment: Appointment, *, audience: str) -> Event:
    """One VEVENT. ``audience`` is "client" (their own booking) or "therapist" (the private feed)."""
    event = Event()
    event.add("uid", f"appointment-{appointment.pk}@knotwork")
    event.add("sequence", appointment.reschedule_count)
    event.add("dtstamp", appointment.confirmed_at or appointment.created_at)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", appointment.ends_at)
    link = settings.SITE_URL + reverse("appointment_detail", args=[appointment.pk])
    if audience == "therapist":
        event.add("summary", f"{appointment.service.name} — {_initials(appointment)}")
    else:
        event.add("summary", f"{appointment.service.name} with {appointment.therapist.display_name} at {appointment.clinic.name}")
    event.add("location", _location(appointment))
    event.add("description", f"Details, changes and cancellation: {link}")
    event.add("url", link)
    event.add("status", "CANCELLED" if appointment.status in CANCELLED else "CONFIRMED")
    return event


def calendar_bytes(appointments: Iterable[Appointment], *, audience: str, name: str = "Knotwork", method: str = "") -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    if method:
        cal.add("method", method)
    for appointment in appointments:
        cal.add_component(appointment_event(appointment, audience=audience))
    return cal.to_ical()
