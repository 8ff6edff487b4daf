"""Passkeys (WebAuthn through allauth.mfa) for staff, server side.

A small software authenticator below answers the same challenges a browser's would: it makes a
P-256 key, returns a "none" attestation when registering and signs assertions when signing in,
so the whole ceremony runs through allauth's real views and fido2's real checks.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.test import Client
from django.urls import reverse
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import AttestationObject, AttestedCredentialData, AuthenticatorData, CollectedClientData

from knotwork.accounts.middleware import has_second_factor
from knotwork.accounts.models import Membership, Role
from knotwork.audit.models import Action, AuditEvent
from knotwork.lib.testing import PASSWORD, make_user, totp_now

pytestmark = pytest.mark.django_db

# WebAuthn needs a secure context: http://localhost is one (browsers and fido2 agree), the test
# client's default "testserver" is not. Every request here names localhost as its host.
HOST = "localhost"
ORIGIN = f"http://{HOST}"


class SoftAuthenticator:
    """One passkey held in memory, answering WebAuthn options the way a platform authenticator does."""

    def __init__(self, *, rp_id: str = HOST, origin: str = ORIGIN, user_verified: bool = True) -> None:
        self.rp_id, self.origin = rp_id, origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.user_handle = b""
        self.counter = 0
        self.flags = AuthenticatorData.FLAG.UP | (AuthenticatorData.FLAG.UV if user_verified else 0)

    def _rp_hash(self) -> bytes:
        return hashlib.sha256(self.rp_id.encode()).digest()

    def create(self, creation_options: dict[str, Any], *, resident: bool = True) -> dict[str, Any]:
        options = creation_options["publicKey"]
        self.user_handle = websafe_decode(options["user"]["id"])
        client_data = CollectedClientData.create("webauthn.create", websafe_decode(options["challenge"]), self.origin)
        credential = AttestedCredentialData.create(b"\0" * 16, self.credential_id, ES256.from_cryptography_key(self.key.public_key()))
        auth_data = AuthenticatorData.create(self._rp_hash(), self.flags | AuthenticatorData.FLAG.AT, self.counter, credential)
        attestation = AttestationObject.create("none", auth_data, {})
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {"clientDataJSON": websafe_encode(bytes(client_data)), "attestationObject": websafe_encode(bytes(attestation))},
            "clientExtensionResults": {"credProps": {"rk": resident}},
        }

    def get(self, request_options: dict[str, Any]) -> dict[str, Any]:
        options = request_options["publicKey"]
        client_data = CollectedClientData.create("webauthn.get", websafe_decode(options["challenge"]), self.origin)
        self.counter += 1
        auth_data = AuthenticatorData.create(self._rp_hash(), self.flags, self.counter)
        signature = self.key.sign(bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256()))
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(bytes(client_data)),
                "authenticatorData": websafe_encode(bytes(auth_data)),
                "signature": websafe_encode(signature),
                "userHandle": websafe_encode(self.user_handle),
            },
            "clientExtensionResults": {},
        }


def js_data(html: bytes) -> dict[str, Any]:
    """The options allauth hands its page script (the <script id="js_data"> JSON block)."""
    found = re.search(rb'<script id="js_data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page carries no WebAuthn options"
    return json.loads(found.group(1))


def localhost_client() -> Client:
    return Client(HTTP_HOST=HOST)


def sign_in_with_totp(c: Client, user: Any) -> None:
    """The real two-step sign-in, so allauth records a fresh authentication (no reauth prompt)."""
    response = c.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    response = c.post(reverse("mfa_authenticate"), {"code": totp_now(user)})
    assert response.status_code == 302 and c.session["_auth_user_id"] == str(user.pk)


def confirm_identity(c: Client) -> None:
    """allauth asks for a fresh confirmation (password or a factor) before any change to sign-in factors."""
    response = c.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302


def enrol(c: Client, key: SoftAuthenticator, *, name: str = "Treatment-room laptop", resident: bool = True) -> Any:
    confirm_identity(c)
    page = c.get(reverse("mfa_add_webauthn"))
    assert page.status_code == 200
    credential = key.create(js_data(page.content)["creation_options"], resident=resident)
    response = c.post(reverse("mfa_add_webauthn"), {"name": name, "credential": json.dumps(credential)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


@pytest.fixture
def tess(world):
    """A therapist at clinic A with an authenticator app, as every staff member starts out."""
    user = make_user("tess@a.example")
    Membership.objects.create(user=user, clinic=world.clinic_a, role=Role.THERAPIST)
    return user


@pytest.fixture
def newcomer(world):
    """A therapist at clinic A who has not set up any second factor yet."""
    user = make_user("nia@a.example", mfa=False)
    Membership.objects.create(user=user, clinic=world.clinic_a, role=Role.THERAPIST)
    return user


class PasskeySettingsTests:
    def test_webauthn_is_offered_beside_the_authenticator_app_and_recovery_codes(self):
        assert settings.MFA_SUPPORTED_TYPES == ["totp", "webauthn", "recovery_codes"]

    def test_passwordless_sign_in_is_off_unless_the_installation_asks_for_it(self):
        assert settings.MFA_PASSKEY_LOGIN_ENABLED is False

    def test_the_origin_check_is_never_switched_off(self):
        assert settings.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN is False

    def test_the_setting_reads_the_environment(self):
        import subprocess
        import sys

        code = "from django.conf import settings as s; print(s.MFA_PASSKEY_LOGIN_ENABLED)"
        environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "KNOTWORK_PASSKEY_LOGIN": "yes"}
        result = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "True"
        environ["KNOTWORK_PASSKEY_LOGIN"] = "maybe"
        result = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)
        assert result.returncode != 0 and "KNOTWORK_PASSKEY_LOGIN" in result.stderr


class PasskeyPagesTests:
    def test_the_security_pages_link_to_passkeys(self, tess):
        c = localhost_client()
        sign_in_with_totp(c, tess)
        settings_page = c.get(reverse("account_settings"))
        assert reverse("mfa_list_webauthn").encode() in settings_page.content
        index = c.get(reverse("mfa_index"))
        assert index.status_code == 200
        assert b"Passkeys" in index.content and reverse("mfa_add_webauthn").encode() in index.content

    def test_the_add_page_serves_allauths_script_from_our_own_static_files(self, tess):
        c = localhost_client()
        sign_in_with_totp(c, tess)
        confirm_identity(c)
        page = c.get(reverse("mfa_add_webauthn"))
        assert page.status_code == 200
        html = page.content.decode()
        for src in ("/static/mfa/js/webauthn-json.js", "/static/mfa/js/webauthn.js", "/static/account/js/onload.js"):
            assert f'<script src="{src}"></script>' in html
        policy = page["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        # Every script is one of our own files, or a JSON block the script reads (data, which a
        # browser never runs), so the strict policy needs no exception for this page.
        for tag in re.findall(r"<script\b[^>]*>", html):
            src = re.search(r'src="([^"]+)"', tag)
            assert (src and src.group(1).startswith("/static/")) or 'type="application/json"' in tag, tag
        assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", html), "inline event handler"
        assert not re.search(r"<[a-z][^>]*\sstyle\s*=", html), "inline style attribute"
        assert js_data(page.content)["creation_options"]["publicKey"]["rp"]["id"] == HOST

    def test_the_webauthn_scripts_are_found_by_the_static_files_finders(self):
        # What collectstatic copies for WhiteNoise to serve in production.
        from django.contrib.staticfiles import finders

        for name in ("mfa/js/webauthn-json.js", "mfa/js/webauthn.js", "account/js/onload.js", "accounts/passkeys.js"):
            assert finders.find(name), name

    def test_the_list_shows_each_passkey_with_rename_and_remove(self, tess):
        c = localhost_client()
        sign_in_with_totp(c, tess)
        enrol(c, SoftAuthenticator(), name="Phone")
        page = c.get(reverse("mfa_list_webauthn"))
        assert page.status_code == 200
        key = Authenticator.objects.get(user=tess, type=Authenticator.Type.WEBAUTHN)
        assert b"Phone" in page.content and b"Passkey" in page.content
        assert reverse("mfa_edit_webauthn", kwargs={"pk": key.pk}).encode() in page.content
        assert reverse("mfa_remove_webauthn", kwargs={"pk": key.pk}).encode() in page.content

    def test_a_passkey_can_be_renamed(self, tess):
        c = localhost_client()
        sign_in_with_totp(c, tess)
        enrol(c, SoftAuthenticator(), name="Phone")
        key = Authenticator.objects.get(user=tess, type=Authenticator.Type.WEBAUTHN)
        url = reverse("mfa_edit_webauthn", kwargs={"pk": key.pk})
        assert c.get(url).status_code == 200
        assert c.post(url, {"name": "Work phone"}).status_code == 302
        key.refresh_from_db()
        assert key.wrap().name == "Work phone"

    def test_another_persons_passkey_is_not_found(self, tess, world):
        c = localhost_client()
        sign_in_with_totp(c, tess)
        enrol(c, SoftAuthenticator())
        key = Authenticator.objects.get(user=tess, type=Authenticator.Type.WEBAUTHN)
        other = localhost_client()
        sign_in_with_totp(other, world.charlie)
        confirm_identity(other)
        assert other.get(reverse("mfa_remove_webauthn", kwargs={"pk": key.pk})).status_code == 404
        assert other.post(reverse("mfa_remove_webauthn", kwargs={"pk": key.pk})).status_code == 404
        assert Authenticator.objects.filter(pk=key.pk).exists()


class PasskeyEnrolmentTests:
    def test_a_registered_passkey_is_stored_for_the_staff_member(self, tess):
        c = localhost_client()
        sign_in_with_totp(c, tess)
        enrol(c, SoftAuthenticator())
        key = Authenticator.objects.get(user=tess, type=Authenticator.Type.WEBAUTHN)
        assert key.wrap().name == "Treatment-room laptop"
        assert key.wrap().is_passwordless is True

    def test_a_credential_from_another_site_is_refused(self, tess):
        c = localhost_client()
        sign_in_with_totp(c, tess)
        confirm_identity(c)
        page = c.get(reverse("mfa_add_webauthn"))
        forged = SoftAuthenticator(origin="https://knotwork.evil.example").create(js_data(page.content)["creation_options"])
        response = c.post(reverse("mfa_add_webauthn"), {"name": "x", "credential": json.dumps(forged)})
        assert response.status_code == 200
        assert not Authenticator.objects.filter(user=tess, type=Authenticator.Type.WEBAUTHN).exists()

    def test_adding_a_passkey_asks_the_person_to_confirm_it_is_them_first(self, tess):
        c = localhost_client()
        c.force_login(tess)  # signed in, but not recently confirmed
        response = c.get(reverse("mfa_add_webauthn"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_reauthenticate"))

    def test_the_first_authenticator_of_any_kind_brings_recovery_codes(self, newcomer, django_capture_on_commit_callbacks):
        c = localhost_client()
        c.force_login(newcomer)
        with django_capture_on_commit_callbacks(execute=True):
            response = enrol(c, SoftAuthenticator())
        assert response["Location"] == reverse("mfa_view_recovery_codes")
        codes = Authenticator.objects.get(user=newcomer, type=Authenticator.Type.RECOVERY_CODES)
        assert len(codes.wrap().get_unused_codes()) == 10
        assert c.get(reverse("mfa_view_recovery_codes")).status_code == 200


class PasskeyMeetsStaffRequirementTests:
    def test_a_passkey_alone_satisfies_the_staff_two_factor_rule(self, newcomer):
        c = localhost_client()
        c.force_login(newcomer)
        assert c.get(reverse("client_index"))["Location"] == reverse("mfa_activate_totp")
        assert c.get("/api/clients").status_code == 403
        enrol(c, SoftAuthenticator())
        assert has_second_factor(newcomer)
        assert c.get(reverse("client_index")).status_code == 200
        assert c.get("/api/clients").status_code == 200

    def test_recovery_codes_alone_do_not(self, newcomer):
        from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

        RecoveryCodes.activate(newcomer)
        assert not has_second_factor(newcomer)

    def test_the_enrolment_page_offers_a_passkey_instead_of_an_app(self, newcomer):
        c = localhost_client()
        c.force_login(newcomer)
        confirm_identity(c)
        page = c.get(reverse("mfa_activate_totp"))
        assert page.status_code == 200 and reverse("mfa_add_webauthn").encode() in page.content

    def test_sign_in_accepts_the_passkey_as_the_second_step(self, tess):
        key = SoftAuthenticator()
        c = localhost_client()
        sign_in_with_totp(c, tess)
        enrol(c, key)
        c.post(reverse("account_logout"))
        c = localhost_client()
        response = c.post(reverse("account_login"), {"login": tess.email, "password": PASSWORD})
        assert response["Location"] == reverse("mfa_authenticate")
        page = c.get(reverse("mfa_authenticate"))
        assert b'id="mfa_webauthn_authenticate"' in page.content
        assertion = key.get(js_data(page.content)["request_options"])
        response = c.post(reverse("mfa_authenticate"), {"credential": json.dumps(assertion)})
        assert response.status_code == 302
        assert c.session["_auth_user_id"] == str(tess.pk)
        assert c.get(reverse("client_index")).status_code == 200

    def test_a_replayed_or_foreign_assertion_does_not_sign_in(self, tess):
        key = SoftAuthenticator()
        c = localhost_client()
        sign_in_with_totp(c, tess)
        enrol(c, key)
        c = localhost_client()
        c.post(reverse("account_login"), {"login": tess.email, "password": PASSWORD})
        page = c.get(reverse("mfa_authenticate"))
        stranger = SoftAuthenticator()
        stranger.credential_id = key.credential_id  # same id, different private key
        forged = stranger.get(js_data(page.content)["request_options"])
        c.post(reverse("mfa_authenticate"), {"credential": json.dumps(forged)})
        assert "_auth_user_id" not in c.session

    def test_people_without_a_passkey_are_not_offered_one_at_sign_in(self, tess):
        c = localhost_client()
        c.post(reverse("account_login"), {"login": tess.email, "password": PASSWORD})
        page = c.get(reverse("mfa_authenticate"))
        assert page.status_code == 200
        assert b"mfa_webauthn_authenticate" not in page.content
        assert b"Code" in page.content


class PasskeyRemovalTests:
    def test_removal_asks_the_person_to_confirm_it_is_them_first(self, tess):
        c = localhost_client()
        sign_in_with_totp(c, tess)
        enrol(c, SoftAuthenticator())
        key = Authenticator.objects.get(user=tess, type=Authenticator.Type.WEBAUTHN)
        stale = localhost_client()
        stale.force_login(tess)
        url = reverse("mfa_remove_webauthn", kwargs={"pk": key.pk})
        for response in (stale.get(url), stale.post(url)):
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("account_reauthenticate"))
        assert Authenticator.objects.filter(pk=key.pk).exists()

    def test_a_passkey_confirms_the_reauthentication(self, tess):
        key = SoftAuthenticator()
        c = localhost_client()
        sign_in_with_totp(c, tess)
        enrol(c, key)
        stale = localhost_client()
        stale.force_login(tess)
        page = stale.get(reverse("mfa_reauthenticate_webauthn"))
        assert page.status_code == 200
        assertion = key.get(js_data(page.content)["request_options"])
        assert stale.post(reverse("mfa_reauthenticate_webauthn"), {"credential": json.dumps(assertion)}).status_code == 302
        assert stale.get(reverse("mfa_add_webauthn")).status_code == 200

    def test_removing_the_passkey_after_confirming_deletes_it(self, tess):
        c = localhost_client()
        sign_in_with_totp(c, tess)
        enrol(c, SoftAuthenticator())
        key = Authenticator.objects.get(user=tess, type=Authenticator.Type.WEBAUTHN)
        url = reverse("mfa_remove_webauthn", kwargs={"pk": key.pk})
        assert c.get(url).status_code == 200
        assert c.post(url)["Location"] == reverse("mfa_list_webauthn")
        assert not Authenticator.objects.filter(pk=key.pk).exists()

    def test_a_staff_member_who_removes_their_only_factor_is_sent_back_to_enrolment(self, newcomer):
        c = localhost_client()
        c.force_login(newcomer)
        enrol(c, SoftAuthenticator())
        key = Authenticator.objects.get(user=newcomer, type=Authenticator.Type.WEBAUTHN)
        c.post(reverse("mfa_remove_webauthn", kwargs={"pk": key.pk}))
        assert c.get(reverse("client_index"))["Location"] == reverse("mfa_activate_totp")


class PasskeyAuditTests:
    def _events(self, user):
        return list(AuditEvent.objects.filter(action=Action.MFA, actor=user).order_by("seq").values("object_type", "object_id", "detail"))

    def test_adding_and_removing_a_passkey_are_audited(self, tess):
        c = localhost_client()
        sign_in_with_totp(c, tess)
        enrol(c, SoftAuthenticator())
        key = Authenticator.objects.get(user=tess, type=Authenticator.Type.WEBAUTHN)
        added = {"object_type": "mfa.authenticator", "object_id": str(key.pk), "detail": {"change": "added", "type": "webauthn"}}
        assert added in self._events(tess)
        c.post(reverse("mfa_remove_webauthn", kwargs={"pk": key.pk}))
        removed = {"object_type": "mfa.authenticator", "object_id": str(key.pk), "detail": {"change": "removed", "type": "webauthn"}}
        assert self._events(tess)[-1] == removed
        event = AuditEvent.objects.filter(action=Action.MFA, actor=tess).latest("seq")
        assert event.ip == "127.0.0.1"
        # Nothing about the key itself (name, credential, public key) goes into the log.
        assert set(event.detail) == {"change", "type"}

    def test_the_authenticator_app_is_audited_the_same_way(self, newcomer, django_capture_on_commit_callbacks):
        from allauth.mfa.totp.internal.auth import hotp_value

        c = localhost_client()
        c.force_login(newcomer)
        confirm_identity(c)
        c.get(reverse("mfa_activate_totp"))
        secret = c.session["mfa.totp.secret"]  # the secret the activation page just showed
        code = f"{hotp_value(secret, int(time.time()) // 30):06d}"
        with django_capture_on_commit_callbacks(execute=True):
            c.post(reverse("mfa_activate_totp"), {"code": code})
        changes = [(e["detail"]["change"], e["detail"]["type"]) for e in self._events(newcomer)]
        assert ("added", "totp") in changes
        assert ("added", "recovery_codes") in changes
