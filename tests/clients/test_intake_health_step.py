"""The health step of the portal intake: follow-up grids folded behind their yes/no question."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from knotwork.clients.intake.definition import LIST_KINDS, standard_form
from knotwork.clients.intake.forms import SectionForm
from knotwork.clients.models import IntakeSubmission
from tests.clients.test_intake import complete_answers, fill

pytestmark = pytest.mark.django_db

HEALTH = next(s for s in standard_form()[1] if s.id == "health")
GRIDS = [q for q in HEALTH.questions if q.required_if and q.kind in LIST_KINDS]


@pytest.fixture
def portal(world):
    from knotwork.lib.testing import make_user

    world.ada = make_user("ada@mail.example", mfa=False)
    world.client_a.portal_user = world.ada
    world.client_a.save()
    return world


def step_url(world) -> str:
    return reverse("portal_intake_step", args=[world.client_a.pk, "health"])


def health_post(**overrides: object) -> dict[str, object]:
    """A complete, valid health step as the browser posts it (every gate answered "no")."""
    ids = {q.id for q in HEALTH.questions}
    data: dict[str, object] = {k: v for k, v in complete_answers().items() if k in ids}
    data["action"] = "next"
    data.update(overrides)
    return data


def block(html: str, qid: str) -> str:
    """The markup of one question's wrapper (up to the next question or the safety section)."""
    start = html.index(f'id="q-{qid}"')
    start = html.rindex("<div", 0, start)
    ends = [i for i in (html.find('<div class="field iq', start + 1), html.find("<section", start + 1)) if i != -1]
    return html[start : min(ends)]


def is_open(html: str, qid: str) -> bool:
    details = re.search(r"<details\b[^>]*>", block(html, qid))
    assert details, f"{qid} is not in a <details>"
    return re.search(r"\sopen(\s|>|$)", details.group(0)) is not None


class HealthStepMarkupTests:
    def test_the_step_has_five_grids_of_body_areas_each_following_a_yes_no_question(self):
        assert [q.id for q in GRIDS] == ["surgery_where", "fracture_where", "skin_where", "varicose_where", "inflamed_where"]
        assert all(len(q.choices) == 34 and q.required_if and q.required_if[1] == "yes" for q in GRIDS)

    def test_each_grid_is_a_closed_disclosure_with_a_summary_and_a_labelled_group(self, portal, as_user):
        fill(portal)
        html = as_user(portal.ada).get(step_url(portal)).content.decode()
        for q in GRIDS:
            wrapper = block(html, q.id)
            parent = q.required_if[0]  # type: ignore[index]
            assert f'data-followup-of="{parent}" data-followup-when="yes"' in wrapper
            assert not is_open(html, q.id)
            assert re.search(r"<summary>\s*<span class=\"iq-disclosure-q\">" + re.escape(q.text), wrapper)
            assert "Choose from 34 body areas" in wrapper
            assert "<fieldset" in wrapper and f'<legend class="visually-hidden">{q.text}</legend>' in wrapper.replace("&#x27;", "'")
            assert wrapper.count('type="checkbox"') == 34
        # a short yes/no follow-up stays an ordinary, always-shown question
        diabetes_follow_up = block(html, "reduced_sensation")
        assert "data-followup-of" not in diabetes_follow_up and "<details" not in diabetes_follow_up
        # the questions that decide are plain radio groups, never folded away
        assert "<details" not in block(html, "recent_surgery")

    def test_the_step_loads_the_script_that_reveals_follow_ups(self, portal, as_user):
        fill(portal)
        html = as_user(portal.ada).get(step_url(portal)).content.decode()
        assert re.search(r'<script type="module" src="[^"]*clients/intake\.[0-9a-f.]*js"', html)

    def test_a_stored_tick_or_a_stored_yes_renders_the_grid_open(self, portal, as_user):
        fill(portal, recent_surgery="yes", surgery_where=["knee-anterior:right", "calf:left"], skin_condition="yes")
        html = as_user(portal.ada).get(step_url(portal)).content.decode()
        assert is_open(html, "surgery_where") and "2 chosen" in block(html, "surgery_where")
        assert re.search(r'value="knee-anterior:right"[^>]*checked', block(html, "surgery_where"))
        assert is_open(html, "skin_where")  # "yes" but nothing ticked yet: shown, to be answered
        assert not is_open(html, "fracture_where")


class HealthStepSubmitTests:
    def test_ticks_are_saved_in_the_same_format_and_the_step_moves_on(self, portal, as_user):
        fill(portal)
        data = health_post(recent_fracture="yes", fracture_where=["forearm-volar:left", "hand-dorsal:left"])
        response = as_user(portal.ada).post(step_url(portal), data)
        assert response.status_code == 302 and response["Location"].endswith("/intake/lifestyle/")
        answers = IntakeSubmission.objects.get(client=portal.client_a).answers
        assert answers["fracture_where"] == {"q": "If so, where?", "a": ["forearm-volar:left", "hand-dorsal:left"]}
        assert answers["recent_fracture"]["a"] == "yes"

    def test_a_failed_submit_keeps_the_ticks_and_renders_their_grid_open(self, portal, as_user):
        fill(portal)
        data = health_post(recent_surgery="yes", surgery_where=["knee-anterior:right"], medications="")
        response = as_user(portal.ada).post(step_url(portal), data)
        assert response.status_code == 200
        html = response.content.decode()
        assert 'href="#q-medications"' in html
        assert is_open(html, "surgery_where") and "1 chosen" in block(html, "surgery_where")
        assert re.search(r'value="knee-anterior:right"[^>]*checked', block(html, "surgery_where"))
        assert not is_open(html, "varicose_where")
        # the valid answers were kept as a draft, ticks included, in the stored format
        stored = IntakeSubmission.objects.get(client=portal.client_a).answers
        assert stored["surgery_where"]["a"] == ["knee-anterior:right"]

    def test_a_yes_without_a_tick_opens_the_grid_with_its_error_inside(self, portal, as_user):
        fill(portal)
        response = as_user(portal.ada).post(step_url(portal), health_post(inflamed_area="yes"))
        assert response.status_code == 200
        html = response.content.decode()
        wrapper = block(html, "inflamed_where")
        assert is_open(html, "inflamed_where") and "field-error" in wrapper
        assert 'id="inflamed_where_error">Please answer this too.' in wrapper
        assert 'aria-describedby="inflamed_where_error"' in wrapper
        assert 'href="#q-inflamed_where"' in html

    def test_a_posted_yes_opens_its_grid_on_the_re_render_even_when_the_stored_answer_was_no(self):
        form = SectionForm(health_post(varicose_veins="yes", phone=""), section=HEALTH, answers={"varicose_veins": "no"})
        form.is_valid()
        assert form["varicose_where"].disclosure_open
        assert not form["skin_where"].disclosure_open
        assert form["varicose_where"].chosen_count == 0
