"""The client's intake on the portal and the staff pages that read it."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.urls import reverse

from knotwork.accounts.models import Role
from knotwork.audit.models import AuditEvent
from knotwork.clients.intake.definition import _question, standard_form
from knotwork.clients.intake.selectors import intake_form_for
from knotwork.clients.intake.services import intake_save_answers, intake_start
from knotwork.clients.models import ConsentSignature, IntakeQuestion, IntakeStatus, IntakeSubmission, PainDrawing, ScreeningFlag
from knotwork.engine import red_flag_questions
from knotwork.lib.testing import make_client, make_staff, make_user

pytestmark = pytest.mark.django_db

SIGNATURE = "M10 10 L20 20 L30 25 L40 30 L50 35 L60 40 L70 45 L80 50"
DRAWING = {"marks": [{"cell": "temple:right", "intensity": 7, "quality": "aching"}, {"cell": "neck-posterior-upper:right", "intensity": 5}]}


def complete_answers(**overrides: object) -> dict[str, object]:
    """Every required standard answer, all health questions "no"."""
    answers: dict[str, object] = {}
    for s in standard_form()[1]:
        for q in s.questions:
            if q.kind == "yesno":
                answers[q.id] = "no"
            elif q.required and q.kind in ("text", "textarea"):
                answers[q.id] = "Something"
            elif q.required and q.kind == "choice":
                answers[q.id] = q.choices[0][0]
    answers.update(date_of_birth="1980-02-03", phone="+44 7700 900123", drawing=DRAWING, reduced_sensation="no")
    answers.update(overrides)
    return answers


@pytest.fixture
def portal(world):
    """Ada (client_a) with a portal login, and a draft intake holding every required answer."""
    user = make_user("ada@mail.example", mfa=False)
    world.client_a.portal_user = user
    world.client_a.save()
    world.ada = user
    return world


def fill(world, **overrides):
    intake = intake_start(client=world.client_a, actor=world.ada)
    form = intake_form_for(world.clinic_a)
    answers = {k: v for k, v in complete_answers(**overrides).items() if k in form.by_id}
    return intake_save_answers(intake=intake, form=form, answers=answers, actor=world.ada)


def submit(c, world, **extra):
    data = {"action": "submit", "typed_name": "Ada Lovelace", "signature": SIGNATURE, "agree_consent": "on", "agree_privacy": "on", **extra}
    return c.post(reverse("portal_intake_step", args=[world.client_a.pk, "consent"]), data)


class PortalIntakeTests:
    def test_the_portal_home_invites_a_linked_client_to_complete_the_intake(self, portal, as_user):
        response = as_user(portal.ada).get(reverse("home"))
        assert b"Complete your intake" in response.content

    def test_starting_creates_one_draft_and_goes_to_the_first_step(self, portal, as_user):
        c = as_user(portal.ada)
        url = reverse("portal_intake_start", args=[portal.client_a.pk])
        response = c.post(url)
        c.post(url)
        assert response.status_code == 302 and response["Location"].endswith("/intake/about/")
        assert IntakeSubmission.objects.filter(client=portal.client_a, status=IntakeStatus.DRAFT).count() == 1

    def test_a_step_saves_answers_with_the_wording_and_moves_on(self, portal, as_user):
        c = as_user(portal.ada)
        c.post(reverse("portal_intake_start", args=[portal.client_a.pk]))
        data = {
            "action": "next",
            "date_of_birth": "1980-02-03",
            "phone": "0123",
            "emergency_contact_name": "Bo",
            "emergency_contact_phone": "0456",
        }
        response = c.post(reverse("portal_intake_step", args=[portal.client_a.pk, "about"]), data)
        assert response.status_code == 302 and response["Location"].endswith("/intake/reason/")
        intake = IntakeSubmission.objects.get(client=portal.client_a)
        assert intake.answers["phone"] == {"q": "Phone number", "a": "0123"}
        assert AuditEvent.objects.filter(object_type="clients.intakesubmission", action="update").exists()

    def test_a_failed_step_keeps_everything_typed_and_shows_errors_beside_fields_and_on_top(self, portal, as_user):
        c = as_user(portal.ada)
        c.post(reverse("portal_intake_start", args=[portal.client_a.pk]))
        data = {"action": "next", "date_of_birth": "not a date", "phone": "0123 kept", "emergency_contact_name": "Bo Kept"}
        response = c.post(reverse("portal_intake_step", args=[portal.client_a.pk, "about"]), data)
        assert response.status_code == 200
        body = response.content.decode()
        assert "0123 kept" in body and "Bo Kept" in body and "not a date" in body
        assert "error-summary" in body and 'href="#q-emergency_contact_phone"' in body
        # the valid answers were saved as a draft too
        assert IntakeSubmission.objects.get(client=portal.client_a).answers["phone"]["a"] == "0123 kept"

    def test_the_address_and_occupation_labels_are_plain_and_their_lengths_are_limited(self, portal, as_user):
        c = as_user(portal.ada)
        c.post(reverse("portal_intake_start", args=[portal.client_a.pk]))
        url = reverse("portal_intake_step", args=[portal.client_a.pk, "about"])
        page = c.get(url).content.decode()
        assert "max_length" not in page
        assert '<label for="id_address">Home address</label>' in page and '<label for="id_occupation">Occupation</label>' in page
        assert 'maxlength="250"' in page and 'maxlength="120"' in page
        data = {"action": "next", "date_of_birth": "1980-02-03", "phone": "0123", "emergency_contact_name": "Bo",
                "emergency_contact_phone": "0456", "address": "a" * 251, "occupation": "o" * 121}  # fmt: skip
        response = c.post(url, data)
        assert response.status_code == 200
        body = response.content.decode()
        assert "Ensure this value has at most 250 characters (it has 251)." in body
        assert "Ensure this value has at most 120 characters (it has 121)." in body
        answers = IntakeSubmission.objects.get(client=portal.client_a).answers
        assert "address" not in answers and "occupation" not in answers and answers["phone"]["a"] == "0123"

    def test_save_and_finish_later_keeps_a_partial_step(self, portal, as_user):
        c = as_user(portal.ada)
        c.post(reverse("portal_intake_start", args=[portal.client_a.pk]))
        response = c.post(reverse("portal_intake_step", args=[portal.client_a.pk, "reason"]), {"action": "save", "reason": "Sore neck"})
        assert response.status_code == 302 and response["Location"] == reverse("portal_intake", args=[portal.client_a.pk])
        assert IntakeSubmission.objects.get(client=portal.client_a).answers["reason"]["a"] == "Sore neck"

    def test_a_bad_drawing_is_refused_in_words_and_kept_on_the_page(self, portal, as_user):
        c = as_user(portal.ada)
        c.post(reverse("portal_intake_start", args=[portal.client_a.pk]))
        bad = '{"marks": [{"cell": "temple:up", "intensity": 7}]}'
        response = c.post(reverse("portal_intake_step", args=[portal.client_a.pk, "pain"]), {"action": "next", "drawing": bad})
        assert response.status_code == 200
        assert b"unknown cell" in response.content
        assert b"temple:up" in response.content
        response = c.post(reverse("portal_intake_step", args=[portal.client_a.pk, "pain"]), {"action": "next", "drawing": "{not json"})
        assert b"not valid JSON" in response.content

    def test_a_painted_drawing_is_stored_in_the_contract_shape(self, portal, as_user):
        c = as_user(portal.ada)
        c.post(reverse("portal_intake_start", args=[portal.client_a.pk]))
        c.post(reverse("portal_intake_step", args=[portal.client_a.pk, "pain"]), {"action": "save", "drawing": json.dumps(DRAWING)})
        assert IntakeSubmission.objects.get(client=portal.client_a).answers["drawing"]["a"] == DRAWING

    def test_a_follow_up_question_is_required_only_after_a_yes(self, portal, as_user):
        c = as_user(portal.ada)
        fill(portal)
        data = {k: v for k, v in complete_answers().items() if k in {q.id for q in standard_form()[1][3].questions}}
        data.update(action="next", varicose_veins="yes")
        data.pop("varicose_where", None)
        response = c.post(reverse("portal_intake_step", args=[portal.client_a.pk, "health"]), data)
        assert response.status_code == 200 and b'href="#q-varicose_where"' in response.content

    def test_it_cannot_be_submitted_unsigned(self, portal, as_user):
        fill(portal)
        response = submit(as_user(portal.ada), portal, signature="", typed_name="")
        assert response.status_code == 200
        assert b"Please sign in the box" in response.content
        assert IntakeSubmission.objects.get(client=portal.client_a).status == IntakeStatus.DRAFT
        assert not ConsentSignature.objects.exists()

    def test_it_cannot_be_submitted_with_a_required_answer_missing(self, portal, as_user):
        fill(portal, goals="")
        response = submit(as_user(portal.ada), portal)
        assert response.status_code == 200
        assert b"What would you like to be able to do again?" in response.content
        assert IntakeSubmission.objects.get(client=portal.client_a).status == IntakeStatus.DRAFT
        assert not ConsentSignature.objects.exists()
        # what was signed is shown again, not lost
        assert SIGNATURE.encode() in response.content

    def test_submitting_signs_both_documents_stores_the_drawing_and_raises_flags(self, portal, as_user):
        fill(portal, anticoagulants="yes", varicose_veins="yes", varicose_where=["calf:left"], **{"rf-calf-swelling": "yes"})
        response = submit(as_user(portal.ada), portal, HTTP_USER_AGENT="TestBrowser/1.0")
        assert response.status_code == 302
        intake = IntakeSubmission.objects.get(client=portal.client_a)
        assert intake.status == IntakeStatus.SUBMITTED and intake.submitted_at
        sigs = ConsentSignature.objects.filter(client=portal.client_a)
        assert {s.document for s in sigs} == {"nmt-consent", "privacy-notice"}
        sig = sigs.first()
        assert sig.typed_name == "Ada Lovelace" and sig.drawn_svg_path == SIGNATURE and len(sig.text_sha256) == 64
        assert sig.ip == "127.0.0.1"
        drawing = PainDrawing.objects.get(client=portal.client_a)
        assert drawing.marks == DRAWING["marks"] and drawing.intake == intake
        flags = {f.rule_id: f for f in ScreeningFlag.objects.filter(client=portal.client_a)}
        assert set(flags) == {"red-flag:calf-swelling", "anticoagulants", "varicose-veins"}
        assert flags["varicose-veins"].regions == ["calf:left"] and flags["varicose-veins"].flag_class == "local"
        portal.client_a.refresh_from_db()
        assert portal.client_a.phone == "+44 7700 900123"

    def test_the_client_downloads_their_signed_pdf(self, portal, as_user):
        fill(portal)
        c = as_user(portal.ada)
        submit(c, portal)
        sig = ConsentSignature.objects.filter(client=portal.client_a).first()
        response = c.get(reverse("portal_consent_pdf", args=[sig.pk]))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")

    def test_a_client_never_reaches_another_clients_intake(self, portal, as_user):
        other = make_client(portal.clinic_a, first_name="Other")
        c = as_user(portal.ada)
        for name, args in [("portal_intake", [other.pk]), ("portal_intake_start", [other.pk]), ("portal_intake_step", [other.pk, "about"]),
                           ("portal_drawing_new", [other.pk]), ("portal_intake", [portal.client_b.pk])]:  # fmt: skip
            assert c.get(reverse(name, args=args)).status_code == 404
            assert c.post(reverse(name, args=args)).status_code == 404
        assert not IntakeSubmission.objects.exclude(client=portal.client_a).exists()

    def test_a_client_cannot_download_someone_elses_consent_or_reach_staff_pages(self, portal, as_user):
        fill(portal)
        submit(as_user(portal.ada), portal)
        sig = ConsentSignature.objects.first()
        stranger = make_user("eve@mail.example", mfa=False)
        assert as_user(stranger).get(reverse("portal_consent_pdf", args=[sig.pk])).status_code == 404
        c = as_user(portal.ada)
        for name in ("previsit_summary", "intake_review", "drawing_list"):
            assert c.get(reverse(name, args=[portal.client_a.pk])).status_code == 404

    @pytest.mark.parametrize("persona", ["alice", "charlie"])
    def test_staff_have_no_portal_intake_of_their_own(self, portal, as_user, persona):
        response = as_user(getattr(portal, persona)).get(reverse("portal_intake", args=[portal.client_a.pk]))
        assert response.status_code == 404

    def test_a_client_adds_a_new_dated_drawing(self, portal, as_user):
        response = as_user(portal.ada).post(reverse("portal_drawing_new", args=[portal.client_a.pk]), {"drawing": json.dumps(DRAWING)})
        assert response.status_code == 302
        assert PainDrawing.objects.get(client=portal.client_a).taken_at

    def test_an_empty_drawing_is_refused_and_nothing_is_stored(self, portal, as_user):
        response = as_user(portal.ada).post(reverse("portal_drawing_new", args=[portal.client_a.pk]), {"drawing": '{"marks": []}'})
        assert response.status_code == 200 and b"Mark at least one area" in response.content
        assert not PainDrawing.objects.exists()


@pytest.fixture
def submitted(portal, client):
    fill(portal, anticoagulants="yes", varicose_veins="yes", varicose_where=["calf:left"])
    client.force_login(portal.ada)
    submit(client, portal)
    client.logout()
    return portal


STAFF_PAGES = ["previsit_summary", "intake_review", "drawing_list", "drawing_new"]


class StaffIntakePageTests:
    def test_the_summary_shows_flags_first_the_drawing_and_the_engines_reasoning(self, submitted, as_user):
        response = as_user(submitted.alice).get(reverse("previsit_summary", args=[submitted.client_a.pk]))
        assert response.status_code == 200
        body = response.content.decode()
        assert body.index("Takes blood thinners") < body.index("Latest pain drawing")
        assert "Varicose veins" in body and "Left calf" in body
        assert "right temple 7/10, aching" in body
        assert "Likely sources to examine" in body and "Red flags" in body
        assert 'data-cell="temple:right"' in body

    def test_the_summary_shows_what_changed_since_the_previous_drawing(self, submitted, as_user):
        later = {"marks": [{"cell": "temple:right", "intensity": 3}, {"cell": "jaw:right", "intensity": 4}]}
        as_user(submitted.alice).post(reverse("drawing_new", args=[submitted.client_a.pk]), {"drawing": json.dumps(later)})
        body = as_user(submitted.alice).get(reverse("previsit_summary", args=[submitted.client_a.pk])).content.decode()
        assert "Right temple: 7/10 → 3/10" in body
        assert "Right jaw: new, 4/10" in body
        assert "gone (was 5/10)" in body

    @pytest.mark.parametrize("name", STAFF_PAGES)
    def test_charlie_gets_404_on_every_staff_intake_page_of_clinic_a(self, submitted, as_user, name):
        c = as_user(submitted.charlie)
        assert c.get(reverse(name, args=[submitted.client_a.pk])).status_code == 404
        assert c.post(reverse(name, args=[submitted.client_a.pk]), {"drawing": json.dumps(DRAWING)}).status_code in (404, 405)
        assert PainDrawing.objects.filter(client=submitted.client_a).count() == 1

    @pytest.mark.parametrize("name", STAFF_PAGES)
    def test_front_desk_gets_403_on_clinical_intake_pages(self, submitted, as_user, name):
        assert as_user(submitted.bob).get(reverse(name, args=[submitted.client_a.pk])).status_code == 403

    def test_front_desk_sees_the_intake_status_but_no_flags_or_drawings_on_the_client_page(self, submitted, as_user):
        body = as_user(submitted.bob).get(reverse("client_detail", args=[submitted.client_a.pk])).content.decode()
        assert "Submitted" in body
        assert "Takes blood thinners" not in body and "Pre-visit summary" not in body and "Pain drawings" not in body

    def test_the_therapist_sees_flags_and_links_on_the_client_page(self, submitted, as_user):
        body = as_user(submitted.alice).get(reverse("client_detail", args=[submitted.client_a.pk])).content.decode()
        assert "Takes blood thinners" in body and reverse("previsit_summary", args=[submitted.client_a.pk]) in body

    def test_the_review_page_shows_answers_with_their_wording(self, submitted, as_user):
        body = as_user(submitted.alice).get(reverse("intake_review", args=[submitted.client_a.pk])).content.decode()
        assert "Do you have varicose veins?" in body and "Left calf" in body

    def test_marking_reviewed_is_audited_and_charlie_cannot(self, submitted, as_user):
        intake = IntakeSubmission.objects.get(client=submitted.client_a)
        url = reverse("intake_mark_reviewed", args=[submitted.client_a.pk, intake.pk])
        assert as_user(submitted.charlie).post(url).status_code == 404
        assert as_user(submitted.bob).post(url).status_code == 403
        intake.refresh_from_db()
        assert intake.status == IntakeStatus.SUBMITTED
        as_user(submitted.alice).post(url, {"note": "Read before first visit"})
        intake.refresh_from_db()
        assert intake.status == IntakeStatus.REVIEWED and intake.reviewed_by == submitted.alice
        assert AuditEvent.objects.filter(object_id=str(intake.pk), detail__status="reviewed").exists()

    def test_requesting_more_information_emails_a_link_without_clinical_detail(
        self, submitted, as_user, django_capture_on_commit_callbacks
    ):
        intake = IntakeSubmission.objects.get(client=submitted.client_a)
        url = reverse("intake_request_info", args=[submitted.client_a.pk, intake.pk])
        with django_capture_on_commit_callbacks(execute=True):
            response = as_user(submitted.alice).post(url, {"note": "Which blood thinner exactly, and what dose?"})
        assert response.status_code == 302
        assert len(mail.outbox) == 1
        body = mail.outbox[0].body
        assert reverse("portal_intake", args=[submitted.client_a.pk]) in body
        assert "blood thinner" not in body and "warfarin" not in body.lower()
        assert intake.notes.get().text.startswith("Which blood thinner")
        assert as_user(submitted.charlie).post(url, {"note": "x"}).status_code == 404

    def test_a_therapist_acknowledges_a_flag_with_a_note(self, submitted, as_user):
        flag = ScreeningFlag.objects.get(client=submitted.client_a, rule_id="anticoagulants")
        as_user(submitted.alice).post(
            reverse("flag_acknowledge", args=[submitted.client_a.pk, flag.pk]), {"note": "Will use light pressure"}
        )
        flag.refresh_from_db()
        assert flag.acknowledged_by == submitted.alice and flag.acknowledge_note == "Will use light pressure"
        assert AuditEvent.objects.filter(action="acknowledge", object_id=str(flag.pk)).exists()

    def test_only_clinical_roles_clear_a_flag_and_charlie_changes_nothing(self, submitted, as_user):
        flag = ScreeningFlag.objects.get(client=submitted.client_a, rule_id="anticoagulants")
        url = reverse("flag_clear", args=[submitted.client_a.pk, flag.pk])
        assert as_user(submitted.charlie).post(url, {"note": "x"}).status_code == 404
        assert as_user(submitted.bob).post(url, {"note": "x"}).status_code == 403
        as_user(submitted.alice).post(url, {"note": ""})
        flag.refresh_from_db()
        assert flag.cleared_at is None  # a reason is required
        as_user(submitted.olivia).post(url, {"note": "Stopped warfarin in March (GP letter)"})
        flag.refresh_from_db()
        assert flag.cleared_at and flag.cleared_by == submitted.olivia

    def test_a_flag_of_another_client_is_404_through_this_clients_url(self, submitted, as_user):
        flag = ScreeningFlag.objects.filter(client=submitted.client_a).first()
        other = make_client(submitted.clinic_a)
        assert as_user(submitted.alice).post(reverse("flag_clear", args=[other.pk, flag.pk]), {"note": "x"}).status_code == 404

    def test_staff_download_the_consent_pdf_but_not_through_another_clinic(self, submitted, as_user):
        sig = ConsentSignature.objects.filter(client=submitted.client_a).first()
        url = reverse("consent_pdf", args=[submitted.client_a.pk, sig.pk])
        assert as_user(submitted.alice).get(url).content.startswith(b"%PDF")
        assert as_user(submitted.charlie).get(url).status_code == 404
        assert as_user(submitted.bob).get(url).status_code == 403

    def test_drawings_compare_side_by_side_and_reject_another_clients_drawing(self, submitted, as_user):
        c = as_user(submitted.alice)
        c.post(
            reverse("drawing_new", args=[submitted.client_a.pk]),
            {"drawing": json.dumps({"marks": [{"cell": "temple:right", "intensity": 2}]})},
        )
        response = c.get(reverse("drawing_list", args=[submitted.client_a.pk]))
        assert b"What changed" in response.content and b"Better" in response.content
        foreign = PainDrawing.objects.create(clinic=submitted.clinic_b, client=submitted.client_b, taken_at="2024-01-01T00:00Z", marks=[])
        assert c.get(reverse("drawing_list", args=[submitted.client_a.pk]), {"a": foreign.pk}).status_code == 404

    def test_the_drawings_list_names_each_area_and_side_in_words(self, submitted, as_user):
        c = as_user(submitted.alice)
        ear = {"marks": [{"cell": "ear:right", "intensity": 5}]}
        c.post(reverse("drawing_new", args=[submitted.client_a.pk]), {"drawing": json.dumps(ear)})
        body = c.get(reverse("drawing_list", args=[submitted.client_a.pk])).content.decode()
        assert "right ear 5/10" in body and "right temple 7/10, aching; right " in body
        assert "ear:right 5/10" not in body and "temple:right 7/10" not in body

    def test_the_drawings_page_costs_a_constant_number_of_queries(self, submitted, as_user, django_assert_max_num_queries):
        c = as_user(submitted.alice)
        for i in range(5):
            c.post(
                reverse("drawing_new", args=[submitted.client_a.pk]),
                {"drawing": json.dumps({"marks": [{"cell": "temple:right", "intensity": i + 1}]})},
            )
        with django_assert_max_num_queries(25):
            c.get(reverse("drawing_list", args=[submitted.client_a.pk]))


class StandardFormTests:
    def test_address_and_occupation_read_plainly_with_real_limits(self):
        about = {q.id: q for q in standard_form()[1][0].questions}
        assert (about["address"].text, about["address"].max_length) == ("Home address", 250)
        assert (about["occupation"].text, about["occupation"].max_length) == ("Occupation", 120)

    def test_an_option_typed_inside_a_quoted_text_is_refused_when_the_form_loads(self):
        with pytest.raises(ValueError, match="the text holds an option"):
            _question({"id": "occupation", "kind": "text", "text": "Occupation, max_length: 120"}, "intake_form.yaml", frozenset())


class IntakeQuestionTests:
    def test_an_owner_adds_a_question_that_new_intakes_ask_and_answers_keep_its_wording(self, portal, as_user):
        response = as_user(portal.olivia).post(
            reverse("intake_questions"), {"text": "How did you hear of us?", "kind": "choice", "choices_text": "Friend\nWeb", "position": 1}
        )
        assert response.status_code == 302
        q = IntakeQuestion.objects.get(clinic=portal.clinic_a)
        c = as_user(portal.ada)
        c.post(reverse("portal_intake_start", args=[portal.client_a.pk]))
        c.post(reverse("portal_intake_step", args=[portal.client_a.pk, "clinic"]), {"action": "save", q.key: "Web"})
        intake = IntakeSubmission.objects.get(client=portal.client_a)
        assert intake.answers[q.key] == {"q": "How did you hear of us?", "a": "Web"}
        q.text = "Reworded"
        q.save()
        assert IntakeSubmission.objects.get(pk=intake.pk).answers[q.key]["q"] == "How did you hear of us?"

    def test_a_choice_question_needs_choices(self, portal, as_user):
        response = as_user(portal.olivia).post(reverse("intake_questions"), {"text": "Pick", "kind": "choice", "position": 1})
        assert response.status_code == 200 and not IntakeQuestion.objects.exists()

    @pytest.mark.parametrize("persona", ["alice", "bob"])
    def test_only_owners_edit_the_form(self, portal, as_user, persona):
        assert as_user(getattr(portal, persona)).get(reverse("intake_questions")).status_code == 403

    def test_clinic_b_cannot_remove_clinic_as_question(self, portal, as_user):
        q = IntakeQuestion.objects.create(clinic=portal.clinic_a, kind="text", text="Q")
        url = reverse("intake_question_archive", args=[q.pk])
        assert as_user(portal.charlie).post(url).status_code == 403  # a therapist edits no form, not even clinic B's
        owner_b = make_staff("bella@b.example", portal.clinic_b, Role.OWNER)
        assert as_user(owner_b).post(url).status_code == 404
        q.refresh_from_db()
        assert q.archived_at is None

    def test_a_clinic_without_questions_has_no_clinic_step(self, portal):
        assert "clinic" not in intake_form_for(portal.clinic_a).step_ids()
        assert len(red_flag_questions()) > 5


class PrevisitAssessmentTests:
    def test_the_summary_shows_muscles_implicated_by_the_latest_assessment(self, world, as_user):
        from knotwork.accounts.models import Membership
        from knotwork.assessment import services as assessment_services

        m = Membership.objects.get(user=world.alice, clinic=world.clinic_a)
        a = assessment_services.assessment_create(client=world.client_a, membership=m, data={"position": "standing"})
        assessment_services.finding_add(assessment=a, membership=m, data={"kind": "head_forward", "severity": "moderate"})
        body = as_user(world.alice).get(f"/clients/{world.client_a.pk}/summary/").content.decode()
        assert "From the latest assessment" in body
        assert "Levator scapulae" in body or "Sternocleidomastoid" in body

    def test_without_an_assessment_the_summary_says_so(self, world, as_user):
        body = as_user(world.alice).get(f"/clients/{world.client_a.pk}/summary/").content.decode()
        assert "No assessment findings yet." in body


class PrevisitStaleDrawingTests:
    def test_a_drawing_with_a_cell_the_atlas_no_longer_knows_still_renders(self, world, as_user):
        from django.utils import timezone

        from knotwork.clients.models import PainDrawing

        PainDrawing.objects.create(
            clinic=world.clinic_a,
            client=world.client_a,
            marks=[{"cell": "retired-region:right", "intensity": 5}, {"cell": "temple:right", "intensity": 7}],
            symptoms=["old-symptom"],
            taken_at=timezone.now(),
        )
        response = as_user(world.alice).get(f"/clients/{world.client_a.pk}/summary/")
        assert response.status_code == 200
        assert "right temple 7/10" in response.content.decode().lower()
