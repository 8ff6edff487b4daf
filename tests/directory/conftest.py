from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from knotwork.accounts.models import Clinic, Role, User
from knotwork.bookings.models import Appointment, AppointmentStatus, Availability, Service
from knotwork.clients.models import Client
from knotwork.directory.models import Credential, CredentialStatus, NmtLevel, TherapistProfile, pack
from knotwork.directory.services import refresh_availability, refresh_listing
from knotwork.lib.testing import make_clinic, make_staff, make_user

BRISTOL = ("51.454500", "-2.587900")
BATH = ("51.380000", "-2.360000")  # about 20 km from Bristol
LONDON = ("51.507400", "-0.127800")  # about 170 km from Bristol

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def place(clinic: Clinic, where: tuple[str, str], **extra: object) -> Clinic:
    clinic.latitude, clinic.longitude = Decimal(where[0]), Decimal(where[1])
    for key, value in extra.items():
        setattr(clinic, key, value)
    clinic.save()
    return clinic


def make_profile(user: User, clinic: Clinic, *, listed: bool = True, **fields: object) -> TherapistProfile:
    defaults: dict[str, object] = {
        "display_name": user.full_name,
        "is_published": listed,
        "approved_at": timezone.now() if listed else None,
    }
    if "conditions" in fields:
        fields["conditions"] = pack(fields["conditions"])  # type: ignore[arg-type]
    if "languages" in fields:
        fields["languages"] = pack(fields["languages"])  # type: ignore[arg-type]
    defaults.update(fields)
    profile = TherapistProfile.objects.create(user=user, clinic=clinic, **defaults)
    return refresh_listing(profile)


def make_credential(
    profile: TherapistProfile, kind: str = Credential.Kind.LICENCE, *, verified: bool = True, **fields: object
) -> Credential:
    defaults: dict[str, object] = {
        "title": "Licensed Massage Therapist" if kind == Credential.Kind.LICENCE else "Certified Neuromuscular Therapist",
        "issuer": "Board of Massage",
        "number": "LMT-1",
        "document_name": "directory/credentials/x.pdf",
        "document_type": "application/pdf",
        "status": CredentialStatus.VERIFIED if verified else CredentialStatus.PENDING,
    }
    if kind == Credential.Kind.LICENCE:
        defaults["expires_on"] = timezone.localdate() + timedelta(days=365)
    if kind == Credential.Kind.NMT:
        defaults["nmt_level"] = NmtLevel.LEVEL_2
    defaults.update(fields)
    credential = Credential.objects.create(profile=profile, kind=kind, **defaults)
    refresh_listing(profile)
    return credential


def therapist_at(name: str, where: tuple[str, str], **profile_fields: object) -> TherapistProfile:
    clinic = place(make_clinic(f"{name} clinic"), where, city="Somewhere", postcode="BS1 4RN")
    user = make_staff(f"{name.lower()}@{clinic.slug}.example", clinic, Role.THERAPIST)
    user.full_name = name
    user.save()
    return make_profile(user, clinic, **profile_fields)


def completed_appointment(
    clinic: Clinic, therapist: User, client: Client, *, days_ago: int = 3, status: str = AppointmentStatus.COMPLETED
) -> Appointment:
    start = timezone.now() - timedelta(days=days_ago, hours=2)
    service = Service.objects.filter(clinic=clinic).first() or Service.objects.create(
        clinic=clinic, name="NMT session", duration_minutes=60, price=Decimal("65.00")
    )
    return Appointment.objects.create(
        clinic=clinic,
        therapist=therapist,
        client=client,
        service=service,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        block_start=start,
        block_end=start + timedelta(hours=1),
        status=status,
    )


def portal_login(client: Client, email: str) -> User:
    user = make_user(email, mfa=False, full_name=f"{client.first_name} {client.last_name}")
    client.portal_user = user
    client.save()
    return user


@pytest.fixture
def directory(world):
    """Alice listed at clinic A in Bristol with a free consultation, a paid session and weekday hours;
    Ada (client A) has a portal login and a completed appointment with her three days ago."""
    place(world.clinic_a, BRISTOL, city="Bristol", postcode="BS1 4RN", address="14 Harbour Street", country="GB")
    place(world.clinic_b, LONDON, city="London", postcode="EC1A 1BB", country="GB")
    for weekday in range(7):
        Availability.objects.create(clinic=world.clinic_a, therapist=world.alice, weekday=weekday, start_time=time(8), end_time=time(20))
    world.consult = Service.objects.create(
        clinic=world.clinic_a, name="Free consultation", kind=Service.Kind.CONSULTATION, duration_minutes=15, price=Decimal("0")
    )
    world.session = Service.objects.create(clinic=world.clinic_a, name="NMT session", duration_minutes=60, price=Decimal("65.00"))
    world.profile = make_profile(
        world.alice,
        world.clinic_a,
        conditions=["headaches", "neck-pain"],
        languages=["en", "pl"],
        nmt_level=NmtLevel.LEVEL_2,
        gender="woman",
    )
    refresh_availability(world.profile)
    world.ada = portal_login(world.client_a, "ada@mail.example")
    world.visit = completed_appointment(world.clinic_a, world.alice, world.client_a)
    world.charlie_profile = make_profile(world.charlie, world.clinic_b)
    return world


def on(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())
