"""The installable portal offline, in chromium: the service worker keeps the home program, the
page renders with the network off, a tick made offline is queued and reaches the server once the
connection returns."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from knotwork.care.models import AdherenceLog, HomeProgram, HomeProgramItem
from knotwork.lib.testing import make_user
from tests.browser.session import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_home_program_works_offline_and_offline_ticks_are_sent_later(page, live_server, world):
    ada = make_user("ada@portal.example", mfa=False)
    world.client_a.portal_user = ada
    world.client_a.save()
    program = HomeProgram.objects.create(clinic=world.clinic_a, client=world.client_a)
    item = HomeProgramItem.objects.create(program=program, exercise="chin-tuck", sets=2, reps=8, hold_s=5, per_day=1)
    sign_in(page, live_server, ada)
    url = f"/portal/program/{world.client_a.pk}/"
    page.goto(url)
    assert page.evaluate("navigator.serviceWorker.ready.then(r => Boolean(r.active))") is True
    page.reload()  # this load goes through the worker, which keeps a copy
    expect(page.get_by_role("heading", name="Chin tuck")).to_be_visible()
    assert page.evaluate("navigator.serviceWorker.controller !== null") is True

    page.context.set_offline(True)
    page.reload()
    expect(page.get_by_role("heading", name="Chin tuck")).to_be_visible()
    page.get_by_label("How did it feel?").fill("2")
    page.get_by_role("button", name="Save today").click()
    expect(page.locator("#offline-status")).to_contain_text("saved on this device")
    assert not AdherenceLog.objects.exists()

    page.goto("/")  # a page the worker does not keep: the offline page, not the browser's error
    expect(page.get_by_role("heading", name="You are offline")).to_be_visible()
    page.goto(url)
    expect(page.locator("#offline-status")).to_contain_text("1 entry is saved")

    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#offline-status")).to_be_hidden()
    log = AdherenceLog.objects.get()
    assert (log.item_id, log.day, log.done, log.feeling) == (item.pk, timezone.localdate(), True, 2)
    assert page.evaluate("localStorage.getItem('knotwork-offline-queue')") is None
