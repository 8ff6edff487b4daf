"""Waitlist pages: the claim link, a client's own waitlist and joining it, and the desk's list.

The logic is in knotwork/bookings/waitlist.py; these parse, look up through the ``get_*_for_user``
helpers, call it and render.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Clinic, Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.bookings import services
from knotwork.bookings import waitlist as wl
from knotwork.bookings.forms import AboutYouForm
from knotwork.bookings.models import Service, WaitlistStatus, Weekday
from knotwork.bookings.selectors import clinic_therapists, portal_client_at
from knotwork.bookings.services import Actor, BookingError
from knotwork.clients.models import Client
from knotwork.lib.views import paginate, staff_view


class WaitlistForm(forms.Form):
    """What a client waits for: a service, a therapist or any, and when they could come."""

    service = forms.ModelChoiceField(queryset=Service.objects.none(), empty_label=None, label=_("Service"))
    therapist = forms.ModelChoiceField(
        queryset=Service.objects.none(), required=False, empty_label=_("Any therapist"), label=_("Therapist")
    )
    earliest_date = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    latest_date = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Days"),
        choices=Weekday.choices,  # translated labels
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any day."),
    )
    day_start = forms.TimeField(label=_("Earliest start"), widget=forms.TimeInput(attrs={"type": "time", "step": 900}))
    day_end = forms.TimeField(label=_("Finished by"), widget=forms.TimeInput(attrs={"type": "time", "step": 900}))

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        today = timezone.localdate(timezone=clinic.tz)
        # "Weekday mornings in the next two weeks" unless the caller says otherwise.
        defaults = {"earliest_date": today, "latest_date": today + timedelta(days=14), "weekdays": [0, 1, 2, 3, 4]}
        kwargs["initial"] = {**defaults, "day_start": time(9), "day_end": time(12), **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["service"].queryset = (  # type: ignore[attr-defined]
            Service.objects.active().filter(clinic=clinic).exclude(online_booking=Service.OnlineBooking.STAFF)
        )
        self.fields["therapist"].queryset = clinic_therapists(clinic)  # type: ignore[attr-defined]
        self.fields["therapist"].label_from_instance = lambda u: u.display_name  # type: ignore[attr-defined]
        zone = gettext("%(zone)s time") % {"zone": clinic.time_zone}
        self.fields["day_start"].help_text = zone
        self.fields["day_end"].help_text = zone

    def window(self) -> wl.Window:
        d = self.cleaned_data
        return wl.Window(d["earliest_date"], d["latest_date"], tuple(d["weekdays"]), d["day_start"], d["day_end"])

    def refuse(self, exc: BookingError) -> None:
        field = getattr(exc, "field", "")
        self.add_error(field if field in self.fields else None, exc.message)


def _join(form: WaitlistForm, *, client: Client, actor: Actor) -> bool:
    try:
        wl.waitlist_join(
            clinic=form.clinic,
            client=client,
            service=form.cleaned_data["service"],
            therapist=form.cleaned_data["therapist"],
            window=form.window(),
            actor=actor,
        )
    except BookingError as exc:
        form.refuse(exc)
        return False
    return True


# --- The claim link (public, by token) -----------------------------------------------------------


def waitlist_claim(request: HttpRequest, token: str) -> HttpResponse:
    """The token is the credential (see waitlist.py): it books that one time for the entry's client."""
    offer = wl.get_offer_for_token(token, request.user)
    user = request.user if request.user.is_authenticated else None
    error, status = "", 200
    if request.method == "POST" and wl.offer_state(offer) == "open":
        try:
            appointment = wl.waitlist_claim(offer=offer, actor=Actor(user=user))  # type: ignore[arg-type]
        except BookingError as exc:
            error, status = exc.message, exc.status
            offer.refresh_from_db()
        else:
            messages.success(request, gettext("The time is yours. A confirmation is on its way by e-mail."))
            if user is not None:
                return redirect("appointment_detail", appointment.pk)
            return redirect("waitlist_claim", token)
    elif request.method == "GET":
        audit_record(action=Action.VIEW, obj=offer, clinic=offer.clinic, actor=user, role="client" if user else "token")
    state = wl.offer_state(offer)
    context = {"offer": offer, "state": state, "error": error, "entry": offer.entry}
    response = render(request, "bookings/waitlist_claim.html", context, status=status if error else 200)
    response["Cache-Control"] = "private, no-store"
    # Not "no-referrer": the browser would then send "Origin: null" with the form, which CSRF refuses.
    response["Referrer-Policy"] = "same-origin"
    return response


