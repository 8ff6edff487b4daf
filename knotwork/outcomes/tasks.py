"""Reminders for outcome measures: swept, not scheduled one by one.

``knotwork send_outcome_reminders`` (cron, daily) enqueues :func:`send_outcome_reminders`, which
e-mails each portal client with a measure due in an active episode a link to their measures page,
at most once every ``REMIND_EVERY``. The e-mail carries the link and nothing clinical.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django_tasks import task

from knotwork.care.models import Episode, EpisodeStatus
from knotwork.clients.language import client_translation
from knotwork.lib.mail import send_email
from knotwork.lib.urls import absolute_url
from knotwork.outcomes.models import OutcomeSchedule
from knotwork.outcomes.selectors import portal_due

REMIND_EVERY = timedelta(days=3)


def outcome_reminders(*, now: datetime) -> int:
    """E-mail every client who has a portal measure due. Returns how many e-mails went out."""
    sent = 0
    schedules = (
        OutcomeSchedule.objects.filter(remind=True, episode__status=EpisodeStatus.ACTIVE, episode__client__portal_user__isnull=False,
                                       episode__client__archived_at__isnull=True)
        .filter(Q(last_reminded_at__isnull=True) | Q(last_reminded_at__lte=now - REMIND_EVERY))
        .select_related("episode__client__portal_user", "episode__clinic")
    )  # fmt: skip
    for schedule in schedules.iterator(chunk_size=200):
        episode: Episode = schedule.episode
        client = episode.client
        if not any(ep.pk == episode.pk for ep, _ in portal_due(client)):
            continue
        with transaction.atomic():
            claimed = OutcomeSchedule.objects.filter(pk=schedule.pk, last_reminded_at=schedule.last_reminded_at).update(
                last_reminded_at=now
            )
            if not claimed:
                continue
            if client.portal_user is None:
                continue
            link = absolute_url(reverse("portal_measures", args=[client.pk]))
            with client_translation(client):
                body = render_to_string("outcomes/email/reminder.txt", {"clinic": episode.clinic, "client": client, "link": link})
                subject = gettext("A short progress check from %(clinic)s") % {"clinic": episode.clinic.name}
            send_email(to=client.portal_user.email, subject=subject, text=body, clinic=episode.clinic)
        sent += 1
    return sent


@task()
def send_outcome_reminders() -> int:
    return outcome_reminders(now=timezone.now())
