"""Group session pages: the desk's list, new class and class page; the public list and booking a seat;
a client's own seats. The logic is in knotwork/bookings/classes.py."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Clinic, Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.bookings import classes
from knotwork.bookings.models import ClassSession, Room, Service
from knotwork.bookings.selectors import clinic_therapists, portal_client_at
from knotwork.bookings.services import Actor, BookingError
from knotwork.clients.models import Client
from knotwork.lib.views import staff_view


class ClassForm(forms.Form):
    name = forms.CharField(max_length=80, required=False, help_text="Empty: the service's name.")
    service = forms.ModelChoiceField(queryset=Service.objects.none(), empty_label=None)
    therapist = forms.ModelChoiceField(queryset=Service.objects.none(), empty_label=None, label="Led by")
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    time = forms.TimeField(label="Starts at", widget=forms.TimeInput(attrs={"type": "time", "step": 300}))
    duration_minutes = forms.IntegerField(label="Length (minutes)", min_value=5, max_value=Service.MAX_DURATION_MINUTES, initial=60)
    capacity = forms.IntegerField(
        label="Seats", min_value=ClassSession.MIN_CAPACITY, max_value=ClassSession.MAX_CAPACITY, initial=8, help_text="2 to 50."
    )
    room = forms.ModelChoiceField(queryset=Room.objects.none(), required=False, empty_label="No room")
    price = forms.DecimalField(
        min_value=Decimal("0"), max_digits=8, decimal_places=2, required=False, help_text="Per seat. Empty: the service's price."
    )

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["service"].queryset = Service.objects.active().filter(clinic=clinic)  # type: ignore[attr-defined]
        self.fields["therapist"].queryset = clinic_therapists(clinic)  # type: ignore[attr-defined]
        self.fields["therapist"].label_from_instance = lambda u: u.display_name  # type: ignore[attr-defined]
        self.fields["room"].queryset = Room.objects.filter(clinic=clinic, is_active=True)  # type: ignore[attr-defined]
        self.fields["time"].help_text = f"{clinic.time_zone} time"

    def start(self) -> datetime:
        d = self.cleaned_data
        return timezone.make_aware(datetime.combine(d["date"], d["time"]), self.clinic.tz)


# --- The desk -------------------------------------------------------------------------------------


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def class_list(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    rows = list(classes.clinic_classes(membership.clinic)[:200])
    audit_many(action=Action.LIST, objects=rows, clinic=membership.clinic, role=membership.role)
    context = {"rows": rows, "can_edit": membership.can(Capability.EDIT_DEMOGRAPHICS)}
    return render(request, "bookings/class_list.html", context)


@staff_view(Capability.EDIT_DEMOGRAPHICS)
def class_new(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    form = ClassForm(request.POST or None, clinic=membership.clinic)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            session = classes.class_create(
                clinic=membership.clinic, therapist=d["therapist"], service=d["service"], start=form.start(),
                duration_minutes=d["duration_minutes"], capacity=d["capacity"], name=d["name"], room=d["room"], price=d["price"],
                actor=Actor(user=request.user, membership=membership),  # type: ignore[arg-type]
            )  # fmt: skip
        except BookingError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{session.name} is scheduled.")
            return redirect("class_detail", session.pk)
    return render(request, "bookings/class_new.html", {"form": form}, status=422 if form.errors else 200)


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def class_detail(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    """The class and its seats; the desk adds a client found by a search (``?q=``) with a POST."""
    session, _ = classes.get_class_for_user(request.user, pk, clinic_id=membership.clinic_id)
    can_edit = membership.can(Capability.EDIT_DEMOGRAPHICS)
    error = ""
    if request.method == "POST":
        if not can_edit:
            raise Http404("No such class")
        client = (
            Client.objects.for_clinic(membership.clinic)
            .active()
            .filter(pk=_int(request.POST.get("client", "")) or 0, restricted_at__isnull=True)
            .first()
        )
        if client is None:
            raise Http404("No such client")
        try:
            classes.seat_book(class_session=session, client=client, actor=Actor(user=request.user, membership=membership))  # type: ignore[arg-type]
        except BookingError as exc:
            error = exc.message
        else:
            messages.success(request, f"{client.full_name} has a seat.")
            return redirect("class_detail", session.pk)
    audit_record(action=Action.VIEW, obj=session, clinic=session.clinic, role=membership.role)
    q = request.GET.get("q", "")[:100]
    seated = classes.booked_client_ids(session)
    context = {
        "session": session,
        "seats": list(classes.class_seats(session)),
        "can_edit": can_edit,
        "q": q,
        "found": [c for c in classes.staff_clients(membership.clinic, q) if c.pk not in seated] if can_edit else [],
        "error": error,
        "started": session.starts_at <= timezone.now(),
    }
    return render(request, "bookings/class_detail.html", context, status=409 if error else 200)


@staff_view(Capability.EDIT_DEMOGRAPHICS)
@require_POST
def class_cancel(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    session, _ = classes.get_class_for_user(request.user, pk, write=True, clinic_id=membership.clinic_id)
    try:
        classes.class_cancel(class_session=session, actor=Actor(user=request.user, membership=membership))  # type: ignore[arg-type]
        messages.success(request, f"{session.name} is cancelled; everyone with a seat is told by e-mail.")
    except BookingError as exc:
        messages.error(request, exc.message)
    return redirect("class_detail", session.pk)


@login_required
@require_POST
def class_seat_cancel(request: HttpRequest, pk: int, seat_id: int) -> HttpResponse:
    """Staff of the clinic, or the seat's own client."""
    seat, membership = classes.get_seat_for_user(request.user, pk, seat_id)
    try:
        classes.seat_cancel(seat=seat, actor=Actor(user=request.user, membership=membership))  # type: ignore[arg-type]
        messages.success(request, "The seat is cancelled.")
    except BookingError as exc:
        messages.error(request, exc.message)
    return redirect("class_detail", pk) if membership else redirect("my_classes")


