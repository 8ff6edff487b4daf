"""Background work for treatment: the aftercare e-mail and the post-session check-in.

Check-ins are swept, not scheduled one by one: signing a visit creates a :class:`CheckIn` row due
24 hours later, and ``knotwork send_checkins`` (cron, every 15 minutes or so) enqueues
:func:`send_due_checkins`, which e-mails every due one. Each row is claimed before its e-mail
goes out, so overlapping sweeps never send twice. E-mails carry a link and nothing clinical.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django_tasks import task

from knotwork.care.models import CheckIn, Visit, new_token
from knotwork.clients.language import client_translation
from knotwork.clients.models import Client
from knotwork.lib.mail import send_email
from knotwork.lib.urls import absolute_url
from knotwork.pwa import tasks as push_tasks

log = logging.getLogger(__name__)


def _email_of(client: Client) -> str:
    return client.portal_user.email if client.portal_user_id and client.portal_user else client.email


@task()
def send_aftercare_email(visit_id: int) -> None:
    visit = Visit.objects.select_related("clinic", "client", "client__portal_user").filter(pk=visit_id).first()
    if visit is None or visit.client.portal_user is None:
        return
    link = absolute_url(reverse("portal_aftercare", args=[visit.pk]))
    with client_translation(visit.client):
        body = render_to_string("care/email/aftercare.txt", {"clinic": visit.clinic, "client": visit.client, "link": link})
        subject = gettext("Your aftercare from %(clinic)s") % {"clinic": visit.clinic.name}
    send_email(to=visit.client.portal_user.email, subject=subject, text=body, clinic=visit.clinic)


def due_checkins(*, now: datetime) -> int:
    """E-mail every check-in that is due and not sent. Returns how many went out."""
    sent = 0
    due = CheckIn.objects.due(now).select_related("clinic", "visit__client", "visit__client__portal_user")
    for checkin in due.iterator(chunk_size=200):
        raw, digest = new_token()
        with transaction.atomic():
            claimed = CheckIn.objects.filter(pk=checkin.pk, sent_at__isnull=True).update(sent_at=now, token_hash=digest)
            if not claimed:
                continue
            to = _email_of(checkin.visit.client)
            if not to:
                continue
            link = absolute_url(reverse("checkin_answer", args=[raw]))
            with client_translation(checkin.visit.client):
                body = render_to_string("care/email/checkin.txt", {"clinic": checkin.clinic, "client": checkin.visit.client, "link": link})
                subject = gettext("How are you feeling? A quick question from %(clinic)s") % {"clinic": checkin.clinic.name}
            send_email(to=to, subject=subject, text=body, clinic=checkin.clinic)
        push_tasks.checkin(checkin, link)  # after the claim committed: a failed push never re-sends the e-mail
        sent += 1
    return sent


@task()
def send_due_checkins() -> int:
    return due_checkins(now=timezone.now())
