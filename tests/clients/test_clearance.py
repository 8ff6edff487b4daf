"""Medical clearance on a client's record: the triage first, the muscle list withheld until a
clinician records that a physician cleared the client, and who did so kept and audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from knotwork.accounts.models import Membership
from knotwork.audit.models import AuditEvent
from knotwork.clients.intake.selectors import client_explain, latest_drawing
from knotwork.clients.intake.services import medical_clearance_record
from knotwork.clients.models import MedicalClearance, PainDrawing
from knotwork.lib.testing import make_user

pytestmark = pytest.mark.django_db

CHEST = [{"cell": "chest-upper:left", "intensity": 8, "quality": "pressure"}, {"cell": "upper-arm-medial:left", "intensity": 5}]
NECK = [{"cell": "neck-posterior-upper:right", "intensity": 6}, {"cell": "shoulder-top:right", "intensity": 5}]
NOTE = "Dr Okafor (GP) examined her on 3 March, ECG normal; cleared for hands-on work."


def draw(client, marks, symptoms=()):
    return PainDrawing.objects.create(clinic=client.clinic, client=client, marks=marks, symptoms=list(symptoms), taken_at=timezone.now())


def membership(user, clinic):
    return Membership.objects.select_related("clinic", "user").get(user=user, clinic=clinic)


@pytest.fixture
def emergency(world):
    """Ada's latest drawing is heart-like chest pain spreading to the left arm: an emergency the drawing reports."""
    draw(world.client_a, CHEST, ["heart-like-pain"])
    return world


def summary(c, world):
    return c.get(reverse("previsit_summary", args=[world.client_a.pk]))


def clear(c, world, **data):
    return c.post(reverse("medical_clearance_new", args=[world.client_a.pk]), {"flags": ["chest-pain-breathless"], "note": NOTE, **data})


class SummaryTriageTests:
    def test_the_triage_comes_first_and_the_muscle_list_is_withheld(self, emergency, as_user):
        html = summary(as_user(emergency.alice), emergency).content.decode()
        assert 'data-triage-level="emergency"' in html
        assert html.index('id="triage-title"') < html.index("Screening flags") < html.index("Latest pain drawing")
        assert "Call the emergency number now." in html and "Reported in the drawing." in html
        assert "likely muscle sources withheld until medical clearance" in html
        assert 'class="explain-hypothesis"' not in html and "Check these first" not in html
        assert "Record medical clearance" in html and 'name="note"' in html
        assert '<input type="hidden" name="flags" value="chest-pain-breathless"' in html
        assert "{#" not in html and "{%" not in html

    def test_a_drawing_without_red_flags_shows_the_muscles_and_no_clearance_form(self, world, as_user):
        draw(world.client_a, NECK)
        html = summary(as_user(world.alice), world).content.decode()
        assert 'data-triage-level="not asked"' in html and 'class="explain-hypothesis"' in html
        assert "Record medical clearance" not in html

    def test_widespread_pain_leads_the_muscles_on_the_summary(self, world, as_user):
        cells = ["neck-posterior-lower:right", "shoulder-top:left", "upper-arm-lateral:right", "forearm-dorsal:left",
                 "thoracic-upper:right", "lumbar:left", "hip-lateral:right", "thigh-anterior:left", "calf:right"]  # fmt: skip
        draw(world.client_a, [{"cell": c, "intensity": 5} for c in cells])
        html = summary(as_user(world.alice), world).content.decode()
        assert 'data-pattern="widespread"' in html and "a few trigger points do not explain this" in html

    def test_the_intake_review_shows_the_same_panel_at_the_top(self, emergency, as_user):
        html = as_user(emergency.alice).get(reverse("intake_review", args=[emergency.client_a.pk])).content.decode()
        assert 'data-triage-level="emergency"' in html and "Record medical clearance" in html
        assert 'name="next" value="review"' in html


