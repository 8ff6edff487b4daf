from __future__ import annotations

from django.urls import reverse

from knotwork.outcomes.models import OutcomeResponse


class OutcomesApiTests:
    def test_the_measure_definitions_carry_thresholds_and_licences(self, world, as_user):
        r = as_user(world.alice).get(reverse("api:outcomes_measures"))
        assert r.status_code == 200
        by_id = {m["id"]: m for m in r.json()}
        assert by_id["nprs"]["mcid"]["value"] == 2 and by_id["ndi"]["licence"] == "score-only"

    def test_it_records_a_response_and_lists_it_with_its_flag(self, world, as_user, improving):
        c = as_user(world.alice)
        url = reverse("api:outcomes_create", args=[improving.pk])
        r = c.post(url, {"measure": "groc", "items": {"rating": 4}}, content_type="application/json")
        assert r.status_code == 201 and r.json()["score"] == 4
        data = c.get(reverse("api:outcomes_list", args=[improving.pk])).json()
        nprs = next(s for s in data["summary"] if s["measure"] == "nprs")
        assert nprs["baseline"] == 7 and nprs["latest"] == 3 and nprs["flag"] == "important_improvement"

    def test_unscorable_answers_are_a_400_naming_the_fields(self, world, as_user, episode_a):
        r = as_user(world.alice).post(reverse("api:outcomes_create", args=[episode_a.pk]), {"measure": "nprs", "items": {"now": 11}},
                                      content_type="application/json")  # fmt: skip
        assert r.status_code == 400
        assert set(r.json()["error"]["fields"]) == {"now", "best", "worst"} and not OutcomeResponse.objects.exists()

    def test_an_unknown_measure_is_a_400(self, world, as_user, episode_a):
        r = as_user(world.alice).post(reverse("api:outcomes_create", args=[episode_a.pk]), {"measure": "x", "items": {}},
                                      content_type="application/json")  # fmt: skip
        assert r.status_code == 400 and "measure" in r.json()["error"]["fields"]

    def test_charlie_gets_404s_and_nothing_changes(self, world, as_user, improving):
        c = as_user(world.charlie)
        assert c.get(reverse("api:outcomes_list", args=[improving.pk])).status_code == 404
        n = OutcomeResponse.objects.count()
        r = c.post(reverse("api:outcomes_create", args=[improving.pk]), {"measure": "groc", "items": {"rating": 4}},
                   content_type="application/json")  # fmt: skip
        assert r.status_code == 404
        assert c.delete(reverse("api:outcomes_delete", args=[OutcomeResponse.objects.first().pk])).status_code == 404
        assert OutcomeResponse.objects.count() == n

    def test_front_desk_is_refused(self, world, as_user, improving):
        assert as_user(world.bob).get(reverse("api:outcomes_list", args=[improving.pk])).status_code == 403

    def test_alice_deletes_a_response(self, world, as_user, improving):
        pk = OutcomeResponse.objects.first().pk
        assert as_user(world.alice).delete(reverse("api:outcomes_delete", args=[pk])).status_code == 204
        assert not OutcomeResponse.objects.filter(pk=pk).exists()

    def test_anonymous_callers_get_a_401(self, client, improving):
        assert client.get(reverse("api:outcomes_list", args=[improving.pk])).status_code == 401
