"""Personas and factories for the test suite (and for anyone scripting a scenario).

alice: therapist at clinic A; bob: front desk at clinic A; olivia: owner of clinic A;
charlie: therapist at clinic B. Every view and endpoint test includes charlie.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.utils import timezone

from knotwork.accounts.models import Clinic, Membership, Role, User
from knotwork.clients.models import Client

PASSWORD = "correct-horse-battery-staple"  # noqa: S105  (test personas only)
_seq = itertools.count(1)


def make_clinic(name: str = "", **extra: object) -> Clinic:
    n = next(_seq)
    return Clinic.objects.create(name=name or f"Clinic {n}", slug=f"clinic-{n}", time_zone="Europe/London", **extra)


def make_user(email: str, *, mfa: bool = True, full_name: str = "") -> User:
    user = User.objects.create_user(email=email, password=PASSWORD, full_name=full_name or email.split("@")[0].title())
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    if mfa:
        secret = generate_totp_secret()
        TOTP.activate(user, secret)
        user.totp_secret = secret  # type: ignore[attr-defined]
    return user


def totp_now(user: User) -> str:
    return format_hotp_value(hotp_value(user.totp_secret, int(timezone.now().timestamp()) // 30))  # type: ignore[attr-defined]


def make_staff(email: str, clinic: Clinic, role: str, *, mfa: bool = True) -> User:
    user = make_user(email, mfa=mfa)
    Membership.objects.create(user=user, clinic=clinic, role=role)
    return user


def make_client(clinic: Clinic, **extra: object) -> Client:
    n = next(_seq)
    defaults: dict[str, object] = {"first_name": f"Client{n}", "last_name": "Example", "email": f"client{n}@mail.example"}
    defaults.update(extra)
    return Client.objects.create(clinic=clinic, **defaults)


@dataclass
class World:
    clinic_a: Clinic
    clinic_b: Clinic
    alice: User
    bob: User
    olivia: User
    charlie: User
    client_a: Client
    client_b: Client


def make_world() -> World:
    a, b = make_clinic("Clinic A"), make_clinic("Clinic B")
    return World(
        clinic_a=a,
        clinic_b=b,
        alice=make_staff("alice@a.example", a, Role.THERAPIST),
        bob=make_staff("bob@a.example", a, Role.FRONT_DESK),
        olivia=make_staff("olivia@a.example", a, Role.OWNER),
        charlie=make_staff("charlie@b.example", b, Role.THERAPIST),
        client_a=make_client(a, first_name="Ada", last_name="Lovelace", clinical_alerts="On warfarin"),
        client_b=make_client(b, first_name="Blaise", last_name="Pascal", clinical_alerts="Recent fracture"),
    )


def atlas_ensure_loaded() -> bool:
    """Load the shipped atlas unless this version is already in the database; True when rows were written.

    One indexed query when the atlas is current, so the test suite can call it after every test
    (a transactional test's flush empties the atlas tables along with everything else).
    """
    from django.db import transaction

    from knotwork.atlas.services import atlas_load

    with transaction.atomic():
        return atlas_load().created
