"""Limits and probes at the edge: bodies over a limit are 413 in the caller's shape with no
traceback logged, and the health probes answer any host over plain HTTP."""

from __future__ import annotations

import json
import logging

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.test import override_settings

from knotwork.accounts.models import ApiToken
from knotwork.accounts.services import api_token_create

pytestmark = pytest.mark.django_db

WRITES = ("/api/clients", "/api/threads", "/api/bookings", "/api/invoices", "/api/payments")


def oversized() -> str:
    return json.dumps({"first_name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024)})


@pytest.mark.parametrize("path", WRITES)
def test_an_oversized_json_body_with_a_session_is_413(world, as_user, path, caplog):
    response = as_user(world.olivia).post(path, oversized(), content_type="application/json")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_large" and error["message"] == "The request is larger than this server accepts (2.5 MB)."
    assert "Internal Server Error" not in caplog.text and "Traceback" not in caplog.text


def test_an_oversized_json_body_with_a_token_is_413(world, client):
    token = api_token_create(user=world.olivia, clinic=world.clinic_a, name="probe", scopes=list(ApiToken.Scope.values)).secret
    response = client.post("/api/clients", oversized(), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 413


def test_a_body_inside_the_limit_still_reaches_the_view(world, as_user):
    response = as_user(world.olivia).post("/api/clients", json.dumps({"first_name": ""}), content_type="application/json")
    assert response.status_code == 400  # validation, from the view


def test_an_oversized_form_is_a_413_page_and_logs_one_line(world, as_user, caplog):
    caplog.set_level(logging.INFO)
    web = as_user(world.olivia)
    response = web.post("/clients/new/", {"first_name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10), "last_name": "Y"})
    assert response.status_code == 413
    assert b"too much to send" in response.content
    records = [r for r in caplog.records if r.name == "django.security.RequestDataTooBig"]
    assert records and all(r.exc_info is None for r in records)


def test_a_form_with_too_many_fields_is_413(world, as_user):
    fields = {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 5)}
    assert as_user(world.olivia).post("/clients/new/", fields).status_code == 413


@override_settings(MAX_REQUEST_BYTES=2 * 1024 * 1024)
def test_a_declared_body_over_the_request_limit_is_refused_unread(world, as_user):
    web = as_user(world.olivia)
    upload = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024) + b"\n%%EOF"
    page = web.post("/clients/new/", {"file": SimpleUploadedFile("big.pdf", upload, "application/pdf")})
    assert page.status_code == 413 and page["Content-Type"].startswith("text/plain")
    api = web.post("/api/clients", json.dumps({"note": "x" * (3 * 1024 * 1024)}), content_type="application/json")
    assert api.status_code == 413 and api.json()["error"]["code"] == "too_large"


@override_settings(SECURE_SSL_REDIRECT=True, ALLOWED_HOSTS=["clinic.example"])
def test_health_probes_answer_any_host_over_plain_http_and_pages_do_not():
    probe = HttpClient()
    health = probe.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    ready = probe.get("/readyz", HTTP_HOST="10.0.0.7:8000")
    assert (health.status_code, health.content) == (200, b"ok")
    assert (ready.status_code, ready.content) == (200, b"ready")
    assert probe.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400  # a page still checks the host
    page = probe.get("/", HTTP_HOST="clinic.example")
    assert page.status_code == 301 and page["Location"].startswith("https://")


def test_readyz_says_not_ready_when_the_cache_is_down(caplog):
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}):
        response = HttpClient().get("/readyz")
    assert (response.status_code, response.content) == (503, b"not ready")
    assert "readyz: not ready" in caplog.text
