from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from knotwork.outcomes.models import OutcomeResponse, OutcomeSchedule
from tests.outcomes.conftest import membership


def progress_url(ep):
    return reverse("outcomes_progress", args=[ep.client_id, ep.pk])


class ProgressPageTests:
    def test_the_therapist_sees_charts_with_the_mcid_band_and_the_improvement_flags(self, world, as_user, improving):
        r = as_user(world.alice).get(progress_url(improving))
        assert r.status_code == 200
        body = r.content.decode()
        assert "MCID band" in body and "Clinically important improvement" in body
        assert 'class="outcome-chart"' in body and body.count('<svg class="outcome-chart"') == 2

    def test_front_desk_is_refused_and_another_clinic_gets_a_404(self, world, as_user, improving):
        assert as_user(world.bob).get(progress_url(improving)).status_code == 403
        assert as_user(world.charlie).get(progress_url(improving)).status_code == 404

    def test_the_episode_must_belong_to_the_client_in_the_address(self, world, as_user, improving, episode_b):
        url = reverse("outcomes_progress", args=[world.client_b.pk, improving.pk])
        assert as_user(world.alice).get(url).status_code == 404

    def test_no_change_after_n_visits_prompts_to_revise_the_plan(self, world, as_user, episode_a, alice_m):
        from knotwork.outcomes import services
        from tests.outcomes.conftest import signed_visits

        start = timezone.now() - timedelta(weeks=5)
        signed_visits(alice_m, episode_a, [start + timedelta(weeks=n) for n in range(5)])
        services.response_record(membership=alice_m, episode=episode_a, measure_id="nprs", taken_at=start + timedelta(minutes=5),
                                 items={"now": 6, "best": 6, "worst": 6})  # fmt: skip
        OutcomeSchedule.objects.create(episode=episode_a, measures=["nprs"], no_change_after=4)
        body = as_user(world.alice).get(progress_url(episode_a)).content.decode()
        assert "no important change" in body.lower() and reverse("plan_edit", args=[episode_a.client_id, episode_a.pk]) in body


class RecordTests:
    def url(self, ep, mid):
        return reverse("outcomes_record", args=[ep.client_id, ep.pk, mid])

    def test_recording_an_nprs_scores_it_and_returns_to_progress(self, world, as_user, episode_a):
        r = as_user(world.alice).post(self.url(episode_a, "nprs"), {"now": 6, "best": 3, "worst": 8, "taken_on": timezone.localdate()})
        assert r.status_code == 302 and r.url == progress_url(episode_a)
        resp = OutcomeResponse.objects.get()
        assert float(resp.score) == 5.7 and resp.recorded_by == world.alice and resp.source == "clinic"

    def test_a_bad_answer_is_shown_on_its_field_and_keeps_what_was_typed(self, world, as_user, episode_a):
        r = as_user(world.alice).post(self.url(episode_a, "nprs"), {"now": 12, "best": 3, "worst": "", "taken_on": timezone.localdate()})
        assert r.status_code == 400 and not OutcomeResponse.objects.exists()
        body = r.content.decode()
        assert 'value="12"' in body and 'value="3"' in body and "error-summary" in body

    def test_psfs_errors_from_scoring_land_on_the_activity_fields(self, world, as_user, episode_a):
        r = as_user(world.alice).post(self.url(episode_a, "psfs"), {"activity_0": "", "score_0": 4, "taken_on": timezone.localdate()})
        assert r.status_code == 400
        assert "name the activity" in r.content.decode()

    def test_the_psfs_form_offers_the_plan_goal_activities(self, world, as_user, episode_a):
        body = as_user(world.alice).get(self.url(episode_a, "psfs")).content.decode()
        assert 'value="Work a full day at the screen"' in body

    def test_a_licensed_instrument_asks_for_the_total_only_and_says_so(self, world, as_user, episode_a):
        body = as_user(world.alice).get(self.url(episode_a, "ndi")).content.decode()
        assert "Score only" in body and "never shows" in body and 'name="total"' in body
        r = as_user(world.alice).post(self.url(episode_a, "ndi"), {"total": 51, "taken_on": timezone.localdate()})
        assert r.status_code == 400 and not OutcomeResponse.objects.exists()

    def test_a_date_before_the_episode_is_refused(self, world, as_user, episode_a):
        day = episode_a.started_on - timedelta(days=3)
        r = as_user(world.alice).post(self.url(episode_a, "groc"), {"rating": 3, "taken_on": day})
        assert r.status_code == 400 and "before the episode" in r.content.decode()

    def test_pain_extent_is_derived_from_a_drawing(self, world, as_user, episode_a):
        from knotwork.clients.models import PainDrawing

        marks = [{"cell": "temple:right", "intensity": 7}, {"cell": "neck-posterior-upper:right", "intensity": 5}]
        d = PainDrawing.objects.create(clinic=world.clinic_a, client=world.client_a, taken_at=timezone.now(), marks=marks)
        r = as_user(world.alice).post(self.url(episode_a, "pain_extent"), {"drawing": d.pk})
        assert r.status_code == 302
        resp = OutcomeResponse.objects.get()
        assert resp.items["cells"] == 2 and resp.items["intensity_sum"] == 12 and 0 < float(resp.score) < 5 and resp.drawing == d

    def test_the_wpi_is_derived_from_a_drawing_through_the_engine(self, world, as_user, episode_a):
        from knotwork.clients.models import PainDrawing

        d = PainDrawing.objects.create(clinic=world.clinic_a, client=world.client_a, taken_at=timezone.now(),
                                       marks=[{"cell": "neck-posterior-upper:right", "intensity": 5}])  # fmt: skip
        assert as_user(world.alice).post(self.url(episode_a, "acr2016"), {"drawing": d.pk}).status_code == 302
        assert OutcomeResponse.objects.get().items["wpi"] >= 1

    def test_front_desk_and_charlie_cannot_record_and_nothing_changes(self, world, as_user, episode_a):
        data = {"now": 6, "best": 3, "worst": 8, "taken_on": timezone.localdate()}
        assert as_user(world.bob).post(self.url(episode_a, "nprs"), data).status_code == 403
        assert as_user(world.charlie).post(self.url(episode_a, "nprs"), data).status_code == 404
        assert not OutcomeResponse.objects.exists()

    def test_an_unknown_measure_is_a_404(self, world, as_user, episode_a):
        assert as_user(world.alice).get(self.url(episode_a, "nope")).status_code == 404


