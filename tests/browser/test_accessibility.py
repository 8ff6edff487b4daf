"""An automated accessibility audit: axe-core (bundled by axe-playwright-python, run inside
chromium) on the main pages of visitors, clients and staff of the demo clinic, at desktop and
phone widths. No serious or critical violation is allowed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.browser.session import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = ((1280, 900), (390, 844))
BLOCKING = ("serious", "critical")


def _pages() -> dict[str, list[str]]:
    """Who sees what: '' is a visitor; otherwise the demo login."""
    from knotwork.accounts.demo import DEMO_CLIENT_LOGIN
    from knotwork.care.models import Visit
    from knotwork.clients.models import Client
    from knotwork.directory.models import TherapistProfile
    from knotwork.directory.selectors import profile_url

    client = Client.objects.get(portal_user__email=DEMO_CLIENT_LOGIN)
    profile = TherapistProfile.objects.filter(is_listed=True).order_by("pk").first()
    visit = Visit.objects.filter(client__clinic=client.clinic).order_by("pk").first()
    assert profile is not None and visit is not None
    return {
        "": ["/", f"{reverse('directory_search')}?near=Bristol", profile_url(profile), reverse("account_login"), reverse("learn_index"),
             reverse("self_check"), reverse("exercise_index")],
        DEMO_CLIENT_LOGIN: [
            "/", reverse("my_appointments"), reverse("portal_intake", args=[client.pk]), reverse("portal_program", args=[client.pk]),
            reverse("portal_invoices", args=[client.pk]), reverse("portal_measures", args=[client.pk]), reverse("pwa_preferences"),
            reverse("portal_statement", args=[client.pk]),
        ],
        "therapist@harbour.example": [
            "/", reverse("client_index"), reverse("client_detail", args=[client.pk]), reverse("visit_detail", args=[visit.pk]),
            reverse("schedule"), reverse("explain"), reverse("atlas_index"), reverse("family_find", args=[client.pk]),
        ],
        "owner@harbour.example": [reverse("invoice_list"), reverse("money_reports"), reverse("money_report_sales"), reverse("fee_list"),
                                  reverse("money_report_tips")],
    }  # fmt: skip


def test_the_main_pages_have_no_serious_or_critical_accessibility_violations(browser, live_server, settings):
    from axe_playwright_python.sync_playwright import Axe

    from knotwork.accounts.demo import demo_seed
    from knotwork.accounts.models import User

    settings.SITE_URL = live_server.url
    demo_seed(force=True)
    axe = Axe()
    found: list[str] = []
    audited = 0
    for login, urls in _pages().items():
        for width, height in SIZES:
            context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height})
            page = context.new_page()
            if login:
                sign_in(page, live_server, User.objects.get(email=login))
            for url in urls:
                response = page.goto(url)
                assert response is not None and response.status == 200, (login, url, response and response.status)
                page.wait_for_load_state("networkidle")
                result = axe.run(page)
                audited += 1
                for violation in result.response["violations"]:
                    if violation["impact"] in BLOCKING:
                        targets = [", ".join(node["target"]) for node in violation["nodes"][:3]]
                        found.append(f"{login or 'visitor'} {width}px {url}: {violation['id']} ({violation['impact']}) at {targets}")
            context.close()
    assert audited >= 40
    assert found == [], "\n".join(found)
