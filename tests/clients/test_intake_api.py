"""The intake API: pain drawings, screening flags and the latest intake's answers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from knotwork.audit.models import Action, AuditEvent
from knotwork.clients.intake.services import drawing_create
from knotwork.clients.models import IntakeStatus, IntakeSubmission, PainDrawing, ScreeningFlag

pytestmark = pytest.mark.django_db

DRAWING = {
    "marks": [{"cell": "temple:right", "intensity": 7, "quality": "aching"}],
    "symptoms": ["headache"],
    "note": "On paper at the visit",
}


def post(c, url, data):
    return c.post(url, json.dumps(data, default=str), content_type="application/json")


class DrawingApiTests:
    def test_a_therapist_records_a_drawing_and_lists_the_clients_drawings_newest_first(self, as_user, world):
        drawing_create(client=world.client_a, marks=[{"cell": "neck-lateral:right", "intensity": 4}], actor=None,
                       taken_at=timezone.now() - timedelta(days=7))  # fmt: skip
        c = as_user(world.alice)
        made = post(c, f"/api/clients/{world.client_a.pk}/drawings", DRAWING)
        assert made.status_code == 201, made.content
        body = c.get(f"/api/clients/{world.client_a.pk}/drawings").json()
        assert body["count"] == 2 and body["items"][0]["id"] == made.json()["id"]
        assert body["items"][0]["marks"] == DRAWING["marks"] and body["items"][0]["symptoms"] == ["headache"]
        assert AuditEvent.objects.filter(action=Action.CREATE, object_type="clients.paindrawing", object_id=str(made.json()["id"])).exists()
        assert AuditEvent.objects.filter(action=Action.LIST, object_type="clients.paindrawing").exists()

    def test_a_bad_drawing_is_a_400_naming_the_field_and_stores_nothing(self, as_user, world):
        c = as_user(world.alice)
        bad_cell = post(c, f"/api/clients/{world.client_a.pk}/drawings", {"marks": [{"cell": "tail:right", "intensity": 5}]})
        assert bad_cell.status_code == 400 and "marks[0].cell" in bad_cell.json()["error"]["fields"]
        future = {**DRAWING, "taken_at": (timezone.now() + timedelta(days=2)).isoformat()}
        assert post(c, f"/api/clients/{world.client_a.pk}/drawings", future).status_code == 400
        assert post(c, f"/api/clients/{world.client_a.pk}/drawings", {"marks": []}).status_code in (400, 422)
        assert not PainDrawing.objects.exists()

    def test_front_desk_gets_403_and_another_clinic_404(self, as_user, world):
        url = f"/api/clients/{world.client_a.pk}/drawings"
        assert as_user(world.bob).get(url).status_code == 403
        assert as_user(world.charlie).get(url).status_code == 404
        assert post(as_user(world.charlie), url, DRAWING).status_code == 404
        assert not PainDrawing.objects.exists()


class FlagAndIntakeApiTests:
    def test_flags_come_most_severe_first_and_cleared_ones_only_on_request(self, as_user, world):
        def flag(rule, cls, **extra):
            return ScreeningFlag.objects.create(clinic=world.clinic_a, client=world.client_a, rule_id=rule, rules_version="1",
                                                flag_class=cls, title=rule, reason="Because", **extra)  # fmt: skip

        flag("varicose-veins", "local", regions=["calf:left"])
        flag("red-flag:thunderclap-headache", "refer_out", forbids=["all"])
        flag("old", "precaution", cleared_at=timezone.now())
        c = as_user(world.alice)
        open_flags = c.get(f"/api/clients/{world.client_a.pk}/screening-flags").json()
        assert [f["rule_id"] for f in open_flags] == ["red-flag:thunderclap-headache", "varicose-veins"]
        assert open_flags[1]["regions"] == ["calf:left"]
        every = c.get(f"/api/clients/{world.client_a.pk}/screening-flags", {"include_cleared": "true"}).json()
        assert "old" in [f["rule_id"] for f in every]
        assert as_user(world.charlie).get(f"/api/clients/{world.client_a.pk}/screening-flags").status_code == 404

    def test_the_latest_intake_comes_with_the_wording_the_client_saw(self, as_user, world):
        c = as_user(world.alice)
        assert c.get(f"/api/clients/{world.client_a.pk}/intake").status_code == 404
        intake = IntakeSubmission.objects.create(
            clinic=world.clinic_a,
            client=world.client_a,
            status=IntakeStatus.SUBMITTED,
            submitted_at=timezone.now(),
            form_version="std-3",
            answers={"pain_duration": {"q": "How long have you had this pain?", "a": "3-12m"}},
        )
        body = c.get(f"/api/clients/{world.client_a.pk}/intake").json()
        assert body["id"] == intake.pk and body["status"] == "submitted" and body["form_version"] == "std-3"
        assert body["answers"] == [{"question_id": "pain_duration", "question": "How long have you had this pain?", "answer": "3-12m"}]
        assert AuditEvent.objects.filter(action=Action.VIEW, object_type="clients.intakesubmission", object_id=str(intake.pk)).exists()
        assert as_user(world.bob).get(f"/api/clients/{world.client_a.pk}/intake").status_code == 403


def test_a_drawing_time_without_an_offset_is_read_in_the_clinics_time_zone(as_user, world):
    response = post(as_user(world.alice), f"/api/clients/{world.client_a.pk}/drawings", {**DRAWING, "taken_at": "2026-01-15T10:30:00"})
    assert response.status_code == 201, response.content
    taken = PainDrawing.objects.get().taken_at
    assert timezone.localtime(taken, world.clinic_a.tz).strftime("%Y-%m-%d %H:%M") == "2026-01-15 10:30"
