"""Background work for bookings: confirmation and change e-mails, and reminders.

The worker (`knotwork worker`) runs these. Reminders are swept, not scheduled one by one:
`knotwork send_reminders` (cron, every few minutes) enqueues :func:`send_due_reminders`, which
sends every reminder whose time has come. A unique row per appointment, offset and start time
makes a second send impossible even when two sweeps overlap.

Text messages are at most once: the reminder's row is committed, marked ``sending`` (or
``deferred`` by quiet hours), before the gateway is called, and the outcome is written to it
afterwards. A worker that dies mid-send leaves the row at ``sending`` and the text is not tried
again: a missed text is a nuisance, two texts for one appointment erode trust in all of them.
E-mail keeps its old rule: it goes inside the claiming transaction, so a mail server that is down
rolls the claim back and the next sweep tries again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django_tasks import task

from knotwork.bookings.ics import calendar_bytes
from knotwork.bookings.models import Appointment, AppointmentStatus, BookingPolicy, ReminderLog, SmsStatus
from knotwork.bookings.sms import SmsError, mask_number, next_text_time, sms_sender
from knotwork.clients.language import client_translation, clinic_translation, short_when
from knotwork.lib.mail import send_email
from knotwork.lib.urls import absolute_url
from knotwork.pwa import tasks as push_tasks

log = logging.getLogger(__name__)


def _load(appointment_id: int) -> Appointment | None:
    return Appointment.objects.select_related("clinic", "client", "service", "therapist").filter(pk=appointment_id).first()


def _context(appointment: Appointment) -> dict[str, object]:
    return {
        "appointment": appointment,
        "local_start": appointment.local_start,
        "local_end": appointment.local_end,
        "zone": appointment.clinic.time_zone,
        "link": absolute_url(reverse("appointment_detail", args=[appointment.pk])),
    }


def _render(template: str, context: dict[str, object]) -> tuple[str, str]:
    """The plain-text and HTML parts of ``bookings/email/<template>``."""
    return render_to_string(f"bookings/email/{template}.txt", context), render_to_string(f"bookings/email/{template}.html", context)


def _mail(*, to: str, subject: str, template: str, appointment: Appointment, audience: str, ics_method: str = "REQUEST") -> None:
    if not to:
        return
    text, html = _render(template, {**_context(appointment), "audience": audience, "subject": subject})
    ics = calendar_bytes([appointment], audience=audience, method=ics_method)
    send_email(
        to=to, subject=subject, text=text, html=html, clinic=appointment.clinic, attachments=[("appointment.ics", ics, "text/calendar")]
    )


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
    with client_translation(appointment.client):  # the client's copy in their language
        client_when = short_when(appointment.local_start)
        _mail(
            to=_client_email(appointment),
            subject=gettext("Booking request received: %(when)s") % {"when": client_when}
            if requested
            else gettext("Booking confirmed: %(when)s") % {"when": client_when},
            template="confirmation",
            appointment=appointment,
            audience="client",
        )
    with clinic_translation():
        _mail(
            to=appointment.therapist.email,
            subject=f"{'New booking request' if requested else 'New booking'}: {when}",
            template="confirmation_staff",
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
    with client_translation(appointment.client):  # the client's copy in their language
        client_when = short_when(appointment.local_start)
        subject = gettext("Appointment cancelled: %(when)s") if change == "cancelled" else gettext("Appointment moved: %(when)s")
        _mail(
            to=_client_email(appointment),
            subject=subject % {"when": client_when},
            template="change",
            appointment=appointment,
            audience="client",
            ics_method=method,
        )
    with clinic_translation():
        _mail(
            to=appointment.therapist.email,
            subject=f"Appointment {'cancelled' if change == 'cancelled' else 'moved'}: {when}",
            template="change",
            appointment=appointment,
            audience="therapist",
            ics_method=method,
        )


def _wants_text(appointment: Appointment, policy: BookingPolicy) -> bool:
    # Texts are opt-in twice over: the clinic sends them (BookingPolicy.sms_reminders) and the client
    # chose them (Client.reminders_by_sms, turned off by a STOP reply).
    client = appointment.client
    return bool(policy.sms_reminders and client is not None and client.reminders_by_sms and client.phone)


def _email_reminder(appointment: Appointment) -> bool:
    client = appointment.client
    email = _client_email(appointment) if client is not None and client.reminders_by_email else ""
    if not email:
        return False
    with client_translation(client):
        subject = gettext("Reminder: your appointment on %(when)s") % {"when": short_when(appointment.local_start)}
        # Time, place and a link: never the service's clinical purpose or any notes.
        text, html = _render("reminder", {**_context(appointment), "subject": subject})
    send_email(to=email, subject=subject, text=text, html=html, clinic=appointment.clinic)
    return True


def _plan_text(appointment: Appointment, policy: BookingPolicy, now: datetime) -> tuple[str, datetime | None]:
    """The text's first status and, when quiet hours hold it back, when it may go."""
    if not _wants_text(appointment, policy):
        return SmsStatus.NONE, None
    at = next_text_time(now, appointment.clinic.tz)
    if at <= now:
        return SmsStatus.SENDING, None
    if at >= appointment.starts_at:
        return SmsStatus.SKIPPED, None  # quiet until the appointment itself: the e-mail has to do
    return SmsStatus.DEFERRED, at


