from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from knotwork.pwa.models import PushSubscription


def subscription_save(*, user: Any, endpoint: str, p256dh: str, auth: str, device: str = "") -> tuple[PushSubscription, bool]:
    """Store (or refresh the keys of) a browser's subscription. An endpoint belongs to one person:
    the same browser subscribing for someone else after a sign-in moves it to them."""
    fields = {"user": user, "p256dh": p256dh, "auth": auth, "device": device, "failures": 0}
    try:
        with transaction.atomic():
            return PushSubscription.objects.update_or_create(endpoint=endpoint, defaults=fields)
    except IntegrityError:  # two saves of one endpoint at once: the other created it
        return PushSubscription.objects.update_or_create(endpoint=endpoint, defaults=fields)


def subscription_remove(*, user: Any, endpoint: str) -> int:
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return deleted
