"""Background work for bookings: confirmation and change e-mails, and reminders.

The worker (`knotwork worker`) runs these. Reminders are swept, not scheduled one by one:
`knotwork send_reminders` (cron, every few minutes) enqueues :func:`send_due_reminders`, which
sends every reminder whose time has come. A unique row per appointment, offset and start time
makes a second send impossible even when two sweeps overlap.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from knotwork.bookings.ics import calendar_bytes
from knotwork.bookings.models import Appointment, AppointmentStatus, BookingPolicy, ReminderLog
from knotwork.bookings.sms import sms_sender

log = logging.getLogger(__name__)


def _load(appointment_id: int) -> Appointment | None:
    return Appointment.objects.select_related("clinic", "client", "service", "therapist").filter(pk=appointment_id).first()


def _context(appointment: Appointment) -> dict[str, object]:
    return {
        "appointment": appointment,
        "local_start": appointment.local_start,
        "local_end": appointment.local_end,
        "zone": appointment.clinic.time_zone,
        "link": settings.SITE_URL + reverse("appointment_detail", args=[appointment.pk]),
    }


def _mail(*, to: str, subject: str, template: str, appointment: Appointment, audience: str, ics_method: str = "REQUEST") -> None:
    if not to:
        return
    body = render_to_string(template, {**_context(appointment), "audience": audience})
    message = EmailMessage(subject=subject, body=body, to=[to])
    message.attach("appointment.ics", calendar_bytes([appointment], audience=audience, method=ics_method), "text/calendar")
    message.send()


def _client_email(appointment: Appointment) -> str:
    client = appointment.client
    if client is None:
        return ""
    return client.portal_user.email if client.portal_user_id and client.portal_user else client.email


@task()
def send_booking_confirmation(appointment_id: int) -> None:
    appointment = _load(appointment_id)
    if appointment is None or appointment.status not in (AppointmentStatus.CONFIRMED, AppointmentStatus.REQUESTED):
        return
    requested = appointment.status == AppointmentStatus.REQUESTED
    when = f"{appointment.local_start:%a %-d %b, %H:%M}"
    _mail(
        to=_client_email(appointment),
        subject=f"{'Booking request received' if requested else 'Booking confirmed'}: {when}",
        template="bookings/email/confirmation.txt",
        appointment=appointment,
        audience="client",
    )
    _mail(
        to=appointment.therapist.email,
        subject=f"{'New booking request' if requested else 'New booking'}: {when}",
        template="bookings/email/confirmation_staff.txt",
        appointment=appointment,
        audience="therapist",
    )


@task()
def send_booking_change(appointment_id: int, change: str) -> None:
    appointment = _load(appointment_id)
    if appointment is None:
        return
    when = f"{appointment.local_start:%a %-d %b, %H:%M}"
    method = "CANCEL" if change == "cancelled" else "REQUEST"
    for to, audience in ((_client_email(appointment), "client"), (appointment.therapist.email, "therapist")):
        _mail(
            to=to,
            subject=f"Appointment {'cancelled' if change == 'cancelled' else 'moved'}: {when}",
            template="bookings/email/change.txt",
            appointment=appointment,
            audience=audience,
            ics_method=method,
        )


def _send_reminder(appointment: Appointment, offset: int, policy: BookingPolicy) -> ReminderLog:
    context = _context(appointment)
    # Time, place and a link: never the service's clinical purpose or any notes.
    text = render_to_string("bookings/email/reminder.txt", context)
    entry = ReminderLog(appointment=appointment, offset_hours=offset, starts_at=appointment.starts_at)
    client = appointment.client
    # Each channel only as the client chose (Client.reminders_by_email / reminders_by_sms; texts are opt-in).
    email = _client_email(appointment) if client is not None and client.reminders_by_email else ""
    if email:
        EmailMessage(subject=f"Reminder: your appointment on {appointment.local_start:%a %-d %b at %H:%M}", body=text, to=[email]).send()
        entry.email_sent = True
    if policy.sms_reminders and client is not None and client.reminders_by_sms and client.phone:
        sms_sender().send(
            to=client.phone,
            text=f"Reminder: {appointment.clinic.name}, {appointment.local_start:%a %-d %b %H:%M}. Details: {context['link']}",
        )
        entry.sms_sent = True
    return entry


def due_reminders(*, now: datetime) -> int:
    """Send every reminder that is due and not sent yet. Returns how many went out."""
    sent = 0
    horizon = now + timedelta(days=15)
    candidates = Appointment.objects.filter(status=AppointmentStatus.CONFIRMED, starts_at__gt=now, starts_at__lte=horizon).select_related(
        "clinic", "client", "client__portal_user", "service", "therapist"
    )
    policies: dict[int, BookingPolicy] = {}
    for appointment in candidates.iterator(chunk_size=500):
        policy = policies.setdefault(appointment.clinic_id, BookingPolicy.for_clinic(appointment.clinic))
        booked = appointment.confirmed_at or appointment.created_at
        due = {h for h in policy.reminder_offsets if appointment.starts_at - timedelta(hours=h) <= now}
        already = (
            set(ReminderLog.objects.filter(appointment=appointment, starts_at=appointment.starts_at).values_list("offset_hours", flat=True))
            if due
            else set()
        )
        if not due - already:
            continue
        # Only the closest due reminder goes out; one whose moment came before the booking existed,
        # or that a closer one supersedes, is recorded as skipped so it is never sent later.
        wanted = [h for h in due if appointment.starts_at - timedelta(hours=h) >= booked]
        send = min(wanted) if wanted and min(wanted) not in already else None
        try:
            with transaction.atomic():
                for h in sorted(due - already - {send}):
                    ReminderLog.objects.create(appointment=appointment, offset_hours=h, starts_at=appointment.starts_at, skipped=True)
                if send is None:
                    continue
                # Claim the row before sending: a concurrent sweep fails on the unique constraint
                # and sends nothing; a failed send rolls the claim back for the next sweep.
                entry = ReminderLog.objects.create(appointment=appointment, offset_hours=send, starts_at=appointment.starts_at)
                done = _send_reminder(appointment, send, policy)
                ReminderLog.objects.filter(pk=entry.pk).update(email_sent=done.email_sent, sms_sent=done.sms_sent)
        except IntegrityError:
            continue
        sent += 1
    return sent


@task()
def send_due_reminders() -> int:
    return due_reminders(now=timezone.now())
