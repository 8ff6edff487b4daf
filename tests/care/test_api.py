from __future__ import annotations

import json

from knotwork.care import services
from knotwork.care.models import Episode, TechniqueApplication, TreatmentPlan, Visit
from tests.care.conftest import finding_data, technique_kwargs, tp

TECH = {
    "technique": "stretching",
    "muscle": "levator-scapulae",
    "side": "right",
    "hold_s": 30,
    "reps": 1,
    "pressure": 3,
    "response": "eased",
}


def post(c, url, data):
    return c.post(url, json.dumps(data), content_type="application/json")


def patch(c, url, data):
    return c.patch(url, json.dumps(data), content_type="application/json")


class EpisodeApiTests:
    def test_a_therapist_creates_an_episode_and_a_plan_version(self, as_user, world, atlas_db):
        c = as_user(world.alice)
        r = post(c, "/api/episodes", {"client_id": world.client_a.pk, "complaint": "Headaches", "started_on": "2025-03-01"})
        assert r.status_code == 201
        eid = r.json()["id"]
        r = post(
            c,
            f"/api/episodes/{eid}/plans",
            {"goals": [{"activity": "Drive"}], "focus": ["upper-trapezius"], "stages": [{"id": "flexibility", "done": True}]},
        )
        assert r.status_code == 201 and r.json()["version"] == 1
        assert c.get(f"/api/episodes/{eid}").json()["plan"]["focus"] == ["upper-trapezius"]
        assert c.get(f"/api/episodes?client_id={world.client_a.pk}").json()["count"] == 1

    def test_charlie_gets_404_and_nothing_changes(self, as_user, world, episode_a):
        c = as_user(world.charlie)
        assert c.get(f"/api/episodes/{episode_a.pk}").status_code == 404
        assert post(c, f"/api/episodes/{episode_a.pk}/plans", {}).status_code == 404
        assert post(c, "/api/episodes", {"client_id": world.client_a.pk, "complaint": "x", "started_on": "2025-01-01"}).status_code == 404
        assert post(c, "/api/visits", {"episode_id": episode_a.pk}).status_code == 404
        assert Episode.objects.count() == 1 and not TreatmentPlan.objects.exists() and not Visit.objects.exists()

    def test_front_desk_gets_403(self, as_user, world, episode_a):
        assert as_user(world.bob).get(f"/api/episodes/{episode_a.pk}").status_code == 403

    def test_anonymous_callers_get_401(self, client, episode_a):
        assert client.get(f"/api/episodes/{episode_a.pk}").status_code == 401


class VisitApiTests:
    def test_a_full_visit_over_the_api(self, as_user, world, episode_a, flags_a):
        c = as_user(world.alice)
        r = post(c, "/api/visits", {"episode_id": episode_a.pk})
        vid = r.json()["id"]
        assert (
            post(c, f"/api/visits/{vid}/checkin", {"pain_today": 6, "change_since_last": "better"})
            .json()["subjective"]
            .startswith("Pain today 6/10")
        )
        r = post(
            c,
            f"/api/visits/{vid}/findings",
            {"trigger_point": "upper-trapezius-1", "side": "right", "status": "active", "ppt_kg_cm2": "2.4"},
        )
        assert r.status_code == 201 and r.json()["trigger_point"] == "upper-trapezius-1"
        blocked = post(c, f"/api/visits/{vid}/techniques", {**TECH, "technique": "myofascial-release", "muscle": "upper-trapezius"})
        assert blocked.status_code == 422 and "Skin lesion" in blocked.json()["error"]["message"]
        caution = {**TECH, "technique": "ischemic-compression", "trigger_point": "levator-scapulae-1"}
        assert post(c, f"/api/visits/{vid}/techniques", caution).status_code == 422
        r = post(c, f"/api/visits/{vid}/techniques", {**caution, "acknowledge": True})
        assert r.status_code == 201 and r.json()["acknowledged_flags"] == [flags_a[0].pk]
        assert patch(c, f"/api/visits/{vid}", {"assessment": "Active TrPs"}).json()["assessment"] == "Active TrPs"
        signed = post(c, f"/api/visits/{vid}/sign", {})
        assert signed.status_code == 200 and signed.json()["signed_at"]
        assert post(c, f"/api/visits/{vid}/addenda", {"reason": "Side", "text": "Left"}).status_code == 201
        assert len(c.get(f"/api/visits/{vid}").json()["addenda"]) == 1

    def test_every_endpoint_refuses_to_change_a_signed_note_with_409(self, as_user, world, visit_a, alice_m):
        finding = services.finding_add(membership=alice_m, visit=visit_a, trigger_point=tp("upper-trapezius-1"), data=finding_data())
        app = services.technique_log(membership=alice_m, visit=visit_a, **technique_kwargs())
        services.visit_sign(membership=alice_m, visit=visit_a)
        c = as_user(world.alice)
        v = visit_a.pk
        responses = [
            patch(c, f"/api/visits/{v}", {"subjective": "changed"}),
            post(c, f"/api/visits/{v}/checkin", {"pain_today": 2}),
            post(c, f"/api/visits/{v}/findings", {"trigger_point": "upper-trapezius-2", "side": "left", "status": "latent"}),
            c.delete(f"/api/visits/{v}/findings/{finding.pk}"),
            post(c, f"/api/visits/{v}/techniques", TECH),
            c.delete(f"/api/visits/{v}/techniques/{app.pk}"),
            post(c, f"/api/visits/{v}/sign", {}),
        ]
        for r in responses:
            assert r.status_code == 409, r.content
            assert r.json()["error"]["code"] == "conflict" and "addendum" in r.json()["error"]["message"]
        visit = Visit.objects.get(pk=v)
        assert visit.subjective == "" and visit.findings.count() == 1 and TechniqueApplication.objects.count() == 1

    def test_charlie_cannot_read_or_change_a_clinic_a_visit(self, as_user, world, visit_a):
        c = as_user(world.charlie)
        v = visit_a.pk
        assert c.get(f"/api/visits/{v}").status_code == 404
        assert patch(c, f"/api/visits/{v}", {"subjective": "x"}).status_code == 404
        assert post(c, f"/api/visits/{v}/techniques", TECH).status_code == 404
        assert post(c, f"/api/visits/{v}/sign", {}).status_code == 404
        assert c.get(f"/api/visits?client_id={world.client_a.pk}").status_code == 404
        assert Visit.objects.get(pk=v).signed_at is None and not TechniqueApplication.objects.exists()

    def test_bad_input_is_a_400_with_fields(self, as_user, world, visit_a):
        r = post(as_user(world.alice), f"/api/visits/{visit_a.pk}/techniques", {**TECH, "pressure": 14})
        assert r.status_code == 400 and "pressure" in r.json()["error"]["fields"]
        r = post(as_user(world.alice), f"/api/visits/{visit_a.pk}/findings", {"trigger_point": "nope", "side": "right", "status": "active"})
        assert r.status_code == 400
