"""Secrets in URLs never reach the logs."""

from __future__ import annotations

import logging

import pytest

from knotwork.lib.logging import RedactSecretsFilter, redact


class RedactionTests:
    @pytest.mark.parametrize(
        ("line", "secret"),
        [
            ('"GET /invite/Abc123-_xyz/ HTTP/1.1" 404', "Abc123-_xyz"),
            ("Not Found: /accounts/password/reset/key/3f-abcdef1234/", "abcdef1234"),
            ("GET /accounts/confirm-email/MTI:1tXyZ:secretsig/", "secretsig"),
            ("Authorization was kw_0a1b2c3d_S3cretS3cret-_x", "S3cretS3cret"),
            ("GET /api/x?token=zzz999&page=2", "zzz999"),
        ],
    )
    def test_it_redacts_one_time_secrets(self, line, secret):
        assert secret not in redact(line)
        assert "[redacted]" in redact(line)

    def test_it_leaves_ordinary_lines_alone(self):
        assert redact("GET /clients/12/ 200") == "GET /clients/12/ 200"

    def test_the_log_filter_rewrites_django_request_warnings(self, caplog, client, db):
        logger = logging.getLogger("django.request")
        handler_filter = RedactSecretsFilter()
        logger.addFilter(handler_filter)
        try:
            with caplog.at_level(logging.WARNING, logger="django.request"):
                client.get("/invite/TopSecretToken123/")
                client.get("/clients/999999/")
        finally:
            logger.removeFilter(handler_filter)
        text = "\n".join(r.getMessage() for r in caplog.records)
        assert "TopSecretToken123" not in text
