"""Passkeys in a real Chromium: enrol one, then sign in with it, against Chromium's virtual
authenticator (DevTools protocol, WebAuthn domain) - no hardware, no downloaded browser.

The live server answers on http://localhost, a secure context for Chromium, and allauth takes the
relying party id from the request's host, so the two agree without any insecure-origin switch.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.webauthn.forms import AddWebAuthnForm
from allauth.mfa.webauthn.views import login_webauthn
from django import forms
from django.urls import path, reverse
from playwright.sync_api import expect

from config.urls import urlpatterns as site_urlpatterns
from knotwork.accounts.models import Role
from knotwork.lib.testing import PASSWORD, make_clinic, make_staff, totp_now
from tests.browser.shots import keep_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class PasswordlessAddWebAuthnForm(AddWebAuthnForm):
    """allauth adds this field (and the passkey sign-in route below) when its module is imported
    with KNOTWORK_PASSKEY_LOGIN on; the test switches the setting on later, so it adds both itself."""

    passwordless = forms.BooleanField(label="Passwordless", required=False)


# ROOT_URLCONF for the passwordless test: the site's routes plus allauth's passkey sign-in route.
urlpatterns = [path("accounts/2fa/webauthn/login/", login_webauthn, name="mfa_login_webauthn"), *site_urlpatterns]


@pytest.fixture
def passkey_login(settings):
    settings.MFA_PASSKEY_LOGIN_ENABLED = True
    settings.MFA_FORMS = {"add_webauthn": f"{__name__}.PasswordlessAddWebAuthnForm"}
    settings.ROOT_URLCONF = __name__


@pytest.fixture
def authenticator(page) -> dict[str, Any]:
    """A platform authenticator with a resident-key store and user verification (a phone's or a laptop's)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return {"cdp": cdp, "id": added["authenticatorId"]}


def stored_credentials(authenticator: dict[str, Any]) -> list[dict[str, Any]]:
    return authenticator["cdp"].send("WebAuthn.getCredentials", {"authenticatorId": authenticator["id"]})["credentials"]


def enter_password(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()


def enter_code(page, user) -> None:
    # A code is good for its 30-second window only: start a fresh window if this one is nearly over.
    left = 30 - time.time() % 30
    if left < 10:
        time.sleep(left + 0.5)
    page.get_by_label("Code").fill(totp_now(user))
    page.get_by_role("button", name="Sign In", exact=True).click()


def enrol_passkey(page, user, *, passwordless: bool = False) -> None:
    page.goto(reverse("account_settings"))
    page.get_by_role("link", name="Passkeys").click()
    page.get_by_role("link", name="Add a passkey").click()
    # Changing sign-in factors asks the person to confirm it is them.
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Add a passkey")).to_be_visible()
    page.get_by_label("Name").fill("Treatment-room laptop")
    if passwordless:
        page.get_by_label("Passwordless").check()
    keep_screenshot(page, "passkey-add.png")
    page.get_by_role("button", name="Add passkey").click()
    # The first passkey of someone without recovery codes lands on their new codes; otherwise the MFA page.
    page.wait_for_url(lambda url: "/accounts/2fa/" in url and "/webauthn/add/" not in url)


def sign_out(page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#site-menu").get_by_role("link", name="Sign in")).to_be_visible()


def expect_dashboard(page) -> None:
    page.wait_for_url("**/")
    expect(page.get_by_role("link", name="Clients")).to_be_visible()


@pytest.fixture
def tess(live_server):
    return make_staff("tess@harbour.example", make_clinic("Harbour"), Role.THERAPIST, mfa=True)


class PasskeySecondFactorTests:
    def test_a_therapist_enrols_a_passkey_and_then_uses_it_in_place_of_the_code(self, page, authenticator, tess):
        enter_password(page, tess)
        enter_code(page, tess)
        expect_dashboard(page)

        enrol_passkey(page, tess)
        assert len(stored_credentials(authenticator)) == 1
        assert Authenticator.objects.filter(user=tess, type=Authenticator.Type.WEBAUTHN).count() == 1
        page.goto(reverse("mfa_list_webauthn"))
        expect(page.get_by_role("cell", name="Treatment-room laptop", exact=True)).to_be_visible()
        keep_screenshot(page, "passkey-list.png")
        sign_out(page)

        enter_password(page, tess)
        keep_screenshot(page, "passkey-second-step.png")
        page.get_by_role("button", name="Use a passkey").click()
        expect_dashboard(page)
        key = Authenticator.objects.get(user=tess, type=Authenticator.Type.WEBAUTHN)
        assert key.last_used_at is not None
        assert page.console_errors == [], page.console_errors

    def test_the_sign_in_page_offers_no_passkey_button_while_passwordless_sign_in_is_off(self, page, tess):
        page.goto("/accounts/login/")
        expect(page.get_by_role("button", name="Sign in with a passkey")).to_have_count(0)


class PasswordlessSignInTests:
    def test_with_passwordless_sign_in_on_a_passkey_alone_signs_a_therapist_in(self, page, authenticator, tess, passkey_login):
        enter_password(page, tess)
        enter_code(page, tess)
        expect_dashboard(page)
        enrol_passkey(page, tess, passwordless=True)
        credentials = stored_credentials(authenticator)
        assert len(credentials) == 1 and credentials[0]["isResidentCredential"] is True
        sign_out(page)

        page.goto("/accounts/login/")
        keep_screenshot(page, "passkey-sign-in.png")
        page.get_by_role("button", name="Sign in with a passkey").click()
        expect_dashboard(page)
        assert page.console_errors == [], page.console_errors
