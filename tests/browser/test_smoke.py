from __future__ import annotations

import pytest

from knotwork.accounts.demo import DEMO_PASSWORD, demo_code, demo_seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class SignInTests:
    def test_the_demo_therapist_signs_in_with_a_one_time_code_and_sees_the_dashboard(self, page):
        demo_seed()
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill("therapist@harbour.example")
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        page.get_by_label("Code").fill(demo_code("therapist@harbour.example"))
        page.get_by_role("button", name="Sign In").click()
        page.wait_for_url("**/")
        assert page.get_by_role("heading", name="Harbour Street Neuromuscular Clinic").is_visible()
        assert page.get_by_role("link", name="Clients").is_visible()
        page.get_by_role("link", name="Clients").click()
        assert page.get_by_role("link", name="Marsh, Eleanor").is_visible()
        assert page.console_errors == [], page.console_errors
