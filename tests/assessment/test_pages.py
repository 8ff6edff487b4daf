"""Assessment pages: who reaches them, what they change, and what they refuse."""

from __future__ import annotations

import io
import json

import pytest
from django.urls import reverse
from PIL import Image

from knotwork.assessment import services
from knotwork.assessment.models import Assessment, Landmark, Measure, MovementTest, Photo, PostureFinding, RomMeasurement
from knotwork.audit.models import AuditEvent
from tests.assessment.conftest import FIGURE, membership, stored_files
from tests.lib.test_uploads import gps_jpeg, png_header_bomb

pytestmark = pytest.mark.django_db


def upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="image/jpeg")


class ClientPanelTests:
    def test_a_therapist_sees_the_assessments_on_the_client_page(self, world, as_user, assessment_a):
        page = as_user(world.alice).get(reverse("client_detail", args=[world.client_a.pk])).content.decode()
        assert "Posture and range of motion" in page
        assert reverse("assessment_detail", args=[assessment_a.pk]) in page

    def test_front_desk_sees_no_assessment_panel(self, world, as_user, assessment_a):
        page = as_user(world.bob).get(reverse("client_detail", args=[world.client_a.pk])).content.decode()
        assert "Posture and range of motion" not in page
        assert reverse("assessment_detail", args=[assessment_a.pk]) not in page


class AccessTests:
    @pytest.mark.parametrize("name", ["assessment_detail", "assessment_edit", "assessment_rom"])
    def test_charlie_gets_404_for_another_clinics_assessment(self, world, as_user, assessment_a, name):
        assert as_user(world.charlie).get(reverse(name, args=[assessment_a.pk])).status_code == 404

    @pytest.mark.parametrize("name", ["assessment_photo", "assessment_photo_image", "assessment_photo_thumbnail"])
    def test_charlie_gets_404_for_another_clinics_photo_and_its_files(self, world, as_user, photo_a, name):
        assert as_user(world.charlie).get(reverse(name, args=[photo_a.pk])).status_code == 404

    def test_charlie_cannot_start_an_assessment_for_another_clinics_client(self, world, as_user):
        response = as_user(world.charlie).post(
            reverse("assessment_new", args=[world.client_a.pk]), {"taken_at": "2026-01-05T10:00", "position": "standing"}
        )
        assert response.status_code == 404
        assert not Assessment.objects.exists()

    def test_charlie_changes_nothing_by_posting_to_clinic_a(self, world, as_user, photo_a):
        c = as_user(world.charlie)
        a = photo_a.assessment
        finding = services.finding_add(
            assessment=a, membership=membership(world.alice, world.clinic_a), data={"kind": "head_tilt", "side": "left"}
        )
        posts = [
            (reverse("assessment_finding_add", args=[a.pk]), {"finding-kind": "head_forward", "finding-severity": "mild"}),
            (reverse("assessment_finding_delete", args=[finding.pk]), {}),
            (reverse("assessment_photo", args=[photo_a.pk]), {"landmarks": "{}", "facing": "1"}),
            (reverse("assessment_photo_delete", args=[photo_a.pk]), {}),
            (
                reverse("assessment_rom", args=[a.pk]),
                {"rom-motion": "cervical_flexion", "rom-mode": "active", "rom-degrees": "40", "rom-method": "goniometer"},
            ),
            (reverse("assessment_test_add", args=[a.pk]), {"test-outcome": "ober:positive", "test-side": "left"}),
            (reverse("assessment_delete", args=[a.pk]), {}),
        ]
        for url, data in posts:
            assert c.post(url, data).status_code == 404, url
        assert Assessment.objects.count() == 1 and PostureFinding.objects.count() == 1 and Photo.objects.count() == 1
        assert Landmark.objects.filter(photo=photo_a).count() == 10 and RomMeasurement.objects.count() == 0

    def test_charlie_cannot_upload_into_another_clinics_assessment(self, world, as_user, assessment_a, media):
        response = as_user(world.charlie).post(
            reverse("assessment_photo_upload", args=[assessment_a.pk]),
            {"photo-view": "anterior", "photo-image": upload("a.jpg", FIGURE.read_bytes())},
        )
        assert response.status_code == 404
        assert stored_files(media) == []

    def test_front_desk_is_refused_clinical_pages(self, world, as_user, assessment_a):
        c = as_user(world.bob)
        assert c.get(reverse("assessment_detail", args=[assessment_a.pk])).status_code == 403
        assert c.get(reverse("assessment_new", args=[world.client_a.pk])).status_code == 403

    def test_a_portal_client_cannot_see_their_assessment_pages(self, world, client, assessment_a):
        from knotwork.lib.testing import make_user

        portal = make_user("ada@mail.example", mfa=False)
        world.client_a.portal_user = portal
        world.client_a.save()
        client.force_login(portal)
        assert client.get(reverse("assessment_detail", args=[assessment_a.pk])).status_code == 404


