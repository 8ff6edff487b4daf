"""Message times are shown in the clinic's time zone, with its abbreviation, never in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from knotwork.lib.testing import make_user
from knotwork.messaging import services
from knotwork.messaging.models import Message, Thread

pytestmark = pytest.mark.django_db


def test_the_inbox_and_the_thread_show_times_in_the_clinics_zone(world, as_user):
    world.clinic_a.time_zone = "Asia/Tokyo"
    world.clinic_a.save(update_fields=["time_zone"])
    ada = make_user("ada@mail.example", mfa=False)
    world.client_a.portal_user = ada
    world.client_a.save()
    thread = services.thread_start(client=world.client_a, user=ada, membership=None, subject="Parking", body="Hello", kind="admin")
    sent = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # 08:30 the next morning in Tokyo
    Message.objects.filter(thread=thread).update(created_at=sent)
    Thread.objects.filter(pk=thread.pk).update(last_message_at=sent)
    web = as_user(ada)
    inbox = web.get(reverse("inbox")).content.decode()
    page = web.get(reverse("thread_detail", args=[thread.pk])).content.decode()
    assert "3 Mar, 08:30 JST" in inbox
    assert "3 Mar 2026, 08:30 JST" in page
    assert ", 23:30" not in inbox + page  # the UTC time stays only in the machine-readable datetime attribute
