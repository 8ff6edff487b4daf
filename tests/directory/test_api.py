from __future__ import annotations

import pytest
from django.urls import reverse

from knotwork.directory.models import Credential
from knotwork.directory.reviews import review_create
from tests.directory.conftest import BRISTOL, make_credential, therapist_at

pytestmark = pytest.mark.django_db
SEARCH = "api:directory_therapists"


class DirectoryApiTests:
    def test_search_near_a_city_with_filters(self, directory, client):
        make_credential(directory.profile)
        make_credential(directory.profile, Credential.Kind.NMT)
        therapist_at("Unverified", BRISTOL)
        data = client.get(reverse(SEARCH), {"near": "Bristol", "radius_km": 10, "verified": "true", "nmt_certified": "true"}).json()
        assert data["count"] == 1 and data["near"]["kind"] == "city"
        hit = data["results"][0]
        assert hit["id"] == directory.profile.pk and hit["licence_verified"] and hit["nmt_level"] == "Level II"
        assert hit["distance_km"] < 2 and hit["booking_url"].startswith(f"/book/{directory.clinic_a.slug}/")
        assert "user" not in hit and "email" not in str(hit)

    def test_the_browser_location_and_condition(self, directory, client):
        data = client.get(reverse(SEARCH), {"near": "51.45,-2.59", "condition": "headaches", "language": "pl"}).json()
        assert [r["id"] for r in data["results"]] == [directory.profile.pk]

    def test_an_unknown_place_is_a_400_naming_the_field(self, directory, client):
        response = client.get(reverse(SEARCH), {"near": "Qwxzq"})
        assert response.status_code == 400
        assert "near" in response.json()["error"]["fields"]

    def test_bad_values_are_400_and_the_page_size_is_capped(self, directory, client):
        assert client.get(reverse(SEARCH), {"page_size": 500}).status_code == 400
        assert client.get(reverse(SEARCH), {"sort": "price"}).status_code == 400
        assert client.get(reverse(SEARCH), {"condition": "gout"}).status_code == 400
        assert client.get(reverse(SEARCH), {"page_size": 50}).json()["page_size"] == 50

    def test_detail_shows_badges_services_and_reviews_but_no_client_names(self, directory, client):
        make_credential(directory.profile)
        review_create(
            appointment=directory.visit, author=directory.ada,
            data={"overall": 4, "communication": 5, "pressure_respected": 5, "results": 4, "text": "Good", "display": "anonymous"},
        )  # fmt: skip
        data = client.get(reverse("api:directory_therapist", args=[directory.profile.pk])).json()
        assert data["credentials"][0]["kind"] == "licence"
        assert {s["name"] for s in data["services"]} == {"Free consultation", "NMT session"}
        assert data["reviews"][0]["reviewer"] == "Anonymous client" and data["ratings"]["count"] == 1
        assert "Ada" not in str(data) and "Lovelace" not in str(data)

    def test_unlisted_and_unknown_profiles_are_404(self, directory, client):
        hidden = therapist_at("Hidden", BRISTOL, listed=False)
        for pk in (hidden.pk, 99999):
            response = client.get(reverse("api:directory_therapist", args=[pk]))
            assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"

    def test_the_api_is_rate_limited(self, directory, client):
        codes = [client.get(reverse(SEARCH)).status_code for _ in range(31)]
        assert codes[:30] == [200] * 30 and codes[30] == 429