class AssessmentFlowTests:
    def test_a_therapist_starts_an_assessment_and_it_is_audited(self, world, as_user):
        response = as_user(world.alice).post(
            reverse("assessment_new", args=[world.client_a.pk]),
            {"taken_at": "2026-01-05T10:00", "position": "seated", "note": "Desk worker"},
        )
        a = Assessment.objects.get()
        assert response.status_code == 302 and response["Location"] == reverse("assessment_detail", args=[a.pk])
        assert (a.position, a.therapist, a.clinic) == ("seated", world.alice, world.clinic_a)
        event = AuditEvent.objects.filter(object_type="assessment.assessment", action="create").get()
        assert "Desk worker" not in json.dumps(event.detail)

    def test_a_bad_date_keeps_what_was_typed(self, world, as_user):
        response = as_user(world.alice).post(
            reverse("assessment_new", args=[world.client_a.pk]), {"taken_at": "not a date", "position": "standing", "note": "Keep me"}
        )
        assert response.status_code == 400
        assert "Keep me" in response.content.decode()

    def test_findings_are_added_shown_and_implicate_muscles(self, world, as_user, assessment_a):
        c = as_user(world.alice)
        for kind in ("head_forward", "shoulder_protraction"):
            c.post(
                reverse("assessment_finding_add", args=[assessment_a.pk]),
                {"finding-kind": kind, "finding-side": "", "finding-severity": "moderate"},
            )
        page = c.get(reverse("assessment_detail", args=[assessment_a.pk])).content.decode()
        assert "Shoulder protraction" in page
        assert "Upper-crossed pattern" in page and reverse("muscle_detail", args=["levator-scapulae"]) in page

    def test_a_duplicate_finding_is_refused_with_a_message_and_the_form_kept(self, world, as_user, assessment_a):
        c = as_user(world.alice)
        data = {"finding-kind": "head_tilt", "finding-side": "left", "finding-severity": "mild", "finding-note": "chin tucked"}
        c.post(reverse("assessment_finding_add", args=[assessment_a.pk]), data)
        response = c.post(reverse("assessment_finding_add", args=[assessment_a.pk]), data)
        assert response.status_code == 400
        assert "chin tucked" in response.content.decode()
        assert PostureFinding.objects.count() == 1

    def test_the_detail_page_costs_a_fixed_number_of_queries(self, world, as_user, photo_a, django_assert_max_num_queries):
        c = as_user(world.alice)
        a = photo_a.assessment
        m = membership(world.alice, world.clinic_a)
        for motion, side in [("cervical_rotation", "left"), ("cervical_rotation", "right"), ("shoulder_flexion", "left")]:
            services.rom_add(assessment=a, membership=m, data={"motion": motion, "side": side, "degrees": 60})
        with django_assert_max_num_queries(30):
            assert c.get(reverse("assessment_detail", args=[a.pk])).status_code == 200

    def test_movement_tests_record_and_a_neural_slr_shows_the_referral_caution(self, world, as_user, assessment_a):
        c = as_user(world.alice)
        c.post(reverse("assessment_test_add", args=[assessment_a.pk]), {"test-outcome": "straight_leg_raise:neural", "test-side": "left"})
        assert MovementTest.objects.get().result == "neural"
        assert "for a physician to assess" in c.get(reverse("assessment_detail", args=[assessment_a.pk])).content.decode()

    def test_an_unknown_test_result_is_refused(self, world, as_user, assessment_a):
        response = as_user(world.alice).post(reverse("assessment_test_add", args=[assessment_a.pk]), {"test-outcome": "ober:neural"})
        assert response.status_code == 400 and not MovementTest.objects.exists()

    def test_deleting_an_assessment_removes_its_photo_files(self, world, as_user, photo_a, media, django_capture_on_commit_callbacks):
        assert len(stored_files(media)) == 2
        with django_capture_on_commit_callbacks(execute=True):
            response = as_user(world.alice).post(reverse("assessment_delete", args=[photo_a.assessment_id]))
        assert response.status_code == 302
        assert stored_files(media) == [] and not Photo.objects.exists()


