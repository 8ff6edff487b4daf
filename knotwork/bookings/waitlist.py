"""The waitlist: joining and withdrawing, offering freed time, and claiming an offer.

How a freed time travels:

1. An appointment is cancelled (:func:`knotwork.bookings.services.appointment_cancel`); on commit
   the task ``offer_freed_time`` runs :func:`offers_for_freed_time`.
2. The open entries that match the freed start — same clinic, a service the therapist offers, the
   therapist or "any", the start and the whole appointment inside the entry's dates, weekdays and
   hours, and the time still free for an online booking — are taken first come, first served, one
   per client, and the first :data:`OFFERS_PER_SLOT` get an offer: a row with a hashed, single-use
   token, valid :data:`OFFER_MINUTES` minutes, sent by e-mail (always) and text (opted-in clients,
   outside quiet hours).
3. The claim link books through :func:`~knotwork.bookings.services.appointment_book`, the same
   service and database overlap guard as every booking, so exactly one claimant can win. The
   winner's entry becomes ``booked``; the other offers for that time become ``gone`` and their
   clients get one e-mail saying so; their entries wait for the next freed time.

The token is the credential, like a sign-in link: whoever holds it may book that one time for that
entry's client, signed in or not. A signed-in person who is not that client gets a 404.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from knotwork.accounts.models import Capability, Clinic, Membership, User
from knotwork.accounts.permissions import membership_for, require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.bookings import services
from knotwork.bookings.models import (
    Appointment,
    AppointmentStatus,
    BookingPolicy,
    Service,
    SmsStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistOfferStatus,
    WaitlistStatus,
)
from knotwork.bookings.selectors import free_slots, is_returning_client
from knotwork.bookings.services import Actor, BookingError, SlotTaken
from knotwork.bookings.sms import SmsError, mask_number, next_text_time, sms_sender
from knotwork.clients.language import client_translation, short_when
from knotwork.clients.models import Client
from knotwork.lib.mail import send_email
from knotwork.lib.urls import absolute_url

log = logging.getLogger(__name__)

OFFERS_PER_SLOT = 3
OFFER_MINUTES = 30
MAX_OPEN_ENTRIES_PER_CLIENT = 5
OPEN_STATUSES = (WaitlistStatus.ACTIVE, WaitlistStatus.OFFERED)
TAKEN_MESSAGE = "Sorry, someone else has just taken this time. You stay on the waitlist for the next one."


class WaitlistError(BookingError):
    """A join or withdrawal refused by a rule (422); ``field`` names the form field at fault, if any."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class WaitlistConflict(WaitlistError):
    status = 409
    code = "conflict"


class OfferGone(BookingError):
    """The offered time was booked by someone else."""

    status = 409
    code = "offer_gone"


class OfferClosed(BookingError):
    """The link has expired, was used already, or its entry was withdrawn."""

    status = 409
    code = "offer_closed"


# --- Reads ---------------------------------------------------------------------------------------


def _entries() -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.select_related("clinic", "client", "service", "therapist")


def get_waitlist_entry_for_user(
    user: Any, entry_id: int, *, write: bool = False, audit: bool = True, clinic_id: int | None = None
) -> tuple[WaitlistEntry, Membership | None]:
    """The entry if ``user`` may reach it: staff of its clinic (front desk included), or its own
    client (who may withdraw it). Anyone else, another clinic's staff included, gets a 404."""
    qs = _entries().filter(pk=entry_id)
    if clinic_id is not None:
        qs = qs.filter(clinic_id=clinic_id)
    entry = qs.first()
    if entry is None or entry.client.restricted_at is not None:
        raise Http404("No such waitlist entry")
    membership = membership_for(user, entry.clinic_id)
    if membership is None:
        if not getattr(user, "is_authenticated", False) or entry.client.portal_user_id != user.pk:
            raise Http404("No such waitlist entry")
        if audit and not write:
            audit_record(action=Action.VIEW, obj=entry, role="client")
        return entry, None
    require(membership, Capability.EDIT_DEMOGRAPHICS if write else Capability.VIEW_DEMOGRAPHICS)
    if audit and not write:
        audit_record(action=Action.VIEW, obj=entry, role=membership.role)
    return entry, membership


