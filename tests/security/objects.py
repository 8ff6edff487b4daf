"""Clinic A's objects of every type, built once per test module from the demo data, so the
generated tests can attack every route that takes an id with a real object of another clinic.

TYPES maps an object type (the names used in routes.py ``ids``) to its model, the lookup from
the model to its clinic, the lookup to its client (when it has one), and how to find the ids of
the other objects a route names together with it (``parents``).
"""

from __future__ import annotations

import importlib
import pkgutil
import random
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from django.apps import apps
from django.core.files.base import ContentFile
from django.db.models import Model

import knotwork
from knotwork.accounts.models import Clinic, Membership, Role, User


@dataclass(frozen=True)
class ObjectType:
    model: str
    clinic: str
    client: str | None = None
    parents: dict[str, str] = field(default_factory=dict)  # other type -> attribute path on this object


TYPES: dict[str, ObjectType] = {
    "client": ObjectType("clients.Client", "clinic", "self"),
    "membership": ObjectType("accounts.Membership", "clinic"),
    "invitation": ObjectType("accounts.Invitation", "clinic"),
    "api_token": ObjectType("accounts.ApiToken", "clinic"),
    "intake_question": ObjectType("clients.IntakeQuestion", "clinic"),
    "intake": ObjectType("clients.IntakeSubmission", "clinic", "client", {"client": "client_id"}),
    "flag": ObjectType("clients.ScreeningFlag", "clinic", "client", {"client": "client_id"}),
    "consent": ObjectType("clients.ConsentSignature", "clinic", "client", {"client": "client_id"}),
    "assessment": ObjectType("assessment.Assessment", "clinic", "client", {"client": "client_id"}),
    "posture_finding": ObjectType("assessment.PostureFinding", "assessment__clinic", "assessment__client"),
    "photo": ObjectType("assessment.Photo", "assessment__clinic", "assessment__client"),
    "rom": ObjectType("assessment.RomMeasurement", "assessment__clinic", "assessment__client"),
    "movement_test": ObjectType("assessment.MovementTest", "assessment__clinic", "assessment__client"),
    "episode": ObjectType("care.Episode", "clinic", "client", {"client": "client_id"}),
    "visit": ObjectType("care.Visit", "clinic", "client", {"client": "client_id", "episode": "episode_id"}),
    "tp_finding": ObjectType(
        "care.TriggerPointFinding", "visit__clinic", "visit__client", {"visit": "visit_id", "client": "visit.client_id"}
    ),
    "technique": ObjectType(
        "care.TechniqueApplication", "visit__clinic", "visit__client", {"visit": "visit_id", "client": "visit.client_id"}
    ),
    "program_item": ObjectType("care.HomeProgramItem", "program__clinic", "program__client", {"client": "program.client_id"}),
    "appointment": ObjectType("bookings.Appointment", "clinic", "client", {"client": "client_id"}),
    "service": ObjectType("bookings.Service", "clinic"),
    "room": ObjectType("bookings.Room", "clinic"),
    "availability": ObjectType("bookings.Availability", "clinic"),
    "availability_exception": ObjectType("bookings.AvailabilityException", "clinic"),
    "profile": ObjectType("directory.TherapistProfile", "clinic"),
    "credential": ObjectType("directory.Credential", "profile__clinic"),
    "review": ObjectType("directory.Review", "profile__clinic", "client"),
    "thread": ObjectType("messaging.Thread", "clinic", "client", {"client": "client_id"}),
    "attachment": ObjectType("messaging.Attachment", "message__thread__clinic", "message__thread__client"),
    "article": ObjectType("learn.Article", "clinic"),
    "data_export": ObjectType("interop.DataExport", "clinic", "client", {"client": "client_id"}),
    "tax_rate": ObjectType("billing.TaxRate", "clinic"),
    "invoice": ObjectType("billing.Invoice", "clinic", "client", {"client": "client_id"}),
    "invoice_line": ObjectType("billing.InvoiceLine", "invoice__clinic", "invoice__client", {"invoice": "invoice_id"}),
    "payment": ObjectType("billing.Payment", "clinic", "client", {"client": "client_id"}),
    "appointment_series": ObjectType("bookings.AppointmentSeries", "clinic", "client", {"client": "client_id"}),
    "waitlist_entry": ObjectType("bookings.WaitlistEntry", "clinic", "client", {"client": "client_id"}),
    "class_session": ObjectType("bookings.ClassSession", "clinic"),
    "class_seat": ObjectType(
        "bookings.ClassSeat", "class_session__clinic", "client", {"class_session": "class_session_id", "client": "client_id"}
    ),
    "gift_card": ObjectType("billing.GiftCard", "clinic"),
    "package_product": ObjectType("billing.PackageProduct", "clinic"),
    "client_package": ObjectType("billing.ClientPackage", "clinic", "client", {"client": "client_id"}),
    "membership_plan": ObjectType("billing.MembershipPlan", "clinic"),
    "client_membership": ObjectType("billing.ClientMembership", "clinic", "client", {"client": "client_id"}),
    "outcome_response": ObjectType("outcomes.OutcomeResponse", "clinic", "client", {"client": "client_id", "episode": "episode_id"}),
}