class PhotoUploadTests:
    def post(self, c, assessment, name, data, view="lateral_right"):
        return c.post(reverse("assessment_photo_upload", args=[assessment.pk]), {"photo-view": view, "photo-image": upload(name, data)})

    def test_a_photo_is_stored_re_encoded_under_a_random_name(self, world, as_user, assessment_a, media):
        response = self.post(as_user(world.alice), assessment_a, "Ada side.jpg", gps_jpeg())
        photo = Photo.objects.get()
        assert response.status_code == 302 and response["Location"] == reverse("assessment_photo", args=[photo.pk])
        assert "Ada" not in photo.image_name and photo.original_name == "Ada side.jpg"
        stored = Image.open(media / photo.image_name)
        assert dict(stored.getexif()) == {}
        assert (photo.width, photo.height) == stored.size

    @pytest.mark.parametrize(
        ("name", "data", "message"),
        [
            ("notes.jpg", b"<html><script>alert(1)</script></html>", "This is not a JPEG, PNG"),
            ("bomb.png", png_header_bomb(20_000, 20_000), "too large to open safely"),
            ("cut.jpg", FIGURE.read_bytes()[:5000], "damaged or incomplete"),
            ("empty.jpg", b"", "submitted file is empty"),
        ],
    )
    def test_hostile_files_are_refused_with_a_clear_message_and_nothing_is_stored(
        self, world, as_user, assessment_a, media, name, data, message
    ):
        response = self.post(as_user(world.alice), assessment_a, name, data)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not Photo.objects.exists() and stored_files(media) == []

    def test_a_huge_file_is_refused_and_not_stored(self, world, as_user, assessment_a, media, settings):
        big = b"\xff\xd8\xff" + b"\x00" * (21 * 1024 * 1024)
        response = self.post(as_user(world.alice), assessment_a, "huge.jpg", big)
        assert response.status_code == 400
        assert "larger than 20 MB" in response.content.decode()
        assert not Photo.objects.exists() and stored_files(media) == []

    def test_a_path_like_file_name_never_reaches_the_file_system(self, world, as_user, assessment_a, media, tmp_path_factory):
        response = self.post(as_user(world.alice), assessment_a, "../../../../etc/cron.d/x.jpg", FIGURE.read_bytes())
        # Django keeps only the last path segment; we never use it for storage anyway.
        assert response.status_code == 302
        photo = Photo.objects.get()
        assert photo.original_name == "x.jpg"
        assert all(p.is_relative_to(media) for p in stored_files(media))
        assert "cron" not in photo.image_name

    def test_a_second_photo_of_the_same_view_is_refused_and_its_file_not_kept(self, world, as_user, photo_a, media):
        response = self.post(as_user(world.alice), photo_a.assessment, "again.jpg", FIGURE.read_bytes())
        assert response.status_code == 400
        assert "already has a photo of that view" in response.content.decode()
        assert len(stored_files(media)) == 2

    def test_front_desk_cannot_upload(self, world, as_user, assessment_a, media):
        assert self.post(as_user(world.bob), assessment_a, "a.jpg", FIGURE.read_bytes()).status_code == 403
        assert stored_files(media) == []


class PhotoServingTests:
    def test_the_image_is_served_only_through_the_checked_view_with_safe_headers(self, world, as_user, photo_a):
        response = as_user(world.alice).get(reverse("assessment_photo_image", args=[photo_a.pk]))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert "no-store" in response["Cache-Control"]
        assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
        assert AuditEvent.objects.filter(object_type="assessment.photo", action="view", detail__file="image").exists()

    def test_media_url_does_not_serve_photos(self, world, as_user, photo_a):
        assert as_user(world.alice).get("/media/" + photo_a.image_name).status_code == 404

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, photo_a):
        response = client.get(reverse("assessment_photo_image", args=[photo_a.pk]))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