def clinic_waitlist(
    clinic: Clinic, *, status: str = "", service_id: int | None = None, therapist_id: int | None = None, client_id: int | None = None
) -> QuerySet[WaitlistEntry]:
    """The clinic's entries, first come first; open ones only unless a ``status`` is asked for."""
    qs = _entries().filter(clinic=clinic, client__restricted_at__isnull=True)
    qs = qs.filter(status=status) if status else qs.filter(status__in=OPEN_STATUSES)
    if service_id:
        qs = qs.filter(service_id=service_id)
    if therapist_id:
        qs = qs.filter(therapist_id=therapist_id)
    if client_id:
        qs = qs.filter(client_id=client_id)
    return qs.order_by("created_at", "id")


def own_waitlist(user: Any) -> QuerySet[WaitlistEntry]:
    """A portal user's entries at every clinic, newest first."""
    return (
        _entries()
        .filter(client__portal_user=user, client__archived_at__isnull=True, client__restricted_at__isnull=True)
        .order_by("-created_at", "-id")
    )


def get_offer_for_token(token: str, user: Any) -> WaitlistOffer:
    """The offer the link's token names. The token is the credential; a signed-in person who is
    not the entry's client gets a 404, as does an unknown token."""
    offer = (
        WaitlistOffer.objects.select_related("clinic", "therapist", "service", "entry", "entry__client", "appointment")
        .filter(token_hash=WaitlistOffer.hash_token(token[:100]))
        .first()
    )
    if offer is None or offer.entry.client.restricted_at is not None:
        raise Http404("No such offer")
    if getattr(user, "is_authenticated", False) and offer.entry.client.portal_user_id != user.pk:
        raise Http404("No such offer")
    return offer


def offer_state(offer: WaitlistOffer, *, now: datetime | None = None) -> str:
    """``open``, ``claimed``, ``gone`` or ``expired`` — an unclaimed offer past its time is expired
    whether or not the sweep has marked it yet."""
    if offer.status == WaitlistOfferStatus.SENT:
        return "open" if offer.expires_at > (now or timezone.now()) else "expired"
    return str(offer.status)


# --- Joining and withdrawing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    earliest: date
    latest: date
    weekdays: tuple[int, ...]
    day_start: time
    day_end: time


def _check_window(window: Window, *, clinic: Clinic, service: Service) -> None:
    today = timezone.localdate(timezone=clinic.tz)
    horizon = BookingPolicy.for_clinic(clinic).horizon_days
    if window.earliest < today:
        raise WaitlistError("The first date has already passed.", field="earliest_date")
    if window.latest < window.earliest:
        raise WaitlistError("The last date must be on or after the first.", field="latest_date")
    if window.latest > today + timedelta(days=horizon):
        last = today + timedelta(days=horizon)
        raise WaitlistError(f"Bookings open {horizon} days ahead: choose a last date up to {last:%-d %B %Y}.", field="latest_date")
    if any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in window.weekdays):
        raise WaitlistError("Weekdays run from 0 (Monday) to 6 (Sunday).", field="weekdays")
    if window.day_end <= window.day_start:
        raise WaitlistError("The latest end time must be after the earliest start time.", field="day_end")
    minutes = (window.day_end.hour * 60 + window.day_end.minute) - (window.day_start.hour * 60 + window.day_start.minute)
    if minutes < service.duration_minutes:
        raise WaitlistError(f"{service.name} takes {service.duration_minutes} minutes: widen the time of day.", field="day_end")


