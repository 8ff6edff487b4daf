from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from knotwork.accounts.models import Membership
from knotwork.bookings.models import Service
from knotwork.directory.models import Credential, TherapistProfile
from knotwork.directory.places import PlaceNotFound, bounding_box, close_to, find_city, haversine_km, parse_lat_lon, suggest
from knotwork.directory.search import SearchError, SearchParams, resolve_near, search
from knotwork.directory.services import bayesian
from tests.directory.conftest import BATH, BRISTOL, LONDON, make_credential, therapist_at

pytestmark = pytest.mark.django_db


def names(result) -> list[str]:
    return [h.profile.display_name for h in result.hits]


class PlacesTests:
    def test_a_city_name_finds_the_most_populous_city_of_that_name(self):
        place = find_city("Bristol")
        assert place.country_code == "GB"
        assert abs(place.latitude - 51.45) < 0.05

    def test_a_qualifier_picks_the_right_city_of_several(self):
        assert find_city("Bristol, TN, United States").country_code == "US"
        assert find_city("bristol, us").country_code == "US"

    def test_accents_and_case_do_not_matter(self):
        assert find_city("malmo").name == "Malmö"

    def test_suggestions_start_with_what_was_typed_biggest_first(self):
        found = suggest("Brist")
        assert found[0].label == "Bristol, England, United Kingdom"
        assert all(p.name.lower().startswith("brist") for p in found)
        assert suggest("b") == []

    def test_latitude_and_longitude_are_read_and_checked(self):
        assert parse_lat_lon("51.45, -2.59") == (51.45, -2.59)
        assert parse_lat_lon("91,0") is None
        assert parse_lat_lon("Bristol") is None

    def test_the_distance_between_bristol_and_london_is_about_170_km(self):
        assert 165 < haversine_km(51.4545, -2.5879, 51.5074, -0.1278) < 175

    def test_a_box_that_crosses_the_date_line_is_split_in_two(self):
        box = bounding_box(0.0, 179.9, 50)
        assert len(box.lon_ranges) == 2
        assert box.lon_ranges[1][0] == -180.0

    def test_a_box_that_reaches_a_pole_covers_every_longitude(self):
        assert bounding_box(89.9, 10.0, 50).lon_ranges == ((-180.0, 180.0),)