# --- A client's own waitlist ---------------------------------------------------------------------


@login_required
def my_waitlist(request: HttpRequest) -> HttpResponse:
    rows = list(wl.own_waitlist(request.user)[:100])
    if rows:
        audit_many(action=Action.LIST, objects=rows, clinic=rows[0].clinic, role="client")
    return render(request, "bookings/waitlist_mine.html", {"rows": rows})


@login_required
def waitlist_join(request: HttpRequest, slug: str) -> HttpResponse:
    clinic = get_object_or_404(Clinic, slug=slug)
    client = portal_client_at(clinic, request.user)
    initial_choice = {k: request.GET[k] for k in ("service", "therapist") if request.GET.get(k, "").isdigit()}
    form = WaitlistForm(request.POST or None, clinic=clinic, initial=initial_choice)
    about = AboutYouForm(request.POST or None, prefix="about") if client is None else None
    if request.method == "POST" and form.is_valid() and (about is None or about.is_valid()):
        actor = Actor(user=request.user)  # type: ignore[arg-type]
        try:
            client = client or services.client_for_booking(clinic=clinic, user=request.user, **about.cleaned_data)[0]  # type: ignore[union-attr,arg-type]
        except BookingError as exc:
            form.refuse(exc)
        else:
            if _join(form, client=client, actor=actor):
                messages.success(request, "You are on the waitlist. We will e-mail you when a matching time comes free.")
                return redirect("my_waitlist")
    return render(request, "bookings/waitlist_join.html", {"clinic": clinic, "form": form, "about": about})


@login_required
@require_POST
def waitlist_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    entry, membership = wl.get_waitlist_entry_for_user(request.user, pk, write=True)
    try:
        wl.waitlist_withdraw(entry=entry, actor=Actor(user=request.user, membership=membership))  # type: ignore[arg-type]
        messages.success(request, "Taken off the waitlist.")
    except BookingError as exc:
        messages.error(request, exc.message)
    return redirect("clinic_waitlist" if membership else "my_waitlist")


# --- The desk ----------------------------------------------------------------------------------


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) <= 18 else None


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def clinic_waitlist(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    clinic = membership.clinic
    status = request.GET.get("status", "")
    status = status if status in WaitlistStatus.values else ""
    filters = {"service_id": _int(request.GET.get("service", "")), "therapist_id": _int(request.GET.get("therapist", ""))}
    page = paginate(request, wl.clinic_waitlist(clinic, status=status, **filters))
    audit_many(action=Action.LIST, objects=page.object_list, clinic=clinic, role=membership.role)
    context = {
        "page": page,
        "status": status,
        "statuses": WaitlistStatus.choices,
        "services": Service.objects.filter(clinic=clinic).order_by("name"),
        "therapists": clinic_therapists(clinic),
        **filters,
        "can_edit": membership.can(Capability.EDIT_DEMOGRAPHICS),
    }
    return render(request, "bookings/waitlist_clinic.html", context)


@staff_view(Capability.EDIT_DEMOGRAPHICS)
def waitlist_new(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    """Add a client: chosen by ``?client=<id>`` (from their page) or found by a search here."""
    clinic = membership.clinic
    client_id = _int(request.GET.get("client", "") or request.POST.get("client", ""))
    client = Client.objects.for_clinic(clinic).active().filter(pk=client_id or 0, restricted_at__isnull=True).first()
    if client_id is not None and client is None:
        raise Http404("No such client")
    q = request.GET.get("q", "").strip()[:100]
    found = list(Client.objects.for_clinic(clinic).active().filter(restricted_at__isnull=True).search(q)[:20]) if q and not client else []
    form = WaitlistForm(request.POST or None, clinic=clinic) if client else None
    actor = Actor(user=request.user, membership=membership)  # type: ignore[arg-type]
    if request.method == "POST" and form is not None and client is not None and form.is_valid() and _join(form, client=client, actor=actor):
        messages.success(request, f"{client.full_name} is on the waitlist.")
        return redirect(reverse("clinic_waitlist"))
    return render(request, "bookings/waitlist_new.html", {"client": client, "form": form, "q": q, "found": found})
