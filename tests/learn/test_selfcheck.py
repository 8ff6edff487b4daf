from __future__ import annotations

import json
import re

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session

from knotwork.engine import red_flag_questions
from knotwork.learn.selfcheck import CONDITIONS, focus_condition, run_self_check

pytestmark = pytest.mark.django_db

NECK = [{"cell": "neck-posterior-upper:right", "intensity": 6, "quality": "aching"}, {"cell": "shoulder-top:right", "intensity": 5}]


def _answers(yes=(), drawing=NECK, duration="months", hopes=("less-pain",)):
    data = {"drawing": json.dumps({"marks": list(drawing)}), "duration": duration, "hopes": list(hopes)}
    for flag in red_flag_questions():
        data[f"rf_{flag.id}"] = "yes" if flag.id in yes else "no"
    return data


def _row_counts():
    return {m._meta.label: m.objects.count() for m in apps.get_models() if not m._meta.proxy}


class SelfCheckPageTests:
    def test_the_page_asks_the_engines_red_flag_questions_and_says_nothing_is_stored(self, client):
        response = client.get("/self-check/")
        html = response.content.decode()
        assert response.status_code == 200
        assert "Nothing you enter here is stored" in html
        assert 'data-bodymap-mode="input"' in html and "atlas/bodymap.js" in html
        for flag in red_flag_questions():
            assert f'name="rf_{flag.id}"' in html
        assert response.context["form"].red_flag_fields()[0].label == red_flag_questions()[0].question

    def test_a_clear_check_recommends_a_consultation_and_names_muscles_to_examine(self, client):
        response = client.post("/self-check/", _answers())
        html = response.content.decode()
        result = response.context["result"]
        assert result.verdict == "consult" and result.condition == "neck-pain"
        assert "upper-trapezius" in [m.id for m in result.muscles]
        assert 'data-condition="neck-pain"' in html and "What to ask in a free consultation" in html
        assert "diagnos" in html  # the result says it is not a diagnosis

    def test_the_hand_off_links_to_the_directory_search_filtered_by_condition(self, client):
        html = client.post("/self-check/", _answers()).content.decode()
        assert 'href="/therapists/?condition=neck-pain"' in html

    def test_a_red_flag_sends_the_visitor_to_a_doctor_with_no_hand_off(self, client):
        response = client.post("/self-check/", _answers(yes=["saddle-numbness"], drawing=[{"cell": "lumbar:right", "intensity": 7}]))
        html = response.content.decode().split('id="result"')[1].split("</section>")[0]
        assert response.context["result"].verdict == "see-doctor"
        assert "Please see a doctor now" in html and "emergency" in html
        assert "data-handoff" not in html and "/therapists/" not in html and "What to ask in a free consultation" not in html

    def test_the_answer_leads_with_now_today_or_first_by_urgency_and_names_no_muscles(self, client):
        for flag_id, heading in (("cervical-artery", "Please see a doctor now"), ("calf-swelling", "Please see a doctor today"),
                                 ("unexplained-weight-loss", "Please see a doctor first")):  # fmt: skip
            response = client.post("/self-check/", _answers(yes=[flag_id]))
            html = response.content.decode().split('id="result"')[1].split("</section>")[0]
            assert response.context["result"].muscles == ()
            assert f'<h2 id="result-title">{heading}</h2>' in html, flag_id
            assert "muscle_detail" not in html and "/atlas/muscles/" not in html

    def test_a_muscle_on_both_sides_is_named_once_for_both_sides(self, client):
        neck = [{"cell": c, "intensity": 6} for c in ("neck-posterior-upper:right", "neck-posterior-upper:left")]
        response = client.post("/self-check/", _answers(drawing=neck))
        muscles = response.context["result"].muscles
        assert len({m.id for m in muscles}) == len(muscles)
        both = [m for m in muscles if m.side == "both"]
        assert both and both[0].side_words == "both sides"
        assert f"{both[0].name}</a> (both sides)" in response.content.decode()

    def test_the_quality_choices_are_the_engines_labels(self, client):
        html = client.get("/self-check/").content.decode()
        assert '<option value="pressure">Heavy, pressing or tight</option>' in html

    def test_every_red_flag_question_alone_sends_the_visitor_to_a_doctor(self):
        for flag in red_flag_questions():
            answers = {f.id: f.id == flag.id for f in red_flag_questions()}
            result = run_self_check(marks=NECK, duration="months", hopes=[], red_flags=answers)
            assert result.verdict == "see-doctor" and result.condition is None, flag.id

    def test_nothing_typed_is_stored_and_no_session_is_created(self, client):
        before = _row_counts()
        response = client.post("/self-check/", _answers())
        assert response.status_code == 200
        assert _row_counts() == before
        assert not Session.objects.exists() and "sessionid" not in response.cookies and not client.session.keys()

    def test_unanswered_questions_are_listed_and_the_drawing_is_kept(self, client):
        data = _answers()
        del data["duration"], data[f"rf_{red_flag_questions()[0].id}"]
        response = client.post("/self-check/", data)
        html = response.content.decode()
        assert response.context["result"] is None
        assert "Please answer 2 more questions" in html
        assert "neck-posterior-upper:right" in response.context["drawing_json"]
        assert response.context["form"][f"rf_{red_flag_questions()[1].id}"].value() == "no"
        kept = rf'<input type="radio" name="rf_{red_flag_questions()[1].id}" value="no"[^>]*checked>'
        assert re.search(kept, html)

    @pytest.mark.parametrize("bad", ["{not json", '{"marks": "x"}', '{"marks": [{"cell": "elbow:up", "intensity": 5}]}', "NaN", "[]"])
    def test_a_broken_drawing_is_a_clear_error_not_a_crash(self, client, bad):
        data = {**_answers(), "drawing": bad}
        response = client.post("/self-check/", data)
        assert response.status_code == 200 and response.context["result"] is None
        assert "drawing" in response.context["form"].errors

    def test_an_empty_drawing_still_gives_a_result_without_muscles(self, client):
        result = client.post("/self-check/", _answers(drawing=[], hopes=["sport"])).context["result"]
        assert result.verdict == "consult" and result.muscles == () and result.condition == "sports"


