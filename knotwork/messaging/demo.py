"""Demo messages: a booking question before a first visit (admin: the front desk answers it) and an
aftercare follow-up (clinical: therapists and the owner only)."""

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
        Thread.Kind.ADMIN,
        [
            (True, "Hi, is there parking near the clinic, and should I bring anything to the consultation?"),
            (False, "Thanks Tom, there is free parking behind the building. Just wear something comfortable. See you on Thursday."),
        ],
    ),
    (
        "Sophie",
        "Turner",
        "Neck after Tuesday's session",
        Thread.Kind.CLINICAL,
        [
            (True, "My neck was sore the day after, as you said it might be. It is much better today. Should I keep doing the stretches?"),
            (False, "Good to hear. Yes, keep the chin tucks and the doorway stretch twice a day, gently. Tell me if the headaches change."),
            (True, "Will do, thank you!"),
        ],
    ),
)


def seed_demo(*, clinic: Clinic, rng: random.Random) -> None:
    members = clinic.memberships.select_related("user").order_by("id")
    staff = {
        kind: members.filter(role=role).first()
        for kind, role in ((Thread.Kind.ADMIN, Role.FRONT_DESK), (Thread.Kind.CLINICAL, Role.THERAPIST))
    }
    for first, last, subject, kind, lines in THREADS:
        client = Client.objects.filter(clinic=clinic, first_name=first, last_name=last).first()
        if client is None or Thread.objects.filter(client=client, subject=subject).exists():
            continue
        at = timezone.now() - timedelta(days=rng.randint(1, 4), hours=rng.randint(1, 8))
        thread = Thread.objects.create(clinic=clinic, client=client, subject=subject, kind=kind, last_message_at=at)
        answerer = staff[kind] or members.filter(role=Role.OWNER).first()
        for from_client, body in lines:
            at += timedelta(hours=rng.randint(1, 5))
            message = Message.objects.create(
                thread=thread,
                from_client=from_client,
                body=body,
                sender=client.portal_user if from_client else (answerer.user if answerer else None),
            )
            Message.objects.filter(pk=message.pk).update(created_at=at)
        Thread.objects.filter(pk=thread.pk).update(last_message_at=at)
