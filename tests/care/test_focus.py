"""Plan focus suggestions follow the client's triage: no muscles while red flags withhold them."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone

from knotwork.care.selectors import focus_for_plan, focus_suggestions
from knotwork.clients.intake.services import medical_clearance_record
from knotwork.clients.models import PainDrawing

CHEST = [{"cell": "chest-upper:left", "intensity": 8}, {"cell": "upper-arm-medial:left", "intensity": 5}]
NECK = [{"cell": "neck-posterior-upper:right", "intensity": 6}, {"cell": "shoulder-top:right", "intensity": 5}]


def draw(world, marks, symptoms=()):
    return PainDrawing.objects.create(
        clinic=world.clinic_a, client=world.client_a, marks=marks, symptoms=list(symptoms), taken_at=timezone.now()
    )


class FocusSuggestionTests:
    def test_a_plain_drawing_suggests_the_muscles_of_its_cover(self, world, episode_a):
        draw(world, NECK)
        focus = focus_for_plan(world.client_a, episode_a)
        assert focus.suggestions and focus.withheld == ""
        assert all("pain drawing" in s.why for s in focus.suggestions)

    def test_an_emergency_withholds_every_suggestion_until_clearance(self, world, episode_a, alice_m):
        draw(world, CHEST, ["heart-like-pain"])
        focus = focus_for_plan(world.client_a, episode_a)
        assert focus.suggestions == [] and focus.withheld.startswith("Emergency: refer now.")
        assert focus_suggestions(world.client_a, episode_a) == []
        medical_clearance_record(
            client=world.client_a, membership=alice_m, flags=["chest-pain-breathless"], note="GP cleared her on 3 March."
        )
        assert focus_suggestions(world.client_a, episode_a)

    def test_the_plan_page_says_why_there_are_no_suggestions(self, as_user, world, episode_a):
        draw(world, CHEST, ["heart-like-pain"])
        url = reverse("plan_edit", args=[world.client_a.pk, episode_a.pk])
        html = as_user(world.alice).get(url).content.decode()
        assert "No muscle suggestions: red flags come first." in html
        assert reverse("previsit_summary", args=[world.client_a.pk]) + "#triage" in html
        assert as_user(world.charlie).get(url).status_code == 404
        assert as_user(world.bob).get(url).status_code == 403
