"""Demo messages: a question before a first visit and an aftercare follow-up."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from knotwork.accounts.models import Clinic, Role
from knotwork.clients.models import Client
from knotwork.messaging.models import Message, Thread

THREADS = (
    (
        "Tom",
        "Hughes",
        "Question before my first visit",
        [
            (True, "Hi, should I bring anything to the consultation? I have an MRI report from last year."),
            (False, "Thanks Tom, yes please bring the report, and wear something comfortable. See you on Thursday."),
        ],
    ),
    (
        "Sophie",
        "Turner",
        "Neck after Tuesday's session",
        [
            (True, "My neck was sore the day after, as you said it might be. It is much better today. Should I keep doing the stretches?"),
            (False, "Good to hear. Yes, keep the chin tucks and the doorway stretch twice a day, gently. Tell me if the headaches change."),
            (True, "Will do, thank you!"),
        ],
    ),
)


def seed_demo(*, clinic: Clinic, rng: random.Random) -> None:
    staff = clinic.memberships.filter(role=Role.THERAPIST).select_related("user").order_by("id").first()
    for first, last, subject, lines in THREADS:
        client = Client.objects.filter(clinic=clinic, first_name=first, last_name=last).first()
        if client is None or Thread.objects.filter(client=client, subject=subject).exists():
            continue
        at = timezone.now() - timedelta(days=rng.randint(1, 4), hours=rng.randint(1, 8))
        thread = Thread.objects.create(clinic=clinic, client=client, subject=subject, last_message_at=at)
        for from_client, body in lines:
            at += timedelta(hours=rng.randint(1, 5))
            message = Message.objects.create(
                thread=thread,
                from_client=from_client,
                body=body,
                sender=client.portal_user if from_client else (staff.user if staff else None),
            )
            Message.objects.filter(pk=message.pk).update(created_at=at)
        Thread.objects.filter(pk=thread.pk).update(last_message_at=at)
