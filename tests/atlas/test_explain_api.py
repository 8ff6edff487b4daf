"""POST /api/engine/explain: the engine's contract over HTTP, for staff only, never a 500."""

from __future__ import annotations

import json

import pytest

from knotwork.accounts.services import api_token_create
from knotwork.audit.models import AuditEvent
from knotwork.clients.models import Client
from knotwork.lib.testing import make_user

pytestmark = pytest.mark.django_db

URL = "/api/engine/explain"
HEAD_AND_NECK = {"marks": [{"cell": "temple:right", "intensity": 7}, {"cell": "neck-lateral:right", "intensity": 5}]}
# Heart-like chest pain painted on the chest: the drawing itself reports an emergency red flag.
CHEST_AND_ARM = {
    "marks": [{"cell": "chest-upper:left", "intensity": 8}, {"cell": "upper-arm-medial:left", "intensity": 5}],
    "symptoms": ["heart-like-pain"],
}


def post(client, body, **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **extra)


def bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def assert_error_shape(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


class ExplainContractTests:
    def test_a_drawing_comes_back_as_the_engine_output_contract(self, world, as_user):
        body = post(as_user(world.alice), HEAD_AND_NECK).json()
        assert {"hypotheses", "cover", "screens", "atlas_version"} <= set(body)
        assert body["atlas_version"]
        first = body["hypotheses"][0]
        keys = {"muscle", "trigger_point", "side", "score", "essential_hits", "spillover_hits", "explains", "unexplained", "why"}
        assert keys <= set(first)
        assert first["muscle"] == "upper-trapezius" and first["side"] == "right"
        assert [h["score"] for h in body["hypotheses"]] == sorted((h["score"] for h in body["hypotheses"]), reverse=True)
        assert "message" not in body

    def test_the_red_flag_screen_is_always_first_even_for_an_empty_drawing(self, world, as_user):
        for drawing in (HEAD_AND_NECK, {"marks": []}, {}):
            body = post(as_user(world.alice), drawing).json()
            assert body["screens"][0]["id"] == "red-flags"
            assert body["screens"][0]["verdict"] == "not asked"
        assert post(as_user(world.alice), {}).json()["message"].startswith("The drawing is empty")

    def test_a_left_sided_drawing_gives_the_mirrored_answer(self, world, as_user):
        c = as_user(world.alice)
        right = post(c, HEAD_AND_NECK).json()["hypotheses"]
        left_marks = [{**m, "cell": m["cell"].replace(":right", ":left")} for m in HEAD_AND_NECK["marks"]]
        left = post(c, {"marks": left_marks}).json()["hypotheses"]
        assert [(h["trigger_point"], h["score"]) for h in left] == [(h["trigger_point"], h["score"]) for h in right]
        assert {h["side"] for h in left} == {"left"}
        assert left[0]["essential_hits"] == [c.replace(":right", ":left") for c in right[0]["essential_hits"]]

    def test_top_limits_the_hypotheses(self, world, as_user):
        body = post(as_user(world.alice), {**HEAD_AND_NECK, "top": 2}).json()
        assert len(body["hypotheses"]) == 2

    def test_red_flag_answers_at_the_top_level_change_the_verdict(self, world, as_user):
        c = as_user(world.alice)
        assert post(c, {**HEAD_AND_NECK, "red_flags": []}).json()["screens"][0]["verdict"] == "clear"
        refer = post(c, {**HEAD_AND_NECK, "red_flags": ["thunderclap-headache"]}).json()["screens"][0]
        assert refer["verdict"] == "refer out" and refer["details"]["urgency"] == "emergency"
        in_context = post(c, {**HEAD_AND_NECK, "context": {"red_flags": {"calf-swelling": False}}}).json()
        assert in_context["screens"][0]["verdict"] == "incomplete"

    def test_the_schemas_are_in_the_openapi_document(self, world, client):
        doc = client.get("/api/openapi.json").json()
        operation = doc["paths"]["/api/engine/explain"]["post"]
        request = operation["requestBody"]["content"]["application/json"]["schema"]
        assert {"marks", "symptoms", "context", "top", "red_flags"} <= set(request["properties"])
        assert "cell" in request["properties"]["marks"]["items"]["properties"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ExplainOut")
        schemas = doc["components"]["schemas"]
        keys = {"triage", "pattern", "withheld", "hypotheses", "cover", "screens", "atlas_version"}
        assert keys <= set(schemas["ExplainOut"]["properties"])
        assert "both" in schemas["HypothesisOut"]["properties"]["side"]["enum"]
        assert "trigger_points" in schemas["HypothesisOut"]["properties"] and "TriggerPointHitOut" in schemas
        assert {"emergency", "same-day", "ask-first", "before-treatment"} <= set(schemas["TriageOut"]["properties"]["level"]["enum"])
        assert schemas["PainPatternOut"]["properties"]["lead"]["enum"] == ["muscles", "widespread", "none"]
        context = request["properties"]["context"]["anyOf"][0]["properties"]
        assert context["medical_clearance"]["type"] == "boolean"


class ExplainTriageTests:
    def test_the_answer_leads_with_the_triage_and_one_row_per_muscle(self, world, as_user):
        body = post(as_user(world.alice), HEAD_AND_NECK).json()
        assert list(body)[:2] == ["triage", "pattern"]
        assert body["triage"]["level"] == "not asked" and body["triage"]["withheld"] is False
        assert body["pattern"]["lead"] == "muscles"
        muscles = [h["muscle"] for h in body["hypotheses"]]
        assert len(muscles) == len(set(muscles))
        assert all(h["trigger_points"] and h["trigger_points"][0]["trigger_point"] == h["trigger_point"] for h in body["hypotheses"])
        assert body["cover"][0]["muscle"] == muscles[0]
        assert "withheld" not in body

    def test_an_emergency_withholds_the_muscle_list_until_clearance(self, world, as_user):
        body = post(as_user(world.alice), CHEST_AND_ARM).json()
        assert body["triage"]["level"] == "emergency" and body["triage"]["withheld"] is True
        assert body["triage"]["positive"] == ["chest-pain-breathless"]
        assert body["hypotheses"] == [] and body["cover"] == [] and body["withheld"] > 0
        assert "medical clearance" in body["message"]
        how = body["screens"][0]["details"]["positive"][0]
        assert how["how"] == "reported in the drawing" and how["source"]
        assert not AuditEvent.objects.filter(object_type="engine.clearance").exists()

    def test_a_clearance_brings_the_list_back_and_is_audited_with_who_and_which_flags(self, world, as_user):
        body = post(as_user(world.alice), {**CHEST_AND_ARM, "context": {"medical_clearance": True}}).json()
        assert body["triage"]["level"] == "emergency" and body["triage"]["cleared"] is True
        assert body["hypotheses"] and body["cover"] and "withheld" not in body
        event = AuditEvent.objects.get(object_type="engine.clearance")
        assert event.actor == world.alice and event.clinic_id == world.clinic_a.pk
        assert event.detail["flags"] == ["chest-pain-breathless"] and event.detail["source"] == "engine API"

    def test_a_token_clearance_names_the_tokens_owner(self, world, client):
        issued = api_token_create(user=world.alice, clinic=world.clinic_a, name="engine", scopes=["engine"])
        response = post(client, {**CHEST_AND_ARM, "context": {"medical_clearance": True}}, **bearer(issued.secret))
        assert response.status_code == 200 and response.json()["hypotheses"]
        assert AuditEvent.objects.get(object_type="engine.clearance").actor == world.alice

    def test_a_clearance_that_lifts_nothing_records_nothing(self, world, as_user):
        body = post(as_user(world.alice), {**HEAD_AND_NECK, "context": {"medical_clearance": True}}).json()
        assert body["triage"]["cleared"] is False and body["hypotheses"]
        assert not AuditEvent.objects.filter(object_type="engine.clearance").exists()

    def test_charlies_clearance_is_audited_in_clinic_b_and_bob_may_not_clear(self, world, as_user):
        assert post(as_user(world.charlie), {**CHEST_AND_ARM, "context": {"medical_clearance": True}}).status_code == 200
        assert AuditEvent.objects.get(object_type="engine.clearance").clinic_id == world.clinic_b.pk
        assert_error_shape(post(as_user(world.bob), {**CHEST_AND_ARM, "context": {"medical_clearance": True}}), 403)
        assert AuditEvent.objects.filter(object_type="engine.clearance").count() == 1


class ExplainValidationTests:
    def test_an_unknown_cell_is_a_400_naming_the_mark(self, world, as_user):
        response = post(as_user(world.alice), {"marks": [{"cell": "temple:up", "intensity": 7}]})
        error = assert_error_shape(response, 400)
        assert error["code"] == "invalid_drawing"
        assert error["fields"] == {"marks[0].cell": "unknown cell 'temple:up'"}

    def test_every_bad_field_is_named_at_once(self, world, as_user):
        body = {"marks": [{"cell": "temple:right", "intensity": 11}, {"cell": "temple", "intensity": 3, "quality": "dull"}]}
        fields = assert_error_shape(post(as_user(world.alice), body), 400)["fields"]
        assert {"marks[0].intensity", "marks[1].cell", "marks[1].quality"} <= set(fields)

    @pytest.mark.parametrize(
        "body",
        [
            "{not json",
            "",
            "null",
            "[]",
            '"marks"',
            "42",
            '{"marks": NaN}',
            '{"marks": [{"cell": "temple:right", "intensity": Infinity}]}',
            "[" * 100_000,
            {"marks": "temple:right"},
            {"marks": {"cell": "temple:right"}},
            {"marks": [None]},
            {"marks": [[]]},
            {"marks": [{}]},
            {"marks": [{"cell": ["temple:right"], "intensity": 5}]},
            {"marks": [{"cell": {"a": 1}, "intensity": 5}]},
            {"marks": [{"cell": "temple:right", "intensity": "7"}]},
            {"marks": [{"cell": "temple:right", "intensity": 7.5}]},
            {"marks": [{"cell": "temple:right", "intensity": True}]},
            {"marks": [{"cell": "temple:right", "intensity": 10**40}]},
            {"marks": [{"cell": "temple:right", "intensity": 7, "quality": ["aching"]}]},
            {"marks": [{"cell": "temple:right", "intensity": 7}, {"cell": "temple:right", "intensity": 3}]},
            {"marks": [{"cell": "temple:right", "intensity": 7}] * 164},
            {"marks": [{"cell": f"nowhere-{i}:right", "intensity": 5} for i in range(500)]},
            {"symptoms": "headache"},
            {"symptoms": [{"id": "headache"}]},
            {"symptoms": ["headache"] * 1000},
            {"context": []},
            {"context": {"red_flags": "yes"}},
            {"context": {"red_flags": [{}]}},
            {"context": {"red_flags": [["saddle-numbness"]]}},
            {"context": {"red_flags": {"saddle-numbness": "yes"}}},
            {"context": {"findings": [[1]]}},
            {"context": {"findings": "tinel"}},
            {"context": {"sss": [1, 2]}},
            {"context": {"sss": {"fatigue": 9}}},
            {"context": {"age": "fifty"}},
            {"context": {"implicated_muscles": ["upper-trapezius"]}},
            {"context": {"medical_clearance": "yes"}},
            {"context": {"medical_clearance": 1}},
            {"red_flags": {"nope": True}},
            {"red_flags": [], "context": {"red_flags": []}},
            {"top": 0},
            {"top": "5"},
            {"top": True},
            {"top": 10_000},
            {"drawing": {"marks": []}},
        ],
        ids=lambda b: (b if isinstance(b, str) else json.dumps(b))[:60],
    )
    def test_malformed_bodies_are_400_in_the_error_shape_never_500(self, world, as_user, body):
        error = assert_error_shape(post(as_user(world.alice), body), 400)
        assert error["message"]
        assert len(error["fields"]) <= 50

    def test_a_body_past_the_upload_limit_is_a_400(self, world, as_user, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        response = post(as_user(world.alice), {"marks": [], "symptoms": ["headache"] * 200})
        assert_error_shape(response, 400)


class ExplainAccessTests:
    def test_anonymous_callers_get_401(self, world, client):
        assert_error_shape(post(client, HEAD_AND_NECK), 401)

    def test_a_client_portal_user_gets_403(self, world, client):
        portal = make_user("ada@mail.example", mfa=False)
        Client.objects.filter(pk=world.client_a.pk).update(portal_user=portal)
        client.force_login(portal)
        assert_error_shape(post(client, HEAD_AND_NECK), 403)

    def test_front_desk_gets_403_because_this_is_clinical_reasoning(self, world, as_user):
        assert_error_shape(post(as_user(world.bob), HEAD_AND_NECK), 403)

    def test_a_token_without_the_engine_scope_gets_403(self, world, client):
        issued = api_token_create(user=world.alice, clinic=world.clinic_a, name="reader", scopes=["clients:read"])
        error = assert_error_shape(post(client, HEAD_AND_NECK, **bearer(issued.secret)), 403)
        assert "engine" in error["message"]

    def test_a_token_with_the_engine_scope_gets_the_answer(self, world, client):
        issued = api_token_create(user=world.alice, clinic=world.clinic_a, name="engine", scopes=["engine"])
        response = post(client, HEAD_AND_NECK, **bearer(issued.secret))
        assert response.status_code == 200
        assert response.json()["hypotheses"]

    def test_charlie_of_another_clinic_may_call_it_as_it_holds_no_clinic_data(self, world, as_user):
        response = post(as_user(world.charlie), HEAD_AND_NECK)
        assert response.status_code == 200
        assert response.json()["hypotheses"][0]["muscle"] == "upper-trapezius"

    def test_a_session_call_needs_the_csrf_token(self, world):
        from django.test import Client as HttpClient

        c = HttpClient(enforce_csrf_checks=True)
        c.force_login(world.alice)
        response = post(c, HEAD_AND_NECK)
        assert response.status_code in (401, 403)
        assert "error" in response.json()
