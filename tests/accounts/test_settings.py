"""Settings come from the environment and a bad value stops start-up with the variable named."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env


def _start(**overrides: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    environ.update({"DJANGO_SETTINGS_MODULE": "config.settings", **overrides})
    code = "import django; django.setup()"
    return subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)


class SettingsValidationTests:
    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("DATABASE_URL", "mysql://x/y"),
            ("DEBUG", "maybe"),
            ("EMAIL_BACKEND", "pigeon"),
            ("CACHE_URL", "memcache://x"),
            ("SECRET_KEY", "short"),
            ("STAFF_IDLE_SECONDS", "ten"),
            ("EMAIL_PORT", "70000"),
            ("GIFT_CARD_AMOUNTS", "25,fifty"),
            ("GIFT_CARD_MIN_AMOUNT", "-5"),
            ("GIFT_CARD_MAX_AMOUNT", "5"),  # below the minimum of 10
        ],
    )
    def test_a_bad_value_fails_at_start_naming_the_variable(self, variable, value):
        result = _start(**{variable: value})
        assert result.returncode != 0
        assert variable in result.stderr
        assert "ImproperlyConfigured" in result.stderr

    def test_good_values_start(self):
        assert _start(DEBUG="yes", EMAIL_BACKEND="smtp").returncode == 0

    def test_env_helpers_parse_and_reject(self, monkeypatch):
        monkeypatch.setenv("X_BOOL", "on")
        monkeypatch.setenv("X_INT", "5")
        monkeypatch.setenv("X_LIST", "a.example, b.example,")
        assert env.env_bool("X_BOOL") is True
        assert env.env_int("X_INT", 1, minimum=1, maximum=9) == 5
        assert env.env_list("X_LIST", []) == ["a.example", "b.example"]
        with pytest.raises(ImproperlyConfigured, match="X_INT"):
            env.env_int("X_INT", 1, maximum=3)

    def test_amounts_parse_fall_back_when_empty_and_reject_nonsense(self, monkeypatch):
        monkeypatch.setenv("X_AMOUNTS", " 20, 12.50 ,")
        assert env.env_amounts("X_AMOUNTS", "1") == ["20", "12.50"]
        monkeypatch.setenv("X_AMOUNTS", "")
        assert env.env_amounts("X_AMOUNTS", "25,50") == ["25", "50"]
        for bad in ("0", "NaN", "ten", "Infinity"):
            monkeypatch.setenv("X_AMOUNTS", bad)
            with pytest.raises(ImproperlyConfigured, match="X_AMOUNTS"):
                env.env_amounts("X_AMOUNTS", "1")
        monkeypatch.setenv("X_AMOUNT", "10,20")
        with pytest.raises(ImproperlyConfigured, match="X_AMOUNT must be one amount"):
            env.env_amount("X_AMOUNT", "10")

    def test_a_local_secret_key_is_generated_once_and_kept(self, tmp_path, monkeypatch):
        monkeypatch.delenv("SECRET_KEY", raising=False)
        first = env.secret_key(tmp_path, debug=False)
        assert first == env.secret_key(tmp_path, debug=False)
        assert len(first) >= 50
        assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"

    def test_every_variable_the_settings_read_is_listed_in_env_example(self):
        import re
        from pathlib import Path

        root = Path(__file__).resolve().parents[2]
        used = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', (root / "config/settings.py").read_text()))
        used |= set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', (root / "config/env.py").read_text()))
        listed = set(re.findall(r"^#?\s*([A-Z_]+)=", (root / ".env.example").read_text(), re.M))
        assert used - listed == set()


class DatabaseConnectionSettingsTests:
    def _conn(self, **overrides: str) -> str:
        environ = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DB_CONN_MAX_AGE")}
        environ.update({"DJANGO_SETTINGS_MODULE": "config.settings", **overrides})
        code = "from django.conf import settings as s; d = s.DATABASES['default']; print(d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'])"
        result = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def test_postgresql_connections_are_kept_between_requests_and_checked_before_reuse(self):
        assert self._conn(DATABASE_URL="postgres://u@db.internal:5432/knotwork") == "60 True"

    def test_sqlite_closes_after_each_request_unless_told(self, tmp_path):
        url = f"sqlite:///{tmp_path}/k.sqlite3"
        assert self._conn(DATABASE_URL=url) == "0 True"
        assert self._conn(DATABASE_URL=url, DB_CONN_MAX_AGE="30") == "30 True"

    def test_zero_closes_postgresql_connections_for_a_transaction_pooler(self):
        assert self._conn(DATABASE_URL="postgres://u@db.internal:5432/knotwork", DB_CONN_MAX_AGE="0") == "0 True"
