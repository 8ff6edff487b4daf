from __future__ import annotations

import io
import json
import re

import pytest
from django.urls import reverse
from PIL import Image

from knotwork.audit.models import AuditEvent
from knotwork.directory.models import Credential, TherapistProfile
from knotwork.directory.reviews import review_create
from knotwork.lib.testing import make_client
from tests.directory.conftest import BRISTOL, completed_appointment, make_credential, portal_login, therapist_at

pytestmark = pytest.mark.django_db
RATINGS = {"overall": 5, "communication": 5, "pressure_respected": 5, "results": 5}


def profile_url(profile: TherapistProfile) -> str:
    return reverse("directory_profile", args=[profile.pk, profile.slug])


def jpeg() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 100, 50)).save(out, format="JPEG")
    out.seek(0)
    out.name = "me.jpg"
    return out


class PublicPageTests:
    def test_the_search_page_lists_therapists_near_a_city_in_a_constant_number_of_queries(
        self, directory, client, django_assert_max_num_queries
    ):
        for i in range(6):
            make_credential(therapist_at(f"Extra{i}", BRISTOL))
        with django_assert_max_num_queries(6):
            response = client.get(reverse("directory_search"), {"near": "Bristol", "verified": "on"})
        assert response.status_code == 200
        assert response.content.count(b'class="card dir-result"') == 6

    def test_the_search_page_names_an_unknown_place(self, directory, client):
        response = client.get(reverse("directory_search"), {"near": "Qwxzq"})
        assert response.status_code == 200 and b"could not find" in response.content

    def test_a_self_check_condition_link_preselects_the_filter(self, directory, client):
        response = client.get(reverse("directory_search"), {"condition": "headaches"})
        assert b'<option value="headaches" selected>' in response.content
        assert directory.profile.display_name.encode() in response.content

    def test_the_profile_has_structured_data_with_the_nonce_and_hands_off_to_booking(self, directory, client):
        make_credential(directory.profile)
        response = client.get(profile_url(directory.profile))
        assert response.status_code == 200
        html = response.content.decode()
        nonce = re.search(r'<script type="application/ld\+json" nonce="([^"]+)">(.*?)</script>', html, re.S)
        assert nonce and nonce.group(1) in response["Content-Security-Policy"]
        data = json.loads(nonce.group(2))
        assert data[0]["@type"] == "Person" and data[0]["worksFor"]["geo"]["latitude"] == 51.4545
        assert data[0]["hasCredential"][0]["credentialCategory"] == "license"
        booking = reverse("book_slots", args=[directory.clinic_a.slug, directory.alice.pk, directory.consult.pk])
        assert f'href="{booking}"' in html and "Book a free consultation" in html
        assert "Licence verified" in html

    def test_a_wrong_slug_redirects_to_the_canonical_address(self, directory, client):
        response = client.get(reverse("directory_profile", args=[directory.profile.pk, "old-name"]))
        assert response.status_code == 301 and response["Location"] == profile_url(directory.profile)

    def test_an_unlisted_profile_is_404_for_visitors_and_charlie_but_a_preview_for_its_clinic(self, directory, client, as_user):
        directory.profile.is_published = False
        directory.profile.save()
        from knotwork.directory.services import refresh_listing

        refresh_listing(directory.profile)
        assert client.get(profile_url(directory.profile)).status_code == 404
        assert as_user(directory.charlie).get(profile_url(directory.profile)).status_code == 404
        preview = as_user(directory.bob).get(profile_url(directory.profile))
        assert preview.status_code == 200 and b'name="robots" content="noindex"' in preview.content

    def test_the_sitemap_lists_listed_profiles_only(self, directory, client):
        hidden = therapist_at("Hidden", BRISTOL, listed=False)
        body = client.get(reverse("directory_sitemap")).content.decode()
        assert profile_url(directory.profile) in body and profile_url(hidden) not in body

    def test_place_suggestions_are_json(self, client, db):
        data = client.get(reverse("directory_places"), {"q": "Bris"}).json()
        assert "Bristol, England, United Kingdom" in [p["label"] for p in data["places"]]

    def test_searching_is_rate_limited(self, directory, client, settings):
        from knotwork.directory.views import public

        for _ in range(public.SEARCHES_PER_MINUTE):
            client.get(reverse("directory_search"))
        assert client.get(reverse("directory_search")).status_code == 429


