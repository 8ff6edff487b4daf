"""The demo clinic: believable staff and clients for trying Knotwork. Never real data.

Demo staff keep two-factor sign-in enforced but are usable at once: each has a TOTP
authenticator enrolled, and `knotwork demo-code <email>` prints its current code.
"""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass
from datetime import date

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.mfa.utils import decrypt
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from knotwork.accounts.models import Clinic, Membership, Role, User
from knotwork.clients.models import Client

DEMO_PASSWORD = "knotwork-demo"  # noqa: S105  (printed for every demo install by design)
DEMO_SLUG = "harbour-street"


@dataclass(frozen=True)
class DemoPerson:
    email: str
    full_name: str
    role: str


DEMO_STAFF = (
    DemoPerson("owner@harbour.example", "Maya Lindqvist", Role.OWNER),
    DemoPerson("therapist@harbour.example", "Sam Rivera", Role.THERAPIST),
    DemoPerson("therapist2@harbour.example", "Jonah Okafor", Role.THERAPIST),
    DemoPerson("desk@harbour.example", "Priya Shah", Role.FRONT_DESK),
)
DEMO_CLIENT_LOGIN = "client@harbour.example"
# Platform staff who check therapists' credentials: no clinic, two-factor sign-in like all staff.
DEMO_VERIFIER = DemoPerson("verifier@knotwork.example", "Rowan Ellis", "verifier")

# (first, last, year of birth, sex, alerts): a spread of ages and the histories an NMT clinic sees.
DEMO_CLIENTS = (
    ("Eleanor", "Marsh", 1958, "female", "Takes warfarin: lighter pressure, no sustained ischemic compression."),
    ("Tom", "Hughes", 1987, "male", ""),
    ("Aisha", "Rahman", 1992, "female", "Allergic to lanolin and almond oil."),
    ("David", "Kowalski", 1975, "male", "Type 2 diabetes with reduced feeling in both feet."),
    ("Grace", "O'Neill", 1969, "female", "Osteoporosis (hip DEXA 2023): no deep pressure over ribs or spine."),
    ("Ben", "Carter", 2001, "male", ""),
    ("Lucia", "Fernandes", 1983, "female", "Pregnant, 24 weeks: side-lying only."),
    ("Owen", "Price", 1964, "male", "Right knee replacement 4 months ago: avoid the incision site."),
    ("Hannah", "Schmidt", 1995, "female", ""),
    ("Kwame", "Mensah", 1979, "male", ""),
    ("Sophie", "Turner", 1990, "female", "Migraine with aura; reports neck tension before attacks."),
    ("Ravi", "Iyer", 1972, "male", ""),
    ("Chloe", "Dubois", 1998, "female", ""),
    ("Martin", "Novak", 1955, "male", "Varicose veins, left calf: no work on the calf."),
    ("Isabel", "Moreno", 1985, "female", ""),
    ("Jack", "Whitfield", 2004, "male", "Competitive rower; in season."),
    ("Nadia", "Petrova", 1961, "female", "Breast cancer treated 2019, lymph nodes removed on the right."),
    ("Leo", "Baker", 1989, "male", ""),
    ("Freya", "Lund", 1993, "female", ""),
    ("Samuel", "Adeyemi", 1970, "male", "Desk worker; forward head posture noted by GP."),
)


STREETS = ("Mill Lane", "Park Road", "Quay Street", "Hillside", "Church Walk")


# Apps that add their own demo records (intake answers, drawings, assessments…). Each module has
# `seed_demo(*, clinic, rng)`, idempotent, called inside the demo's transaction.
DEMO_EXTENSIONS: tuple[str, ...] = (
    "knotwork.clients.demo",
    "knotwork.assessment.demo",
    "knotwork.bookings.demo",
    "knotwork.care.demo",
    "knotwork.directory.demo",
    "knotwork.billing.demo",
    "knotwork.outcomes.demo",
    "knotwork.messaging.demo",
    "knotwork.learn.demo",
    "knotwork.video.demo",
)