@dataclass
class Seeded:
    clinic_a: Clinic
    clinic_b: Clinic
    owner_a: User
    therapist_a: User
    front_desk_a: User
    portal_a: User
    charlie: User
    owner_b: User
    verifier: User


def _run_every_demo(clinic: Clinic) -> None:
    """The demo extensions the demo seeds, plus any app's demo not wired yet (apps still landing)."""
    from knotwork.accounts.demo import DEMO_EXTENSIONS

    for info in pkgutil.iter_modules(knotwork.__path__):
        name = f"knotwork.{info.name}.demo"
        if name in DEMO_EXTENSIONS or info.name == "accounts":
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        if hasattr(module, "seed_demo"):
            module.seed_demo(clinic=clinic, rng=random.Random(7))


def _png() -> bytes:
    from PIL import Image

    buf = BytesIO()
    Image.new("RGB", (8, 8), "white").save(buf, "PNG")
    return buf.getvalue()


def _fill_gaps(s: Seeded) -> None:
    """Rows of types the demo does not create, made the way the apps make them."""
    from knotwork.accounts.services import api_token_create, invitation_create
    from knotwork.clients.models import Client, IntakeQuestion
    from knotwork.messaging.models import Attachment, Message

    a = s.clinic_a
    invitation_create(clinic=a, email="new.therapist@a.example", invited_by=s.owner_a, role=Role.THERAPIST)
    api_token_create(user=s.owner_a, clinic=a, name="sync", scopes=["clients:read"])
    if not IntakeQuestion.objects.filter(clinic=a).exists():
        IntakeQuestion.objects.create(clinic=a, kind=IntakeQuestion.Kind.values[0], text="How did you hear about us?")
    message = Message.objects.filter(thread__clinic=a).first()
    if message is not None and not Attachment.objects.filter(message__thread__clinic=a).exists():
        Attachment.objects.create(
            message=message, file=ContentFile(_png(), name="x.png"), display_name="x.png", content_type="image/png", size=len(_png())
        )
    assert Client.objects.filter(clinic=a, portal_user=s.portal_a).exists()
    from knotwork.bookings.models import Appointment, AppointmentSeries

    booked = Appointment.objects.filter(clinic=a, client__isnull=False, service__isnull=False).order_by("pk").first()
    if booked is not None and not AppointmentSeries.objects.filter(clinic=a).exists():
        local = booked.starts_at.astimezone(a.tz)
        AppointmentSeries.objects.create(
            clinic=a, client=booked.client, therapist=booked.therapist, service=booked.service,
            start_day=local.date(), start_time=local.time(), count=1, created_by=s.front_desk_a,
        )  # fmt: skip
    from knotwork.bookings.models import WaitlistEntry

    if booked is not None and not WaitlistEntry.objects.filter(clinic=a).exists():
        from datetime import time, timedelta

        from django.utils import timezone

        today = timezone.localdate(timezone=a.tz)
        WaitlistEntry.objects.create(
            clinic=a, client=booked.client, service=booked.service, earliest_date=today, latest_date=today + timedelta(days=14),
            weekdays=[0, 1, 2, 3, 4], day_start=time(9), day_end=time(12), created_by=s.front_desk_a,
        )  # fmt: skip
    _seed_class(s)
    from knotwork.clients.intake.services import intake_start

    try:
        from knotwork.interop.models import DataExport

        if not DataExport.objects.filter(clinic=a).exists():
            from datetime import timedelta

            from django.utils import timezone

            first = Client.objects.filter(clinic=a).first()
            DataExport.objects.create(clinic=a, client=first, requested_by=s.owner_a, expires_at=timezone.now() + timedelta(days=1))
    except ImportError:
        pass

    from knotwork.bookings.models import AvailabilityException

    if not AvailabilityException.objects.filter(clinic=a).exists():
        from datetime import date

        AvailabilityException.objects.create(clinic=a, therapist=s.owner_a, day=date(2030, 12, 24), kind=AvailabilityException.Kind.OFF)
    for client in Client.objects.filter(clinic=a, portal_user__isnull=False):
        intake_start(client=client, actor=client.portal_user)
    # Portal routes need objects of a client who has a portal login: give one to a client with consents.
    from knotwork.clients.models import ConsentSignature
    from knotwork.lib.testing import make_user

    consent = ConsentSignature.objects.filter(clinic=a, client__portal_user__isnull=True).first()
    if consent is not None and not ConsentSignature.objects.filter(clinic=a, client__portal_user__isnull=False).exists():
        Client.objects.filter(pk=consent.client_id).update(portal_user=make_user("consenting.client@mail.example", mfa=False))


