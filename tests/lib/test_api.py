"""The API's contract: one error shape, tokens that are hashed, scoped and revocable, capped pages."""

from __future__ import annotations

import json

import pytest

from knotwork.accounts.models import ApiToken, Membership
from knotwork.accounts.services import api_token_create, api_token_revoke
from knotwork.lib.testing import make_client

pytestmark = pytest.mark.django_db


def bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def alice_token(world):
    return api_token_create(user=world.alice, clinic=world.clinic_a, name="script", scopes=["clients:read"])


class ErrorShapeTests:
    def test_anonymous_calls_get_401_in_the_error_shape(self, world, client):
        response = client.get("/api/clients")
        assert response.status_code == 401
        assert set(response.json()["error"]) == {"code", "message", "fields"}

    def test_malformed_json_is_a_400_not_a_500(self, world, as_user):
        response = as_user(world.alice).post("/api/clients", data="{not json", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "bad_request"

    def test_missing_fields_are_named(self, world, as_user):
        response = as_user(world.alice).post("/api/clients", data={"first_name": ""}, content_type="application/json")
        assert response.status_code == 400
        fields = response.json()["error"]["fields"]
        assert "first_name" in fields and "last_name" in fields

    def test_wrong_types_in_the_query_are_400(self, world, as_user):
        response = as_user(world.alice).get("/api/clients", {"page": "abc", "page_size": "100000"})
        assert response.status_code == 400
        assert {"page", "page_size"} <= set(response.json()["error"]["fields"])

    def test_unknown_ids_are_404_in_the_error_shape(self, world, as_user):
        response = as_user(world.alice).get("/api/clients/999999")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    def test_session_writes_need_the_csrf_token(self, world):
        from django.test import Client

        c = Client(enforce_csrf_checks=True)
        c.force_login(world.alice)
        response = c.post("/api/clients", data={"first_name": "A", "last_name": "B"}, content_type="application/json")
        assert response.status_code in (401, 403)
        assert "error" in response.json()


class ClientApiTests:
    def test_the_list_is_paginated_and_the_page_size_is_capped(self, world, as_user):
        for _ in range(30):
            make_client(world.clinic_a)
        body = as_user(world.alice).get("/api/clients", {"page_size": 10, "page": 2}).json()
        assert (len(body["items"]), body["count"], body["page"]) == (10, 31, 2)
        assert as_user(world.alice).get("/api/clients", {"page_size": 101}).status_code == 400

    def test_charlie_gets_404_for_clinic_a_clients_and_changes_nothing(self, world, as_user):
        c = as_user(world.charlie)
        assert c.get(f"/api/clients/{world.client_a.pk}").status_code == 404
        response = c.patch(f"/api/clients/{world.client_a.pk}", data={"first_name": "X"}, content_type="application/json")
        assert response.status_code == 404
        world.client_a.refresh_from_db()
        assert world.client_a.first_name == "Ada"

    def test_front_desk_gets_contact_details_without_clinical_alerts_and_403_on_changing_them(self, world, as_user):
        c = as_user(world.bob)
        body = c.get(f"/api/clients/{world.client_a.pk}").json()
        assert body["last_name"] == "Lovelace" and body["clinical_alerts"] is None
        response = c.patch(f"/api/clients/{world.client_a.pk}", data={"clinical_alerts": "x"}, content_type="application/json")
        assert response.status_code == 403

    def test_a_therapist_creates_and_changes_a_client(self, world, as_user):
        c = as_user(world.alice)
        created = c.post("/api/clients", data={"first_name": "Grace", "last_name": "Hopper"}, content_type="application/json")
        assert created.status_code == 201
        cid = created.json()["id"]
        changed = c.patch(f"/api/clients/{cid}", data={"phone": "+44 1"}, content_type="application/json")
        assert changed.json()["phone"] == "+44 1"


class TokenTests:
    def test_the_secret_is_shown_once_and_only_its_hash_is_stored(self, world, alice_token):
        row = ApiToken.objects.get(pk=alice_token.token.pk)
        secret_part = alice_token.secret.split("_", 2)[2]
        assert secret_part not in json.dumps(list(ApiToken.objects.values()), default=str)
        assert row.secret_hash == ApiToken.hash_secret(secret_part)

    def test_a_token_reads_within_its_scope(self, world, client, alice_token):
        response = client.get("/api/clients", **bearer(alice_token.secret))
        assert response.status_code == 200
        assert response.json()["items"][0]["last_name"] == "Lovelace"

    def test_a_token_cannot_write_without_the_write_scope(self, world, client, alice_token):
        response = client.post(
            "/api/clients", data={"first_name": "A", "last_name": "B"}, content_type="application/json", **bearer(alice_token.secret)
        )
        assert response.status_code == 403
        assert "clients:write" in response.json()["error"]["message"]

    def test_revoked_expired_and_forged_tokens_are_refused(self, world, client, alice_token):
        assert client.get("/api/me", **bearer(alice_token.secret[:-2] + "xx")).status_code == 401
        assert client.get("/api/me", **bearer("kw_nope_nope")).status_code == 401
        assert client.get("/api/me", **bearer("garbage")).status_code == 401
        api_token_revoke(token=alice_token.token)
        assert client.get("/api/me", **bearer(alice_token.secret)).status_code == 401

    def test_a_token_acts_for_its_own_clinic_only_even_when_its_owner_works_in_two(self, world, client, alice_token):
        Membership.objects.create(user=world.alice, clinic=world.clinic_b, role="therapist")
        assert client.get(f"/api/clients/{world.client_b.pk}", **bearer(alice_token.secret)).status_code == 404

    def test_a_token_stops_working_when_its_owner_leaves_the_clinic(self, world, client, alice_token):
        Membership.objects.filter(user=world.alice).update(is_active=False)
        assert client.get("/api/clients", **bearer(alice_token.secret)).status_code == 403

    def test_tokens_are_listed_and_revoked_in_settings_and_charlie_cannot_revoke_alices(self, world, as_user, alice_token):
        c = as_user(world.alice)
        assert b"script" in c.get("/settings/").content
        assert as_user(world.charlie).post(f"/settings/tokens/{alice_token.token.pk}/revoke/").status_code == 404
        c = as_user(world.alice)
        assert c.post(f"/settings/tokens/{alice_token.token.pk}/revoke/").status_code == 302
        assert ApiToken.objects.get(pk=alice_token.token.pk).revoked_at is not None

    def test_creating_a_token_in_the_browser_shows_the_secret_once(self, world, as_user):
        response = as_user(world.alice).post("/settings/tokens/new/", {"name": "n8n", "scopes": ["clients:read"], "expires_in_days": 30})
        assert b"kw_" in response.content
        assert ApiToken.objects.filter(user=world.alice, name="n8n").exists()
        bad = as_user(world.alice).post("/settings/tokens/new/", {"name": "n8n", "scopes": ["root"], "expires_in_days": 30})
        assert bad.status_code == 200 and b"Please correct" in bad.content