class RemoveAndScheduleTests:
    def test_alice_removes_a_score_and_charlie_cannot(self, world, as_user, improving):
        r = OutcomeResponse.objects.first()
        url = reverse("outcomes_response_remove", args=[r.pk])
        assert as_user(world.charlie).post(url).status_code == 404
        assert OutcomeResponse.objects.filter(pk=r.pk).exists()
        assert as_user(world.alice).post(url).status_code == 302
        assert not OutcomeResponse.objects.filter(pk=r.pk).exists()

    def test_the_schedule_is_saved_and_validated(self, world, as_user, episode_a):
        url = reverse("outcomes_schedule", args=[episode_a.client_id, episode_a.pk])
        bad = as_user(world.alice).post(url, {"measures": ["nprs"], "every_n_visits": 0, "no_change_after": 4})
        assert bad.status_code == 400 and not OutcomeSchedule.objects.exists()
        ok = as_user(world.alice).post(url, {"measures": ["nprs", "ndi"], "every_n_visits": 2, "no_change_after": 5, "remind": "on"})
        assert ok.status_code == 302
        s = OutcomeSchedule.objects.get()
        assert s.measures == ["nprs", "ndi"] and s.every_n_visits == 2 and s.remind

    def test_charlie_cannot_change_the_schedule(self, world, as_user, episode_a):
        url = reverse("outcomes_schedule", args=[episode_a.client_id, episode_a.pk])
        assert as_user(world.charlie).post(url, {"measures": ["nprs"], "every_n_visits": 2, "no_change_after": 5}).status_code == 404
        assert not OutcomeSchedule.objects.exists()


class ReportTests:
    def test_the_progress_report_is_a_pdf_and_its_download_is_audited(self, world, as_user, improving):
        from knotwork.audit.models import AuditEvent

        r = as_user(world.alice).get(reverse("outcomes_report_pdf", args=[improving.client_id, improving.pk]))
        assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")
        assert AuditEvent.objects.filter(action="export", object_id=str(improving.pk), detail__document="progress_report").exists()

    def test_charlie_gets_a_404_and_bob_a_403(self, world, as_user, improving):
        url = reverse("outcomes_report_pdf", args=[improving.client_id, improving.pk])
        assert as_user(world.charlie).get(url).status_code == 404
        assert as_user(world.bob).get(url).status_code == 403


class ClientPanelTests:
    def test_clinical_roles_see_latest_scores_and_flags_front_desk_sees_nothing(self, world, as_user, improving):
        url = reverse("client_detail", args=[world.client_a.pk])
        body = as_user(world.alice).get(url).content.decode()
        assert 'id="outcomes"' in body and "Clinically important improvement" in body and progress_url(improving) in body
        assert 'id="outcomes"' not in as_user(world.bob).get(url).content.decode()


