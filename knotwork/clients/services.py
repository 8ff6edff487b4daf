from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from knotwork.accounts.models import Capability, Membership
from knotwork.accounts.permissions import require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.clients.models import Client

DEMOGRAPHIC_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "date_of_birth",
    "sex",
    "email",
    "phone",
    "address",
    "emergency_contact_name",
    "emergency_contact_phone",
    "reminders_by_email",
    "reminders_by_sms",
    "referral_source",
)
CLINICAL_FIELDS = ("clinical_alerts",)
# What a client may change on their own record from the portal: how to reach them, how they want
# to be reminded, and who to call in an emergency. Names and date of birth stay with the clinic.
OWN_FIELDS = (
    "phone",
    "address",
    "emergency_contact_name",
    "emergency_contact_phone",
    "reminders_by_email",
    "reminders_by_sms",
)


def _allowed_fields(membership: Membership, data: dict[str, Any]) -> None:
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    if set(data) & set(CLINICAL_FIELDS):
        require(membership, Capability.EDIT_CLINICAL)
    unknown = set(data) - set(DEMOGRAPHIC_FIELDS) - set(CLINICAL_FIELDS)
    if unknown:
        raise ValueError(f"not client fields: {', '.join(sorted(unknown))}")


@transaction.atomic
def client_create(*, membership: Membership, data: dict[str, Any]) -> Client:
    _allowed_fields(membership, data)
    client = Client(clinic=membership.clinic, **data)
    client.full_clean()
    client.save()
    audit_record(action=Action.CREATE, obj=client, role=membership.role, detail={"fields": sorted(data)})
    return client


@transaction.atomic
def client_update(*, client: Client, membership: Membership, data: dict[str, Any]) -> Client:
    _allowed_fields(membership, data)
    # Compare with the stored row: a bound ModelForm has already copied the new values onto ``client``.
    before = Client.objects.filter(pk=client.pk).values(*data).get() if data else {}
    changed = sorted(k for k, v in data.items() if before[k] != v)
    for key, value in data.items():
        setattr(client, key, value)
    client.full_clean()
    client.save()
    # Field names only: the audit log never holds clinical text.
    audit_record(action=Action.UPDATE, obj=client, role=membership.role, detail={"fields": changed})
    return client


@transaction.atomic
def client_update_own_details(*, client: Client, user: Any, data: dict[str, Any]) -> list[str]:
    """The client changes their own contact details, reminder choices and emergency contact.
    Returns the names of the fields that changed; the audit row holds those names only."""
    if client.portal_user_id is None or client.portal_user_id != getattr(user, "pk", None):
        raise PermissionDenied("Only the client may change these details here.")
    unknown = set(data) - set(OWN_FIELDS)
    if unknown:
        raise ValueError(f"not fields a client may change: {', '.join(sorted(unknown))}")
    before = Client.objects.filter(pk=client.pk).values(*data).get() if data else {}
    changed = sorted(k for k, v in data.items() if before[k] != v)
    for key, value in data.items():
        setattr(client, key, value)
    client.full_clean()
    client.save()
    audit_record(action=Action.UPDATE, obj=client, actor=user, role="client", detail={"fields": changed, "via": "portal"})
    return changed
