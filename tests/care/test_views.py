from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from knotwork.audit.models import Action, AuditEvent
from knotwork.care import services
from knotwork.care.models import AdherenceLog, Episode, FeedbackToken, HomeProgramItem, PressureFeedback, TechniqueApplication, Visit
from knotwork.care.views.feedback import PRESSES_PER_MINUTE
from knotwork.lib.testing import make_user
from tests.care.conftest import finding_data, technique_kwargs, tp


def signed(visit, m):
    services.finding_add(membership=m, visit=visit, trigger_point=tp("upper-trapezius-1"), data=finding_data())
    services.technique_log(membership=m, visit=visit, **technique_kwargs())
    return services.visit_sign(membership=m, visit=visit)


TECHNIQUE_POST = {"technique": "stretching", "muscle": "levator-scapulae", "trigger_point": "", "side": "right", "hold_s": "30",
                  "reps": "1",
                  "pressure": "3", "response": "eased", "acknowledge": ""}  # fmt: skip


class VisitScreenTests:
    def test_the_therapist_sees_the_visit_screen_with_its_logs(self, as_user, world, visit_a, alice_m):
        services.finding_add(membership=alice_m, visit=visit_a, trigger_point=tp("upper-trapezius-1"), data=finding_data())
        r = as_user(world.alice).get(reverse("visit_detail", args=[visit_a.pk]))
        assert r.status_code == 200
        html = r.content.decode()
        assert "Trigger-point log" in html and "Upper trapezius" in html and 'data-cell="shoulder-top:right"' in html
        assert "style=" not in html.split("<main", 1)[1]

    def test_front_desk_gets_403_and_another_clinic_404(self, as_user, world, visit_a):
        url = reverse("visit_detail", args=[visit_a.pk])
        assert as_user(world.bob).get(url).status_code == 403
        assert as_user(world.charlie).get(url).status_code == 404

    def test_charlie_cannot_change_a_clinic_a_visit_through_any_form(self, as_user, world, visit_a, alice_m):
        app = services.technique_log(membership=alice_m, visit=visit_a, **technique_kwargs())
        finding = services.finding_add(membership=alice_m, visit=visit_a, trigger_point=tp("upper-trapezius-1"), data=finding_data())
        c = as_user(world.charlie)
        for name, args, data in self._posts(visit_a, app, finding):
            assert c.post(reverse(name, args=args), data).status_code == 404, name
        visit = Visit.objects.get(pk=visit_a.pk)
        assert visit.subjective == "" and visit.techniques.count() == 1 and visit.signed_at is None

    @staticmethod
    def _posts(visit, app, finding):
        return [
            ("visit_checkin", [visit.pk], {"pain_today": "3"}),
            ("visit_notes", [visit.pk], {"subjective": "changed"}),
            ("visit_carry_forward", [visit.pk], {"fields": ["plan"]}),
            ("finding_add", [visit.pk], {"trigger_point": "upper-trapezius-2", "side": "right", "status": "active"}),
            ("finding_remove", [visit.pk, finding.pk], {}),
            ("technique_add", [visit.pk], TECHNIQUE_POST),
            ("technique_remove", [visit.pk, app.pk], {}),
            ("visit_sign", [visit.pk], {}),
            ("feedback_start", [visit.pk], {}),
        ]

    def test_every_form_refuses_to_change_a_signed_note_with_409(self, as_user, world, visit_a, alice_m):
        signed(visit_a, alice_m)
        app, finding = visit_a.techniques.get(), visit_a.findings.get()
        c = as_user(world.alice)
        for name, args, data in self._posts(visit_a, app, finding):
            r = c.post(reverse(name, args=args), data)
            assert r.status_code == 409, name
            assert "locked" in r.content.decode() and "addendum" in r.content.decode()
        visit = Visit.objects.get(pk=visit_a.pk)
        assert visit.findings.count() == 1 and visit.techniques.count() == 1 and visit.pain_today is None

    def test_an_addendum_can_be_added_to_a_signed_note(self, as_user, world, visit_a, alice_m):
        signed(visit_a, alice_m)
        r = as_user(world.alice).post(reverse("addendum_add", args=[visit_a.pk]), {"reason": "Side", "text": "It was the left."})
        assert r.status_code == 302 and visit_a.addenda.count() == 1

    def test_a_blocked_technique_shows_the_reason_and_keeps_what_was_typed(self, as_user, world, visit_a, flags_a):
        data = {**TECHNIQUE_POST, "technique": "myofascial-release", "muscle": "upper-trapezius", "response_note": "typed words"}
        r = as_user(world.alice).post(reverse("technique_add", args=[visit_a.pk]), data)
        html = r.content.decode()
        assert r.status_code == 422 and "Blocked by a screening flag" in html and "Skin lesion" in html and "typed words" in html
        assert not TechniqueApplication.objects.exists()

    def test_a_local_contraindication_is_shown_with_the_regions_name_and_side_in_words(self, as_user, world, visit_a, flags_a):
        data = {**TECHNIQUE_POST, "muscle": "upper-trapezius"}
        html = as_user(world.alice).post(reverse("technique_add", args=[visit_a.pk]), data).content.decode()
        assert "Local contraindication: do not treat the right top of the shoulder." in html
        assert "do not treat shoulder-top:right" not in html

    def test_a_precaution_asks_for_an_acknowledgement_then_logs(self, as_user, world, visit_a, flags_a):
        data = {**TECHNIQUE_POST, "technique": "ischemic-compression", "trigger_point": "levator-scapulae-1"}
        c = as_user(world.alice)
        r = c.post(reverse("technique_add", args=[visit_a.pk]), data)
        assert r.status_code == 422 and "Precautions apply" in r.content.decode() and 'name="acknowledge"' in r.content.decode()
        r = c.post(reverse("technique_add", args=[visit_a.pk]), {**data, "acknowledge": "on"})
        assert r.status_code == 302 and TechniqueApplication.objects.get().acknowledged_flags == [flags_a[0].pk]

    def test_invalid_input_is_a_400_not_a_500_and_keeps_the_text(self, as_user, world, visit_a):
        r = as_user(world.alice).post(reverse("finding_add", args=[visit_a.pk]), {"trigger_point": "nonsense", "tenderness": "99"})
        assert r.status_code == 400

    def test_signing_from_the_page_locks_the_note(self, as_user, world, visit_a):
        c = as_user(world.alice)
        c.post(reverse("visit_notes", args=[visit_a.pk]), {"subjective": "Neck pain 5/10"})
        assert c.post(reverse("visit_sign", args=[visit_a.pk])).status_code == 302
        assert Visit.objects.get(pk=visit_a.pk).signed_at is not None

    def test_the_note_pdf_and_aftercare_pdf_are_pdfs_and_are_audited(self, as_user, world, visit_a, alice_m):
        signed(visit_a, alice_m)
        c = as_user(world.alice)
        for name in ("visit_pdf", "aftercare_pdf"):
            r = c.get(reverse(name, args=[visit_a.pk]))
            assert r.status_code == 200 and r.content.startswith(b"%PDF") and r["Content-Type"] == "application/pdf"
        assert AuditEvent.objects.filter(action=Action.EXPORT, object_type="care.visit").count() == 2
        assert as_user(world.charlie).get(reverse("visit_pdf", args=[visit_a.pk])).status_code == 404

    def test_the_trigger_point_history_lists_findings_across_visits(self, as_user, world, episode_a, visit_a, alice_m):
        signed(visit_a, alice_m)
        second = services.visit_start(membership=alice_m, episode=episode_a)
        services.finding_add(membership=alice_m, visit=second, trigger_point=tp("upper-trapezius-1"), data=finding_data(status="latent"))
        c = as_user(world.alice)
        assert "1 earlier" in c.get(reverse("visit_detail", args=[second.pk])).content.decode()
        r = c.get(reverse("trigger_point_history", args=[world.client_a.pk, "upper-trapezius-1"]))
        assert r.status_code == 200 and r.content.decode().count("badge-") >= 2
        assert (
            as_user(world.charlie).get(reverse("trigger_point_history", args=[world.client_a.pk, "upper-trapezius-1"])).status_code == 404
        )


