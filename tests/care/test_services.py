from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from knotwork.atlas.models import Muscle
from knotwork.audit.models import Action, AuditEvent
from knotwork.care import services
from knotwork.care.models import CareSettings, CheckIn, FeedbackToken, PressureFeedback, TechniqueApplication, TreatmentPlan, Visit
from knotwork.care.tasks import due_checkins
from knotwork.lib.testing import make_user
from tests.care.conftest import finding_data, technique_kwargs, tp


def sign(visit, m):
    services.visit_update_notes(membership=m, visit=visit, data={"subjective": "Headache 6/10"})
    return services.visit_sign(membership=m, visit=visit)


class PlanTests:
    def test_each_save_is_a_new_version_and_old_versions_are_kept(self, episode_a, alice_m):
        args = {
            "goals": [{"activity": "Read for an hour", "target": "no headache"}, {"activity": " "}],
            "visits_per_week": 1,
            "planned_visits": 6,
            "focus": ["upper-trapezius"],
            "stages": services.default_stages(),
        }
        first = services.plan_save(membership=alice_m, episode=episode_a, **args)
        second = services.plan_save(membership=alice_m, episode=episode_a, **{**args, "planned_visits": 8})
        assert (first.version, second.version) == (1, 2)
        assert TreatmentPlan.objects.get(pk=first.pk).planned_visits == 6
        assert first.goals == [{"activity": "Read for an hour", "target": "no headache"}]
        assert [s["id"] for s in second.stages] == ["hypercontraction", "flexibility", "biomechanics", "strength", "endurance"]
        assert AuditEvent.objects.filter(object_type="care.treatmentplan", action=Action.CREATE).count() == 2

    def test_unknown_focus_muscles_are_refused(self, episode_a, alice_m):
        with pytest.raises(ValidationError):
            services.plan_save(
                membership=alice_m, episode=episode_a, goals=[], visits_per_week=1, planned_visits=1, focus=["no-such"], stages=[]
            )


class LockTests:
    def test_a_signed_note_refuses_every_change(self, visit_a, alice_m, atlas_db):
        finding = services.finding_add(membership=alice_m, visit=visit_a, trigger_point=tp("upper-trapezius-1"), data=finding_data())
        app = services.technique_log(membership=alice_m, visit=visit_a, **technique_kwargs())
        sign(visit_a, alice_m)
        attempts = [
            lambda: services.visit_update_notes(membership=alice_m, visit=visit_a, data={"subjective": "changed"}),
            lambda: services.visit_checkin(membership=alice_m, visit=visit_a, pain_today=1, change_since_last="", soreness_after_last=None,
                                           program_adherence=""),
            lambda: services.visit_carry_forward(membership=alice_m, visit=visit_a, fields=["plan"]),
            lambda: services.finding_add(membership=alice_m, visit=visit_a, trigger_point=tp("upper-trapezius-2"), data=finding_data()),
            lambda: services.finding_remove(membership=alice_m, finding=finding),
            lambda: services.technique_log(membership=alice_m, visit=visit_a, **technique_kwargs()),
            lambda: services.technique_remove(membership=alice_m, application=app),
            lambda: services.visit_sign(membership=alice_m, visit=visit_a),
            lambda: services.feedback_link_issue(membership=alice_m, visit=visit_a),
        ]  # fmt: skip
        for attempt in attempts:
            with pytest.raises(services.VisitLocked, match="addendum"):
                attempt()
        visit = Visit.objects.get(pk=visit_a.pk)
        assert visit.subjective == "Headache 6/10" and visit.findings.count() == 1 and visit.techniques.count() == 1

    def test_the_lock_holds_even_for_a_stale_copy_of_the_visit(self, visit_a, alice_m):
        stale = Visit.objects.get(pk=visit_a.pk)
        sign(visit_a, alice_m)
        with pytest.raises(services.VisitLocked):
            services.visit_update_notes(membership=alice_m, visit=stale, data={"plan": "sneaky"})

    def test_addenda_record_who_when_and_why_and_only_on_signed_notes(self, visit_a, alice_m):
        with pytest.raises(ValidationError):
            services.addendum_add(membership=alice_m, visit=visit_a, reason="typo", text="x")
        sign(visit_a, alice_m)
        add = services.addendum_add(membership=alice_m, visit=visit_a, reason="Wrong side recorded", text="Left, not right.")
        assert add.author == alice_m.user and add.created_at and add.reason == "Wrong side recorded"
        assert AuditEvent.objects.filter(object_type="care.addendum", action=Action.CREATE, object_id=str(add.pk)).exists()

    def test_an_empty_note_cannot_be_signed(self, visit_a, alice_m):
        with pytest.raises(ValidationError):
            services.visit_sign(membership=alice_m, visit=visit_a)

    def test_signing_revokes_feedback_links_and_schedules_a_check_in(self, visit_a, alice_m):
        services.feedback_link_issue(membership=alice_m, visit=visit_a)
        sign(visit_a, alice_m)
        assert not FeedbackToken.objects.usable().filter(visit=visit_a).exists()
        checkin = CheckIn.objects.get(visit=visit_a)
        assert timedelta(hours=23) < checkin.due_at - visit_a.signed_at <= timedelta(hours=48)
        assert AuditEvent.objects.filter(object_type="care.visit", action=Action.SIGN, object_id=str(visit_a.pk)).exists()


