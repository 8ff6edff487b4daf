"""The public exercise library pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from knotwork.care.library import library

pytestmark = pytest.mark.django_db


class ExerciseLibraryTests:
    def test_anyone_sees_every_exercise_grouped_by_kind_with_its_picture(self, client):
        page = client.get(reverse("exercise_index")).content.decode()
        exercises = library().exercises
        assert f"{len(exercises)} exercises" in page
        for e in exercises:
            assert reverse("exercise_detail", args=[e.id]) in page, e.id
        assert page.count("<svg") >= len(exercises)
        assert "Stretches" in page

    def test_filtering_by_muscle_keeps_only_the_exercises_that_work_it(self, client):
        page = client.get(reverse("exercise_index"), {"muscle": "levator-scapulae"}).content.decode()
        shown = [e for e in library().exercises if "levator-scapulae" in e.targets]
        hidden = [e for e in library().exercises if "levator-scapulae" not in e.targets]
        assert shown and all(reverse("exercise_detail", args=[e.id]) in page for e in shown)
        assert not any(reverse("exercise_detail", args=[e.id]) in page for e in hidden)
        assert "Exercises for the levator scapulae" in page

    def test_an_unknown_muscle_says_so_and_shows_everything(self, client):
        response = client.get(reverse("exercise_index"), {"muscle": "<script>x</script>"})
        page = response.content.decode()
        assert response.status_code == 200 and "not in the atlas" in page and "<script>x" not in page
        assert f"{len(library().exercises)} exercises" in page

    def test_an_exercise_page_gives_steps_cautions_dose_and_links_to_the_muscles(self, client):
        exercise = library().by_id["levator-scapulae-stretch"]
        page = client.get(reverse("exercise_detail", args=[exercise.id])).content.decode()
        assert exercise.name in page and exercise.dosage.words() in page
        assert all(step in page for step in exercise.steps)
        assert reverse("muscle_detail", args=["levator-scapulae"]) in page
        assert client.get(reverse("exercise_detail", args=["no-such-move"])).status_code == 404

    def test_an_article_titled_exercises_does_not_take_the_librarys_address(self):
        from knotwork.learn.services import unique_slug

        assert unique_slug("Exercises") == "exercises-article"