class SelfCheckTriageTests:
    """The engine's triage decides before anything else, for the drawing as well as the answers."""

    def test_an_unanswered_emergency_question_the_drawing_prompts_is_asked_first_with_no_muscles(self):
        numb_face = [{"cell": "cheek:right", "intensity": 5, "quality": "numbness"}]
        result = run_self_check(marks=numb_face, duration="months", hopes=[], red_flags={})
        stroke = next(f.question for f in red_flag_questions() if f.id == "stroke-signs")
        assert result.verdict == "ask-first" and stroke in result.ask_first
        assert result.muscles == () and result.condition is None

    def test_answering_the_questions_no_gives_the_ordinary_result(self):
        numb_face = [{"cell": "cheek:right", "intensity": 5, "quality": "numbness"}]
        result = run_self_check(marks=numb_face, duration="months", hopes=[], red_flags={f.id: False for f in red_flag_questions()})
        assert result.verdict == "consult" and result.muscles

    def test_the_ask_first_page_leads_with_the_questions(self, rf):
        from django.template.loader import render_to_string

        numb_face = [{"cell": "cheek:right", "intensity": 5, "quality": "numbness"}]
        result = run_self_check(marks=numb_face, duration="months", hopes=[], red_flags={})
        html = render_to_string("learn/self_check.html", {"result": result, "form": None, "questions": ()}, request=rf.get("/"))
        section = html.split('id="result"')[1].split("</section>")[0]
        assert "Please answer these questions first" in section and result.ask_first[0] in section
        assert "data-handoff" not in section and "/atlas/muscles/" not in section


class FocusConditionTests:
    def test_the_conditions_are_the_directorys_fixed_list(self):
        assert list(CONDITIONS) == [
            "headaches", "neck-pain", "low-back-pain", "sciatica-like-pain", "carpal-tunnel-like-symptoms",
            "tmj", "fibromyalgia", "sports", "posture", "stress",
        ]

    @pytest.mark.parametrize(
        ("marks", "expected"),
        [
            ([{"cell": "temple:right", "intensity": 7}, {"cell": "occiput", "intensity": 3}], "headaches"),
            ([{"cell": "jaw:left", "intensity": 6}], "tmj"),
            ([{"cell": "lumbar:right", "intensity": 5}], "low-back-pain"),
            ([{"cell": "buttock-lower:right", "intensity": 6}, {"cell": "thigh-posterior:right", "intensity": 5}], "sciatica-like-pain"),
            ([{"cell": "palm:right", "intensity": 3, "quality": "tingling"}, {"cell": "neck-lateral:right", "intensity": 5}],
             "carpal-tunnel-like-symptoms"),
        ],
    )
    def test_the_most_painted_area_decides_the_focus(self, marks, expected):
        assert focus_condition(marks, [], widespread=False) == expected

    def test_without_a_drawing_the_hopes_decide_and_otherwise_there_is_no_filter(self):
        assert focus_condition([], ["less-pain", "stress"], widespread=False) == "stress"
        assert focus_condition([], ["less-pain"], widespread=False) is None

    def test_long_lasting_widespread_pain_points_to_fibromyalgia_focused_therapists_and_a_doctor(self):
        cells = ["shoulder-top:right", "shoulder-top:left", "thigh-anterior:right", "thigh-anterior:left", "lumbar:right",
                 "upper-arm-lateral:right", "upper-arm-lateral:left", "hip-lateral:right"]
        marks = [{"cell": c, "intensity": 5} for c in cells]
        result = run_self_check(marks=marks, duration="years", hopes=[], red_flags={f.id: False for f in red_flag_questions()})
        assert result.condition == "fibromyalgia"
        assert any("doctor" in n for n in result.notes)