class LandmarkTests:
    def test_saving_landmarks_recomputes_measures_on_the_server(self, world, as_user, photo_a):
        c = as_user(world.alice)
        marks = {"tragus": [505, 198], "c7": [395, 300]}
        response = c.post(reverse("assessment_photo", args=[photo_a.pk]), {"landmarks": json.dumps(marks), "facing": "1"})
        assert response.status_code == 302
        assert dict(Measure.objects.filter(photo=photo_a).values_list("name", "value")) == {"cva": 42.84}
        assert set(Landmark.objects.filter(photo=photo_a).values_list("name", flat=True)) == {"tragus", "c7"}

    def test_htmx_save_returns_the_measure_table(self, world, as_user, photo_a):
        c = as_user(world.alice)
        response = c.post(
            reverse("assessment_photo", args=[photo_a.pk]),
            {"landmarks": json.dumps({"tragus": [505, 198], "c7": [395, 300]}), "facing": "1"},
            HTTP_HX_REQUEST="true",
        )
        body = response.content.decode()
        assert response.status_code == 200 and body.startswith('<div id="measures"')
        assert "42.8°" in body and "moderate–severe forward head posture" in body

    @pytest.mark.parametrize(
        ("marks", "message"),
        [
            ({"tragus": [5000, 10]}, "must lie inside the photo"),
            ({"glabella": [1, 1]}, "not a landmark of this view"),
            ({"tragus": ["a", 1]}, "must be [x, y]"),
            ("[1, 2]", "Send an object"),
        ],
    )
    def test_bad_landmarks_are_refused_and_the_saved_ones_kept(self, world, as_user, photo_a, marks, message):
        c = as_user(world.alice)
        raw = marks if isinstance(marks, str) else json.dumps(marks)
        response = c.post(reverse("assessment_photo", args=[photo_a.pk]), {"landmarks": raw, "facing": "1"})
        assert response.status_code == 400
        assert message in response.content.decode()
        assert Landmark.objects.filter(photo=photo_a).count() == 10

    def test_unreadable_json_is_a_clear_error(self, world, as_user, photo_a):
        response = as_user(world.alice).post(reverse("assessment_photo", args=[photo_a.pk]), {"landmarks": "{not json", "facing": "1"})
        assert response.status_code == 400 and "could not be read" in response.content.decode()

    def test_the_editor_page_lists_only_landmarks_of_the_view(self, world, as_user, photo_a):
        page = as_user(world.alice).get(reverse("assessment_photo", args=[photo_a.pk])).content.decode()
        assert 'data-landmark="tragus"' in page and 'data-landmark="asis_r"' not in page
        assert 'data-measure="cva"' in page and "landmarks.js" in page


class RomTableTests:
    def test_the_table_shows_percent_of_norm_other_side_and_change_from_baseline(self, world, as_user, assessment_a):
        m = membership(world.alice, world.clinic_a)
        earlier = services.assessment_create(
            client=world.client_a, membership=m, data={"taken_at": assessment_a.taken_at.replace(year=2020)}
        )
        services.rom_add(assessment=earlier, membership=m, data={"motion": "cervical_rotation", "side": "right", "degrees": 50})
        for side, deg in (("right", 60), ("left", 78)):
            services.rom_add(assessment=assessment_a, membership=m, data={"motion": "cervical_rotation", "side": side, "degrees": deg})
        page = as_user(world.alice).get(reverse("assessment_rom", args=[assessment_a.pk]), {"norms": "va"}).content.decode()
        assert "75%" in page and "below norm" in page  # 60 / 80 VA
        assert "77%" in page and "short of other side" in page  # 60 / 78
        assert "+10°" in page and "beyond ±5°" in page  # 60 − 50 baseline

    def test_choosing_the_aaos_norms_changes_the_comparison(self, world, as_user, assessment_a):
        services.rom_add(
            assessment=assessment_a,
            membership=membership(world.alice, world.clinic_a),
            data={"motion": "cervical_rotation", "side": "right", "degrees": 60},
        )
        page = as_user(world.alice).get(reverse("assessment_rom", args=[assessment_a.pk]), {"norms": "aaos"}).content.decode()
        assert "100%" in page and "below norm" not in page

    def test_a_sided_motion_without_a_side_is_refused_keeping_the_input(self, world, as_user, assessment_a):
        response = as_user(world.alice).post(
            reverse("assessment_rom", args=[assessment_a.pk]),
            {
                "rom-motion": "cervical_rotation",
                "rom-mode": "active",
                "rom-degrees": "55",
                "rom-method": "goniometer",
                "rom-note": "guarded",
            },
        )
        assert response.status_code == 400
        assert "Choose left or right" in response.content.decode() and "guarded" in response.content.decode()

    def test_out_of_range_degrees_are_refused(self, world, as_user, assessment_a):
        response = as_user(world.alice).post(
            reverse("assessment_rom", args=[assessment_a.pk]),
            {"rom-motion": "cervical_flexion", "rom-mode": "active", "rom-degrees": "999", "rom-method": "goniometer"},
        )
        assert response.status_code == 400 and not RomMeasurement.objects.exists()

    def test_the_rom_page_costs_a_fixed_number_of_queries(self, world, as_user, assessment_a, django_assert_max_num_queries):
        m = membership(world.alice, world.clinic_a)
        for motion in ("hip_flexion", "knee_flexion", "ankle_dorsiflexion", "shoulder_flexion"):
            for side in ("left", "right"):
                services.rom_add(assessment=assessment_a, membership=m, data={"motion": motion, "side": side, "degrees": 90})
        c = as_user(world.alice)
        # Constant: the same with 2 readings or 20.
        with django_assert_max_num_queries(21):
            assert c.get(reverse("assessment_rom", args=[assessment_a.pk])).status_code == 200