class CarryForwardTests:
    def test_it_copies_only_into_empty_fields_and_marks_what_was_carried(self, episode_a, visit_a, alice_m):
        services.visit_update_notes(
            membership=alice_m, visit=visit_a, data={"subjective": "S1", "assessment": "A1", "plan": "P1", "next_steps": ["Recheck SCM"]}
        )
        services.visit_sign(membership=alice_m, visit=visit_a)
        second = services.visit_start(membership=alice_m, episode=episode_a)
        services.visit_update_notes(membership=alice_m, visit=second, data={"plan": "My own plan"})
        result = services.visit_carry_forward(membership=alice_m, visit=second, fields=["assessment", "plan", "next_steps", "objective"])
        second.refresh_from_db()
        assert result.carried == ["assessment", "next_steps"] and set(result.skipped) == {"plan", "objective"}
        assert (second.assessment, second.plan, second.next_steps) == ("A1", "My own plan", ["Recheck SCM"])
        assert second.carried_from_id == visit_a.pk and second.carried_fields == ["assessment", "next_steps"]

    def test_without_an_earlier_signed_note_there_is_nothing_to_carry(self, visit_a, alice_m):
        with pytest.raises(ValidationError, match="no earlier signed note"):
            services.visit_carry_forward(membership=alice_m, visit=visit_a, fields=["plan"])


class CheckInAtVisitTests:
    def test_the_check_in_prefills_the_subjective_and_keeps_what_was_typed(self, visit_a, alice_m):
        services.visit_update_notes(membership=alice_m, visit=visit_a, data={"subjective": "Slept badly."})
        services.visit_checkin(
            membership=alice_m, visit=visit_a, pain_today=5, change_since_last="better", soreness_after_last=3, program_adherence="most"
        )
        visit_a.refresh_from_db()
        assert visit_a.subjective.startswith("Pain today 5/10. Since the last visit: better. Soreness after the last visit 3/10.")
        assert visit_a.subjective.endswith("Slept badly.")