def _seed_class(s: Seeded) -> None:
    """One group class in clinic A with one seat, made through the service (its block takes real time)."""
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    from knotwork.bookings.classes import ClassConflict, class_create, seat_book
    from knotwork.bookings.models import ClassSession, Service
    from knotwork.bookings.services import Actor
    from knotwork.clients.models import Client

    a = s.clinic_a
    service = Service.objects.filter(clinic=a, is_active=True).order_by("pk").first()
    client = Client.objects.filter(clinic=a, portal_user=s.portal_a).first()
    if service is None or client is None or ClassSession.objects.filter(clinic=a).exists():
        return
    desk = Actor(user=s.front_desk_a, membership=Membership.objects.get(user=s.front_desk_a, clinic=a))
    day = timezone.localdate(timezone=a.tz) + timedelta(days=200)
    for hour in (7, 20, 6, 21):
        try:
            session = class_create(
                clinic=a, therapist=s.therapist_a, service=service, start=datetime.combine(day, time(hour), tzinfo=a.tz),
                duration_minutes=45, capacity=6, name="Stretching class", actor=desk,
            )  # fmt: skip
        except ClassConflict:
            continue
        seat_book(class_session=session, client=client, actor=desk)
        return


def seed() -> Seeded:
    from knotwork.accounts.demo import DEMO_CLIENT_LOGIN, demo_seed
    from knotwork.lib.testing import make_clinic, make_staff, make_user

    demo_seed(force=True)
    a = Clinic.objects.get(is_demo=True)
    _run_every_demo(a)
    b = make_clinic("Clinic B")
    members = {m.role: m.user for m in Membership.objects.filter(clinic=a).select_related("user").order_by("pk")}
    verifier = make_user("verifier@platform.example")
    verifier.is_verifier = True
    verifier.save(update_fields=["is_verifier"])
    s = Seeded(
        clinic_a=a,
        clinic_b=b,
        owner_a=members[Role.OWNER],
        therapist_a=members[Role.THERAPIST],
        front_desk_a=members[Role.FRONT_DESK],
        portal_a=User.objects.get(email=DEMO_CLIENT_LOGIN),
        charlie=make_staff("charlie@b.example", b, Role.THERAPIST),
        owner_b=make_staff("owen@b.example", b, Role.OWNER),
        verifier=verifier,
    )
    _fill_gaps(s)
    return s


def other_params(clinic: Clinic, client_id: int | None) -> dict[str, object]:
    """Real values for path parameters that name reference data rather than tenant objects."""
    from knotwork.atlas.models import TriggerPoint
    from knotwork.clients.intake.selectors import intake_form_for

    values: dict[str, object] = {"step": intake_form_for(clinic).step_ids()[0]}
    tp = TriggerPoint.objects.order_by("pk").first()
    values["trigger_point_id"] = tp.pk if tp else "none"
    try:
        from knotwork.outcomes.scoring import measures

        values["measure_id"] = next(iter(measures()))
    except ImportError:
        pass
    return values


def portal_user_of(kind: str, pk: int) -> User | None:
    spec = TYPES[kind]
    if not spec.client:
        return None
    path = "portal_user" if spec.client == "self" else f"{spec.client}__portal_user"
    user_id = model_of(kind)._base_manager.filter(pk=pk).values_list(path, flat=True).first()
    return User.objects.filter(pk=user_id).first()


def model_of(kind: str) -> type[Model]:
    return apps.get_model(TYPES[kind].model)


def pick(kind: str, clinic: Clinic, *, portal: bool = False) -> Model | None:
    """One clinic object of ``kind`` (one whose client has a portal login when ``portal``)."""
    spec = TYPES[kind]
    qs: Any = model_of(kind)._base_manager.filter(**{spec.clinic: clinic}).order_by("pk")
    if portal and spec.client:
        path = "portal_user__isnull" if spec.client == "self" else f"{spec.client}__portal_user__isnull"
        qs = qs.filter(**{path: False})
    return qs.first()


def _attr(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def ids_for(ids: dict[str, str], clinic: Clinic, *, portal: bool = False) -> dict[str, int] | None:
    """Consistent ids for a route's parameters: the object whose parents cover the other types."""
    kinds = set(ids.values())
    leaf = next(k for k in kinds if kinds - {k} <= set(TYPES[k].parents))
    obj = pick(leaf, clinic, portal=portal)
    if obj is None:
        return None
    found = {leaf: obj.pk}
    for other in kinds - {leaf}:
        found[other] = _attr(obj, TYPES[leaf].parents[other])
    return {param: found[kind] for param, kind in ids.items()}
