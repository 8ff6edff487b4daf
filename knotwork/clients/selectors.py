from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from knotwork.accounts.models import Capability, Membership
from knotwork.accounts.permissions import membership_for, require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.clients.models import Client


def open_client(path: str = "") -> dict[str, bool]:
    """Filter arguments that leave out the rows of an erased client, whose retained records are
    processing-restricted (knotwork/clients/erasure.py). ``path`` leads from the row to the model
    that holds ``client``, e.g. ``"assessment"`` for a photo."""
    return {f"{path}__client__restricted_at__isnull" if path else "client__restricted_at__isnull": True}


OPEN_CLIENT = open_client()


def get_client_for_user(
    user: Any,
    client_id: int,
    *,
    write: bool = False,
    clinical: bool = False,
    audit: bool = True,
    clinic_id: int | None = None,
) -> tuple[Client, Membership | None]:
    """The client record if ``user`` may reach it, with the membership that grants it.

    Staff reach clients of clinics they belong to; a client reaches only their own record
    (read-only, no membership). Anything else is a 404. ``clinical`` asks for the clinical part,
    which front desk may not see (403). ``clinic_id`` confines the lookup to one clinic (an API
    token acts for one clinic even when its owner works in several). Every read is audited.
    """
    qs = Client.objects.select_related("clinic").filter(pk=client_id)
    if clinic_id is not None:
        qs = qs.filter(clinic_id=clinic_id)
    client = qs.first()
    if client is None or client.restricted_at is not None:
        raise Http404("No such client")  # an erased client's retained records are restricted: no normal view shows them
    membership = membership_for(user, client.clinic_id)
    if membership is None:
        if getattr(user, "is_authenticated", False) and client.portal_user_id == user.pk and not clinical:
            if write:
                raise PermissionDenied("Ask your clinic to change these details.")
            if audit:
                audit_record(action=Action.VIEW, obj=client, role="client")
            return client, None
        raise Http404("No such client")
    if clinical:
        require(membership, Capability.EDIT_CLINICAL if write else Capability.VIEW_CLINICAL)
    else:
        require(membership, Capability.EDIT_DEMOGRAPHICS if write else Capability.VIEW_DEMOGRAPHICS)
    if audit and not write:
        audit_record(action=Action.VIEW, obj=client, role=membership.role, detail={"clinical": clinical})
    return client, membership


def client_list(*, membership: Membership, search: str = "", archived: bool = False) -> QuerySet[Client]:
    require(membership, Capability.VIEW_DEMOGRAPHICS)
    qs = Client.objects.for_clinic(membership.clinic).filter(restricted_at__isnull=True)
    qs = qs.filter(archived_at__isnull=not archived)
    if search:
        qs = qs.search(search)
    return qs


def clients_of_portal_user(user: Any) -> QuerySet[Client]:
    return Client.objects.filter(portal_user=user, archived_at__isnull=True).select_related("clinic")


SEARCH_MIN_CHARS = 2


def client_search(*, membership: Membership, text: str, limit: int = 10) -> tuple[list[Client], bool]:
    """Open client records of the member's clinic matching ``text`` by name, e-mail, phone or date
    of birth: at most ``limit``, and whether there were more. Fewer than two characters find nothing."""
    text = text.strip()[:100]
    if len(text) < SEARCH_MIN_CHARS:
        return [], False
    rows = list(client_list(membership=membership, search=text)[: limit + 1])
    return rows[:limit], len(rows) > limit
