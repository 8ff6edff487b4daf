"""Atlas pages, API and CLI."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from knotwork.atlas.loader import atlas
from knotwork.atlas.models import AtlasVersion, Muscle, TriggerPoint
from knotwork.atlas.selectors import referrers, search_muscles, zone_cells
from knotwork.atlas.services import atlas_load

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("atlas", *args, stdout=out)
    return out.getvalue()


@pytest.mark.usefixtures("atlas_empty")
class AtlasLoadTests:
    def test_loading_is_idempotent_and_records_the_version(self):
        first = atlas_load()
        again = atlas_load()
        assert first.created and not again.created
        assert AtlasVersion.objects.get().version == atlas().version
        assert Muscle.objects.count() == len(atlas().muscles)
        assert TriggerPoint.objects.count() == len(atlas().trigger_points())


class AtlasCliTests:
    def test_regions_json_lists_every_region_with_its_cells(self):
        payload = json.loads(run("regions", "--json"))
        assert len(payload["regions"]) == 85
        temple = next(r for r in payload["regions"] if r["id"] == "temple")
        assert temple["cells"] == ["temple:right", "temple:left"]

    def test_show_json_gives_zones_as_region_and_laterality(self):
        payload = json.loads(run("show", "upper-trapezius", "--json"))
        zone = payload["trigger_points"][0]["essential"][0]
        assert set(zone) == {"region", "laterality"}

    def test_list_json_and_refers_to_json(self):
        assert len(json.loads(run("list", "--json"))["muscles"]) >= 118
        payload = json.loads(run("refers-to", "temple", "--json"))
        assert "upper-trapezius" in {r["muscle"] for r in payload["essential"]}

    def test_unknown_ids_are_clear_errors(self):
        with pytest.raises(CommandError, match="no muscle"):
            run("show", "biceps-femurs")
        with pytest.raises(CommandError, match="no region"):
            run("refers-to", "elbowz")


class AtlasSelectorTests:
    def test_search_tolerates_typos_and_abbreviations(self):
        assert search_muscles("trapezuis")[0].id.endswith("trapezius")
        assert "sternocleidomastoid" in [m.id for m in search_muscles("SCM")[:3]]
        assert search_muscles("") == []

    def test_referrers_put_essential_before_spillover(self):
        zones = [r.zone for r in referrers("temple")]
        assert zones == sorted(zones, key=["essential", "spillover"].index)
        assert zones[0] == "essential" and "spillover" in zones

    def test_zone_cells_mirror_the_side_and_respect_laterality(self):
        tp = atlas().muscle_by_id["upper-trapezius"].trigger_points[0]
        right, left = zone_cells(tp, "right"), zone_cells(tp, "left")
        assert right["temple:right"] == "essential" and "temple:left" not in right
        assert left["temple:left"] == "essential"


class AtlasPageTests:
    def test_the_index_lists_groups_and_searches(self, client):
        assert b"Sternocleidomastoid" in client.get("/atlas/").content
        response = client.get("/atlas/", {"q": "glute min"})
        assert b"Gluteus minimus" in response.content
        assert b"No muscle matches" in client.get("/atlas/", {"q": "qqqqzzzz"}).content

    def test_a_muscle_page_draws_each_trigger_point_with_zones_and_a_marker(self, client):
        response = client.get("/atlas/muscles/upper-trapezius/")
        body = response.content.decode()
        assert response.status_code == 200
        assert body.count('tp-section"') == len(atlas().muscle_by_id["upper-trapezius"].trigger_points)
        assert 'data-cell="temple:right"' in body and 'data-category="essential"' in body
        left = client.get("/atlas/muscles/upper-trapezius/", {"side": "left"}).content.decode()
        assert "showing the" in left.lower()

    def test_a_nerve_entrapment_names_where_its_numbness_counts(self, client):
        body = client.get("/atlas/muscles/pronator-teres/").content.decode()
        assert "<strong>Median nerve" in body
        assert "(numbness or tingling counted in: thumb, index and middle fingers, palm)" in body
        motor = client.get("/atlas/muscles/supinator/").content.decode()
        assert "<strong>Deep radial nerve" in motor and "counted in" not in motor

    def test_self_care_links_the_exercise_page_by_its_title(self, client):
        body = client.get("/atlas/muscles/upper-trapezius/").content.decode()
        assert '<dt>Self-care</dt><dd><a href="/learn/exercises/upper-trapezius-stretch/">Ear-to-shoulder stretch</a></dd>' in body
        assert client.get("/learn/exercises/upper-trapezius-stretch/").status_code == 200

    def test_a_self_care_slug_without_an_exercise_shows_nothing_rather_than_the_slug(self, client, monkeypatch):
        from knotwork.atlas import views
        from knotwork.care.library import library

        monkeypatch.setattr(views, "library", lambda: replace(library(), by_id={}))
        body = client.get("/atlas/muscles/upper-trapezius/").content.decode()
        assert "Self-care" not in body and "upper-trapezius-stretch" not in body

    def test_unknown_muscles_and_regions_are_404_pages(self, client):
        assert client.get("/atlas/muscles/nope/").status_code == 404
        response = client.get("/atlas/refers/", {"region": "elbowz"})
        assert response.status_code == 404 and b"no body region called" in response.content

    def test_what_refers_here_lists_essential_referrers_first(self, client):
        body = client.get("/atlas/refers/", {"region": "temple:right"}).content.decode()
        assert body.index("Essential referrers") < body.index("Spillover")
        assert "Pain felt at: Temple" in body
        assert "Upper trapezius" in body


class AtlasApiTests:
    def test_the_contract_endpoints_answer_without_sign_in(self, client):
        assert len(client.get("/api/atlas/regions").json()["regions"]) == 85
        assert len(client.get("/api/atlas/muscles").json()["muscles"]) >= 118
        assert client.get("/api/atlas/muscles/masseter").json()["id"] == "masseter"
        assert client.get("/api/atlas/regions/temple/referrers").json()["essential"]
        assert client.get("/api/atlas/muscles", {"q": "scm"}).json()["muscles"][0]["id"] == "sternocleidomastoid"

    def test_unknown_ids_are_404_in_the_error_shape(self, client):
        for url in ("/api/atlas/muscles/nope", "/api/atlas/regions/nope/referrers"):
            response = client.get(url)
            assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
