"""Group sessions (classes): one therapist, one block of time, many seats booked one at a time.

How a class keeps its therapist's time
    Creating a class also writes one ``Appointment`` row — its ``block`` — for the therapist (and
    room) over the class's time: status ``held`` with no client, no hold token (so nobody can ever
    confirm it) and ``hold_expires_at`` at the block's end. The database overlap guards of
    migration 0002 (PostgreSQL exclusion constraints, SQLite triggers) treat every ``held`` row as
    busy, so they stay the one authority: a 1:1 booking over a class, or a class over a booking,
    is refused by the database itself, under the same ``therapist_lock`` queue as other bookings.
    The slot engine already skips unexpired holds, so a class's time is never offered. After the
    class ends the ordinary hold sweep marks the row ``expired``; cancelling the class does so at
    once. No table of the guards changed, so their triggers and constraints are untouched.

How a seat is booked exactly once
    ``ClassSession.seats_taken`` is moved only by conditional UPDATEs
    (``seats_taken < capacity`` to take one, ``> 0`` to give one back) in the same transaction as
    the seat row, and a CHECK constraint keeps it between 0 and ``capacity`` whatever writes it.
    PostgreSQL re-checks the WHERE of a waiting UPDATE against the committed row, and SQLite writes
    are serialised, so concurrent bookers queue on the class row and the one after the last seat
    is told the class is full. A partial unique index (one booked seat per client per class) makes
    a second seat for one client impossible; the loser's counter increment rolls back with it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from knotwork.accounts.models import Capability, Clinic, Membership, User
from knotwork.accounts.permissions import membership_for, require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.bookings.models import (
    Appointment,
    AppointmentStatus,
    ClassSeat,
    ClassSession,
    ClassStatus,
    Room,
    SeatStatus,
    Service,
)
from knotwork.bookings.selectors import THERAPIST_ROLES, portal_client_at
from knotwork.bookings.services import (
    Actor,
    BookingError,
    _duration_words,
    _is_overlap,
    _to_minute,
    guarded_write,
    holds_expire,
    therapist_lock,
)
from knotwork.clients.language import client_translation, short_when
from knotwork.clients.models import Client
from knotwork.lib.mail import send_email
from knotwork.lib.urls import absolute_url

log = logging.getLogger(__name__)


class ClassConflict(BookingError):
    """The class's time is taken: the therapist or the room is busy then."""

    status = 409
    code = "time_taken"


class ClassFull(BookingError):
    status = 409
    code = "class_full"


class AlreadySeated(BookingError):
    status = 409
    code = "already_booked"


class ClassStateChanged(BookingError):
    """The class or seat is not in the state the request expects (cancelled, already cancelled)."""

    status = 409
    code = "conflict"


# --- Reads ----------------------------------------------------------------------------------------


def _classes() -> QuerySet[ClassSession]:
    return ClassSession.objects.select_related("clinic", "therapist", "service", "room")


def get_class_for_user(
    user: Any, class_id: int, *, write: bool = False, clinic_id: int | None = None
) -> tuple[ClassSession, Membership | None]:
    """The class if ``user`` may see it: staff of its clinic (``write`` needs edit_demographics), or
    a client of its clinic (read only; they book their own seat through :func:`seat_book`).
    Anyone else, another clinic's staff included, gets a 404."""
    if not 1 <= class_id <= 2**63 - 1:
        raise Http404("No such class")
    qs = _classes().filter(pk=class_id)
    if clinic_id is not None:
        qs = qs.filter(clinic_id=clinic_id)
    found = qs.first()
    if found is None:
        raise Http404("No such class")
    membership = membership_for(user, found.clinic_id)
    if membership is None:
        if write or portal_client_at(found.clinic_id, user) is None:
            raise Http404("No such class")
        return found, None
    require(membership, Capability.EDIT_DEMOGRAPHICS if write else Capability.VIEW_DEMOGRAPHICS)
    return found, membership


