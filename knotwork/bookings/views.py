"""Booking pages: the public clinic page and slot picker, the hold → sign in → confirm flow,
a client's appointments, and the staff schedule (the desk's booking form is in desk_views.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Clinic, Membership
from knotwork.accounts.permissions import membership_for
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.bookings import services
from knotwork.bookings.forms import AboutYouForm, LocalTimeForm
from knotwork.bookings.ics import calendar_bytes
from knotwork.bookings.models import Appointment, AppointmentStatus, BookingPolicy, CalendarFeed, Service
from knotwork.bookings.selectors import (
    THERAPIST_ROLES,
    bookable_therapists,
    client_appointments,
    clinic_therapists,
    free_slots,
    get_appointment_for_user,
    is_returning_client,
    portal_client_at,
    service_in_clinic,
    therapist_in_clinic,
)
from knotwork.bookings.selectors import (
    schedule as schedule_rows,
)
from knotwork.bookings.series import series_cancel_following, series_place
from knotwork.bookings.services import MAX_YEAR, MIN_YEAR, Actor, BookingError, SlotTaken
from knotwork.bookings.slots import Slot
from knotwork.lib import context
from knotwork.lib.views import staff_view

HOLD_SESSION_KEY = "knotwork.booking_hold"
HOLDS_PER_IP = 20  # per 10 minutes: enough for a family at one address, too few to hold a whole diary


def _day(value: str) -> date | None:
    """A YYYY-MM-DD date from a URL, or None for anything else: an impossible date such as
    2026-02-30 is as unusable as a typo, and so is a real but absurd one (year 1 or 9999, where
    stepping a week overflows); the page falls back to its default day."""
    if len(value) != 10:
        return None
    try:
        parsed = parse_date(value)
    except ValueError:
        return None
    return parsed if parsed is not None and MIN_YEAR <= parsed.year <= MAX_YEAR else None


def _moment(value: str) -> datetime | None:
    """An aware ISO date-time from a form, or None (missing, malformed, impossible, absurd or naive)."""
    try:
        parsed = parse_datetime(value[:40])
    except ValueError:
        return None
    if parsed is None or timezone.is_naive(parsed) or not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None
    return parsed


def _id(value: str) -> int | None:
    """A row id from a URL or form, or None: digits only, and small enough for any database's integer."""
    return int(value) if value.isdigit() and len(value) <= 18 else None


def _week_start(request: HttpRequest, clinic: Clinic) -> date:
    today = timezone.localdate(timezone=clinic.tz)
    asked = _day(request.GET.get("week", ""))
    start = asked if asked and today - timedelta(days=7) <= asked <= today + timedelta(days=400) else today
    return max(start, today)


def _by_day(found: list[Slot], clinic: Clinic) -> list[tuple[date, list[dict[str, Any]]]]:
    days: dict[date, list[dict[str, Any]]] = {}
    for slot in found:
        local = slot.start.astimezone(clinic.tz)
        days.setdefault(local.date(), []).append({"local": local, "iso": slot.start.isoformat()})
    return sorted(days.items())


# --- Public: the clinic page and the slot picker ------------------------------------------------