@transaction.atomic
def waitlist_join(
    *, clinic: Clinic, client: Client, service: Service, therapist: User | None, window: Window, actor: Actor
) -> WaitlistEntry:
    """Put ``client`` on the waitlist. The caller resolves ``therapist`` within the clinic (404 otherwise)."""
    if client.clinic_id != clinic.pk or client.archived_at is not None or client.restricted_at is not None:
        raise WaitlistError("That client is not a client of this clinic.", field="client")
    if service.clinic_id != clinic.pk or not service.is_active or service.online_booking == Service.OnlineBooking.STAFF:
        raise WaitlistError("That service is booked by the clinic directly, so it has no waitlist.", field="service")
    if therapist is not None and service.therapist_id not in (None, therapist.pk):
        raise WaitlistError("This therapist does not offer that service.", field="therapist")
    if service.online_booking == Service.OnlineBooking.EXISTING and not is_returning_client(client):
        raise WaitlistError(f"{service.name} is for clients who have visited before. Please book a consultation first.", field="service")
    _check_window(window, clinic=clinic, service=service)
    open_entries = WaitlistEntry.objects.filter(client=client, status__in=OPEN_STATUSES)
    if open_entries.filter(service=service, therapist=therapist).exists():
        raise WaitlistConflict("This client is already waiting for that service with that therapist.")
    if open_entries.count() >= MAX_OPEN_ENTRIES_PER_CLIENT:
        raise WaitlistError(f"A client can wait for at most {MAX_OPEN_ENTRIES_PER_CLIENT} things at once. Withdraw one first.")
    entry = WaitlistEntry.objects.create(
        clinic=clinic,
        client=client,
        service=service,
        therapist=therapist,
        earliest_date=window.earliest,
        latest_date=window.latest,
        weekdays=sorted(set(window.weekdays)),
        day_start=window.day_start,
        day_end=window.day_end,
        created_by=actor.user,
    )
    audit_record(action=Action.CREATE, obj=entry, actor=actor.user, role=actor.role, detail={"service": service.pk})
    return entry


@transaction.atomic
def waitlist_withdraw(*, entry: WaitlistEntry, actor: Actor) -> WaitlistEntry:
    """Take the entry off the waitlist; an offer it still holds stops working."""
    if not WaitlistEntry.objects.filter(pk=entry.pk, status__in=OPEN_STATUSES).update(status=WaitlistStatus.WITHDRAWN):
        raise WaitlistConflict("This entry is not on the waitlist any more.")
    WaitlistOffer.objects.filter(entry=entry, status=WaitlistOfferStatus.SENT).update(status=WaitlistOfferStatus.EXPIRED)
    entry.refresh_from_db()
    audit_record(action=Action.UPDATE, obj=entry, actor=actor.user, role=actor.role, detail={"status": WaitlistStatus.WITHDRAWN})
    return entry


# --- Housekeeping --------------------------------------------------------------------------------


def _reopen(entry_ids: Iterable[int]) -> None:
    """Entries whose offers have all ended wait again."""
    live = WaitlistOffer.objects.filter(entry=OuterRef("pk"), status=WaitlistOfferStatus.SENT)
    WaitlistEntry.objects.filter(pk__in=set(entry_ids), status=WaitlistStatus.OFFERED).exclude(Exists(live)).update(
        status=WaitlistStatus.ACTIVE
    )


def offers_expire(*, now: datetime | None = None) -> int:
    """Mark lapsed offers expired (their entries wait again) and entries whose last date has passed."""
    now = now or timezone.now()
    lapsed = WaitlistOffer.objects.filter(status=WaitlistOfferStatus.SENT, expires_at__lte=now)
    entry_ids = list(lapsed.values_list("entry_id", flat=True))
    count = lapsed.update(status=WaitlistOfferStatus.EXPIRED)
    _reopen(entry_ids)
    # A day's grace: entry dates are local to each clinic, and no zone is more than a day from UTC.
    WaitlistEntry.objects.filter(status=WaitlistStatus.ACTIVE, latest_date__lt=now.date() - timedelta(days=1)).update(
        status=WaitlistStatus.EXPIRED
    )
    return count


# --- Offering freed time ---------------------------------------------------------------------------


def fits_window(entry: WaitlistEntry, local_start: datetime, local_end: datetime) -> bool:
    """Whether the whole appointment falls inside the entry's dates, weekdays and hours (local time)."""
    day = local_start.date()
    if not entry.earliest_date <= day <= entry.latest_date or local_end.date() != day:
        return False
    days = entry.weekdays if isinstance(entry.weekdays, list) else []
    if days and day.weekday() not in days:
        return False
    return entry.day_start <= local_start.time() and local_end.time() <= entry.day_end


