"""The intake script counts a folded grid's ticks in the page's language (static/clients/intake.js,
its words from templates/clients/_intake_strings.html), in chromium."""

from __future__ import annotations

import pytest
from django.urls import reverse

from knotwork.lib.testing import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class ScriptInTheBrowserTests:
    @pytest.mark.parametrize(
        ("language", "one", "two"), [("", "1 chosen", "2 chosen"), ("es", "1 elegida", "2 elegidas"), ("fr", "1 choisie", "2 choisies")]
    )
    def test_ticking_areas_updates_the_count_in_the_clients_language(self, page, live_server, language, one, two):
        from playwright.sync_api import expect

        from knotwork.clients.intake.services import intake_start
        from knotwork.lib.testing import make_world
        from tests.browser.session import sign_in

        world = make_world()
        user = make_user("ada@mail.example", mfa=False)
        user.language = language
        user.save(update_fields=["language"])
        world.client_a.portal_user = user
        world.client_a.save()
        intake_start(client=world.client_a, actor=user)
        sign_in(page, live_server, user)
        page.goto(reverse("portal_intake_step", args=[world.client_a.pk, "health"]))

        page.locator('input[name="recent_surgery"][value="yes"]').check()  # opens the grid
        hint = page.locator("#q-surgery_where [data-disclosure-count]")
        page.locator('input[name="surgery_where"][value="shoulder-top:right"]').check()
        expect(hint).to_have_text(one)
        page.locator('input[name="surgery_where"][value="knee-anterior:right"]').check()
        expect(hint).to_have_text(two)
        page.locator('input[name="surgery_where"][value="knee-anterior:right"]').uncheck()
        expect(hint).to_have_text(one)
        assert page.console_errors == []
