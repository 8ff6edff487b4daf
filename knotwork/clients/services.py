from __future__ import annotations

from typing import Any

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
)
CLINICAL_FIELDS = ("clinical_alerts",)


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