def matching_entries(*, clinic: Clinic, therapist: User, start: datetime, exclude_client_id: int | None = None) -> list[WaitlistEntry]:
    """Active entries that could take ``start`` with ``therapist``, first come first, one per client,
    where the time is still free for an online booking of the entry's service."""
    local = start.astimezone(clinic.tz)
    day = local.date()
    candidates = (
        _entries()
        .filter(clinic=clinic, status=WaitlistStatus.ACTIVE, earliest_date__lte=day, latest_date__gte=day, day_start__lte=local.time())
        .filter(Q(therapist__isnull=True) | Q(therapist=therapist))
        .filter(service__clinic=clinic, service__is_active=True)
        .filter(Q(service__therapist__isnull=True) | Q(service__therapist=therapist))
        .exclude(service__online_booking=Service.OnlineBooking.STAFF)
        .filter(client__archived_at__isnull=True, client__restricted_at__isnull=True)
        .order_by("created_at", "id")
    )
    if exclude_client_id is not None:
        candidates = candidates.exclude(client_id=exclude_client_id)
    free: dict[int, bool] = {}
    seen_clients: set[int] = set()
    found = []
    for entry in candidates:
        service = entry.service
        if entry.client_id in seen_clients or not fits_window(entry, local, (start + service.duration).astimezone(clinic.tz)):
            continue
        if service.pk not in free:
            slots = free_slots(clinic=clinic, therapist=therapist, service=service, first_day=day, last_day=day)
            free[service.pk] = any(s.start == start for s in slots)
        if free[service.pk]:
            seen_clients.add(entry.client_id)
            found.append(entry)
    return found


def _client_email(client: Client) -> str:
    return client.portal_user.email if client.portal_user_id and client.portal_user else client.email


def _mail(offer: WaitlistOffer, *, template: str, subject: str, link: str = "") -> bool:
    """E-mail the client in their language; ``subject`` is a message with ``%(when)s``, marked with gettext_noop."""
    to = _client_email(offer.entry.client)
    if not to:
        return False
    with client_translation(offer.entry.client):
        subject = gettext(subject) % {"when": short_when(offer.local_start)}
        text, html = _render_offer(offer, template=template, subject=subject, link=link)
    send_email(to=to, subject=subject, text=text, html=html, clinic=offer.clinic)
    return True