class HistoryQueryCountTests:
    def _visits(self, episode, n):
        Visit.objects.bulk_create([
            Visit(clinic_id=episode.clinic_id, client_id=episode.client_id, episode=episode, therapist_id=episode.created_by_id,
                  started_at=timezone.now() - timedelta(days=i), subjective="x") for i in range(n)
        ])  # fmt: skip

    def _count(self, client, url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    def test_the_history_page_costs_the_same_with_200_visits_as_with_20(self, as_user, world, episode_a, settings):
        url = reverse("client_visit_history", args=[world.client_a.pk]) + "?page=1"
        c = as_user(world.alice)
        c.get(url)  # warm the session: the first request stamps its activity, later ones within a minute do not
        self._visits(episode_a, 20)
        few = self._count(c, url)
        self._visits(episode_a, 180)
        for v in Visit.objects.all()[:60]:
            services.finding_add(
                membership=services.Membership.objects.get(user=world.alice),
                visit=v,
                trigger_point=tp("upper-trapezius-1"),
                data=finding_data(),
            )
        many = self._count(c, url)
        assert many == few

    def test_the_client_page_panel_is_constant_too(self, as_user, world, episode_a, django_assert_max_num_queries):
        self._visits(episode_a, 200)
        c = as_user(world.alice)
        with django_assert_max_num_queries(40):
            r = c.get(reverse("client_detail", args=[world.client_a.pk]))
        assert "Treatment" in r.content.decode()

    def test_front_desk_sees_no_treatment_panel(self, as_user, world, episode_a):
        r = as_user(world.bob).get(reverse("client_detail", args=[world.client_a.pk]))
        assert r.status_code == 200 and "care-panel-title" not in r.content.decode()


class EpisodePageTests:
    def test_a_therapist_starts_an_episode_plans_it_and_starts_a_visit(self, as_user, world, atlas_db):
        c = as_user(world.alice)
        r = c.post(reverse("episode_new", args=[world.client_a.pk]), {"complaint": "Headaches", "started_on": "2025-03-01"})
        episode = Episode.objects.get()
        assert r.status_code == 302
        assert c.get(reverse("plan_edit", args=[world.client_a.pk, episode.pk])).status_code == 200
        data = {"visits_per_week": "1", "planned_visits": "6", "focus": ["upper-trapezius"], "goal_1_activity": "Work a full day"}
        assert c.post(reverse("plan_edit", args=[world.client_a.pk, episode.pk]), data).status_code == 302
        assert episode.plans.get().goals == [{"activity": "Work a full day", "target": ""}]
        assert "Work a full day" in c.get(reverse("episode_detail", args=[world.client_a.pk, episode.pk])).content.decode()
        r = c.post(reverse("visit_new", args=[world.client_a.pk, episode.pk]))
        assert r.status_code == 302 and Visit.objects.filter(episode=episode).exists()

    def test_a_bad_episode_form_keeps_what_was_typed(self, as_user, world, atlas_db):
        r = as_user(world.alice).post(
            reverse("episode_new", args=[world.client_a.pk]), {"complaint": "Jaw pain", "started_on": "not a date"}
        )
        assert r.status_code == 400 and "Jaw pain" in r.content.decode()

    def test_charlie_and_bob_are_kept_out_of_episodes(self, as_user, world, episode_a):
        for user, code in ((world.charlie, 404), (world.bob, 403)):
            c = as_user(user)
            assert c.get(reverse("episode_detail", args=[world.client_a.pk, episode_a.pk])).status_code == code
            assert c.post(reverse("visit_new", args=[world.client_a.pk, episode_a.pk])).status_code == code
            assert c.post(reverse("plan_edit", args=[world.client_a.pk, episode_a.pk]), {"visits_per_week": "1"}).status_code == code
            assert (
                c.post(reverse("episode_new", args=[world.client_a.pk]), {"complaint": "x", "started_on": "2025-01-01"}).status_code == code
            )
        assert not Visit.objects.exists() and not episode_a.plans.exists() and Episode.objects.count() == 1


class LiveFeedbackTests:
    def _start(self, c, visit):
        c.post(reverse("feedback_start", args=[visit.pk]))
        html = c.get(reverse("visit_detail", args=[visit.pk])).content.decode()
        raw = html.split("/feedback/")[1].split("/")[0]
        return raw, html

    def test_the_visit_screen_shows_a_qr_code_and_polls_every_second(self, as_user, world, visit_a):
        raw, html = self._start(as_user(world.alice), visit_a)
        assert 'class="qr"' in html and 'hx-trigger="every 1s"' in html and "<script>" not in html
        assert FeedbackToken.objects.get().token_hash != raw

    def test_the_client_presses_buttons_without_signing_in_and_the_feed_shows_them(self, as_user, world, visit_a):
        raw, _ = self._start(as_user(world.alice), visit_a)
        phone = HttpClient(enforce_csrf_checks=True)
        page = phone.get(reverse("feedback_page", args=[raw]))
        assert page.status_code == 200 and "csrftoken" in page.cookies
        token = page.cookies["csrftoken"].value
        assert phone.post(reverse("feedback_press", args=[raw]), {"kind": "more"}).status_code == 403  # no CSRF token
        for kind in ("more", "less", "stop"):
            r = phone.post(reverse("feedback_press", args=[raw]), {"kind": kind, "csrfmiddlewaretoken": token}, HTTP_HX_REQUEST="true")
            assert r.status_code == 200
        assert list(PressureFeedback.objects.values_list("kind", flat=True)) == ["more", "less", "stop"]
        feed = as_user(world.alice).get(reverse("feedback_feed", args=[visit_a.pk])).content.decode()
        assert "stop-banner" in feed and 'aria-live="assertive"' in feed

    def test_unknown_kinds_are_a_400_and_floods_a_429(self, as_user, world, visit_a):
        raw, _ = self._start(as_user(world.alice), visit_a)
        phone = HttpClient()
        assert phone.post(reverse("feedback_press", args=[raw]), {"kind": "harder"}).status_code == 400
        codes = [phone.post(reverse("feedback_press", args=[raw]), {"kind": "good"}).status_code for _ in range(PRESSES_PER_MINUTE + 1)]
        assert codes[-1] == 429 and PressureFeedback.objects.count() == PRESSES_PER_MINUTE

    def test_the_link_ends_when_the_note_is_signed(self, as_user, world, visit_a, alice_m):
        raw, _ = self._start(as_user(world.alice), visit_a)
        signed(visit_a, alice_m)
        assert HttpClient().get(reverse("feedback_page", args=[raw])).status_code == 410
        assert HttpClient().post(reverse("feedback_press", args=[raw]), {"kind": "stop"}).status_code == 410
        assert HttpClient().get(reverse("feedback_page", args=["made-up"])).status_code == 404

    def test_charlie_cannot_poll_or_start_feedback_for_clinic_a(self, as_user, world, visit_a):
        c = as_user(world.charlie)
        assert c.get(reverse("feedback_feed", args=[visit_a.pk])).status_code == 404
        assert c.post(reverse("feedback_revoke", args=[visit_a.pk])).status_code == 404
        assert not FeedbackToken.objects.exists()


class ProgramPageTests:
    def test_the_therapist_adds_exercises_with_default_dosage_and_is_warned_past_four(self, as_user, world, visit_a, alice_m):
        signed(visit_a, alice_m)
        c = as_user(world.alice)
        page = c.get(reverse("program_edit", args=[world.client_a.pk])).content.decode()
        assert "Ear-to-shoulder stretch" in page  # suggested for the treated upper trapezius
        for slug in ("chin-tuck", "upper-trapezius-stretch", "levator-scapulae-stretch", "scm-stretch", "scalene-stretch"):
            c.post(reverse("program_add", args=[world.client_a.pk]), {"exercise": slug})
        assert HomeProgramItem.objects.get(exercise="chin-tuck").reps == 10
        page = c.get(reverse("program_edit", args=[world.client_a.pk])).content.decode()
        assert 'id="program-limit"' in page

    def test_charlie_and_bob_cannot_touch_the_program(self, as_user, world, alice_m):
        item = services.program_add(membership=alice_m, client=world.client_a, exercise="chin-tuck", sets=1, reps=5, hold_s=5, per_day=1)
        for user, code in ((world.charlie, 404), (world.bob, 403)):
            c = as_user(user)
            assert c.get(reverse("program_edit", args=[world.client_a.pk])).status_code == code
            assert c.post(reverse("program_add", args=[world.client_a.pk]), {"exercise": "scm-stretch"}).status_code == code
            assert c.post(reverse("program_item_remove", args=[world.client_a.pk, item.pk])).status_code == code
        item.refresh_from_db()
        assert item.removed_at is None and HomeProgramItem.objects.count() == 1

    def test_the_client_checks_off_today_in_the_portal_and_the_therapist_sees_adherence(self, client, as_user, world, alice_m):
        item = services.program_add(membership=alice_m, client=world.client_a, exercise="chin-tuck", sets=1, reps=5, hold_s=5, per_day=1)
        portal = make_user("ada@portal.example", mfa=False)
        world.client_a.portal_user = portal
        world.client_a.save()
        client.force_login(portal)
        page = client.get(reverse("portal_program", args=[world.client_a.pk]))
        assert page.status_code == 200 and "Chin tuck" in page.content.decode() and "<svg" in page.content.decode()
        today = timezone.localdate().isoformat()
        r = client.post(
            reverse("portal_program_log", args=[world.client_a.pk]), {"item": item.pk, "day": today, "done": "on", "feeling": "3"}
        )
        assert r.status_code == 302 and AdherenceLog.objects.get().feeling == 3
        bad = client.post(reverse("portal_program_log", args=[world.client_a.pk]), {"item": item.pk, "day": today, "feeling": "42"})
        assert bad.status_code == 400
        client.force_login(world.alice)
        assert "adherence-table" in client.get(reverse("program_edit", args=[world.client_a.pk])).content.decode()

    def test_another_portal_user_and_staff_get_404_on_the_portal_program(self, client, world):
        client.force_login(make_user("eve@portal.example", mfa=False))
        assert client.get(reverse("portal_program", args=[world.client_a.pk])).status_code == 404
        client.force_login(world.alice)
        assert client.get(reverse("portal_program", args=[world.client_a.pk])).status_code == 404


class AftercarePageTests:
    def test_the_sheet_speaks_plainly_and_the_portal_client_can_open_it(self, client, as_user, world, visit_a, alice_m):
        signed(visit_a, alice_m)
        html = as_user(world.alice).get(reverse("aftercare", args=[visit_a.pk])).content.decode()
        assert "24 to 48 hours" in html and "Assisted stretches" in html and "When to call the clinic" in html
        portal = make_user("ada@portal.example", mfa=False)
        world.client_a.portal_user = portal
        world.client_a.save()
        client.force_login(portal)
        assert client.get(reverse("portal_aftercare", args=[visit_a.pk])).status_code == 200
        assert client.get(reverse("portal_aftercare_pdf", args=[visit_a.pk])).content.startswith(b"%PDF")

    def test_a_draft_has_no_portal_aftercare(self, client, world, visit_a):
        portal = make_user("ada@portal.example", mfa=False)
        world.client_a.portal_user = portal
        world.client_a.save()
        client.force_login(portal)
        assert client.get(reverse("portal_aftercare", args=[visit_a.pk])).status_code == 404


class CheckInPageTests:
    def test_the_client_answers_once_by_link(self, client, visit_a, alice_m, world):
        from django.core import mail

        from knotwork.care.tasks import due_checkins

        signed(visit_a, alice_m)
        services.CheckIn.objects.update(due_at=timezone.now())
        due_checkins(now=timezone.now())
        url = "/portal/checkin/" + mail.outbox[0].body.split("/portal/checkin/")[1].split()[0]
        assert client.get(url).status_code == 200
        assert client.post(url, {"soreness": "11", "familiar_pain_returned": "no"}).status_code == 400
        r = client.post(url, {"soreness": "9", "familiar_pain_returned": "yes", "worrying": "Bruise"})
        assert r.status_code == 200 and "sent to your therapist" in r.content.decode()
        assert "already sent" in client.get(url).content.decode()
        assert client.get("/portal/checkin/made-up/").status_code == 404


def test_only_owners_change_the_pressure_ceiling(as_user, world):
    assert as_user(world.alice).get(reverse("care_settings")).status_code == 403
    c = as_user(world.olivia)
    assert c.post(reverse("care_settings"), {"pressure_ceiling": "6", "soreness_alert": "7"}).status_code == 302
    assert services.CareSettings.for_clinic(world.clinic_a).pressure_ceiling == 6
    assert c.post(reverse("care_settings"), {"pressure_ceiling": "12", "soreness_alert": "7"}).status_code == 400


def _appointment(world, *, hours_from_now: int = -1, status: str = "confirmed"):
    from decimal import Decimal

    from knotwork.bookings.models import Appointment, Service

    service = Service.objects.create(clinic=world.clinic_a, name="NMT session", duration_minutes=60, price=Decimal("65"))
    start = (timezone.now() + timedelta(hours=hours_from_now)).replace(microsecond=0)
    return Appointment.objects.create(
        clinic=world.clinic_a, therapist=world.alice, client=world.client_a, service=service, starts_at=start,
        ends_at=start + timedelta(hours=1), block_start=start, block_end=start + timedelta(hours=1), status=status,
    )  # fmt: skip


class VisitFromAppointmentTests:
    def test_starting_from_an_appointment_files_one_note_under_the_active_episode_at_the_booked_time(self, as_user, world, episode_a):
        appointment = _appointment(world)
        web = as_user(world.alice)
        url = reverse("appointment_visit", args=[appointment.pk])
        first = web.post(url)
        visit = Visit.objects.get(appointment=appointment)
        assert first.status_code == 302 and first["Location"] == reverse("visit_detail", args=[visit.pk])
        expected = (episode_a, world.client_a, appointment.starts_at, world.alice)
        assert (visit.episode, visit.client, visit.started_at, visit.therapist) == expected
        again = web.post(url)  # a second click opens the same note
        assert again["Location"] == first["Location"] and Visit.objects.filter(client=world.client_a).count() == 1
        assert AuditEvent.objects.filter(action=Action.CREATE, object_type="care.visit", object_id=str(visit.pk)).count() == 1
        page = web.get(reverse("appointment_detail", args=[appointment.pk])).content.decode()
        assert "Open the visit note" in page and reverse("visit_detail", args=[visit.pk]) in page
        schedule = web.get(reverse("schedule") + f"?date={timezone.localdate(appointment.starts_at, world.clinic_a.tz)}")
        assert reverse("visit_detail", args=[visit.pk]) in schedule.content.decode()
        assert reverse("appointment_detail", args=[appointment.pk]) in web.get(reverse("visit_detail", args=[visit.pk])).content.decode()
        assert web.get(f"/api/visits/{visit.pk}").json()["appointment_id"] == appointment.pk

    def test_without_an_active_episode_the_therapist_is_sent_to_open_one_and_nothing_is_made(self, as_user, world, atlas_db):
        appointment = _appointment(world)
        response = as_user(world.alice).post(reverse("appointment_visit", args=[appointment.pk]))
        assert response.status_code == 302 and response["Location"] == reverse("episode_new", args=[world.client_a.pk])
        assert not Visit.objects.exists()

    def test_a_cancelled_appointment_gets_no_note(self, as_user, world, episode_a):
        appointment = _appointment(world, status="cancelled")
        response = as_user(world.alice).post(reverse("appointment_visit", args=[appointment.pk]))
        assert response.status_code == 302 and response["Location"] == reverse("appointment_detail", args=[appointment.pk])
        assert not Visit.objects.exists()

    def test_front_desk_gets_403_another_clinic_404_and_get_is_refused(self, as_user, world, episode_a):
        appointment = _appointment(world)
        url = reverse("appointment_visit", args=[appointment.pk])
        assert as_user(world.bob).post(url).status_code == 403
        assert as_user(world.charlie).post(url).status_code == 404
        assert as_user(world.alice).get(url).status_code == 405
        assert not Visit.objects.exists()
        assert "Start the visit note" not in as_user(world.bob).get(reverse("appointment_detail", args=[appointment.pk])).content.decode()
