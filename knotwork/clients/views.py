from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Invitation, Membership
from knotwork.accounts.services import invitation_create
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.clients import erasure, services
from knotwork.clients.forms import ClientForm, PortalInviteForm
from knotwork.clients.intake.selectors import consents_due
from knotwork.clients.selectors import client_list, get_client_for_user
from knotwork.lib.views import paginate, staff_view


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def client_index(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    archived = request.GET.get("archived") == "1"
    page = paginate(request, client_list(membership=membership, search=search, archived=archived))
    audit_many(action=Action.LIST, objects=page.object_list, clinic=membership.clinic, role=membership.role)
    template = "clients/_list.html" if request.htmx else "clients/index.html"  # type: ignore[attr-defined]
    return render(request, template, {"page": page, "search": search, "archived": archived})


@staff_view(Capability.EDIT_DEMOGRAPHICS)
def client_new(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    clinical = membership.can(Capability.EDIT_CLINICAL)
    form = ClientForm(request.POST or None, clinical=clinical)
    if request.method == "POST" and form.is_valid():
        client = services.client_create(membership=membership, data=form.cleaned_data)
        messages.success(request, f"{client.full_name} was added.")
        return redirect("client_detail", client.pk)
    return render(request, "clients/form.html", {"form": form, "client": None})


@login_required
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    client, membership = get_client_for_user(request.user, pk)
    clinical = bool(membership and membership.can(Capability.VIEW_CLINICAL))
    context = {
        "client": client,
        "show_clinical": clinical,
        "membership": membership,
        "invitations": Invitation.objects.pending().filter(client=client) if membership else [],
        "invite_form": PortalInviteForm(initial={"email": client.email}),
        "consents_due": consents_due(client) if membership else [],
    }
    return render(request, "clients/detail.html", context)


@login_required
def client_edit(request: HttpRequest, pk: int) -> HttpResponse:
    client, membership = get_client_for_user(request.user, pk, write=True)
    assert membership is not None  # write access always comes through a membership
    form = ClientForm(request.POST or None, instance=client, clinical=membership.can(Capability.EDIT_CLINICAL))
    if request.method == "POST" and form.is_valid():
        services.client_update(client=client, membership=membership, data=form.cleaned_data)
        messages.success(request, "Changes saved.")
        return redirect("client_detail", client.pk)
    return render(request, "clients/form.html", {"form": form, "client": client})


@login_required
def client_invite(request: HttpRequest, pk: int) -> HttpResponse:
    client, membership = get_client_for_user(request.user, pk, write=True)
    assert membership is not None
    form = PortalInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation_create(clinic=client.clinic, email=form.cleaned_data["email"], invited_by=request.user, client=client)  # type: ignore[arg-type]
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Portal invitation sent to {form.cleaned_data['email']}.")
    elif request.method == "POST":
        messages.error(request, "Enter a valid email address for the invitation.")
    return redirect("client_detail", client.pk)


@require_POST
@staff_view(Capability.MANAGE_STAFF)
def client_erase(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    """Owner only: erase the client's identifiers; retained clinical records become restricted."""
    client, _ = get_client_for_user(request.user, pk, write=True, clinic_id=membership.clinic_id)
    report = erasure.client_erase(client=client, membership=membership, actor=request.user)  # type: ignore[arg-type]
    text = (
        f"Client erased: identifiers removed, {report.threads_deleted} message thread(s) deleted, "
        "clinical records kept under restriction."
    )
    messages.success(request, text)
    return redirect("client_index")
