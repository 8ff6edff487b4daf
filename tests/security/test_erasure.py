"""Figure 9 (erasure): after an erasure request, a walk over every model related to the client
finds none of the client's identifiers outside the documented retained set, and the retained
clinical records are restricted (no normal view shows them). Export completeness is tested by
the interop app."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models
from django.urls import reverse

from knotwork.clients.models import Client

# Kept on purpose (see knotwork/clients/erasure.py): proof of consent names the person who signed.
RETAINED = {("clients.ConsentSignature", "typed_name")}


def _related_rows(client: Client):
    """Every row that points at the client directly or through one intermediate row."""
    direct = []
    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            if f.is_relation and f.related_model is Client:
                direct.append((model, f.name))
    seen = []
    for model, name in direct:
        rows = list(model._base_manager.filter(**{name: client}))
        seen += rows
        for child in apps.get_models():
            for f in child._meta.concrete_fields:
                if f.is_relation and f.related_model is model and child is not model:
                    seen += list(child._base_manager.filter(**{f"{f.name}__in": rows}))
    return seen


def _texts(row):
    for f in row._meta.concrete_fields:
        if isinstance(f, models.CharField | models.TextField | models.JSONField | models.EmailField):
            yield f.name, str(getattr(row, f.name))


@pytest.fixture
def victim(seeded, db):
    """A demo client with a full history, given distinctive identifiers everywhere."""
    from knotwork.care.models import Visit

    client = (
        Client.objects.filter(clinic=seeded.clinic_a, pk__in=Visit.objects.values("client_id"), assessments__isnull=False)
        .order_by("pk")
        .first()
    )
    Client.objects.filter(pk=client.pk).update(
        first_name="Zebedee", last_name="Quarrington", email="zq@mail.example", phone="+44 7700 900123", address="1 Canary Wharf"
    )
    from knotwork.clients.models import IntakeSubmission

    for intake in IntakeSubmission.objects.filter(client=client):
        intake.answers = {
            **intake.answers,
            "phone": {"q": "Phone", "a": "+44 7700 900123"},
            "address": {"q": "Address", "a": "1 Canary Wharf"},
        }
        intake.save()
    from knotwork.messaging.models import Message, Thread

    thread = Thread.objects.create(clinic=seeded.clinic_a, client=client, subject="Zebedee's question", last_message_at=client.created_at)
    Message.objects.create(thread=thread, from_client=True, body="It's Zebedee Quarrington, call me on +44 7700 900123")
    from knotwork.directory.models import Review, ReviewStatus, TherapistProfile
    from tests.directory.conftest import completed_appointment

    profile = TherapistProfile.objects.filter(clinic=seeded.clinic_a).select_related("user").first()
    Review.objects.create(
        appointment=completed_appointment(seeded.clinic_a, profile.user, client, days_ago=200),
        profile=profile,
        client=client,
        overall=4,
        communication=5,
        pressure_respected=5,
        results=4,
        text="As Zebedee from Canary Wharf I can recommend her.",
        display_name="Zebedee Q.",
        status=ReviewStatus.PUBLISHED,
        reply="Thank you, Zebedee!",
        replied_at=client.created_at,
    )
    client.refresh_from_db()
    return client


class ErasureTests:
    IDENTIFIERS = ("Zebedee", "Quarrington", "zq@mail.example", "900123", "Canary Wharf")

    def test_erasure_removes_every_identifier_outside_the_retained_records(self, seeded, victim, client):
        before = len(_related_rows(victim))
        client.force_login(seeded.owner_a)
        response = client.post(f"/clients/{victim.pk}/erase/")
        assert response.status_code == 302
        victim.refresh_from_db()
        assert victim.restricted_at is not None and victim.portal_user_id is None
        leaks = []
        rows = [victim, *_related_rows(victim)]
        for row in rows:
            for name, text in _texts(row):
                if (row._meta.label, name) in RETAINED:
                    continue
                leaks += [f"{row._meta.label}.{name}" for ident in self.IDENTIFIERS if ident in text]
        assert leaks == []
        assert len(rows) > 10 and len(rows) >= before - 5  # the clinical record is still there (only threads went)

    def test_retained_records_are_restricted_from_every_normal_view(self, seeded, victim, client):
        from knotwork.care.models import Visit

        visit = Visit.objects.filter(client=victim).first()
        client.force_login(seeded.owner_a)
        client.post(f"/clients/{victim.pk}/erase/")
        assert client.get(f"/clients/{victim.pk}/").status_code == 404
        assert client.get(f"/clients/{victim.pk}/visits/").status_code == 404
        assert client.get(f"/api/clients/{victim.pk}").status_code == 404
        assert "Erased" not in client.get("/clients/").content.decode()
        assert Visit.objects.filter(pk=visit.pk).exists()

    def test_records_opened_by_their_own_id_are_restricted_too(self, seeded, victim, client):
        from knotwork.assessment.models import Assessment
        from knotwork.care.models import Visit

        visit = Visit.objects.filter(client=victim).first()
        assessment = Assessment.objects.filter(client=victim).first()
        urls = [
            reverse("visit_detail", args=[visit.pk]),
            reverse("episode_detail", args=[victim.pk, visit.episode_id]),
            reverse("assessment_detail", args=[assessment.pk]),
            f"/api/visits/{visit.pk}",
        ]
        client.force_login(seeded.owner_a)
        assert [client.get(url).status_code for url in urls] == [200] * len(urls)  # reachable before the erasure
        client.post(f"/clients/{victim.pk}/erase/")
        assert [client.get(url).status_code for url in urls] == [404] * len(urls)

    def test_the_clients_reviews_keep_their_stars_but_lose_their_words_and_name(self, seeded, victim, client):
        from knotwork.directory.models import Review

        review = Review.objects.get(client=victim, display_name="Zebedee Q.")
        client.force_login(seeded.owner_a)
        client.post(f"/clients/{victim.pk}/erase/")
        review.refresh_from_db()
        assert (review.overall, review.text, review.reply, review.display_name, review.public_name) == (4, "", "", "", "Anonymous client")
        page = client.get(reverse("directory_profile", args=[review.profile.pk, review.profile.slug])).content.decode()
        assert "Zebedee" not in page
        from knotwork.directory.reviews import DirectoryError, review_reply

        therapist = review.profile.user
        with pytest.raises(DirectoryError, match="already replied"):  # the erased reply is not an opening for a new one
            review_reply(review=review, actor=therapist, membership=therapist.memberships.get(clinic=seeded.clinic_a), text="Hello again")

    def test_only_an_owner_may_erase_and_another_clinic_gets_404(self, seeded, victim, client):
        for user, status in ((seeded.therapist_a, 403), (seeded.front_desk_a, 403), (seeded.charlie, 403), (seeded.owner_b, 404)):
            client.force_login(user)
            assert client.post(f"/clients/{victim.pk}/erase/").status_code == status, user.email
        victim.refresh_from_db()
        assert victim.restricted_at is None and victim.first_name == "Zebedee"
        client.force_login(seeded.owner_a)
        assert client.get(f"/clients/{victim.pk}/erase/").status_code == 405
