"""The "Explain a drawing" page (/atlas/explain/) and its htmx results fragment."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from knotwork.atlas.explain_views import ExplainForm, hypothesis_zones
from knotwork.atlas.loader import atlas
from knotwork.atlas.selectors import zone_cells
from knotwork.audit.models import AuditEvent
from knotwork.engine import Hypothesis, TriggerPointHit, explain, red_flag_questions

pytestmark = pytest.mark.django_db

PAGE = reverse("explain")
RESULTS = reverse("explain_results")
DRAWING = json.dumps(
    {
        "marks": [
            {"cell": "temple:right", "intensity": 7, "quality": None},
            {"cell": "neck-lateral:right", "intensity": 5, "quality": "aching"},
            {"cell": "shoulder-top:right", "intensity": 4, "quality": None},
        ]
    }
)

BILATERAL_NECK = ["neck-posterior-upper:right", "neck-posterior-upper:left", "shoulder-top:right", "shoulder-top:left"]
# Heart-like chest pain painted on the chest: the drawing itself reports an emergency red flag.
CHEST_AND_ARM = json.dumps(
    {"marks": [{"cell": "chest-upper:left", "intensity": 8, "quality": "pressure"}, {"cell": "upper-arm-medial:left", "intensity": 5}]}
)


def text(response) -> str:
    return response.content.decode()


class ExplainPageAccessTests:
    def test_a_therapist_sees_the_page_with_the_map_tools_and_the_red_flag_panel(self, world, as_user):
        response = as_user(world.alice).get(PAGE)
        assert response.status_code == 200
        html = text(response)
        for hook in ("data-bodymap-intensity", "data-bodymap-quality", "data-bodymap-erase", "data-bodymap-clear", "data-bodymap-output"):
            assert hook in html
        assert 'data-bodymap-mode="input"' in html
        assert 'data-verdict="not asked"' in html and 'data-triage-level="not asked"' in html
        assert "Mark where it hurts to see likely sources" in html

    def test_the_quality_choices_are_the_engines_labels(self, world, as_user):
        html = text(as_user(world.alice).get(PAGE))
        assert '<option value="pressure">Heavy, pressing or tight</option>' in html
        assert '<option value="numbness">Numb</option>' in html

    def test_the_owner_may_use_it_too(self, world, as_user):
        assert as_user(world.olivia).get(PAGE).status_code == 200

    def test_front_desk_gets_403_on_the_page_and_the_fragment(self, world, as_user):
        c = as_user(world.bob)
        assert c.get(PAGE).status_code == 403
        assert c.post(RESULTS, {"drawing": DRAWING}).status_code == 403

    def test_anonymous_visitors_are_sent_to_sign_in(self, world, client):
        for response in (client.get(PAGE), client.post(RESULTS, {"drawing": DRAWING})):
            assert response.status_code == 302
            assert reverse("account_login") in response["Location"]

    def test_charlie_of_another_clinic_uses_it_as_it_touches_no_client_record(self, world, as_user):
        response = as_user(world.charlie).post(PAGE, {"drawing": DRAWING})
        assert response.status_code == 200
        assert "Likely sources to examine" in text(response)

    def test_explaining_writes_no_audit_row(self, world, as_user):
        c = as_user(world.alice)
        before = AuditEvent.objects.count()
        c.post(PAGE, {"drawing": DRAWING})
        c.post(RESULTS, {"drawing": DRAWING})
        assert AuditEvent.objects.count() == before

    def test_the_fragment_takes_post_only(self, world, as_user):
        assert as_user(world.alice).get(RESULTS).status_code == 405


class ExplainPageTests:
    def test_posting_a_drawing_renders_the_ranked_sources_and_keeps_the_drawing(self, world, as_user):
        html = text(as_user(world.alice).post(PAGE, {"drawing": DRAWING}))
        assert "Likely sources to examine" in html and "Check these first" in html
        assert "diagnosis" not in re.sub(r"not a diagnosis|never diagnoses", "", html)
        first = re.search(r'class="explain-hypothesis"[^>]*data-muscle="([^"]+)" data-side="([^"]+)"', html)
        assert first.groups() == ("upper-trapezius", "right")
        assert reverse("muscle_detail", args=["upper-trapezius"]) in html
        assert "Right temple, right side of the neck" in html  # plain region names, not cell ids
        # without JavaScript the map is painted by the server and the hidden field holds the drawing
        assert re.search(r'data-cell="temple:right"[^>]*fill="#(?!f5f2ed)', html)
        hidden = re.search(r'<input type="hidden" name="drawing"[^>]*value="([^"]*)"', html).group(1)
        assert json.loads(hidden.replace("&quot;", '"'))["marks"][0]["cell"] == "temple:right"
        assert "right temple 7/10; right side of the neck 5/10, aching" in html

    def test_each_source_carries_its_zones_for_the_hover_preview(self, world, as_user):
        html = text(as_user(world.alice).post(PAGE, {"drawing": DRAWING}))
        zones = json.loads(re.search(r'data-explain-zones="([^"]+)"', html).group(1).replace("&quot;", '"'))
        assert zones["temple:right"] == "essential"
        assert set(zones.values()) <= {"essential", "spillover"}

    def test_an_empty_drawing_shows_the_friendly_empty_state_and_still_the_red_flags(self, world, as_user):
        html = text(as_user(world.alice).post(PAGE, {"drawing": '{"marks": []}'}))
        assert "Mark where it hurts to see likely sources" in html
        assert 'data-verdict="not asked"' in html
        assert "explain-hypothesis" not in html

    @pytest.mark.parametrize(
        ("drawing", "message"),
        [
            ("{not json", "not valid JSON"),
            ('{"marks": "temple"}', "list of marks"),
            ('{"marks": [{"cell": "temple:up", "intensity": 7}]}', "unknown cell &#x27;temple:up&#x27;"),
            ('{"marks": [{"cell": "temple:right", "intensity": 12}]}', "from 1 to 10"),
            (json.dumps({"marks": [{"cell": "temple:right", "intensity": 3}] * 200}), "more marks than"),
        ],
    )
    def test_an_unreadable_drawing_keeps_the_page_with_a_clear_message(self, world, as_user, drawing, message):
        response = as_user(world.alice).post(PAGE, {"drawing": drawing})
        assert response.status_code == 200
        html = text(response)
        assert "The drawing could not be explained" in html and message in html
        assert 'id="explain-triage"' in html and "data-bodymap-intensity" in html
        assert "explain-hypothesis" not in html

    def test_symptoms_feed_the_engine(self, world, as_user):
        marks = json.dumps({"marks": [{"cell": "temple:right", "intensity": 6}]})
        plain = text(as_user(world.alice).post(PAGE, {"drawing": marks}))
        with_symptom = text(as_user(world.alice).post(PAGE, {"drawing": marks, "symptoms": ["headache"]}))
        assert "headache you reported" not in plain
        assert "headache you reported" in with_symptom

    def test_an_unknown_symptom_is_refused_politely_and_the_drawing_is_kept(self, world, as_user):
        response = as_user(world.alice).post(PAGE, {"drawing": DRAWING, "symptoms": ["hiccups"]})
        assert response.status_code == 200
        html = text(response)
        assert "Reported symptoms: Select a valid choice" in html
        assert "right temple 7/10" in html


class RedFlagChecklistTests:
    def post(self, world, as_user, **answers):
        return text(as_user(world.alice).post(RESULTS, {"drawing": DRAWING, **answers}, HTTP_HX_REQUEST="true"))

    def test_nothing_ticked_is_reported_honestly_as_not_asked(self, world, as_user):
        assert 'data-verdict="not asked"' in self.post(world, as_user)

    def test_a_ticked_emergency_question_means_refer_now_and_withholds_the_list(self, world, as_user):
        html = self.post(world, as_user, red_flags=["thunderclap-headache"])
        assert 'data-verdict="refer out"' in html and 'data-triage-level="emergency"' in html
        assert "Emergency: refer now." in html and "Call the emergency number now." in html
        assert "Answered yes." in html
        assert 'class="explain-hypothesis"' not in html

    def test_a_before_treatment_flag_keeps_the_list_beside_the_referral(self, world, as_user):
        html = self.post(world, as_user, red_flags=["unexplained-weight-loss"])
        assert 'data-triage-level="before-treatment"' in html and "badge-warn triage-badge" in html
        assert 'class="explain-hypothesis"' in html

    def test_all_asked_and_none_ticked_is_clear(self, world, as_user):
        assert 'data-verdict="clear"' in self.post(world, as_user, red_flags_all_asked="on")

    def test_the_form_turns_answers_into_the_engines_shapes(self, world):
        def answers(data):
            form = ExplainForm({"drawing": "", **data})
            assert form.is_valid(), form.errors
            return form.red_flag_answers()

        assert answers({}) is None
        assert answers({"red_flags": ["calf-swelling"]}) == {"calf-swelling": True}
        assert answers({"red_flags": ["calf-swelling"], "red_flags_all_asked": "on"}) == ["calf-swelling"]


class ExplainFragmentTests:
    def test_the_htmx_answer_is_only_the_results_fragment_and_the_triage(self, world, as_user):
        response = as_user(world.alice).post(RESULTS, {"drawing": DRAWING}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        html = text(response)
        assert "<html" not in html and "<form" not in html and "data-bodymap" not in html
        assert "Likely sources to examine" in html
        assert 'id="explain-triage" hx-swap-oob="true"' in html
        assert 'id="explain-status" hx-swap-oob="innerHTML"' in html and "First to examine: right upper trapezius" in html

    def test_a_bad_drawing_in_the_fragment_gives_the_message_and_the_red_flags(self, world, as_user):
        html = text(as_user(world.alice).post(RESULTS, {"drawing": "[oops"}, HTTP_HX_REQUEST="true"))
        assert "not valid JSON" in html and 'data-verdict="not asked"' in html

    def test_the_page_asks_htmx_to_post_on_every_drawing_change(self, world, as_user):
        html = text(as_user(world.alice).get(PAGE))
        form = re.search(r"<form[^>]*data-explain-form[^>]*>", html).group(0)
        assert f'hx-post="{RESULTS}"' in form and "bodymap:change" in form and 'hx-target="#explain-results"' in form
        assert f'action="{PAGE}"' in form and 'method="post"' in form
        assert "csrfmiddlewaretoken" in html

    def test_the_page_has_no_inline_script_style_or_handler(self, world, as_user):
        html = text(as_user(world.alice).post(PAGE, {"drawing": DRAWING}))
        assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)", html)
        assert " style=" not in html
        assert not re.search(r"\son[a-z]+=", html)


def hypothesis(muscle, *hits, side=None):
    """A hypothesis row of ``muscle`` made of (trigger point, side) pairs, best first."""
    tps = tuple(TriggerPointHit(tp, tp_side, (), ()) for tp, tp_side in hits)
    return Hypothesis(
        muscle=muscle, trigger_point=hits[0][0], side=side or hits[0][1], score=1.0, essential_hits=(), spillover_hits=(),
        explains=1.0, unexplained=(), why="", trigger_points=tps,
    )  # fmt: skip


def merged(*zone_maps):
    out = {}
    for zones in zone_maps:
        for cell, kind in zones.items():
            out[cell] = "essential" if "essential" in (kind, out.get(cell)) else kind
    return out


class HypothesisZonesTests:
    def test_zones_follow_the_side_of_the_hypothesis(self):
        result = explain({"marks": [{"cell": "temple:left", "intensity": 5}]})
        h = result.hypotheses[0]
        zones = hypothesis_zones(h)
        assert zones["temple:left"] == "essential"
        assert all(c.endswith(":left") or ":" not in c for c, cat in zones.items() if cat == "essential" and c.startswith("temple"))

    def test_a_midline_trigger_point_colours_both_sides(self):
        from knotwork.engine import default_engine

        midline = next(p for p in default_engine().patterns if p.side == "midline")
        zones = hypothesis_zones(hypothesis(midline.muscle, (midline.trigger_point, "midline")))
        assert {c for c, cat in zones.items() if cat == "essential"} == set(midline.essential)
        assert {c for c, cat in zones.items() if cat == "spillover"} == set(midline.spillover)

    def test_a_row_on_both_sides_colours_the_zones_of_its_right_and_its_left_trigger_points(self):
        tp = next(t for t in atlas().muscle_by_id["upper-trapezius"].trigger_points if t.id == "upper-trapezius-2")
        zones = hypothesis_zones(hypothesis("upper-trapezius", (tp.id, "right"), (tp.id, "left"), side="both"))
        assert zones == merged(zone_cells(tp, "right"), zone_cells(tp, "left"))
        assert zones["neck-posterior-upper:right"] == zones["neck-posterior-upper:left"] == "essential"

    def test_a_row_of_several_trigger_points_colours_all_of_them_with_essential_first(self):
        tps = atlas().muscle_by_id["sternocleidomastoid"].trigger_points[:2]
        zones = hypothesis_zones(hypothesis("sternocleidomastoid", (tps[0].id, "right"), (tps[1].id, "right")))
        assert zones == merged(zone_cells(tps[0], "right"), zone_cells(tps[1], "right"))

    def test_the_engines_both_sided_row_carries_the_zones_it_counted(self):
        result = explain({"marks": [{"cell": c, "intensity": 6} for c in BILATERAL_NECK]})
        h = result.hypotheses[0]
        assert h.side == "both"
        zones = hypothesis_zones(h)
        assert {c for c in BILATERAL_NECK if zones.get(c)} == set(BILATERAL_NECK)


class ExplainTriageTests:
    """The triage comes first; at emergency, same-day and ask-first the muscle list waits for clearance."""

    def post(self, c, **data):
        return text(c.post(PAGE, {"drawing": CHEST_AND_ARM, "symptoms": ["heart-like-pain"], **data}))

    def test_heart_like_chest_pain_puts_the_emergency_first_and_withholds_every_muscle(self, world, as_user):
        html = self.post(as_user(world.alice))
        assert 'data-triage-level="emergency"' in html and "badge-danger triage-badge" in html
        assert html.index('id="explain-triage"') < html.index('id="explain-results"')
        assert "Emergency: refer now." in html and "Call the emergency number now." in html
        assert 'data-flag="chest-pain-breathless"' in html and "Reported in the drawing." in html
        assert re.search(r"\d+ likely muscle sources? withheld until medical clearance", html)
        assert 'class="explain-hypothesis"' not in html and "Check these first" not in html
        assert 'name="medical_clearance"' in html and "A physician has cleared the client (medical clearance)" in html
        assert "{#" not in html and "{%" not in html  # no template comment leaks onto the page

    def test_the_status_line_leads_with_the_triage_level(self, world, as_user):
        c = as_user(world.alice)
        html = text(c.post(RESULTS, {"drawing": CHEST_AND_ARM, "symptoms": ["heart-like-pain"]}, HTTP_HX_REQUEST="true"))
        status = re.search(r'<p id="explain-status" hx-swap-oob="innerHTML">(.*?)</p>', html, re.S).group(1)
        assert re.sub(r"<[^>]+>", "", status).strip().startswith("Emergency: refer now.")
        assert 'href="#triage-title"' in status
        plain = text(c.post(RESULTS, {"drawing": DRAWING}, HTTP_HX_REQUEST="true"))
        status = re.search(r'<p id="explain-status" hx-swap-oob="innerHTML">(.*?)</p>', plain, re.S).group(1)
        assert status.strip().startswith("First to examine") and "Red flags: not asked." in status

    def test_a_drawing_that_prompts_an_emergency_question_asks_it_first(self, world, as_user):
        numb_face = json.dumps({"marks": [{"cell": "cheek:right", "intensity": 5, "quality": "numbness"}]})
        html = text(as_user(world.alice).post(PAGE, {"drawing": numb_face}))
        stroke = next(f for f in red_flag_questions() if f.id == "stroke-signs")
        assert 'data-triage-level="ask-first"' in html and "badge-warn triage-badge" in html
        assert "Ask these questions now" in html and stroke.question in html
        assert 'class="explain-hypothesis"' not in html
        answered = text(as_user(world.alice).post(PAGE, {"drawing": numb_face, "red_flags_all_asked": "on"}))
        assert 'data-triage-level="clear"' in answered and 'class="explain-hypothesis"' in answered

    def test_a_clearance_brings_the_muscles_back_under_the_warning_and_is_audited(self, world, as_user):
        html = self.post(as_user(world.alice), medical_clearance="on")
        assert 'data-triage-level="emergency"' in html and "Medical clearance recorded" in html
        assert 'class="explain-hypothesis"' in html
        assert html.index('id="explain-triage"') < html.index('class="explain-hypothesis"')
        event = AuditEvent.objects.get(object_type="engine.clearance")
        assert event.actor == world.alice and event.clinic_id == world.clinic_a.pk and event.role == "therapist"
        assert event.detail["flags"] == ["chest-pain-breathless"] and event.detail["level"] == "emergency"

    def test_a_clearance_that_lifts_nothing_records_nothing(self, world, as_user):
        html = text(as_user(world.alice).post(PAGE, {"drawing": DRAWING, "medical_clearance": "on"}))
        assert 'class="explain-hypothesis"' in html and "Medical clearance recorded" not in html
        assert not AuditEvent.objects.filter(object_type="engine.clearance").exists()

    def test_charlies_clearance_is_audited_in_his_own_clinic(self, world, as_user):
        self.post(as_user(world.charlie), medical_clearance="on")
        assert AuditEvent.objects.get(object_type="engine.clearance").clinic_id == world.clinic_b.pk

    def test_front_desk_can_neither_see_nor_clear(self, world, as_user):
        c = as_user(world.bob)
        assert c.post(PAGE, {"drawing": CHEST_AND_ARM, "symptoms": ["heart-like-pain"], "medical_clearance": "on"}).status_code == 403
        assert not AuditEvent.objects.filter(object_type="engine.clearance").exists()


class ExplainRowsTests:
    def test_a_muscle_needed_on_both_sides_is_one_row_with_its_trigger_points_inside(self, world, as_user):
        drawing = json.dumps({"marks": [{"cell": c, "intensity": 6} for c in BILATERAL_NECK]})
        html = text(as_user(world.alice).post(PAGE, {"drawing": drawing}))
        rows = [r.split("</div>\n</li>")[0] for r in html.split('<li class="explain-hypothesis"')[1:]]
        both = [r for r in rows if 'data-side="both"' in r.split(">")[0]]
        assert both, "a bilateral drawing gives at least one row on both sides"
        for row in both:
            muscle = re.match(r'[^>]*data-muscle="([^"]+)"', row).group(1)
            assert row.count(f'href="/atlas/muscles/{muscle}/"') == 1
            assert "Both sides" in row
            assert "(right and left)" in row or ("(right)" in row and "(left)" in row)
        assert " on both sides</strong>" in html  # the cover step says so too

    def test_widespread_pain_leads_with_the_statement_above_the_ranking(self, world, as_user):
        cells = ["shoulder-top:right", "shoulder-top:left", "thigh-anterior:right", "thigh-anterior:left", "lumbar:right",
                 "upper-arm-lateral:right", "upper-arm-lateral:left", "hip-lateral:right", "calf:left", "forearm-dorsal:right"]  # fmt: skip
        html = text(as_user(world.alice).post(PAGE, {"drawing": json.dumps({"marks": [{"cell": c, "intensity": 5} for c in cells]})}))
        assert 'data-pattern="widespread"' in html and "Screen for fibromyalgia" in html
        assert html.index('data-pattern="widespread"') < html.index('id="explain-ranked-title"')
