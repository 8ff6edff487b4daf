"""Figure 6: sessions and sign-in, beyond what tests/accounts/ already proves (MFA for clinic staff,
per-IP sign-in throttle, 30-minute idle timeout, ``check --deploy``): the security headers of a real
page, production cookie and HSTS settings, the absolute session timeout, the per-account throttle
from many addresses, and two-factor sign-in for platform verifiers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from knotwork.lib.testing import PASSWORD, make_user

pytestmark = pytest.mark.django_db

PRODUCTION_SETTINGS = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SAMESITE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SESSION_COOKIE_AGE",
)


def production_settings(tmp_path) -> dict[str, object]:
    """The settings config/settings.py computes for a site served over https, read in a fresh process."""
    environ = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "KNOTWORK_SECURE")}
    environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "x" * 20 + "a-production-secret-that-is-long-and-random-9f8e7d",
            "SITE_URL": "https://clinic.example",
            "ALLOWED_HOSTS": "clinic.example",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
            "KNOTWORK_VAR_DIR": str(tmp_path),
        }
    )
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{k: getattr(settings, k) for k in {PRODUCTION_SETTINGS!r}}}))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


class SecurityHeaderTests:
    def test_a_signed_in_page_carries_every_security_header(self, world, as_user):
        response = as_user(world.alice).get(reverse("client_index"))
        assert response.status_code == 200
        csp = dict(d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";") if d.strip())
        script_src = csp["script-src"].split()
        # django-csp adds the nonce to the header only on pages that use one (tests/directory covers such a page).
        assert {s for s in script_src if not s.startswith("'nonce-")} == {"'self'"}
        assert "'unsafe-inline'" not in csp["style-src"].split()
        assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
        assert csp["default-src"] == "'self'" and csp["form-action"] == "'self'"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
        assert "microphone=()" in response["Permissions-Policy"] and "payment=()" in response["Permissions-Policy"]
        assert response["X-Request-ID"]
        # Every script on the page is a file or carries this response's nonce: nothing inline runs.
        html = response.content.decode()
        nonces = {s.removeprefix("'nonce-").rstrip("'") for s in script_src if s.startswith("'nonce-")}
        for tag in re.findall(r"<script\b[^>]*>", html):
            found = re.search(r'nonce="([^"]+)"', tag)
            assert "src=" in tag or (found and found.group(1) in nonces), tag
        assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", html), "inline event handler"
        assert not re.search(r"<[a-z][^>]*\sstyle\s*=", html), "inline style attribute"


class ProductionCookieTests:
    def test_https_sites_get_secure_cookies_hsts_and_a_12_hour_session(self, tmp_path):
        prod = production_settings(tmp_path)
        assert prod["SESSION_COOKIE_SECURE"] is True and prod["CSRF_COOKIE_SECURE"] is True
        assert prod["SESSION_COOKIE_HTTPONLY"] is True
        assert prod["SESSION_COOKIE_SAMESITE"] == prod["CSRF_COOKIE_SAMESITE"] == "Lax"
        assert prod["SECURE_HSTS_SECONDS"] >= 31536000 and prod["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
        assert prod["SECURE_SSL_REDIRECT"] is True and prod["SECURE_CONTENT_TYPE_NOSNIFF"] is True
        assert prod["SESSION_COOKIE_AGE"] == 12 * 3600

    def test_a_sign_in_under_production_settings_sets_flagged_cookies_and_hsts(self, world, settings, tmp_path):
        prod = production_settings(tmp_path)
        for key, value in prod.items():
            setattr(settings, key, value)
        c = HttpClient(enforce_csrf_checks=False)
        response = c.post(reverse("account_login"), {"login": "alice@a.example", "password": PASSWORD}, secure=True)
        assert response.status_code == 302  # on to the second factor
        assert response["Strict-Transport-Security"].startswith("max-age=31536000")
        session = response.cookies[settings.SESSION_COOKIE_NAME]
        assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
        page = HttpClient().get(reverse("account_login"), secure=True)
        csrf = page.cookies[settings.CSRF_COOKIE_NAME]
        assert csrf["secure"] and csrf["samesite"] == "Lax"
        plain = HttpClient().get(reverse("home"))
        assert plain.status_code == 301 and plain["Location"].startswith("https://")


class AbsoluteTimeoutTests:
    def test_a_session_ends_12_hours_after_sign_in_even_when_always_active(self, world, as_user, settings):
        c = as_user(world.alice)
        real_now = timezone.now
        clock = {"offset": timedelta(0)}
        with mock.patch("django.utils.timezone.now", lambda: real_now() + clock["offset"]):
            assert c.get(reverse("client_index")).status_code == 200
            # A request every 25 minutes: the idle timeout never fires.
            step = timedelta(minutes=25)
            while clock["offset"] + step < timedelta(seconds=settings.SESSION_COOKIE_AGE):
                clock["offset"] += step
                assert c.get(reverse("client_index")).status_code == 200, f"signed out early at {clock['offset']}"
            clock["offset"] = timedelta(seconds=settings.SESSION_COOKIE_AGE) + timedelta(minutes=1)
            response = c.get(reverse("client_index"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
        assert "_auth_user_id" not in c.session


class ThrottleTests:
    def test_one_account_is_locked_after_5_failures_even_from_5_different_addresses(self, world):
        for i in range(5):
            HttpClient(REMOTE_ADDR=f"203.0.113.{i + 1}").post(reverse("account_login"), {"login": "alice@a.example", "password": "wrong"})
        right = HttpClient(REMOTE_ADDR="198.51.100.9").post(reverse("account_login"), {"login": "alice@a.example", "password": PASSWORD})
        assert right.status_code == 429 or b"Too many failed login attempts" in right.content
        assert "_auth_user_id" not in right.client.session
        # Another account from the same addresses is not affected.
        other = HttpClient(REMOTE_ADDR="198.51.100.10").post(reverse("account_login"), {"login": "bob@a.example", "password": PASSWORD})
        assert other.status_code == 302, other.content.decode()[-1500:]


class VerifierMfaTests:
    def test_a_verifier_without_an_authenticator_is_sent_to_enrolment(self, db):
        verifier = make_user("verifier@platform.example", mfa=False)
        verifier.is_verifier = True
        verifier.save(update_fields=["is_verifier"])
        c = HttpClient()
        c.force_login(verifier)
        for name in ("directory_verify_queue", "directory_moderation"):
            response = c.get(reverse(name))
            assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp"), name
        assert c.get("/api/me").status_code == 403

    def test_a_verifier_with_an_authenticator_reaches_the_queue(self, db):
        verifier = make_user("verifier@platform.example", mfa=True)
        verifier.is_verifier = True
        verifier.save(update_fields=["is_verifier"])
        c = HttpClient()
        c.force_login(verifier)
        assert c.get(reverse("directory_verify_queue")).status_code == 200