# --- Clients ----------------------------------------------------------------------------------------


def class_public_list(request: HttpRequest, slug: str) -> HttpResponse:
    """Public: the clinic's upcoming classes with a free seat (a fragment when the booking page asks by htmx)."""
    clinic = get_object_or_404(Clinic, slug=slug)
    rows = list(classes.open_classes(clinic)[:50])
    mine = set()
    own = portal_client_at(clinic, request.user)
    if own is not None:
        mine = set(own.class_seats.filter(status="booked", class_session__in=rows).values_list("class_session_id", flat=True))
    template = "bookings/class_public_rows.html" if request.headers.get("HX-Request") else "bookings/class_public.html"
    return render(request, template, {"clinic": clinic, "rows": rows, "mine": mine, "signed_in": request.user.is_authenticated})


@login_required
@require_POST
def class_book(request: HttpRequest, pk: int) -> HttpResponse:
    """A signed-in client of the class's clinic books one seat for themselves."""
    session, membership = classes.get_class_for_user(request.user, pk)
    if membership is not None:
        messages.info(request, "Staff add clients to a class from its page here.")
        return redirect("class_detail", session.pk)
    client = portal_client_at(session.clinic, request.user)
    if client is None:
        raise Http404("No such class")
    try:
        classes.seat_book(class_session=session, client=client, actor=Actor(user=request.user))  # type: ignore[arg-type]
    except BookingError as exc:
        messages.error(request, exc.message)
        return redirect("class_public_list", session.clinic.slug)
    messages.success(request, f"You have a seat in {session.name}.")
    return redirect("my_classes")


@login_required
def my_classes(request: HttpRequest) -> HttpResponse:
    rows = list(classes.own_seats(request.user)[:100])
    if rows:
        audit_many(action=Action.LIST, objects=rows, clinic=rows[0].class_session.clinic, role="client")
    template = "bookings/class_mine_rows.html" if request.headers.get("HX-Request") else "bookings/class_mine.html"
    return render(request, template, {"rows": rows})


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) <= 18 else None
