"""A request body over the upload limit is refused with 413 in the API's error shape, never a 500."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

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
    assert error["code"] == "too_large" and "larger than the API accepts" in error["message"]
    assert "Internal Server Error" not in caplog.text


def test_an_oversized_json_body_with_a_token_is_413(world, client):
    token = api_token_create(user=world.olivia, clinic=world.clinic_a, name="probe", scopes=list(ApiToken.Scope.values)).secret
    response = client.post("/api/clients", oversized(), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 413


def test_a_body_inside_the_limit_still_reaches_the_view(world, as_user):
    response = as_user(world.olivia).post("/api/clients", json.dumps({"first_name": ""}), content_type="application/json")
    assert response.status_code == 400  # validation, from the view
