from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from knotwork.audit.models import AuditEvent
from knotwork.bookings.models import AppointmentStatus
from knotwork.directory.models import Review, ReviewReport, ReviewStatus
from knotwork.directory.moderation import screen
from knotwork.directory.reviews import review_create, review_edit, review_moderate, review_reply, review_report, reviewable_appointments
from knotwork.directory.services import DirectoryError
from knotwork.lib.testing import make_client, make_user
from tests.directory.conftest import completed_appointment, portal_login

pytestmark = pytest.mark.django_db

RATINGS = {"overall": 5, "communication": 4, "pressure_respected": 5, "results": 4}


def write(world, appointment=None, author=None, **data):
    return review_create(appointment=appointment or world.visit, author=author or world.ada, data={**RATINGS, **data})


class EligibilityTests:
    def test_the_client_of_a_completed_appointment_may_review_it(self, directory):
        assert list(reviewable_appointments(directory.ada)) == [directory.visit]
        review = write(directory, text="Calm and careful.")
        assert review.status == ReviewStatus.PUBLISHED
        assert review.display_name == "Ada L."
        directory.profile.refresh_from_db()
        assert directory.profile.review_count == 1 and directory.profile.rating_sum == 5

    @pytest.mark.parametrize("status", [AppointmentStatus.CONFIRMED, AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED])
    def test_an_appointment_that_was_not_completed_cannot_be_reviewed(self, directory, status):
        appointment = completed_appointment(directory.clinic_a, directory.alice, directory.client_a, days_ago=5, status=status)
        with pytest.raises(DirectoryError, match="completed"):
            write(directory, appointment=appointment)

    def test_only_once_per_appointment(self, directory):
        write(directory)
        with pytest.raises(DirectoryError, match="already") as exc:
            write(directory)
        assert exc.value.status == 409
        assert list(reviewable_appointments(directory.ada)) == []

    def test_not_after_90_days(self, directory):
        old = completed_appointment(directory.clinic_a, directory.alice, directory.client_a, days_ago=91)
        with pytest.raises(DirectoryError, match="90 days"):
            write(directory, appointment=old)

    def test_nobody_else_may_review_someone_elses_appointment(self, directory):
        stranger = make_user("mallory@mail.example", mfa=False)
        with pytest.raises(DirectoryError, match="Only the client"):
            write(directory, author=stranger)
        with pytest.raises(DirectoryError):
            write(directory, author=directory.alice)


class ModerationTests:
    def test_the_filter_flags_contact_details_and_strong_language(self):
        assert screen("Call me on 07700 900123 or mail me@x.com, shit") == ["profanity", "email", "phone"]
        assert screen("Scunthorpe was worth the drive; 3 visits, 60 minutes each on 12.03.2025") == []

    def test_flagged_text_waits_and_does_not_count_until_published(self, directory):
        review = write(directory, text="Ring me on 07700 900123")
        assert review.status == ReviewStatus.PENDING and review.flags == ["phone"]
        directory.profile.refresh_from_db()
        assert directory.profile.review_count == 0
        review_moderate(review=review, actor=directory.olivia, decision="publish", note="", platform=False, role="owner")
        directory.profile.refresh_from_db()
        assert directory.profile.review_count == 1

    def test_a_clinic_cannot_remove_a_review_only_platform_staff_can(self, directory):
        review = write(directory, overall=1, text="Too rough, ignored me.")
        with pytest.raises(DirectoryError) as exc:
            review_moderate(review=review, actor=directory.olivia, decision="remove", note="bad for business", platform=False, role="owner")
        assert exc.value.status == 403
        review.refresh_from_db()
        assert review.status == ReviewStatus.PUBLISHED
        staff = make_user("mod@platform.example")
        review_moderate(review=review, actor=staff, decision="remove", note="abusive", platform=True, role="verifier")
        review.refresh_from_db()
        assert review.status == ReviewStatus.REMOVED

    def test_the_owners_moderation_page_refuses_removal_and_charlie_gets_404(self, directory, as_user):
        review = write(directory, overall=1)
        response = as_user(directory.olivia).post(
            reverse("directory_review_moderate", args=[review.pk]), {"decision": "remove", "note": "x"}
        )
        assert response.status_code == 302
        review.refresh_from_db()
        assert review.status == ReviewStatus.PUBLISHED
        assert (
            as_user(directory.charlie).post(reverse("directory_review_moderate", args=[review.pk]), {"decision": "publish"}).status_code
            == 404
        )
        assert (
            as_user(directory.alice).post(reverse("directory_review_moderate", args=[review.pk]), {"decision": "publish"}).status_code
            == 403
        )

    def test_a_therapist_reports_a_review_once_and_it_stays_visible(self, directory):
        review = write(directory, overall=1)
        review_report(review=review, reporter=directory.alice, reason="abusive", note="")
        with pytest.raises(DirectoryError):
            review_report(review=review, reporter=directory.alice, reason="abusive", note="")
        review.refresh_from_db()
        assert review.status == ReviewStatus.PUBLISHED
        assert ReviewReport.objects.filter(review=review, resolved_at__isnull=True).count() == 1