class TechniqueLogTests:
    def test_a_forbidden_technique_is_blocked_with_the_reason_and_nothing_is_logged(self, visit_a, alice_m, flags_a):
        kwargs = technique_kwargs(technique="myofascial-release", muscle=Muscle.objects.get(pk="upper-trapezius"),
                                  trigger_point=tp("upper-trapezius-1"))  # fmt: skip
        with pytest.raises(services.TechniqueBlocked) as exc:
            services.technique_log(membership=alice_m, visit=visit_a, **kwargs, acknowledge=True)
        assert "Skin lesion" in str(exc.value)
        assert not TechniqueApplication.objects.exists()

    def test_a_precaution_must_be_acknowledged_and_the_acknowledgement_is_audited(self, visit_a, alice_m, flags_a):
        kwargs = technique_kwargs(technique="ischemic-compression", trigger_point=tp("levator-scapulae-1"))
        with pytest.raises(services.CautionNotAcknowledged):
            services.technique_log(membership=alice_m, visit=visit_a, **kwargs)
        app = services.technique_log(membership=alice_m, visit=visit_a, **kwargs, acknowledge=True)
        assert app.acknowledged_flags == [flags_a[0].pk]
        event = AuditEvent.objects.get(action=Action.ACKNOWLEDGE, object_type="care.techniqueapplication")
        assert event.detail["flags"] == [flags_a[0].pk]

    def test_pressure_above_the_clinics_ceiling_is_refused(self, visit_a, alice_m, world):
        with pytest.raises(ValidationError, match="ceiling is 7"):
            services.technique_log(membership=alice_m, visit=visit_a, **technique_kwargs(pressure=8))
        CareSettings.objects.create(clinic=world.clinic_a, pressure_ceiling=9)
        assert services.technique_log(membership=alice_m, visit=visit_a, **technique_kwargs(pressure=8)).pressure == 8

    def test_a_trigger_point_of_another_muscle_is_refused(self, visit_a, alice_m):
        with pytest.raises(ValidationError):
            services.technique_log(membership=alice_m, visit=visit_a, **technique_kwargs(trigger_point=tp("upper-trapezius-1")))

    def test_feedback_presses_are_tied_to_the_next_logged_technique(self, visit_a, alice_m):
        raw = services.feedback_link_issue(membership=alice_m, visit=visit_a)
        token = services.feedback_token_find(raw)
        services.feedback_press(token=token, kind="more")
        services.feedback_press(token=token, kind="good")
        app = services.technique_log(membership=alice_m, visit=visit_a, **technique_kwargs())
        assert [p.kind for p in app.feedback.order_by("at", "id")] == ["more", "good"]

    def test_the_same_trigger_point_and_side_cannot_be_logged_twice(self, visit_a, alice_m):
        services.finding_add(membership=alice_m, visit=visit_a, trigger_point=tp("temporalis-anterior"), data=finding_data())
        with pytest.raises(ValidationError):
            services.finding_add(membership=alice_m, visit=visit_a, trigger_point=tp("temporalis-anterior"), data=finding_data())


class FeedbackTokenTests:
    def test_only_a_hash_is_stored_and_a_new_link_revokes_the_old(self, visit_a, alice_m):
        first = services.feedback_link_issue(membership=alice_m, visit=visit_a)
        second = services.feedback_link_issue(membership=alice_m, visit=visit_a)
        assert not FeedbackToken.objects.filter(token_hash=first).exists()
        assert services.feedback_token_find(first) is None and services.feedback_token_find(second) is not None

    def test_an_expired_link_no_longer_works(self, visit_a, alice_m):
        raw = services.feedback_link_issue(membership=alice_m, visit=visit_a)
        FeedbackToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        assert services.feedback_token_find(raw) is None


class PostSessionCheckInTests:
    def _send(self, visit_a, alice_m, world):
        world.client_a.email = "ada@mail.example"
        world.client_a.save()
        sign(visit_a, alice_m)
        CheckIn.objects.update(due_at=timezone.now() - timedelta(minutes=1))
        return due_checkins(now=timezone.now())

    def test_due_check_ins_are_emailed_once_with_a_link_and_nothing_clinical(self, visit_a, alice_m, world):
        assert self._send(visit_a, alice_m, world) == 1
        assert due_checkins(now=timezone.now()) == 0
        assert len(mail.outbox) == 1
        body = mail.outbox[0].body
        assert "/portal/checkin/" in body and "Headache" not in body and "trapezius" not in body

    def test_a_check_in_not_yet_due_is_not_sent(self, visit_a, alice_m):
        sign(visit_a, alice_m)
        assert due_checkins(now=timezone.now()) == 0

    def test_high_soreness_flags_the_therapist_and_flows_into_the_next_subjective(self, visit_a, alice_m, world, episode_a):
        self._send(visit_a, alice_m, world)
        raw = mail.outbox[0].body.split("/portal/checkin/")[1].split("/")[0]
        checkin = services.checkin_answer(checkin=services.checkin_find(raw), soreness=8, familiar_pain_returned=True)
        assert checkin.flagged
        with pytest.raises(ValidationError):
            services.checkin_answer(checkin=services.checkin_find(raw), soreness=1, familiar_pain_returned=False)
        nxt = services.visit_start(membership=alice_m, episode=episode_a)
        assert nxt.soreness_after_last == 8 and "soreness 8/10" in nxt.subjective and "familiar pain came back" in nxt.subjective

    def test_ordinary_soreness_is_not_flagged(self, visit_a, alice_m, world):
        self._send(visit_a, alice_m, world)
        raw = mail.outbox[0].body.split("/portal/checkin/")[1].split("/")[0]
        assert not services.checkin_answer(checkin=services.checkin_find(raw), soreness=3, familiar_pain_returned=False).flagged