def get_seat_for_user(user: Any, class_id: int, seat_id: int, *, clinic_id: int | None = None) -> tuple[ClassSeat, Membership | None]:
    """A seat of the class if ``user`` may change it: staff of the clinic with edit_demographics,
    or the seat's own client. Anyone else gets a 404."""
    if not (1 <= class_id <= 2**63 - 1 and 1 <= seat_id <= 2**63 - 1):
        raise Http404("No such seat")
    qs = ClassSeat.objects.select_related("class_session__clinic", "class_session__therapist", "client").filter(
        pk=seat_id, class_session_id=class_id
    )
    if clinic_id is not None:
        qs = qs.filter(class_session__clinic_id=clinic_id)
    seat = qs.first()
    if seat is None:
        raise Http404("No such seat")
    membership = membership_for(user, seat.class_session.clinic_id)
    if membership is None:
        if not getattr(user, "is_authenticated", False) or seat.client.portal_user_id != user.pk:
            raise Http404("No such seat")
        return seat, None
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    return seat, membership


def clinic_classes(clinic: Clinic, *, upcoming: bool = True, now: datetime | None = None) -> QuerySet[ClassSession]:
    """The clinic's classes, soonest first; upcoming ones (not yet ended) unless ``upcoming`` is False."""
    qs = _classes().filter(clinic=clinic)
    return qs.filter(ends_at__gt=now or timezone.now()) if upcoming else qs.order_by("-starts_at", "-id")


def open_classes(clinic: Clinic, *, now: datetime | None = None) -> QuerySet[ClassSession]:
    """Scheduled classes that have not started and still have a free seat: what clients may book."""
    return _classes().filter(
        clinic=clinic, status=ClassStatus.SCHEDULED, starts_at__gt=now or timezone.now(), seats_taken__lt=F("capacity")
    )


def class_seats(class_session: ClassSession) -> QuerySet[ClassSeat]:
    return class_session.seats.select_related("client", "booked_by").order_by("status", "booked_at", "id")


def own_seats(user: Any, *, now: datetime | None = None) -> QuerySet[ClassSeat]:
    """The signed-in person's booked seats in classes that have not ended, at every clinic."""
    return (
        ClassSeat.objects.filter(
            client__portal_user=user,
            client__archived_at__isnull=True,
            status=SeatStatus.BOOKED,
            class_session__ends_at__gt=now or timezone.now(),
        )
        .select_related("class_session__clinic", "class_session__therapist", "class_session__room", "client")
        .order_by("class_session__starts_at", "id")
    )


def booked_client_ids(class_session: ClassSession) -> set[int]:
    return set(class_session.seats.filter(status=SeatStatus.BOOKED).values_list("client_id", flat=True))


# --- Writes ---------------------------------------------------------------------------------------


@transaction.atomic
def class_create(
    *,
    clinic: Clinic,
    therapist: User,
    service: Service,
    start: datetime,
    duration_minutes: int,
    capacity: int,
    actor: Actor,
    name: str = "",
    room: Room | None = None,
    price: Decimal | None = None,
) -> ClassSession:
    """Schedule a class and take its therapist's (and room's) time in the same guarded write."""
    if not actor.is_staff or actor.membership is None or actor.membership.clinic_id != clinic.pk:
        raise BookingError("Only the clinic's staff can schedule a class.")
    if service.clinic_id != clinic.pk:
        raise BookingError("That service is not offered by this clinic.")
    if room is not None and (room.clinic_id != clinic.pk or not room.is_active):
        raise BookingError("That room is not in use at this clinic.")
    if not Membership.objects.active().filter(clinic=clinic, user=therapist, role__in=THERAPIST_ROLES).exists():
        raise BookingError("That person is not a therapist at this clinic.")
    if not ClassSession.MIN_CAPACITY <= capacity <= ClassSession.MAX_CAPACITY:
        raise BookingError(f"A class has between {ClassSession.MIN_CAPACITY} and {ClassSession.MAX_CAPACITY} seats.")
    if not 5 <= duration_minutes <= Service.MAX_DURATION_MINUTES:
        raise BookingError(f"A class lasts between 5 minutes and {_duration_words(Service.MAX_DURATION_MINUTES)}.")
    price = service.price if price is None else price
    if price < 0 or price >= Decimal("1000000"):
        raise BookingError("The price must be between 0 and 999999.99.")
    now = timezone.now()
    start = _to_minute(start)
    if start < now:
        raise BookingError("That time has already passed.")
    end = start + timedelta(minutes=duration_minutes)
    block = Appointment(
        clinic=clinic,
        therapist=therapist,
        service=service,
        room=room,
        starts_at=start,
        ends_at=end,
        block_start=start - timedelta(minutes=service.buffer_before_minutes),
        block_end=end + timedelta(minutes=service.buffer_after_minutes),
        status=AppointmentStatus.HELD,
        hold_expires_at=end + timedelta(minutes=service.buffer_after_minutes),
        hold_token_hash="",  # never confirmable: Appointment.hold_token_matches is False without a hash
        price=Decimal("0.00"),
        currency=service.currency,
        created_by=actor.user,
    )
    therapist_lock(therapist.pk)
    holds_expire(now=now, therapist_id=therapist.pk)
    try:
        guarded_write(lambda: block.save(force_insert=True))
    except IntegrityError as exc:
        if not _is_overlap(exc):
            raise
        who = "The room" if "room" in str(exc) else f"{getattr(therapist, 'display_name', 'The therapist')}"
        raise ClassConflict(f"{who} is already booked at that time. Choose another time.") from None
    session = ClassSession.objects.create(
        clinic=clinic,
        therapist=therapist,
        service=service,
        name=(" ".join(name.split())[:80] or service.name),
        room=room,
        starts_at=start,
        ends_at=end,
        capacity=capacity,
        price=price,
        currency=service.currency,
        block=block,
        created_by=actor.user,
    )
    audit_record(
        action=Action.CREATE,
        obj=session,
        clinic=clinic,
        actor=actor.user,
        role=actor.role,
        detail={"capacity": capacity, "block": block.pk},
    )
    return session