class RealDataError(RuntimeError):
    """The database holds non-demo clinics: the demo would mix with real records."""


def has_real_data() -> bool:
    return Clinic.objects.filter(is_demo=False).exists()


def _verified_user(email: str, full_name: str) -> tuple[User, bool]:
    user, created = User.objects.get_or_create(email=email, defaults={"full_name": full_name})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user, created


@transaction.atomic
def demo_seed(*, force: bool = False, seed: int = 7) -> dict[str, int]:
    """Create the demo clinic if it is missing; safe to run again. Returns what it created."""
    if has_real_data() and not force:
        raise RealDataError("This database holds real clinics; the demo would mix with them. Use --force to override.")
    created = {"clinics": 0, "staff": 0, "clients": 0}
    clinic, made = Clinic.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={
            "name": "Harbour Street Neuromuscular Clinic",
            "time_zone": "Europe/London",
            "address": "14 Harbour Street",
            "city": "Bristol",
            "postcode": "BS1 4RN",
            "country": "GB",
            "phone": "+44 117 496 0000",
            "latitude": "51.449500",
            "longitude": "-2.597500",
            "is_demo": True,
        },
    )
    created["clinics"] += int(made)
    for person in DEMO_STAFF:
        user, made = _verified_user(person.email, person.full_name)
        created["staff"] += int(made)
        Membership.objects.get_or_create(user=user, clinic=clinic, defaults={"role": person.role})
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, generate_totp_secret())
    rng = random.Random(seed)
    for i, (first, last, year, sex, alerts) in enumerate(DEMO_CLIENTS):
        _, made = Client.objects.get_or_create(
            clinic=clinic,
            first_name=first,
            last_name=last,
            defaults={
                "date_of_birth": date(year, rng.randint(1, 12), rng.randint(1, 28)),
                "sex": sex,
                "email": f"{first.lower()}.{last.lower().replace(chr(39), '')}@mail.example",
                "phone": f"+44 7700 900{i:03d}",
                "address": f"{rng.randint(1, 120)} {rng.choice(STREETS)}, Bristol",
                "emergency_contact_name": rng.choice(["partner", "parent", "sibling", "friend"]).title(),
                "emergency_contact_phone": f"+44 7700 901{i:03d}",
                "clinical_alerts": alerts,
            },
        )
        created["clients"] += int(made)
    verifier, made = _verified_user(DEMO_VERIFIER.email, DEMO_VERIFIER.full_name)
    created["staff"] += int(made)
    if not verifier.is_verifier:
        verifier.is_verifier = True
        verifier.save(update_fields=["is_verifier"])
    if not Authenticator.objects.filter(user=verifier, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(verifier, generate_totp_secret())
    for module in DEMO_EXTENSIONS:
        extend = importlib.import_module(module).seed_demo
        extend(clinic=clinic, rng=random.Random(seed))
    # One client has a portal login, so the client side can be tried too.
    portal, _ = _verified_user(DEMO_CLIENT_LOGIN, "Tom Hughes")
    Client.objects.filter(clinic=clinic, first_name="Tom", last_name="Hughes", portal_user__isnull=True).update(
        portal_user=portal, updated_at=timezone.now()
    )
    return created


def demo_code(email: str) -> str:
    """The current TOTP code of a demo staff account. Refused outside a demo database."""
    if has_real_data():
        raise RealDataError("demo codes are only available on a demo database")
    email = email.strip().lower()
    user = User.objects.filter(
        Q(memberships__clinic__is_demo=True) | Q(email=DEMO_VERIFIER.email, is_verifier=True), email=email
    ).first()
    if user is None:
        raise LookupError(f"{email} is not a demo staff account")
    auth = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    secret = decrypt(auth.data["secret"])
    return format_hotp_value(hotp_value(secret, int(timezone.now().timestamp()) // 30))
