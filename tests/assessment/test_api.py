"""The assessment API: same permissions as the pages, one error shape, files only through checks."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from knotwork.accounts.models import ApiToken
from knotwork.accounts.services import api_token_create
from knotwork.assessment import services
from knotwork.assessment.models import Assessment, Landmark, Photo, RomMeasurement
from tests.assessment.conftest import FIGURE, membership, stored_files
from tests.lib.test_uploads import png_header_bomb

pytestmark = pytest.mark.django_db


class AssessmentApiTests:
    def test_a_therapist_lists_and_reads_assessments_with_measures_and_implicated_muscles(self, world, as_user, photo_a):
        c = as_user(world.alice)
        services.finding_add(
            assessment=photo_a.assessment,
            membership=membership(world.alice, world.clinic_a),
            data={"kind": "shoulder_protraction", "side": "both"},
        )
        listing = c.get(f"/api/clients/{world.client_a.pk}/assessments").json()
        assert listing["count"] == 1 and listing["items"][0]["id"] == photo_a.assessment_id
        body = c.get(f"/api/assessments/{photo_a.assessment_id}").json()
        (photo,) = body["photos"]
        cva = next(m for m in photo["measures"] if m["name"] == "cva")
        assert cva["value"] == pytest.approx(47.86, abs=0.01) and cva["flags"] == ["Possible forward head posture (CVA < 50°)"]
        assert "Upper-crossed" in body["implicated_muscles"]["levator-scapulae"]
        assert c.get(f"/api/clients/{world.client_a.pk}/implicated-muscles").json() == body["implicated_muscles"]

    def test_charlie_gets_404_everywhere_in_clinic_a_and_changes_nothing(self, world, as_user, photo_a):
        c = as_user(world.charlie)
        a = photo_a.assessment_id
        gets = [
            f"/api/clients/{world.client_a.pk}/assessments",
            f"/api/assessments/{a}",
            f"/api/assessments/photos/{photo_a.pk}",
            f"/api/assessments/photos/{photo_a.pk}/image",
            f"/api/clients/{world.client_a.pk}/implicated-muscles",
        ]
        for url in gets:
            response = c.get(url)
            assert response.status_code == 404, url
            assert response.json()["error"]["code"] == "not_found"
        assert c.post(f"/api/clients/{world.client_a.pk}/assessments", {}, content_type="application/json").status_code == 404
        assert (
            c.post(f"/api/assessments/{a}/rom", {"motion": "cervical_flexion", "degrees": 40}, content_type="application/json").status_code
            == 404
        )
        assert (
            c.put(f"/api/assessments/photos/{photo_a.pk}/landmarks", {"landmarks": {}}, content_type="application/json").status_code == 404
        )
        assert Assessment.objects.count() == 1 and RomMeasurement.objects.count() == 0
        assert Landmark.objects.filter(photo=photo_a).count() == 10

    def test_front_desk_gets_403(self, world, as_user, assessment_a):
        c = as_user(world.bob)
        assert c.get(f"/api/assessments/{assessment_a.pk}").status_code == 403
        assert c.get(f"/api/clients/{world.client_a.pk}/assessments").status_code == 403

    def test_anonymous_callers_get_401(self, client, assessment_a):
        assert client.get(f"/api/assessments/{assessment_a.pk}").status_code == 401

    def test_a_time_without_an_offset_is_the_clinics_local_time(self, world, as_user):
        from django.utils import timezone

        c = as_user(world.alice)
        made = c.post(f"/api/clients/{world.client_a.pk}/assessments", {"taken_at": "2026-07-01T09:15:00"}, content_type="application/json")
        assert made.status_code == 201
        taken = Assessment.objects.get(pk=made.json()["id"]).taken_at
        assert timezone.localtime(taken, world.clinic_a.tz).strftime("%Y-%m-%d %H:%M") == "2026-07-01 09:15"  # BST: 08:15 UTC

    def test_creating_an_assessment_and_adding_rom_and_findings(self, world, as_user):
        c = as_user(world.alice)
        created = c.post(f"/api/clients/{world.client_a.pk}/assessments", {"position": "seated"}, content_type="application/json")
        assert created.status_code == 201
        aid = created.json()["id"]
        rom = c.post(
            f"/api/assessments/{aid}/rom", {"motion": "cervical_rotation", "side": "right", "degrees": 50}, content_type="application/json"
        )
        assert rom.status_code == 201 and rom.json()["degrees"] == 50
        assert c.post(f"/api/assessments/{aid}/findings", {"kind": "head_forward"}, content_type="application/json").status_code == 201
        muscles = c.get(f"/api/clients/{world.client_a.pk}/implicated-muscles").json()
        assert "levator-scapulae" in muscles and "sternocleidomastoid" in muscles

    @pytest.mark.parametrize(
        "payload",
        [
            {"motion": "cervical_rotation", "side": "right", "degrees": 500},
            {"motion": "wiggle", "degrees": 10},
            {"motion": "cervical_rotation", "side": "up", "degrees": 10},
        ],
    )
    def test_bad_rom_is_a_400_with_fields(self, world, as_user, assessment_a, payload):
        response = as_user(world.alice).post(f"/api/assessments/{assessment_a.pk}/rom", payload, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["error"]["fields"]
        assert not RomMeasurement.objects.exists()

    def test_landmarks_put_recomputes_and_validates(self, world, as_user, photo_a):
        c = as_user(world.alice)
        ok = c.put(
            f"/api/assessments/photos/{photo_a.pk}/landmarks",
            {"landmarks": {"tragus": [505, 198], "c7": [395, 300]}},
            content_type="application/json",
        )
        assert ok.status_code == 200
        assert [m["value"] for m in ok.json()["measures"]] == [42.84]
        bad = c.put(f"/api/assessments/photos/{photo_a.pk}/landmarks", {"landmarks": {"tragus": [-1, 5]}}, content_type="application/json")
        assert bad.status_code == 400 and "landmarks.tragus" in bad.json()["error"]["fields"]

    def test_photo_upload_and_download_through_the_api(self, world, as_user, assessment_a, media):
        c = as_user(world.alice)
        response = c.post(
            f"/api/assessments/{assessment_a.pk}/photos", {"view": "anterior", "image": SimpleUploadedFile("f.jpg", FIGURE.read_bytes())}
        )
        assert response.status_code == 201
        image = c.get(response.json()["image_url"])
        assert image.status_code == 200 and image["X-Content-Type-Options"] == "nosniff"

    def test_a_hostile_upload_is_a_400_and_nothing_is_stored(self, world, as_user, assessment_a, media):
        response = as_user(world.alice).post(
            f"/api/assessments/{assessment_a.pk}/photos",
            {"view": "anterior", "image": SimpleUploadedFile("b.png", png_header_bomb(20_000, 20_000))},
        )
        assert response.status_code == 400
        assert "too large to open safely" in response.json()["error"]["fields"]["image"]
        assert not Photo.objects.exists() and stored_files(media) == []

    def test_a_token_needs_the_clients_scopes(self, world, client, assessment_a):
        raw = api_token_create(user=world.alice, clinic=world.clinic_a, name="t", scopes=[ApiToken.Scope.ATLAS_READ]).secret
        response = client.get(f"/api/assessments/{assessment_a.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 403
        raw = api_token_create(user=world.alice, clinic=world.clinic_a, name="r", scopes=[ApiToken.Scope.CLIENTS_READ]).secret
        assert client.get(f"/api/assessments/{assessment_a.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
        write = client.post(
            f"/api/assessments/{assessment_a.pk}/findings",
            {"kind": "head_tilt"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        assert write.status_code == 403
