"""What Knotwork pushes: appointment reminders and after-visit check-ins (alongside their e-mails,
from the bookings and care sweeps) and a daily home-program nudge (``knotwork send_nudges``).

Texts say that something is waiting, never what it is about clinically: a phone's lock screen is
seen by others."""

from __future__ import annotations

import logging
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from knotwork.pwa import push
from knotwork.pwa.models import NudgeLog, PushKind, PushPreferences, PushSubscription

log = logging.getLogger(__name__)


def reminder(appointment: object) -> int:
    """Push an appointment reminder to the client's devices (called once the reminder is claimed)."""
    client = getattr(appointment, "client", None)
    user = getattr(client, "portal_user", None) if client is not None else None
    if user is None:
        return 0
    clinic = appointment.clinic  # type: ignore[attr-defined]
    local = appointment.starts_at.astimezone(clinic.tz)  # type: ignore[attr-defined]
    when = f"{local:%A} {local.day} {local:%B} at {local:%H:%M}"
    message = push.Message(PushKind.REMINDER, f"Appointment at {clinic.name}", f"You are booked for {when}.", "/")
    return _safely(user, message)


def checkin(checkin_row: object, link: str) -> int:
    """Push the after-visit check-in with its link (called when the check-in e-mail goes out)."""
    visit = checkin_row.visit  # type: ignore[attr-defined]
    user = visit.client.portal_user
    if user is None:
        return 0
    clinic = checkin_row.clinic  # type: ignore[attr-defined]
    message = push.Message(
        PushKind.CHECKIN, "How are you feeling?", f"{clinic.name} would like a quick answer about your last visit.", link
    )
    return _safely(user, message)


def _safely(user: object, message: push.Message, now: datetime | None = None) -> int:
    try:
        return push.send(user, message, now=now)
    except Exception:  # a push never stops the e-mail sweep it rides on
        log.exception("push of a %s failed", message.kind)
        return 0


def _has_exercises_left(user_id: int, day: date) -> int | None:
    """The client id whose home program still has an exercise not ticked for ``day``, else None."""
    from knotwork.care.models import AdherenceLog, HomeProgramItem

    items = HomeProgramItem.objects.filter(
        program__client__portal_user_id=user_id, program__client__archived_at__isnull=True, removed_at__isnull=True
    ).values_list("pk", "program__client_id")
    done = set(AdherenceLog.objects.filter(item__in=[pk for pk, _ in items], day=day, done=True).values_list("item_id", flat=True))
    for pk, client_id in items:
        if pk not in done:
            return client_id
    return None


def due_nudges(*, now: datetime) -> int:
    """Send today's home-program nudge to everyone who asked for one, whose nudge time has come,
    who is not in quiet hours and has an exercise left to do today. One per person per day."""
    if not push.is_configured():
        return 0
    sent = 0
    wanting = PushPreferences.objects.filter(nudges=True, user__in=PushSubscription.objects.values("user")).select_related("user")
    for prefs in wanting.iterator(chunk_size=200):
        local = now.astimezone(push._zone(prefs.time_zone))
        if local.time() < prefs.nudge_at or push.is_quiet(prefs, now):
            continue
        if NudgeLog.objects.filter(user_id=prefs.user_id, day=local.date()).exists():
            continue
        client_id = _has_exercises_left(prefs.user_id, local.date())
        if client_id is None:
            continue
        try:
            with transaction.atomic():
                NudgeLog.objects.create(user_id=prefs.user_id, day=local.date(), sent_at=now)
        except IntegrityError:  # another sweep claimed it
            continue
        url = reverse("portal_program", args=[client_id])
        message = push.Message(PushKind.NUDGE, "Your exercises for today", "A few minutes now keeps your progress going.", url)
        if _safely(prefs.user, message, now):
            sent += 1
    return sent


@task()
def send_due_nudges() -> int:
    return due_nudges(now=timezone.now())
