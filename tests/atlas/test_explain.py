"""The "Explain a drawing" page (/atlas/explain/) and its htmx results fragment."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from knotwork.atlas.explain_views import ExplainForm, hypothesis_zones
from knotwork.audit.models import AuditEvent
from knotwork.engine import explain

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
        assert 'data-verdict="not asked"' in html
        assert "Mark where it hurts to see likely sources" in html

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
        assert 'id="explain-redflag-verdict"' in html and "data-bodymap-intensity" in html
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

    def test_a_ticked_question_means_refer_out(self, world, as_user):
        html = self.post(world, as_user, red_flags=["thunderclap-headache"])
        assert 'data-verdict="refer out"' in html and "Do not treat today" in html

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
    def test_the_htmx_answer_is_only_the_results_fragment_and_the_red_flag_verdict(self, world, as_user):
        response = as_user(world.alice).post(RESULTS, {"drawing": DRAWING}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        html = text(response)
        assert "<html" not in html and "<form" not in html and "data-bodymap" not in html
        assert "Likely sources to examine" in html
        assert 'id="explain-redflag-verdict" hx-swap-oob="true"' in html
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
        cell = sorted(midline.essential)[0]
        result = explain({"marks": [{"cell": cell, "intensity": 5}]}, top=None)
        h = next(h for h in result.hypotheses if h.trigger_point == midline.trigger_point)
        zones = hypothesis_zones(h)
        assert {c for c, cat in zones.items() if cat == "essential"} == set(midline.essential)
        assert {c for c, cat in zones.items() if cat == "spillover"} == set(midline.spillover)