class CompareTests:
    def test_two_assessments_are_compared_with_changes_beyond_error_flagged(self, world, as_user, photo_a, media):
        m = membership(world.alice, world.clinic_a)
        later = services.assessment_create(client=world.client_a, membership=m, data={})
        from knotwork.assessment import angles
        from knotwork.assessment.demo_assets.figure import side_view_jpeg, side_view_landmarks

        photo = services.photo_add(
            assessment=later, membership=m, upload=io.BytesIO(side_view_jpeg(-10)), name="b.jpg", view="lateral_right"
        )
        services.landmarks_save(
            photo=photo, membership=m, points={k: angles.Point(*v) for k, v in side_view_landmarks(-10).items()}, calibration_cm=80
        )
        response = as_user(world.alice).get(
            reverse("assessment_compare", args=[world.client_a.pk]), {"a": photo_a.assessment_id, "b": later.pk}
        )
        page = response.content.decode()
        assert response.status_code == 200
        assert "Craniovertebral angle" in page and "row-flagged" in page
        assert page.count('class="overlay-svg"') == 2
        assert 'width="345" height="460"' in page  # same calibrated scale: 900 × 1200 px at 80 cm → 460 px high

    def test_charlie_cannot_compare_another_clinics_client(self, world, as_user, assessment_a):
        assert (
            as_user(world.charlie)
            .get(reverse("assessment_compare", args=[world.client_a.pk]), {"a": assessment_a.pk, "b": assessment_a.pk})
            .status_code
            == 404
        )

    def test_assessments_of_another_client_are_refused(self, world, as_user, assessment_a):
        from knotwork.lib.testing import make_client

        other = make_client(world.clinic_a)
        theirs = services.assessment_create(client=other, membership=membership(world.alice, world.clinic_a), data={})
        response = as_user(world.alice).get(reverse("assessment_compare", args=[world.client_a.pk]), {"a": assessment_a.pk, "b": theirs.pk})
        assert response.status_code == 400 and "Choose two assessments of this client" in response.content.decode()


class NormPreferenceTests:
    def test_the_owner_chooses_the_clinic_norm_set(self, world, as_user, assessment_a):
        c = as_user(world.olivia)
        assert c.post(reverse("assessment_norms"), {"norm_set": "ama"}).status_code == 302
        from knotwork.assessment.selectors import norm_set_for

        assert norm_set_for(world.clinic_a).id == "ama" and norm_set_for(world.clinic_b).id == "aaos"

    def test_the_page_says_what_each_set_is_for_and_which_is_the_default(self, world, as_user):
        body = as_user(world.alice).get(reverse("assessment_norms")).content.decode()
        assert "Your clinic compares readings with <strong>American Academy of Orthopaedic Surgeons</strong>" in body
        assert "<dt>American Academy of Orthopaedic Surgeons (default)</dt>" in body
        assert "disability claims" in body and "impairment reports" in body

    def test_a_therapist_may_read_but_not_change_it(self, world, as_user):
        c = as_user(world.alice)
        assert c.get(reverse("assessment_norms")).status_code == 200
        assert c.post(reverse("assessment_norms"), {"norm_set": "ama"}).status_code == 403
