"""Demo directory: both demo therapists published with verified credentials (one licence expiring
soon, so the reminder and the badge's end can be seen), and reviews from demo clients with
completed appointments. Runs after the bookings demo, which creates those appointments."""

from __future__ import annotations

import random
from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from knotwork.accounts.models import Clinic, Role, User
from knotwork.bookings.models import Appointment, AppointmentStatus
from knotwork.directory.models import Credential, CredentialStatus, NmtLevel, Review, ReviewStatus, TherapistProfile, pack
from knotwork.directory.services import refresh_availability, refresh_listing
from knotwork.lib.uploads import random_name

PROFILES = {
    "therapist@harbour.example": {
        "headline": "Neuromuscular therapy for headaches, jaw and neck pain",
        "bio": (
            "I work with people whose headaches, jaw pain or stiff necks keep coming back. A first visit starts with "
            "where it hurts and what makes it worse, then a gentle, thorough examination of the muscles that commonly "
            "refer pain there. Pressure is always agreed with you and you can stop at any time.\n\n"
            "Between visits you get two or three simple things to do at home, never a long list."
        ),
        "conditions": ["headaches", "neck-pain", "tmj", "stress"],
        "modalities": ["NMT (American version)", "Muscle energy technique", "Positional release"],
        "languages": ["en", "es"],
        "nmt_level": NmtLevel.LEVEL_3,
        "gender": "man",
    },
    "therapist2@harbour.example": {
        "headline": "Back pain, sciatica-like pain and sports recovery",
        "bio": (
            "Rowers, runners and desk workers make up most of my clients. I look at how you move and sit, find the "
            "trigger points that reproduce your familiar pain, and treat them with sustained pressure and stretching.\n\n"
            "If anything in your history needs a doctor first, I will say so and help you find one."
        ),
        "conditions": ["low-back-pain", "sciatica-like-pain", "sports", "posture"],
        "modalities": ["NMT", "Myofascial release", "Active release"],
        "languages": ["en", "yo"],
        "nmt_level": NmtLevel.LEVEL_2,
        "gender": "man",
    },
}

REVIEW_TEXTS = (
    "Listened properly and explained what was going on with my neck. The pressure was always what I agreed to.",
    "My headaches are far less frequent after three sessions. Clear advice on what to do at home.",
    "Friendly, calm and very thorough. Checked in about the pressure all the way through.",
    "Really helped with my lower back before the regatta. Good, simple stretches to keep it going.",
    "",
    "Honest about what to expect. Sore the next day as promised, much better the day after.",
)

# A one-page PDF with no scripts, forms or embedded files: what a scanned certificate looks like.
DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _document() -> str:
    return default_storage.save(random_name("directory/credentials", "pdf"), ContentFile(DEMO_PDF))


def _credentials(profile: TherapistProfile, index: int) -> None:
    if profile.credentials.exists():
        return
    today = timezone.localdate()
    # The first therapist's licence runs out in 40 days: inside the 60-day reminder window.
    licence_expiry = today + timedelta(days=40 if index == 0 else 400)
    rows = [
        {
            "kind": Credential.Kind.LICENCE,
            "title": "Registered Massage Therapist",
            "jurisdiction": "England",
            "issuer": "Complementary and Natural Healthcare Council (demo record)",
            "number": f"CNHC-{48210 + index}",
            "expires_on": licence_expiry,
            "issued_on": licence_expiry - timedelta(days=365 * 3),
        },
        {
            "kind": Credential.Kind.NMT,
            "title": "Certified Neuromuscular Therapist",
            "issuer": "NMT Center (demo record)",
            "number": f"NMT-{3100 + index}",
            "nmt_level": profile.nmt_level,
            "issued_on": today - timedelta(days=700),
        },
    ]
    for row in rows:
        Credential.objects.create(
            profile=profile,
            document_name=_document(),
            document_type="application/pdf",
            document_label="certificate.pdf",
            status=CredentialStatus.VERIFIED,
            reviewed_by=None,  # the demo has no verifier account; treat these as checked at import
            reviewed_at=timezone.now() - timedelta(days=20),
            submitted_at=timezone.now() - timedelta(days=21),
            **row,
        )
    Credential.objects.create(
        profile=profile,
        kind=Credential.Kind.OTHER,
        title="Kinesiology taping",
        issuer="Taping Academy",
        document_name=_document(),
        document_type="application/pdf",
        document_label="taping.pdf",
        status=CredentialStatus.PENDING,
    )


def _reviews(profile: TherapistProfile, rng: random.Random) -> None:
    if profile.reviews.exists():
        return
    now = timezone.now()
    done = (
        Appointment.objects.filter(
            therapist=profile.user,
            clinic=profile.clinic,
            status=AppointmentStatus.COMPLETED,
            ends_at__lte=now,
            ends_at__gte=now - Review.REVIEW_WINDOW,
            client__isnull=False,
        )
        .select_related("client")
        .order_by("starts_at")
    )
    for i, appointment in enumerate(list(done)[:4]):
        client = appointment.client
        assert client is not None  # filtered above
        overall = rng.choice([5, 5, 4, 5])
        Review.objects.create(
            appointment=appointment,
            profile=profile,
            client=client,
            author=client.portal_user,
            overall=overall,
            communication=rng.choice([5, 4, 5]),
            pressure_respected=5,
            results=max(3, overall - rng.choice([0, 0, 1])),
            text=REVIEW_TEXTS[(i + len(profile.display_name)) % len(REVIEW_TEXTS)],
            display=Review.Display.ANONYMOUS if i % 3 == 2 else Review.Display.FIRST_NAME,
            display_name=f"{client.first_name} {client.last_name[:1]}.",
            status=ReviewStatus.PUBLISHED,
            created_at=appointment.ends_at + timedelta(days=1),
        )
    first = profile.reviews.order_by("created_at").first()
    if first is not None and not first.reply:
        first.reply = "Thank you for coming in, and for doing the home exercises. See you at the next check-in."
        first.replied_at, first.replied_by = first.created_at + timedelta(days=1), profile.user
        first.save(update_fields=["reply", "replied_at", "replied_by"])


@transaction.atomic
def seed_demo(*, clinic: Clinic, rng: random.Random) -> None:
    owner = User.objects.filter(memberships__clinic=clinic, memberships__role=Role.OWNER).first()
    for index, (email, data) in enumerate(PROFILES.items()):
        user = User.objects.filter(email=email, memberships__clinic=clinic).first()
        if user is None:
            continue
        profile, created = TherapistProfile.objects.get_or_create(
            user=user,
            clinic=clinic,
            defaults={
                "display_name": user.full_name or user.display_name,
                "headline": data["headline"],
                "bio": data["bio"],
                "conditions": pack(data["conditions"]),  # type: ignore[arg-type]
                "modalities": data["modalities"],
                "languages": pack(data["languages"]),  # type: ignore[arg-type]
                "nmt_level": data["nmt_level"],
                "gender": data["gender"],
                "is_published": True,
                "approved_at": timezone.now(),
                "approved_by": owner,
            },
        )
        profile.clinic = clinic
        _credentials(profile, index)
        _reviews(profile, rng)
        refresh_listing(profile)
        refresh_availability(profile)