class RecordClearanceTests:
    def test_recording_a_clearance_brings_the_list_back_under_the_warning(self, emergency, as_user):
        c = as_user(emergency.alice)
        response = clear(c, emergency)
        assert response.status_code == 302 and response["Location"] == reverse("previsit_summary", args=[emergency.client_a.pk])
        row = MedicalClearance.objects.get()
        assert row.flags == ["chest-pain-breathless"] and row.note == NOTE and row.recorded_by == emergency.alice
        assert row.clinic == emergency.clinic_a
        event = AuditEvent.objects.get(object_type="clients.medicalclearance")
        assert event.action == "create" and event.detail == {"flags": ["chest-pain-breathless"]} and event.actor == emergency.alice
        html = summary(c, emergency).content.decode()
        assert 'data-triage-level="emergency"' in html and "Medical clearance recorded" in html and NOTE in html
        assert html.index('id="triage-title"') < html.index('class="explain-hypothesis"')
        assert "Record medical clearance" not in html

    def test_the_note_is_required_and_the_page_says_so_beside_the_field(self, emergency, as_user):
        response = clear(as_user(emergency.alice), emergency, note="  ")
        assert response.status_code == 400
        html = response.content.decode()
        assert "Say who cleared the client and when." in html and "field-error" in html
        assert not MedicalClearance.objects.exists()

    def test_a_clearance_for_red_flags_the_client_no_longer_has_is_refused(self, emergency, as_user):
        c = as_user(emergency.alice)
        response = clear(c, emergency, flags=["thunderclap-headache"])
        assert response.status_code == 302 and not MedicalClearance.objects.exists()
        assert "changed since the page was opened" in c.get(response["Location"]).content.decode()

    def test_from_the_intake_review_it_returns_there(self, emergency, as_user):
        response = clear(as_user(emergency.alice), emergency, next="review")
        assert response["Location"] == reverse("intake_review", args=[emergency.client_a.pk])

    def test_bob_gets_403_charlie_404_and_a_portal_login_404(self, emergency, as_user, client):
        assert clear(as_user(emergency.bob), emergency).status_code == 403
        assert clear(as_user(emergency.charlie), emergency).status_code == 404
        portal = make_user("ada@mail.example", mfa=False)
        emergency.client_a.portal_user = portal
        emergency.client_a.save()
        assert clear(as_user(portal), emergency).status_code == 404
        assert not MedicalClearance.objects.exists()
        assert summary(as_user(emergency.bob), emergency).status_code == 403
        assert summary(as_user(emergency.charlie), emergency).status_code == 404

    def test_the_clearance_takes_post_only(self, emergency, as_user):
        assert as_user(emergency.alice).get(reverse("medical_clearance_new", args=[emergency.client_a.pk])).status_code == 405


class ClearanceServiceTests:
    def test_front_desk_and_another_clinic_may_not_record_one(self, emergency):
        for user, clinic in ((emergency.bob, emergency.clinic_a), (emergency.charlie, emergency.clinic_b)):
            with pytest.raises(PermissionDenied):
                medical_clearance_record(
                    client=emergency.client_a, membership=membership(user, clinic), flags=["chest-pain-breathless"], note=NOTE
                )
        assert not MedicalClearance.objects.exists()

    @pytest.mark.parametrize(
        ("flags", "note"), [([], NOTE), (["no-such-flag"], NOTE), (["chest-pain-breathless"], " "), (["chest-pain-breathless"], "x" * 2001)]
    )
    def test_it_needs_known_flags_and_a_note(self, emergency, flags, note):
        with pytest.raises(ValidationError):
            medical_clearance_record(
                client=emergency.client_a, membership=membership(emergency.alice, emergency.clinic_a), flags=flags, note=note
            )
        assert not MedicalClearance.objects.exists()


class ClearanceCoverTests:
    def m(self, world):
        return membership(world.alice, world.clinic_a)

    def test_the_latest_clearance_counts_only_when_it_covers_every_flag_of_the_current_triage(self, emergency):
        c = emergency.client_a
        explained = client_explain(c, latest_drawing(c))
        assert explained.needs_clearance == ("chest-pain-breathless",) and not explained.covered
        assert explained.result.triage.withheld and not explained.result.hypotheses
        medical_clearance_record(client=c, membership=self.m(emergency), flags=["chest-pain-breathless", "stroke-signs"], note=NOTE)
        explained = client_explain(c, latest_drawing(c))
        assert explained.covered and explained.result.triage.cleared and explained.result.hypotheses
        medical_clearance_record(client=c, membership=self.m(emergency), flags=["stroke-signs"], note="Later, for something else.")
        assert not client_explain(c, latest_drawing(c)).covered

    def test_a_new_red_flag_is_not_covered_by_an_older_clearance(self, emergency):
        c = emergency.client_a
        medical_clearance_record(client=c, membership=self.m(emergency), flags=["chest-pain-breathless"], note=NOTE)
        draw(c, [{"cell": "cheek:right", "intensity": 5, "quality": "numbness"}])
        explained = client_explain(c, latest_drawing(c))
        assert explained.result.triage.level == "ask-first" and not explained.covered and explained.result.triage.withheld

    def test_nothing_is_needed_when_nothing_is_withheld(self, world):
        draw(world.client_a, NECK)
        explained = client_explain(world.client_a, latest_drawing(world.client_a))
        assert explained.needs_clearance == () and not explained.covered and explained.result.hypotheses


class TamperedClearanceTests:
    def test_an_unknown_flag_id_is_treated_as_a_changed_page(self, emergency, as_user):
        c = as_user(emergency.alice)
        response = clear(c, emergency, flags=["no-such-flag"])
        assert response.status_code == 302 and not MedicalClearance.objects.exists()
        assert "changed since the page was opened" in c.get(response["Location"]).content.decode()

    def test_a_missing_note_from_the_review_page_is_shown_there(self, emergency, as_user):
        response = clear(as_user(emergency.alice), emergency, note="", next="review")
        assert response.status_code == 400 and "Say who cleared the client and when." in response.content.decode()
        assert response.templates[0].name == "clients/intake_review.html"