def book_clinic(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = get_object_or_404(Clinic, slug=slug)
    therapists = list(bookable_therapists(clinic))
    offered = list(Service.objects.active().filter(clinic=clinic).exclude(online_booking=Service.OnlineBooking.STAFF))
    rows = [(t, [s for s in offered if s.therapist_id in (None, t.pk)]) for t in therapists]
    return render(request, "bookings/clinic.html", {"clinic": clinic, "rows": rows})


def _for_returning_only(request: HttpRequest, clinic: Clinic, service: Service) -> str:
    """Why this visitor cannot book an "existing clients only" service: "sign_in" (anonymous: they
    may be a returning client), "new" (signed in, no past visit here), or "" (they may book it)."""
    if service.online_booking != Service.OnlineBooking.EXISTING:
        return ""
    if not request.user.is_authenticated:
        return "sign_in"
    client = portal_client_at(clinic, request.user)
    return "" if client is not None and is_returning_client(client) else "new"


def book_slots(request: HttpRequest, slug: str, therapist_id: int, service_id: int) -> HttpResponse:
    clinic = get_object_or_404(Clinic, slug=slug)
    therapist = therapist_in_clinic(clinic, therapist_id)
    service = service_in_clinic(clinic, service_id, therapist)
    if service.online_booking == Service.OnlineBooking.STAFF:
        raise Http404("No such service")
    week = _week_start(request, clinic)
    refused = _for_returning_only(request, clinic, service)
    found: list[Slot] = []
    if not refused:
        found = free_slots(clinic=clinic, therapist=therapist, service=service, first_day=week, last_day=week + timedelta(days=6))
    context = {
        "clinic": clinic,
        "therapist": therapist,
        "service": service,
        "days": _by_day(found, clinic),
        "week": week,
        "prev_week": week - timedelta(days=7) if week > timezone.localdate(timezone=clinic.tz) else None,
        "next_week": week + timedelta(days=7),
        "refused": refused,
        "next_q": urlencode({"next": request.get_full_path()}),
    }
    return render(request, "bookings/slots.html", context)


def _release_session_hold(request: HttpRequest) -> None:
    previous = request.session.pop(HOLD_SESSION_KEY, None)
    if isinstance(previous, dict):
        Appointment.objects.filter(pk=previous.get("id") or 0, status=AppointmentStatus.HELD).update(status=AppointmentStatus.EXPIRED)


def _too_many_holds(request: HttpRequest) -> bool:
    # The request context's address honours TRUSTED_PROXY_COUNT, unlike REMOTE_ADDR behind a proxy.
    key = f"bookings:holds:{context.current().ip or request.META.get('REMOTE_ADDR', '')}"
    cache.add(key, 0, timeout=600)
    try:
        return cache.incr(key) > HOLDS_PER_IP
    except ValueError:  # the counter expired between add and incr
        return False


@require_POST
def book_hold(request: HttpRequest, slug: str, therapist_id: int, service_id: int) -> HttpResponse:
    clinic = get_object_or_404(Clinic, slug=slug)
    therapist = therapist_in_clinic(clinic, therapist_id)
    service = service_in_clinic(clinic, service_id, therapist)
    back = reverse("book_slots", args=[slug, therapist.pk, service.pk])
    start = _moment(request.POST.get("start", ""))
    if start is None:
        messages.error(request, "Please choose one of the times shown.")
        return redirect(back)
    if _too_many_holds(request):
        messages.error(request, "Too many times were held from this connection. Please wait a few minutes.")
        return redirect(back)
    _release_session_hold(request)
    user = _user(request)
    try:
        hold, token = services.hold_create(
            clinic=clinic, therapist=therapist, service=service, start=start, actor=Actor(user=user), client=portal_client_at(clinic, user)
        )
    except BookingError as exc:
        messages.error(request, exc.message)
        return redirect(f"{back}?{urlencode({'week': start.astimezone(clinic.tz).date().isoformat()})}")
    request.session[HOLD_SESSION_KEY] = {"id": hold.pk, "token": token}
    return redirect("book_confirm")


def _user(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


def _session_hold(request: HttpRequest) -> tuple[Appointment | None, str]:
    data = request.session.get(HOLD_SESSION_KEY)
    if not isinstance(data, dict):
        return None, ""
    hold = Appointment.objects.select_related("clinic", "therapist", "service").filter(pk=data.get("id") or 0).first()
    return hold, str(data.get("token", ""))


def book_confirm(request: HttpRequest) -> HttpResponse:
    """Public: shows the held time. Anonymous visitors are asked to sign in or sign up and come back;
    a signed-in person confirms (giving their name on a first booking at this clinic)."""
    hold, token = _session_hold(request)
    if hold is None or not hold.hold_token_matches(token):
        request.session.pop(HOLD_SESSION_KEY, None)
        messages.warning(request, "There is no time held for you at the moment. Please choose a time.")
        return redirect("home")
    user = _user(request)
    client = portal_client_at(hold.clinic, user)
    form = AboutYouForm(request.POST or None, initial={"first_name": getattr(user, "full_name", "").split(" ")[0]} if user else None)
    payment = _payment_step(hold)
    agreed = request.POST.get("agree") == "on" or not payment.get("sentence")
    if request.method == "POST" and user is not None and payment and not agreed:
        payment["agree_error"] = "Please confirm that you agree to the cancellation policy."
    elif request.method == "POST" and user is not None and (client is not None or form.is_valid()):
        try:
            client = client or services.client_for_booking(clinic=hold.clinic, user=user, **form.cleaned_data)[0]
            if payment:
                return _to_payment(request, hold=hold, token=token, client=client, user=user, policy=payment["sentence"])
            appointment = services.hold_confirm(hold=hold, token=token, client=client, actor=Actor(user=user))
        except BookingError as exc:
            return _hold_failed(request, hold, exc)
        request.session.pop(HOLD_SESSION_KEY, None)
        messages.success(request, "Your appointment is booked. A confirmation is on its way by e-mail.")
        return redirect("appointment_detail", appointment.pk)
    next_q = urlencode({"next": reverse("book_confirm")})
    context = {
        "hold": hold,
        "client": client,
        "form": form,
        "next_q": next_q,
        "expired": hold.status != AppointmentStatus.HELD or (hold.hold_expires_at or timezone.now()) <= timezone.now(),
        "payment": payment,
    }
    return render(request, "bookings/confirm.html", context, status=400 if payment.get("agree_error") else 200)


def _payment_step(hold: Appointment) -> dict[str, Any]:
    """What booking this hold takes by card at once, when its service asks for a deposit or
    prepayment and online card payments are set up; {} otherwise (the booking is made as usual)."""
    from knotwork.billing import deposits, fees
    from knotwork.billing.providers import online_payments_configured

    if not online_payments_configured() or not deposits.deposit_needed(hold):
        return {}
    due = deposits.amount_due(hold)
    return {"due": due, "rest": hold.price - due, "prepay": hold.service.payment_policy == Service.PaymentPolicy.PREPAY,
            "sentence": fees.policy_sentence(hold.clinic, hold.service)}  # fmt: skip


def _to_payment(request: HttpRequest, *, hold: Appointment, token: str, client: Any, user: Any, policy: str) -> HttpResponse:
    """Keep the hold for this client while they pay, and go to the payment step."""
    from knotwork.billing import deposit_views, deposits
    from knotwork.billing.services import BillingError

    try:
        invoice = deposits.deposit_start(hold=hold, token=token, client=client, user=user, policy=policy)
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("book_confirm")
    request.session.pop(HOLD_SESSION_KEY, None)
    deposit_views.remember(request, invoice)
    return redirect("book_deposit")


def _hold_failed(request: HttpRequest, hold: Appointment, exc: BookingError) -> HttpResponse:
    request.session.pop(HOLD_SESSION_KEY, None)
    nearest = exc.nearest() if isinstance(exc, SlotTaken) else []
    context = {"hold": hold, "message": exc.message, "days": _by_day(nearest, hold.clinic)}
    return render(request, "bookings/taken.html", context, status=exc.status)


# --- Signed in: one appointment ----------------------------------------------------------------


def _actor(request: HttpRequest, membership: Membership | None) -> Actor:
    return Actor(user=request.user, membership=membership)  # type: ignore[arg-type]


@login_required
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment, membership = get_appointment_for_user(request.user, pk)
    policy = BookingPolicy.for_clinic(appointment.clinic)
    context = {
        "a": appointment,
        "membership": membership,
        "policy": policy,
        "client_may_change": appointment.is_active and services.client_may_change(appointment),
        "started": appointment.starts_at <= timezone.now(),
        "series": series_place(appointment),
    }
    return render(request, "bookings/appointment.html", context)


@login_required
@require_POST
def appointment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment, membership = get_appointment_for_user(request.user, pk, write=True)
    late = {"late": True, "on_time": False}.get(request.POST.get("kind", "")) if membership else None
    try:
        if membership and request.POST.get("scope") == "following":
            done = series_cancel_following(appointment=appointment, actor=_actor(request, membership), late=late)
            messages.success(request, f"{len(done)} appointment{'s are' if len(done) != 1 else ' is'} cancelled.")
            return redirect("appointment_detail", pk)
        services.appointment_cancel(appointment=appointment, actor=_actor(request, membership), late=late)
        messages.success(request, "The appointment is cancelled.")
    except BookingError as exc:
        messages.error(request, exc.message)
    return redirect("appointment_detail", pk)


@login_required
@require_POST
def appointment_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    appointment, membership = get_appointment_for_user(request.user, pk, write=True)
    if membership is None:
        raise Http404("No such appointment")
    try:
        services.appointment_record_outcome(
            appointment=appointment, status=request.POST.get("status", ""), actor=_actor(request, membership)
        )
        messages.success(request, "Saved.")
    except BookingError as exc:
        messages.error(request, exc.message)
    return redirect("appointment_detail", pk)


@login_required
def appointment_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    appointment, membership = get_appointment_for_user(request.user, pk, write=True)
    clinic = appointment.clinic
    form = LocalTimeForm(request.POST or None, clinic=clinic) if membership else None
    if request.method == "POST":
        start = form.start() if form is not None and form.is_valid() else _moment(request.POST.get("start", ""))
        if start is not None and not timezone.is_naive(start):
            try:
                services.appointment_reschedule(appointment=appointment, start=start, actor=_actor(request, membership))
                messages.success(request, "The appointment has moved.")
                return redirect("appointment_detail", pk)
            except BookingError as exc:
                messages.error(request, exc.message)
    week = _week_start(request, clinic)
    found = free_slots(
        clinic=clinic,
        therapist=appointment.therapist,
        service=appointment.service,
        first_day=week,
        last_day=week + timedelta(days=6),
        exclude_id=appointment.pk,
        staff=membership is not None,
    )
    return render(
        request,
        "bookings/reschedule.html",
        {"a": appointment, "form": form, "days": _by_day(found, clinic), "week": week, "next_week": week + timedelta(days=7)},
    )


@login_required
def appointment_ics(request: HttpRequest, pk: int) -> HttpResponse:
    appointment, membership = get_appointment_for_user(request.user, pk)
    body = calendar_bytes([appointment], audience="therapist" if membership else "client", name=appointment.clinic.name)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def my_appointments(request: HttpRequest) -> HttpResponse:
    rows = list(client_appointments(request.user)[:100])
    if rows:
        audit_record(
            action=Action.LIST, object_type="bookings.appointment", clinic=rows[0].clinic, role="client", detail={"count": len(rows)}
        )
    now = timezone.now()
    upcoming = [a for a in rows if a.ends_at > now and a.is_active]
    past = [a for a in rows if a not in upcoming]
    return render(request, "bookings/mine.html", {"upcoming": sorted(upcoming, key=lambda a: a.starts_at), "past": past})


# --- Staff: schedule, booking for anyone, calendar feed ---------------------------------------


def _day_param(request: HttpRequest, clinic: Clinic) -> date:
    return _day(request.GET.get("date", "")) or timezone.localdate(timezone=clinic.tz)


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def schedule(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    clinic = membership.clinic
    day = _day_param(request, clinic)
    week = request.GET.get("view") == "week"
    first = day - timedelta(days=day.weekday()) if week else day
    last = first + timedelta(days=6 if week else 0)
    therapist_id = _id(request.GET.get("therapist", ""))
    start = datetime.combine(first, datetime.min.time(), tzinfo=clinic.tz)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=clinic.tz)
    rows = list(schedule_rows(clinic=clinic, start=start, end=end, therapist_id=therapist_id))
    audit_many(action=Action.LIST, objects=rows, clinic=clinic, role=membership.role)
    days = [
        (first + timedelta(days=i), [a for a in rows if a.local_start.date() == first + timedelta(days=i)])
        for i in range((last - first).days + 1)
    ]
    step = timedelta(days=7 if week else 1)
    feed = CalendarFeed.objects.usable().filter(clinic=clinic, therapist=membership.user).first()
    context = {
        "days": days,
        "day": day,
        "week": week,
        "prev": day - step,
        "next": day + step,
        "therapists": clinic_therapists(clinic),
        "therapist_id": therapist_id,
        "feed": feed,
        "feed_url": request.session.pop("knotwork.feed_url", None),
        "own_hours": membership if membership.role in THERAPIST_ROLES else None,
    }
    return render(request, "bookings/schedule.html", context)


@staff_view(Capability.VIEW_DEMOGRAPHICS)
@require_POST
def calendar_feed_manage(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    if request.POST.get("action") == "revoke":
        services.calendar_feed_revoke(membership=membership)
        messages.success(request, "Your calendar feed address no longer works.")
    else:
        raw = services.calendar_feed_create(membership=membership)
        request.session["knotwork.feed_url"] = request.build_absolute_uri(reverse("calendar_feed", args=[raw]))
        messages.success(request, "Your new calendar feed address is below. It is shown only once.")
    return redirect("schedule")


def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """Token-authenticated (calendar apps cannot sign in): the token is the credential."""
    feed = (
        CalendarFeed.objects.usable().select_related("clinic", "therapist").filter(token_hash=CalendarFeed.hash_token(token[:100])).first()
    )
    if feed is None or membership_for(feed.therapist, feed.clinic_id) is None:
        raise Http404("No such calendar")
    now = timezone.now()
    rows = list(
        Appointment.objects.filter(
            clinic=feed.clinic, therapist=feed.therapist, starts_at__gte=now - timedelta(days=30), starts_at__lte=now + timedelta(days=366)
        )
        .exclude(status__in=[AppointmentStatus.HELD, AppointmentStatus.EXPIRED])
        .select_related("clinic", "client", "service", "therapist")
    )
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
    audit_record(
        action=Action.EXPORT, obj=feed, actor=feed.therapist, clinic=feed.clinic, detail={"count": len(rows), "via": "calendar_feed"}
    )
    response = HttpResponse(
        calendar_bytes(rows, audience="therapist", name=f"{feed.clinic.name} — Knotwork"), content_type="text/calendar; charset=utf-8"
    )
    response["Cache-Control"] = "private, no-store"
    return response
