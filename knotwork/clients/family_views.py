"""The desk's family pages: find a client of the clinic to link as family, link them, and take a
client out of their family after a confirmation. The Family panel on the client page (templates/clients/_family.html)
leads here. Staff who may edit demographics (owner, therapist, front desk) link and unlink; a
client on their own record gets a 403; another clinic's client is a 404, whichever id names it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.clients import family
from knotwork.clients.models import Client
from knotwork.clients.selectors import SEARCH_MIN_CHARS, client_search, get_client_for_user


def _desk_client(request: HttpRequest, client_id: int) -> tuple[Client, Membership]:
    client, membership = get_client_for_user(request.user, client_id, write=True)
    assert membership is not None  # write access always comes through a membership
    return client, membership


def _back(client: Client) -> HttpResponse:
    return redirect(reverse("client_detail", args=[client.pk]) + "#family")


def _results(client: Client, membership: Membership, query: str) -> dict[str, Any]:
    """The clinic's clients matching ``query`` (the desk booking's search), this client left out; audited as one list read."""
    found, more = client_search(membership=membership, text=query)
    found = [c for c in found if c.pk != client.pk]
    audit_many(action=Action.LIST, objects=found, clinic=client.clinic_id, role=membership.role)
    return {"client": client, "results": found, "more": more, "family_q": query.strip()[:100], "min_chars": SEARCH_MIN_CHARS}


@login_required
def family_find(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = _desk_client(request, client_id)
    context = _results(client, membership, request.GET.get("q", ""))
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "clients/_family_results.html", context)
    context.update({"membership": membership, "searching": True})
    return render(request, "clients/family_find.html", context)


def _id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


@require_POST
@login_required
def family_link(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = _desk_client(request, client_id)
    member_id = _id(request.POST.get("member", "").strip())
    if member_id is None:
        messages.error(request, "Choose the client to link as family.")
        return _back(client)
    member = family.family_candidate(client, member_id)
    if member is None:
        raise Http404("No such client")
    try:
        family.family_link(client=client, member=member, membership=membership)
    except family.FamilyError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{member.full_name} is now linked to {client.full_name} as family.")
    return _back(client)


def _return_to(member: Client, raw: str) -> Client:
    """The client page to go back to: the one named by ``back`` (the page the desk came from) when it
    is an open record of the same clinic, otherwise the member's own."""
    pk = _id(raw.strip())
    found = Client.objects.filter(pk=pk, clinic_id=member.clinic_id, restricted_at__isnull=True).first() if pk else None
    return found or member


@login_required
def family_unlink(request: HttpRequest, client_id: int) -> HttpResponse:
    """Take this client out of their family: GET asks for confirmation, POST unlinks."""
    member, membership = _desk_client(request, client_id)
    back = _return_to(member, request.POST.get("back", "") or request.GET.get("back", ""))
    if request.method != "POST":
        context = {"member": member, "back": back, "family": family.family_of(member)}
        return render(request, "clients/family_unlink.html", context)
    try:
        gone = family.family_unlink(member=member, membership=membership)
    except family.FamilyError as exc:
        messages.error(request, exc.message)
    else:
        also = [c.full_name for c in gone if c.pk != member.pk]
        text = f"{member.full_name} is no longer linked to this family."
        messages.success(request, text + (f" {', '.join(also)} had no one else left in it and was unlinked too." if also else ""))
    return _back(back)