class PortalTests:
    @pytest.fixture
    def portal_user(self, world):
        from knotwork.lib.testing import make_user

        user = make_user("ada@mail.example", mfa=False)
        world.client_a.portal_user = user
        world.client_a.save()
        return user

    def test_a_spanish_client_reads_the_pages_in_spanish_and_is_told_the_questionnaire_stays_english(
        self, world, as_user, episode_a, portal_user
    ):
        portal_user.language = "es"
        portal_user.save(update_fields=["language"])
        c = as_user(portal_user)
        body = c.get(reverse("portal_measures", args=[world.client_a.pk])).content.decode()
        assert '<html lang="es"' in body and "Mi evolución" in body and "Preguntas de su terapeuta" in body
        answer = c.get(reverse("portal_measure_answer", args=[world.client_a.pk, episode_a.pk, "nprs"])).content.decode()
        assert "Enviar mis respuestas" in answer
        assert "Las preguntas siguientes están en inglés" in answer  # no validated translation: said, not guessed
        english = as_user(world.alice).get(reverse("portal_measure_answer", args=[world.client_a.pk, episode_a.pk, "nprs"]))
        assert "están en inglés" not in english.content.decode()

    def test_the_client_sees_due_measures_answers_one_and_sees_their_chart(self, world, as_user, episode_a, portal_user):
        c = as_user(portal_user)
        body = c.get(reverse("portal_measures", args=[world.client_a.pk])).content.decode()
        assert reverse("portal_measure_answer", args=[world.client_a.pk, episode_a.pk, "nprs"]) in body
        r = c.post(reverse("portal_measure_answer", args=[world.client_a.pk, episode_a.pk, "nprs"]), {"now": 5, "best": 2, "worst": 7})
        assert r.status_code == 302
        resp = OutcomeResponse.objects.get()
        assert resp.source == "portal" and resp.recorded_by is None
        assert "outcome-chart" in c.get(reverse("portal_measures", args=[world.client_a.pk])).content.decode()

    def test_the_client_cannot_answer_a_clinic_only_measure_or_another_clients_episode(self, world, as_user, episode_a, episode_b,
                                                                                     portal_user):  # fmt: skip
        c = as_user(portal_user)
        assert c.get(reverse("portal_measure_answer", args=[world.client_a.pk, episode_a.pk, "ndi"])).status_code == 404
        assert c.get(reverse("portal_measure_answer", args=[world.client_a.pk, episode_b.pk, "nprs"])).status_code == 404
        assert c.get(reverse("portal_measures", args=[world.client_b.pk])).status_code == 404

    def test_staff_do_not_use_the_portal_pages(self, world, as_user, episode_a):
        assert as_user(world.alice).get(reverse("portal_measures", args=[world.client_a.pk])).status_code == 404
        assert as_user(world.charlie).get(reverse("portal_measures", args=[world.client_a.pk])).status_code == 404


class AnalyticsTests:
    def test_the_owner_sees_aggregates_without_client_names(self, world, as_user, improving):
        r = as_user(world.olivia).get(reverse("outcomes_analytics"))
        assert r.status_code == 200
        body = r.content.decode()
        assert "Reached MCID" in body and world.client_a.last_name not in body and world.client_a.first_name not in body
        assert "Neck" in body  # upper trapezius is in the atlas neck group

    def test_the_csv_neutralises_and_names_no_client(self, world, as_user, improving):
        r = as_user(world.olivia).get(reverse("outcomes_analytics_csv"))
        text = b"".join(r.streaming_content).decode()
        assert r.status_code == 200 and "reached MCID" in text.splitlines()[0]
        assert "Lovelace" not in text and "complaint area,Neck,1,1,1,100,3" in text

    def test_a_bad_period_is_reported(self, world, as_user, improving):
        r = as_user(world.olivia).get(reverse("outcomes_analytics"), {"start": "2025-05-01", "end": "2025-01-01"})
        assert r.status_code == 400

    def test_therapists_front_desk_and_another_clinic_are_refused(self, world, as_user, improving):
        for user in (world.alice, world.bob, world.charlie):
            assert as_user(user).get(reverse("outcomes_analytics")).status_code == 403

    def test_it_costs_a_constant_number_of_queries(self, world, as_user, improving, django_assert_max_num_queries):
        c = as_user(world.olivia)
        with django_assert_max_num_queries(20):
            c.get(reverse("outcomes_analytics"))


class QueryCountTests:
    def test_the_progress_page_costs_a_bounded_number_of_queries(self, world, as_user, improving, django_assert_max_num_queries):
        c = as_user(world.alice)
        with django_assert_max_num_queries(40):
            assert c.get(progress_url(improving)).status_code == 200


def test_membership_helper_finds_alice(world):
    assert membership(world.alice, world.clinic_a).role == "therapist"