@transaction.atomic
def seat_book(*, class_session: ClassSession, client: Client, actor: Actor) -> ClassSeat:
    """Book one seat for ``client``. Exactly once: never past capacity, never two seats for one client."""
    if client.clinic_id != class_session.clinic_id or client.archived_at is not None:
        raise BookingError("That client is not a client of this clinic.")
    if not actor.is_staff and (actor.user is None or client.portal_user_id != actor.user.pk):
        raise BookingError("You can book a seat only for yourself.")
    now = timezone.now()
    if class_session.starts_at <= now:
        raise BookingError("This class has already started.")
    if ClassSeat.objects.filter(class_session=class_session, client=client, status=SeatStatus.BOOKED).exists():
        raise AlreadySeated(
            f"{client.full_name if actor.is_staff else 'You'} already {'has' if actor.is_staff else 'have'} a seat in this class."
        )
    try:
        with transaction.atomic():
            taken = ClassSession.objects.filter(pk=class_session.pk, status=ClassStatus.SCHEDULED, seats_taken__lt=F("capacity")).update(
                seats_taken=F("seats_taken") + 1
            )
    except IntegrityError:  # the CHECK constraint: the database's last word on capacity
        taken = 0
    if not taken:
        current = ClassSession.objects.filter(pk=class_session.pk).values_list("status", "capacity").first()
        if current is None or current[0] != ClassStatus.SCHEDULED:
            raise ClassStateChanged("This class was cancelled.")
        raise ClassFull(f"This class is full: all {current[1]} seats are taken.")
    try:
        with transaction.atomic():
            seat = ClassSeat.objects.create(class_session=class_session, client=client, booked_at=now, booked_by=actor.user)
    except IntegrityError:
        # A concurrent booking for the same client won; raising undoes this one's counter step too.
        raise AlreadySeated("That seat was just booked: there is already one for this client in the class.") from None
    class_session.refresh_from_db(fields=["seats_taken", "status"])
    audit_record(
        action=Action.CREATE,
        obj=seat,
        clinic=class_session.clinic,
        actor=actor.user,
        role=actor.role,
        detail={"class": class_session.pk, "client": client.pk},
    )
    transaction.on_commit(lambda: _mail_clients(class_session, [client], template="class_seat", subject=SEAT_SUBJECT))
    return seat