class NoClientNamesTests:
    def test_no_public_page_or_api_answer_shows_a_clients_name(self, directory, client):
        """Seeded clients with distinctive names review in every way; no surname and no full name may appear
        publicly, and the first name only of a reviewer who chose to show it."""
        named = make_client(directory.clinic_a, first_name="Philippa", last_name="Quenneville")
        hidden = make_client(directory.clinic_a, first_name="Ottoline", last_name="Zabriskie")
        bystander = make_client(directory.clinic_a, first_name="Wilhelmina", last_name="Throgmorton")
        for c, display in ((named, "first_name"), (hidden, "anonymous")):
            user = portal_login(c, f"{c.first_name.lower()}@mail.example")
            visit = completed_appointment(directory.clinic_a, directory.alice, c)
            review_create(appointment=visit, author=user, data={**RATINGS, "text": "Good", "display": display})
        completed_appointment(directory.clinic_a, directory.alice, bystander, days_ago=1)
        pages = [
            client.get(reverse("directory_search"), {"near": "Bristol"}),
            client.get(reverse("directory_search"), {"near": "Bristol", "sort": "rating"}),
            client.get(profile_url(directory.profile)),
            client.get(reverse("directory_sitemap")),
            client.get(reverse("api:directory_therapists"), {"near": "Bristol"}),
            client.get(reverse("api:directory_therapist", args=[directory.profile.pk])),
            client.get(reverse("book_slots", args=[directory.clinic_a.slug, directory.alice.pk, directory.consult.pk])),
        ]
        for response in pages:
            assert response.status_code == 200
            body = response.content.decode()
            for secret in ("Quenneville", "Ottoline", "Zabriskie", "Wilhelmina", "Throgmorton", "Lovelace", "Philippa Qu"):
                assert secret not in body, (response.request["PATH_INFO"], secret)
        assert "Philippa Q." in pages[2].content.decode()


class StaffPageTests:
    def test_a_therapist_edits_their_profile_and_it_waits_for_the_owner(self, world, as_user):
        client = as_user(world.alice)
        assert client.get(reverse("directory_my_profile")).status_code == 200
        assert not TherapistProfile.objects.exists()  # a visit alone creates nothing
        response = client.post(
            reverse("directory_my_profile"),
            {"display_name": "Alice A", "headline": "Jaw pain", "conditions": ["tmj"], "languages": ["en"], "nmt_level": "2",
             "gender": "", "modalities": "NMT, MET", "accepting_new_clients": "on", "is_published": "on"},
        )  # fmt: skip
        assert response.status_code == 302
        profile = TherapistProfile.objects.get(user=world.alice)
        assert profile.conditions == ",tmj," and profile.modalities == ["NMT", "MET"]
        assert profile.is_published and not profile.is_listed
        assert AuditEvent.objects.filter(object_type="directory.therapistprofile", action="update").exists()

    def test_a_bad_profile_form_keeps_what_was_typed(self, world, as_user):
        response = as_user(world.alice).post(
            reverse("directory_my_profile"), {"display_name": "Kept", "bio": "My long bio", "nmt_level": "2", "gender": "self"}
        )
        assert response.status_code == 400
        assert b"My long bio" in response.content and b"Describe it in your own words" in response.content

    def test_front_desk_has_no_directory_profile_page(self, world, as_user):
        assert as_user(world.bob).get(reverse("directory_my_profile")).status_code == 403

    def test_the_owner_approves_and_the_profile_goes_public(self, directory, as_user, client):
        directory.profile.approved_at = None
        directory.profile.save()
        response = as_user(directory.olivia).post(reverse("directory_profile_approve", args=[directory.profile.pk]), {"approve": "1"})
        assert response.status_code == 302
        directory.profile.refresh_from_db()
        assert directory.profile.is_listed and directory.profile.approved_by == directory.olivia

    def test_charlie_and_alice_cannot_approve(self, directory, as_user):
        url = reverse("directory_profile_approve", args=[directory.profile.pk])
        assert as_user(directory.charlie).post(url, {"approve": "0"}).status_code == 403  # no owner role anywhere
        assert as_user(directory.alice).post(url, {"approve": "0"}).status_code == 403
        directory.profile.refresh_from_db()
        assert directory.profile.is_listed

    def test_another_clinics_owner_gets_404(self, directory, as_user):
        from knotwork.lib.testing import make_staff

        owen = make_staff("owen@b.example", directory.clinic_b, "owner")
        assert as_user(owen).post(reverse("directory_profile_approve", args=[directory.profile.pk]), {"approve": "0"}).status_code == 404

    def test_a_photo_is_cleaned_and_served_publicly_for_a_listed_profile(self, directory, as_user, client):
        response = as_user(directory.alice).post(reverse("directory_my_photo"), {"photo": jpeg()})
        assert response.status_code == 302
        directory.profile.refresh_from_db()
        assert directory.profile.photo_name.endswith(".jpg")
        client.logout()
        photo = client.get(reverse("directory_photo", args=[directory.profile.pk, "small"]))
        assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"

    def test_the_owner_sees_credentials_and_held_reviews_in_a_constant_number_of_queries(
        self, directory, as_user, django_assert_max_num_queries
    ):
        make_credential(directory.profile)
        make_credential(directory.profile, Credential.Kind.NMT)
        client = as_user(directory.olivia)
        with django_assert_max_num_queries(20):
            response = client.get(reverse("directory_clinic"))
        assert response.status_code == 200 and b"Licensed Massage Therapist" in response.content