class ReplyAndEditTests:
    def test_the_therapist_replies_once(self, directory):
        review = write(directory)
        review_reply(review=review, actor=directory.alice, membership=directory.alice.memberships.get(), text="Thank you!")
        with pytest.raises(DirectoryError) as exc:
            review_reply(review=review, actor=directory.alice, membership=directory.alice.memberships.get(), text="Again")
        assert exc.value.status == 409

    def test_a_reply_with_contact_details_is_refused(self, directory):
        review = write(directory)
        with pytest.raises(DirectoryError, match="phone"):
            review_reply(review=review, actor=directory.alice, membership=directory.alice.memberships.get(), text="Call me 07700 900123")

    def test_only_the_reviewed_therapist_replies(self, directory):
        review = write(directory)
        with pytest.raises(DirectoryError):
            review_reply(review=review, actor=directory.olivia, membership=directory.olivia.memberships.get(), text="Thanks")

    def test_the_reply_page_keeps_a_refused_reply_and_charlie_gets_404(self, directory, as_user):
        review = write(directory)
        client = as_user(directory.alice)
        client.post(reverse("directory_review_reply", args=[review.pk]), {"reply": "Email me at a@b.example"})
        page = client.get(reverse("directory_profile", args=[directory.profile.pk, directory.profile.slug]))
        assert b"Email me at a@b.example" in page.content
        assert as_user(directory.charlie).post(reverse("directory_review_reply", args=[review.pk]), {"reply": "Hi"}).status_code == 404
        review.refresh_from_db()
        assert review.reply == ""

    def test_the_author_edits_within_7_days_but_not_after(self, directory):
        review = write(directory)
        review_edit(review=review, author=directory.ada, data={**RATINGS, "overall": 3, "text": "Changed my mind a bit."})
        assert review.overall == 3 and review.edited_at is not None
        with pytest.raises(DirectoryError, match="7 days"):
            review_edit(review=review, author=directory.ada, data=RATINGS, now=timezone.now() + timedelta(days=8))


class ReviewPageTests:
    def test_a_client_writes_a_review_from_the_page_anonymously(self, directory, as_user):
        client = as_user(directory.ada)
        assert client.get(reverse("directory_my_reviews")).status_code == 200
        response = client.post(
            reverse("directory_review_new", args=[directory.visit.pk]), {**RATINGS, "text": "Very good", "display": "anonymous"}
        )
        assert response.status_code == 302
        review = Review.objects.get()
        assert review.public_name == "Anonymous client"
        assert AuditEvent.objects.filter(object_type="directory.review", action="create").exists()

    def test_a_bad_rating_keeps_what_was_typed(self, directory, as_user):
        response = as_user(directory.ada).post(
            reverse("directory_review_new", args=[directory.visit.pk]),
            {**RATINGS, "overall": 9, "text": "Kept text", "display": "anonymous"},
        )
        assert response.status_code == 400 and b"Kept text" in response.content
        assert not Review.objects.exists()

    def test_someone_elses_appointment_is_404(self, directory, as_user):
        other = make_client(directory.clinic_b)
        bea = portal_login(other, "bea@mail.example")
        assert as_user(bea).get(reverse("directory_review_new", args=[directory.visit.pk])).status_code == 404
        assert as_user(directory.charlie).get(reverse("directory_review_new", args=[directory.visit.pk])).status_code == 404
        review = write(directory)
        assert as_user(directory.charlie).get(reverse("directory_review_edit", args=[review.pk])).status_code == 404


class QueueTests:
    def test_only_reviews_with_open_reports_are_listed_as_reported(self, directory, as_user):
        from knotwork.directory.selectors import reported_reviews

        quiet = write(directory, text="Quiet review")
        other = completed_appointment(directory.clinic_a, directory.alice, directory.client_a, days_ago=10)
        loud = write(directory, appointment=other, overall=1, text="Reported review")
        review_report(review=loud, reporter=directory.alice, reason="abusive", note="")
        assert list(reported_reviews()) == [loud]
        page = as_user(directory.olivia).get(reverse("directory_clinic"))
        assert b"Reported review" in page.content and b"Quiet review" not in page.content
        assert quiet.status == ReviewStatus.PUBLISHED