def _text_reminder(entry: ReminderLog, appointment: Appointment) -> None:
    """Send the text of a row already committed as ``sending`` and record what happened."""
    client = appointment.client
    assert client is not None  # _wants_text
    link = absolute_url(reverse("appointment_detail", args=[appointment.pk]))
    with client_translation(client):
        text = gettext("Reminder: %(clinic)s, %(when)s. Details: %(link)s") % {
            "clinic": appointment.clinic.name,
            "when": short_when(appointment.local_start),
            "link": link,
        }
    try:
        message_id = sms_sender().send(to=client.phone, text=text) or ""
    except SmsError as exc:
        error = exc.reason
    except Exception:
        # A sender's bug must not leave the row at "sending" with no word why; it is never retried either way.
        log.exception("reminder %s: the text sender raised", entry.pk)
        error = "sender-error"
    else:
        ReminderLog.objects.filter(pk=entry.pk, sms_status=SmsStatus.SENDING).update(
            sms_status=SmsStatus.SENT, sms_sent=True, sms_message_id=str(message_id)[:64], sms_updated_at=timezone.now()
        )
        return
    log.warning("reminder %s: text to %s not sent (%s)", entry.pk, mask_number(client.phone), error)
    ReminderLog.objects.filter(pk=entry.pk, sms_status=SmsStatus.SENDING).update(
        sms_status=SmsStatus.FAILED, sms_error=error, sms_updated_at=timezone.now()
    )


def _send_held_texts(*, now: datetime, policies: dict[int, BookingPolicy]) -> int:
    """Texts that quiet hours held back and whose time has come; each claimed by a conditional update."""
    sent = 0
    held = ReminderLog.objects.filter(sms_status=SmsStatus.DEFERRED, sms_due_at__lte=now).select_related(
        "appointment__clinic", "appointment__client", "appointment__service"
    )
    for entry in held.iterator(chunk_size=200):
        appointment = entry.appointment
        policy = policies.setdefault(appointment.clinic_id, BookingPolicy.for_clinic(appointment.clinic))
        still_wanted = (
            appointment.status == AppointmentStatus.CONFIRMED
            and appointment.starts_at == entry.starts_at
            and appointment.starts_at > now
            and _wants_text(appointment, policy)
        )
        later = next_text_time(now, appointment.clinic.tz)
        if still_wanted and later > now:  # the sweep ran late, into the next quiet period
            ReminderLog.objects.filter(pk=entry.pk, sms_status=SmsStatus.DEFERRED).update(sms_due_at=later)
            continue
        claimed = ReminderLog.objects.filter(pk=entry.pk, sms_status=SmsStatus.DEFERRED).update(
            sms_status=SmsStatus.SENDING if still_wanted else SmsStatus.SKIPPED,
            sms_error="" if still_wanted else "no-longer-wanted",
            sms_updated_at=now,
        )
        if claimed and still_wanted:
            _text_reminder(entry, appointment)
            sent += 1
    return sent


def due_reminders(*, now: datetime) -> int:
    """Send every reminder that is due and not sent yet, then any text quiet hours held back.
    Returns how many reminders went out (a held-back text is counted when its reminder was)."""
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
                # and sends nothing; a failed e-mail rolls the claim back for the next sweep.
                sms_status, sms_due_at = _plan_text(appointment, policy, now)
                entry = ReminderLog.objects.create(
                    appointment=appointment,
                    offset_hours=send,
                    starts_at=appointment.starts_at,
                    sms_status=sms_status,
                    sms_due_at=sms_due_at,
                    sms_error="quiet-hours" if sms_status == SmsStatus.SKIPPED else "",
                )
                if sms_status:
                    # This reminder's text replaces an earlier one still waiting for quiet hours to end.
                    ReminderLog.objects.filter(
                        appointment=appointment, starts_at=appointment.starts_at, sms_status=SmsStatus.DEFERRED
                    ).exclude(pk=entry.pk).update(sms_status=SmsStatus.SKIPPED, sms_error="superseded", sms_updated_at=now)
                if _email_reminder(appointment):
                    ReminderLog.objects.filter(pk=entry.pk).update(email_sent=True)
        except IntegrityError:
            continue
        # Committed: from here on no sweep will send this reminder again, whatever happens below.
        if entry.sms_status == SmsStatus.SENDING:
            _text_reminder(entry, appointment)
        push_tasks.reminder(appointment)  # to the client's devices, if they turned notifications on
        sent += 1
    _send_held_texts(now=now, policies=policies)
    return sent


@task()
def send_due_reminders() -> int:
    return due_reminders(now=timezone.now())


@task()
def offer_freed_time(appointment_id: int) -> int:
    """A cancelled appointment's time, offered to the waitlist (knotwork/bookings/waitlist.py)."""
    from knotwork.bookings.waitlist import offers_for_freed_time

    return len(offers_for_freed_time(appointment_id=appointment_id))


@task()
def send_waitlist_gone(offer_ids: list[int]) -> int:
    """Tell the clients whose waitlist offer someone else claimed, once each."""
    from knotwork.bookings.waitlist import tell_gone

    return tell_gone(offer_ids)