def _render_offer(offer: WaitlistOffer, *, template: str, subject: str, link: str) -> tuple[str, str]:
    context = {
        "offer": offer,
        "clinic": offer.clinic,
        "client": offer.entry.client,
        "local_start": offer.local_start,
        "local_end": offer.local_end,
        "zone": offer.clinic.time_zone,
        "expires_local": timezone.localtime(offer.expires_at, offer.clinic.tz),
        "minutes": max(1, int((offer.expires_at - offer.sent_at).total_seconds() // 60)),
        "link": link,
        "waitlist_link": absolute_url(reverse("my_waitlist")),
        "subject": subject,
    }
    return render_to_string(f"bookings/email/{template}.txt", context), render_to_string(f"bookings/email/{template}.html", context)


def _offer_create(*, entry: WaitlistEntry, freed: Appointment, now: datetime) -> tuple[WaitlistOffer, str] | None:
    """Create one offer and e-mail it, all or nothing: a mail server that is down leaves no offer."""
    service = entry.service
    policy = BookingPolicy.for_clinic(freed.clinic)
    # A claim must still meet the online notice, so the offer ends when the notice would bite.
    expires_at = min(now + timedelta(minutes=OFFER_MINUTES), freed.starts_at - timedelta(minutes=policy.min_notice_minutes))
    if expires_at <= now + timedelta(minutes=1):
        return None
    raw, hashed = WaitlistOffer.new_token()
    try:
        with transaction.atomic():
            if not WaitlistEntry.objects.filter(pk=entry.pk, status=WaitlistStatus.ACTIVE).update(status=WaitlistStatus.OFFERED):
                return None
            offer = WaitlistOffer.objects.create(
                entry=entry,
                clinic=freed.clinic,
                therapist=freed.therapist,
                service=service,
                starts_at=freed.starts_at,
                ends_at=freed.starts_at + service.duration,
                freed_from=freed,
                token_hash=hashed,
                sent_at=now,
                expires_at=expires_at,
            )
            offer.entry = entry
            audit_record(
                action=Action.CREATE, obj=offer, clinic=freed.clinic, role="system", detail={"entry": entry.pk, "freed_from": freed.pk}
            )
            link = absolute_url(reverse("waitlist_claim", args=[raw]))
            _mail(offer, template="waitlist_offer", subject=gettext_noop("A time has come free: %(when)s"), link=link)
    except IntegrityError:
        return None  # offered before (a rerun of the task)
    except Exception:
        log.exception("waitlist entry %s: the offer could not be sent", entry.pk)
        return None
    return offer, raw


def _wants_text(client: Client, policy: BookingPolicy) -> bool:
    return bool(policy.sms_reminders and client.reminders_by_sms and client.phone)


def _text_offer(offer: WaitlistOffer, raw: str, *, now: datetime) -> None:
    """At most once: the offer's text is marked ``sending`` (committed) before the gateway is called.
    A text held back by quiet hours is skipped, not deferred: the offer would be over by morning."""
    client = offer.entry.client
    if not _wants_text(client, BookingPolicy.for_clinic(offer.clinic)):
        return
    if next_text_time(now, offer.clinic.tz) > now:
        WaitlistOffer.objects.filter(pk=offer.pk, sms_status=SmsStatus.NONE).update(sms_status=SmsStatus.SKIPPED)
        return
    if not WaitlistOffer.objects.filter(pk=offer.pk, sms_status=SmsStatus.NONE).update(sms_status=SmsStatus.SENDING):
        return
    link = absolute_url(reverse("waitlist_claim", args=[raw]))
    with client_translation(client):
        text = gettext("%(clinic)s: a time has come free, %(when)s. First to claim it gets it: %(link)s") % {
            "clinic": offer.clinic.name,
            "when": short_when(offer.local_start),
            "link": link,
        }
    try:
        sms_sender().send(to=client.phone, text=text)
    except SmsError as exc:
        log.warning("waitlist offer %s: text to %s not sent (%s)", offer.pk, mask_number(client.phone), exc.reason)
        status = SmsStatus.FAILED
    except Exception:
        log.exception("waitlist offer %s: the text sender raised", offer.pk)
        status = SmsStatus.FAILED
    else:
        status = SmsStatus.SENT
    WaitlistOffer.objects.filter(pk=offer.pk, sms_status=SmsStatus.SENDING).update(sms_status=status)


def offers_for_freed_time(*, appointment_id: int, now: datetime | None = None, limit: int = OFFERS_PER_SLOT) -> list[WaitlistOffer]:
    """Offer a cancelled appointment's start to the first ``limit`` matching entries. Safe to rerun:
    offers already made for it count against ``limit`` and no entry is offered one start twice."""
    now = now or timezone.now()
    offers_expire(now=now)
    freed = (
        Appointment.objects.select_related("clinic", "therapist")
        .filter(pk=appointment_id, status__in=[AppointmentStatus.CANCELLED, AppointmentStatus.LATE_CANCELLED], starts_at__gt=now)
        .first()
    )
    if freed is None:
        return []
    room = limit - WaitlistOffer.objects.filter(freed_from=freed).count()
    sent: list[WaitlistOffer] = []
    if room <= 0:
        return sent
    for entry in matching_entries(clinic=freed.clinic, therapist=freed.therapist, start=freed.starts_at, exclude_client_id=freed.client_id):
        made = _offer_create(entry=entry, freed=freed, now=now)
        if made is None:
            continue
        offer, raw = made
        _text_offer(offer, raw, now=now)
        sent.append(offer)
        if len(sent) >= room:
            break
    return sent


# --- Claiming -----------------------------------------------------------------------------------


def waitlist_claim(*, offer: WaitlistOffer, actor: Actor) -> Appointment:
    """Book the offered time for the entry's client. Exactly one claimant of a time wins: the
    booking is :func:`~knotwork.bookings.services.appointment_book`, guarded by the database.

    Raises :class:`OfferGone` when someone else has the time (the entry waits again), and
    :class:`OfferClosed` when the link is expired or used. Any other
    refusal (a rule of the clinic) leaves the offer as it was."""
    now = timezone.now()
    lost = False
    with transaction.atomic():
        # Claims on one therapist queue here (PostgreSQL), so the winner's marking of the other
        # offers never waits on a loser's locked row.
        services.therapist_lock(offer.therapist_id)
        if not WaitlistOffer.objects.filter(pk=offer.pk, status=WaitlistOfferStatus.SENT, expires_at__gt=now).update(
            status=WaitlistOfferStatus.CLAIMED, claimed_at=now
        ):
            offer.refresh_from_db()
            if offer.status == WaitlistOfferStatus.GONE:
                raise OfferGone(TAKEN_MESSAGE)
            raise OfferClosed("This link has expired or has already been used.")
        entry = offer.entry
        try:
            appointment = services.appointment_book(
                clinic=offer.clinic,
                therapist=offer.therapist,
                service=offer.service,
                start=offer.starts_at,
                client=entry.client,
                actor=actor,
            )
        except SlotTaken:
            lost = True
            WaitlistOffer.objects.filter(pk=offer.pk).update(status=WaitlistOfferStatus.GONE, gone_notified_at=now)
            _reopen([entry.pk])
        else:
            _after_win(offer=offer, appointment=appointment, actor=actor, now=now)
    if lost:
        raise OfferGone(TAKEN_MESSAGE)
    return appointment


def _after_win(*, offer: WaitlistOffer, appointment: Appointment, actor: Actor, now: datetime) -> None:
    WaitlistOffer.objects.filter(pk=offer.pk).update(appointment=appointment)
    WaitlistEntry.objects.filter(pk=offer.entry_id).update(status=WaitlistStatus.BOOKED)
    WaitlistOffer.objects.filter(entry_id=offer.entry_id, status=WaitlistOfferStatus.SENT).update(status=WaitlistOfferStatus.EXPIRED)
    others = WaitlistOffer.objects.filter(
        therapist_id=offer.therapist_id,
        status=WaitlistOfferStatus.SENT,
        starts_at__lt=appointment.block_end,
        ends_at__gt=appointment.block_start,
    )
    gone = list(others.values_list("pk", "entry_id"))
    others.update(status=WaitlistOfferStatus.GONE)
    _reopen(e for _, e in gone)
    audit_record(
        action=Action.UPDATE,
        obj=offer,
        clinic=offer.clinic,
        actor=actor.user,
        role=actor.role,
        detail={"status": WaitlistOfferStatus.CLAIMED, "appointment": appointment.pk, "gone": [pk for pk, _ in gone]},
    )
    if gone:
        from knotwork.bookings import tasks

        ids = [pk for pk, _ in gone]
        transaction.on_commit(lambda: tasks.send_waitlist_gone.enqueue(ids))


def tell_gone(offer_ids: Iterable[int], *, now: datetime | None = None) -> int:
    """E-mail each client whose offer went to someone else, once (a conditional update claims each)."""
    now = now or timezone.now()
    told = 0
    rows = WaitlistOffer.objects.select_related("clinic", "entry__client", "entry__client__portal_user").filter(
        pk__in=list(offer_ids), status=WaitlistOfferStatus.GONE, gone_notified_at__isnull=True
    )
    for offer in rows:
        if not WaitlistOffer.objects.filter(pk=offer.pk, gone_notified_at__isnull=True).update(gone_notified_at=now):
            continue
        try:
            told += _mail(offer, template="waitlist_gone", subject=gettext_noop("That time has gone: %(when)s"))
        except Exception:
            log.exception("waitlist offer %s: the 'gone' e-mail failed", offer.pk)
    return told
