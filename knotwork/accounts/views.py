from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from knotwork.accounts import services
from knotwork.accounts.forms import ApiTokenForm, StaffInviteForm
from knotwork.accounts.middleware import CLINIC_SESSION_KEY, has_second_factor
from knotwork.accounts.models import ApiToken, Capability, Invitation, Membership
from knotwork.audit.models import Action, AuditEvent
from knotwork.audit.services import audit_record
from knotwork.bookings.selectors import rebooking_for
from knotwork.clients.models import Client
from knotwork.clients.selectors import clients_of_portal_user
from knotwork.lib.views import staff_view


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "public/landing.html")
    membership = getattr(request, "membership", None)
    if membership is None:
        return _portal_home(request)
    clinic = membership.clinic
    context = {
        "client_count": Client.objects.for_clinic(clinic).active().count(),
        "recent_clients": Client.objects.for_clinic(clinic).active().order_by("-created_at")[:6],
        "staff_count": Membership.objects.active().filter(clinic=clinic).count(),
        "recent_events": (
            AuditEvent.objects.for_clinic(clinic).select_related("actor")[:8] if membership.can(Capability.VIEW_AUDIT) else []
        ),
    }
    return render(request, "accounts/dashboard.html", context)


def _portal_home(request: HttpRequest) -> HttpResponse:
    """A client's home: each clinic record with its last visit, "book again" and "book"."""
    records = list(clients_of_portal_user(request.user))
    rebooking = rebooking_for(records)
    for record in records:
        last = rebooking[record.pk].last
        if last is not None:
            audit_record(action=Action.VIEW, obj=last, role="client", detail={"via": "portal_home"})
    cards = [(record, rebooking[record.pk]) for record in records]
    return render(request, "accounts/portal_home.html", {"cards": cards})


@login_required
@require_POST
def switch_clinic(request: HttpRequest) -> HttpResponse:
    try:
        clinic_id = int(request.POST.get("clinic", ""))
    except ValueError:
        raise Http404("No such clinic") from None
    membership = next((m for m in request.memberships if m.clinic_id == clinic_id), None)  # type: ignore[attr-defined]
    if membership is None:
        raise Http404("No such clinic")
    request.session[CLINIC_SESSION_KEY] = clinic_id
    messages.success(request, f"You are now working in {membership.clinic.name}.")
    return redirect("home")


@staff_view(Capability.MANAGE_STAFF)
def staff(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    form = StaffInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_create(clinic=membership.clinic, invited_by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("staff")
    context = {
        "form": form,
        "members": Membership.objects.active().filter(clinic=membership.clinic).select_related("user").order_by("user__email"),
        "invitations": Invitation.objects.pending().filter(clinic=membership.clinic, kind=Invitation.Kind.STAFF),
    }
    return render(request, "accounts/staff.html", context)


@require_POST
@staff_view(Capability.MANAGE_STAFF)
def staff_remove(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    target = Membership.objects.active().filter(pk=pk, clinic=membership.clinic).select_related("user").first()
    if target is None:
        raise Http404("No such member")
    try:
        services.membership_deactivate(membership=target, actor=request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{target.user} no longer has access to {membership.clinic.name}.")
    return redirect("staff")


@require_POST
@staff_view(Capability.EDIT_DEMOGRAPHICS)
def invitation_revoke(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    invitation = Invitation.objects.pending().filter(pk=pk, clinic=membership.clinic).first()
    if invitation is None or (invitation.kind == Invitation.Kind.STAFF and not membership.can(Capability.MANAGE_STAFF)):
        raise Http404("No such invitation")
    services.invitation_revoke(invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} was withdrawn.")
    return redirect(
        "staff" if invitation.kind == Invitation.Kind.STAFF else "client_detail",
        *([] if invitation.kind == Invitation.Kind.STAFF else [invitation.client_id]),
    )


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return render(request, "accounts/invitation_invalid.html", status=404)
    if request.method == "POST" and request.user.is_authenticated:
        try:
            services.invitation_accept(invitation=invitation, user=request.user)  # type: ignore[arg-type]
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if invitation.kind == Invitation.Kind.STAFF:
                request.session[CLINIC_SESSION_KEY] = invitation.clinic_id
            messages.success(request, f"Welcome to {invitation.clinic.name}.")
            return redirect("home")
    return render(request, "accounts/invitation_accept.html", {"invitation": invitation, "token": token})


@login_required
def account_settings(request: HttpRequest) -> HttpResponse:
    tokens = ApiToken.objects.filter(user=request.user).select_related("clinic")  # type: ignore[misc]
    return render(request, "accounts/settings.html", {"tokens": tokens, "has_mfa": has_second_factor(request.user)})


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def token_create(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        issued = services.api_token_create(user=request.user, clinic=membership.clinic, **form.cleaned_data)  # type: ignore[arg-type]
        return render(request, "accounts/token_created.html", {"issued": issued})
    return render(request, "accounts/token_form.html", {"form": form})


@require_POST
@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = ApiToken.objects.filter(pk=pk, user=request.user, revoked_at__isnull=True).first()  # type: ignore[misc]
    if token is None:
        raise Http404("No such token")
    services.api_token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” was revoked. Anything using it stops working now.")
    return redirect("account_settings")