class SearchTests:
    def test_a_radius_search_finds_the_near_and_leaves_out_the_far(self, world):
        therapist_at("Near", BRISTOL)
        therapist_at("Bath", BATH)
        therapist_at("Far", LONDON)
        result = search(SearchParams(near="Bristol", radius_km=25))
        assert names(result) == ["Near", "Bath"]
        assert result.hits[0].distance_km < result.hits[1].distance_km
        assert result.origin.label.startswith("Bristol")

    def test_the_browser_location_is_accepted_as_lat_lon(self, world):
        therapist_at("Near", BRISTOL)
        assert names(search(SearchParams(near="51.45,-2.59", radius_km=5))) == ["Near"]

    def test_a_postcode_a_listed_clinic_uses_is_a_place(self, world):
        profile = therapist_at("Near", BRISTOL)
        profile.clinic.postcode = "BS1 4RN"
        profile.clinic.save()
        result = search(SearchParams(near="bs14rn", radius_km=5))
        assert result.origin.kind == "postcode"
        assert names(result) == ["Near"]

    def test_an_unknown_place_is_a_clear_error(self, world):
        with pytest.raises(SearchError) as exc:
            search(SearchParams(near="Xyzzyville"))
        assert exc.value.field == "near"

    def test_only_published_approved_profiles_of_current_staff_are_found(self, world):
        therapist_at("Listed", BRISTOL)
        therapist_at("Unpublished", BRISTOL, listed=False)
        unapproved = therapist_at("Unapproved", BRISTOL)
        unapproved.approved_at = None
        unapproved.save()
        from knotwork.directory.services import refresh_listing

        refresh_listing(unapproved)
        left = therapist_at("Left", BRISTOL)
        Membership.objects.filter(user=left.user).update(is_active=False)
        assert names(search(SearchParams(near="Bristol"))) == ["Listed"]

    def test_verified_means_a_verified_licence_that_has_not_expired(self, world):
        good = therapist_at("Good", BRISTOL)
        make_credential(good)
        pending = therapist_at("Pending", BRISTOL)
        make_credential(pending, verified=False)
        expired = therapist_at("Expired", BRISTOL)
        make_credential(expired, expires_on=timezone.localdate())  # expires today: no longer valid
        assert names(search(SearchParams(near="Bristol", verified=True))) == ["Good"]

    def test_nmt_certified_needs_a_verified_nmt_certification(self, world):
        nmt = therapist_at("Certified", BRISTOL, nmt_level=3)
        make_credential(nmt, Credential.Kind.NMT)
        therapist_at("Claims", BRISTOL, nmt_level=3)  # stated on the profile, never verified
        assert names(search(SearchParams(near="Bristol", nmt_certified=True))) == ["Certified"]

    def test_condition_language_and_gender_filter(self, world):
        therapist_at("Heads", BRISTOL, conditions=["headaches", "tmj"], languages=["en", "pl"], gender="woman")
        therapist_at("Backs", BRISTOL, conditions=["low-back-pain"], languages=["en"], gender="man")
        assert names(search(SearchParams(near="Bristol", condition="tmj"))) == ["Heads"]
        assert names(search(SearchParams(near="Bristol", language="pl"))) == ["Heads"]
        assert names(search(SearchParams(near="Bristol", gender="man"))) == ["Backs"]
        with pytest.raises(SearchError):
            search(SearchParams(condition="gout"))

    def test_free_consultation_and_price_range_read_the_bookings_services(self, world):
        free = therapist_at("Free", BRISTOL)
        Service.objects.create(clinic=free.clinic, name="Consult", kind=Service.Kind.CONSULTATION, duration_minutes=15, price=0)
        Service.objects.create(clinic=free.clinic, name="Session", duration_minutes=60, price=Decimal("50"))
        paid = therapist_at("Paid", BRISTOL)
        Service.objects.create(clinic=paid.clinic, name="Session", duration_minutes=60, price=Decimal("90"))
        Service.objects.create(
            clinic=paid.clinic, name="Staff consult", kind=Service.Kind.CONSULTATION, duration_minutes=15, price=0,
            online_booking=Service.OnlineBooking.STAFF,
        )  # fmt: skip
        assert names(search(SearchParams(near="Bristol", free_consultation=True))) == ["Free"]
        assert names(search(SearchParams(near="Bristol", price_max=Decimal("60")))) == ["Free"]
        assert names(search(SearchParams(near="Bristol", price_min=Decimal("60")))) == ["Paid"]

    def test_available_within_reads_the_next_free_time(self, world):
        soon = therapist_at("Soon", BRISTOL)
        later = therapist_at("Later", BRISTOL)
        now = timezone.now()
        TherapistProfile.objects.filter(pk=soon.pk).update(next_free_at=now + timedelta(days=1))
        TherapistProfile.objects.filter(pk=later.pk).update(next_free_at=now + timedelta(days=10))
        assert names(search(SearchParams(near="Bristol", available_within_days=3), now=now)) == ["Soon"]
        assert names(search(SearchParams(near="Bristol", sort="availability"), now=now)) == ["Soon", "Later"]

    def test_page_size_is_capped(self, world):
        for i in range(3):
            therapist_at(f"T{i}", BRISTOL)
        result = search(SearchParams(near="Bristol", page_size=10_000, page=2))
        assert result.page_size == 50
        assert result.count == 3 and result.hits == []


class BayesianTests:
    def test_one_five_star_review_does_not_beat_forty_averaging_four_point_eight(self):
        assert bayesian(5, 1) < bayesian(192, 40)

    def test_no_reviews_scores_the_prior(self):
        assert bayesian(0, 0) == 4.0

    def test_the_rating_sort_uses_the_weighted_score(self, world):
        one = therapist_at("OneFive", BRISTOL)
        many = therapist_at("FortyFourEight", BRISTOL)
        TherapistProfile.objects.filter(pk=one.pk).update(review_count=1, rating_sum=5, rating_score=bayesian(5, 1))
        TherapistProfile.objects.filter(pk=many.pk).update(review_count=40, rating_sum=192, rating_score=bayesian(192, 40))
        assert names(search(SearchParams(near="Bristol", sort="rating"))) == ["FortyFourEight", "OneFive"]


class MisspeltPlacesAndPostcodesTests:
    def test_a_misspelt_city_is_answered_with_the_city_it_nearly_names(self):
        with pytest.raises(PlaceNotFound) as caught:
            find_city("Bristl")
        assert "Did you mean Bristol, England, United Kingdom" in str(caught.value)
        assert close_to("Manchestr")[0].name == "Manchester"
        assert close_to("zz") == [] and close_to("Qwxyzv") == []

    def test_a_postcode_no_clinic_uses_is_placed_by_its_district(self):
        therapist_at("Avery", BRISTOL)  # a listed clinic at BS1 4RN
        origin = resolve_near("bs1 9zz")
        assert origin is not None and origin.label == "BS1 (postcode district)"
        assert abs(origin.latitude - 51.4545) < 0.001

    def test_an_unknown_postcode_says_to_type_the_town(self):
        with pytest.raises(SearchError) as caught:
            resolve_near("SW1A 1AA")
        assert "Type the town or city instead" in str(caught.value)