@transaction.atomic
def seat_cancel(*, seat: ClassSeat, actor: Actor) -> ClassSeat:
    """Give a seat back. A client may cancel their own seat until the class starts; staff at any time."""
    session = seat.class_session
    now = timezone.now()
    if not actor.is_staff and session.starts_at <= now:
        raise BookingError("This class has already started. Please contact the clinic.")
    done = ClassSeat.objects.filter(pk=seat.pk, status=SeatStatus.BOOKED).update(
        status=SeatStatus.CANCELLED, cancelled_at=now, cancelled_by=actor.user
    )
    if not done:
        raise ClassStateChanged("This seat is not booked any more.")
    ClassSession.objects.filter(pk=session.pk, seats_taken__gt=0).update(seats_taken=F("seats_taken") - 1)
    seat.refresh_from_db()
    audit_record(
        action=Action.UPDATE, obj=seat, clinic=session.clinic, actor=actor.user, role=actor.role, detail={"status": SeatStatus.CANCELLED}
    )
    return seat


@transaction.atomic
def class_cancel(*, class_session: ClassSession, actor: Actor) -> ClassSession:
    """Cancel the class, every booked seat with it, free the therapist's time, and e-mail each seated
    client once (after commit; the compare-and-swap on the status lets only one cancel through)."""
    if not actor.is_staff:
        raise BookingError("Only the clinic can cancel a class.")
    now = timezone.now()
    done = ClassSession.objects.filter(pk=class_session.pk, status=ClassStatus.SCHEDULED).update(
        status=ClassStatus.CANCELLED, cancelled_at=now, cancelled_by=actor.user, seats_taken=0
    )
    if not done:
        raise ClassStateChanged("This class is already cancelled.")
    seats = list(ClassSeat.objects.filter(class_session=class_session, status=SeatStatus.BOOKED).select_related("client__portal_user"))
    ClassSeat.objects.filter(pk__in=[s.pk for s in seats]).update(status=SeatStatus.CANCELLED, cancelled_at=now, cancelled_by=actor.user)
    if class_session.block_id:
        Appointment.objects.filter(pk=class_session.block_id, status=AppointmentStatus.HELD).update(status=AppointmentStatus.EXPIRED)
    class_session.refresh_from_db()
    audit_record(
        action=Action.UPDATE,
        obj=class_session,
        clinic=class_session.clinic,
        actor=actor.user,
        role=actor.role,
        detail={"status": ClassStatus.CANCELLED, "seats_cancelled": len(seats)},
    )
    clients = [s.client for s in seats]
    transaction.on_commit(lambda: _mail_clients(class_session, clients, template="class_cancelled", subject=CANCELLED_SUBJECT))
    return class_session


SEAT_SUBJECT = gettext_noop("Your seat: %(name)s on %(when)s")
CANCELLED_SUBJECT = gettext_noop("Cancelled: %(name)s on %(when)s")


def _client_email(client: Client) -> str:
    return client.portal_user.email if client.portal_user_id and client.portal_user else client.email


def _mail_clients(class_session: ClassSession, clients: list[Client], *, template: str, subject: str) -> int:
    """One e-mail per client (a booked seat, or the seat a cancellation took), each in the client's language
    (``subject``: a message with ``%(name)s`` and ``%(when)s``); a failing server is logged, not raised."""
    message = subject
    context = {
        "session": class_session,
        "clinic": class_session.clinic,
        "local_start": class_session.local_start,
        "zone": class_session.clinic.time_zone,
        "book_link": absolute_url(reverse("book_clinic", args=[class_session.clinic.slug])),
        "mine_link": absolute_url(reverse("my_classes")),
    }
    sent = 0
    for client in clients:
        to = _client_email(client)
        if not to:
            continue
        try:
            with client_translation(client):
                subject = gettext(message) % {"name": class_session.name, "when": short_when(class_session.local_start)}
                text = render_to_string(f"bookings/email/{template}.txt", {**context, "client": client, "subject": subject})
                html = render_to_string(f"bookings/email/{template}.html", {**context, "client": client, "subject": subject})
            send_email(to=to, subject=subject, text=text, html=html, clinic=class_session.clinic)
            sent += 1
        except Exception:  # noqa: BLE001 - one bad address or a down server must not stop the others
            log.exception("Class e-mail (%s) to client %s failed", template, client.pk)
    return sent


def staff_clients(clinic: Clinic, q: str) -> list[Client]:
    """Clients of the clinic matching a desk search (at most 20)."""
    q = q.strip()[:100]
    if not q:
        return []
    return list(Client.objects.for_clinic(clinic).active().filter(restricted_at__isnull=True).search(q)[:20])
