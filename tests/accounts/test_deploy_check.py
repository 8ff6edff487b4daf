from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from knotwork.accounts.demo import DEMO_STAFF, RealDataError, demo_code, demo_seed
from knotwork.accounts.models import Clinic, User
from knotwork.clients.models import Client
from knotwork.lib.testing import make_clinic

pytestmark = pytest.mark.django_db


class DemoTests:
    def test_the_demo_is_believable_and_idempotent(self):
        first = demo_seed()
        assert first == {"clinics": 1, "staff": 5, "clients": 20}
        assert demo_seed() == {"clinics": 0, "staff": 0, "clients": 0}
        assert Client.objects.count() == 20 and User.objects.count() == 6
        assert Client.objects.exclude(clinical_alerts="").count() >= 8

    def test_the_demo_refuses_a_database_with_real_clinics_unless_forced(self):
        make_clinic("Real Clinic")
        with pytest.raises(RealDataError):
            demo_seed()
        assert demo_seed(force=True)["clinics"] == 1

    def test_demo_code_gives_a_code_the_sign_in_accepts_and_is_refused_on_real_data(self):
        from allauth.mfa.models import Authenticator
        from allauth.mfa.totp.internal.auth import TOTP

        demo_seed()
        user = User.objects.get(email=DEMO_STAFF[1].email)
        code = demo_code(user.email)
        assert TOTP(Authenticator.objects.get(user=user, type="totp")).validate_code(code)
        with pytest.raises(LookupError):
            demo_code("nobody@x.example")
        make_clinic("Real Clinic")
        with pytest.raises(RealDataError):
            demo_code(user.email)


class DeployCheckTests:
    def test_check_deploy_flags_demo_data_insecure_cookies_and_disabled_mfa(self, settings):
        demo_seed()
        settings.KNOTWORK_REQUIRE_MFA = False
        with pytest.raises(SystemCheckError) as exc:
            call_command("check", deploy=True, stdout=io.StringIO(), stderr=io.StringIO(), fail_level="ERROR")
        text = str(exc.value)
        for check_id in ("knotwork.E001", "knotwork.E002", "knotwork.E004"):
            assert check_id in text

    def test_check_deploy_is_clean_with_production_settings(self, tmp_path):
        environ = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")}
        environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "SECRET_KEY": "x" * 20 + "a-production-secret-that-is-long-and-random-9f8e7d",
                "SITE_URL": "https://clinic.example",
                "ALLOWED_HOSTS": "clinic.example",
                "EMAIL_BACKEND": "smtp",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
                "KNOTWORK_VAR_DIR": str(tmp_path),
            }
        )
        subprocess.run([sys.executable, "-m", "knotwork.cli", "migrate", "-v0"], env=environ, check=True, timeout=120)
        result = subprocess.run(
            [sys.executable, "-m", "knotwork.cli", "check", "--deploy", "--fail-level", "WARNING"],
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr + result.stdout
        assert "no issues" in result.stdout
        assert not Clinic.objects.filter(is_demo=True).exists()