class ProgramTests:
    def test_items_are_retired_not_deleted_and_duplicates_are_refused(self, world, alice_m):
        item = services.program_add(membership=alice_m, client=world.client_a, exercise="chin-tuck", sets=2, reps=10, hold_s=5, per_day=2)
        with pytest.raises(ValidationError):
            services.program_add(membership=alice_m, client=world.client_a, exercise="chin-tuck", sets=1, reps=1, hold_s=0, per_day=1)
        services.program_item_remove(membership=alice_m, item=item)
        item.refresh_from_db()
        assert item.removed_at is not None
        assert services.program_add(membership=alice_m, client=world.client_a, exercise="chin-tuck", sets=1, reps=5, hold_s=5, per_day=1)

    def test_unknown_exercises_are_refused(self, world, alice_m):
        with pytest.raises(ValidationError):
            services.program_add(membership=alice_m, client=world.client_a, exercise="juggling", sets=1, reps=1, hold_s=0, per_day=1)

    def test_adherence_is_one_row_per_day_within_the_last_week(self, world, alice_m):
        item = services.program_add(membership=alice_m, client=world.client_a, exercise="chin-tuck", sets=2, reps=10, hold_s=5, per_day=2)
        today = timezone.localdate()
        services.adherence_record(client=world.client_a, item=item, day=today, done=True, feeling=2)
        services.adherence_record(client=world.client_a, item=item, day=today, done=True, feeling=4)
        assert item.logs.get().feeling == 4
        with pytest.raises(ValidationError):
            services.adherence_record(client=world.client_a, item=item, day=today - timedelta(days=10), done=True, feeling=None)
        with pytest.raises(ValidationError):
            services.adherence_record(client=world.client_b, item=item, day=today, done=True, feeling=None)


class AftercareEmailTests:
    def test_the_email_carries_a_link_only(self, visit_a, alice_m, world, django_capture_on_commit_callbacks):
        portal = make_user("ada@portal.example", mfa=False)
        world.client_a.portal_user = portal
        world.client_a.save()
        services.finding_add(membership=alice_m, visit=visit_a, trigger_point=tp("upper-trapezius-1"), data=finding_data())
        sign(visit_a, alice_m)
        visit_a.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.aftercare_email(
                membership=alice_m, visit=Visit.objects.select_related("client__portal_user").get(pk=visit_a.pk)
            )
        assert mail.outbox[-1].to == ["ada@portal.example"]
        body = mail.outbox[-1].body
        assert f"/portal/program/aftercare/{visit_a.pk}/" in body and "Headache" not in body and "trapezius" not in body.lower()

    def test_without_a_portal_login_there_is_nothing_to_link_to(self, visit_a, alice_m):
        sign(visit_a, alice_m)
        with pytest.raises(ValidationError, match="portal"):
            services.aftercare_email(membership=alice_m, visit=Visit.objects.select_related("client").get(pk=visit_a.pk))


def test_every_step_of_a_visit_leaves_an_audit_row(visit_a, alice_m):
    services.finding_add(membership=alice_m, visit=visit_a, trigger_point=tp("upper-trapezius-1"), data=finding_data())
    services.technique_log(membership=alice_m, visit=visit_a, **technique_kwargs())
    sign(visit_a, alice_m)
    types = set(AuditEvent.objects.values_list("object_type", "action"))
    assert {("care.visit", "create"), ("care.triggerpointfinding", "create"), ("care.techniqueapplication", "create"),
            ("care.visit", "update"), ("care.visit", "sign")} <= types  # fmt: skip
    assert not PressureFeedback.objects.exists()
