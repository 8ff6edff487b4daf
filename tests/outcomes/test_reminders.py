from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from knotwork.lib.testing import make_user
from knotwork.outcomes.models import OutcomeSchedule
from knotwork.outcomes.tasks import REMIND_EVERY, outcome_reminders


class ReminderTests:
    def test_a_portal_client_with_a_due_measure_gets_one_link_and_nothing_clinical(self, world, episode_a):
        user = make_user("ada@mail.example", mfa=False)
        world.client_a.portal_user = user
        world.client_a.save()
        OutcomeSchedule.objects.create(episode=episode_a, measures=["nprs"])
        now = timezone.now()
        assert outcome_reminders(now=now) == 1
        assert len(mail.outbox) == 1
        msg = mail.outbox[0]
        assert msg.to == ["ada@mail.example"] and reverse("portal_measures", args=[world.client_a.pk]) in msg.body
        assert episode_a.complaint not in msg.body
        assert outcome_reminders(now=now + timedelta(hours=1)) == 0  # not again so soon
        assert outcome_reminders(now=now + REMIND_EVERY + timedelta(minutes=1)) == 1

    def test_no_portal_login_or_no_reminders_means_no_email(self, world, episode_a):
        OutcomeSchedule.objects.create(episode=episode_a, measures=["nprs"])
        assert outcome_reminders(now=timezone.now()) == 0
        user = make_user("ada@mail.example", mfa=False)
        world.client_a.portal_user = user
        world.client_a.save()
        OutcomeSchedule.objects.filter(episode=episode_a).update(remind=False)
        assert outcome_reminders(now=timezone.now()) == 0 and not mail.outbox

    def test_only_licensed_or_clinic_measures_due_sends_nothing(self, world, episode_a):
        user = make_user("ada@mail.example", mfa=False)
        world.client_a.portal_user = user
        world.client_a.save()
        OutcomeSchedule.objects.create(episode=episode_a, measures=["ndi", "ppt"])
        assert outcome_reminders(now=timezone.now()) == 0
