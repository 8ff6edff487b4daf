"""Who may reach a client's exports: the clinic's clinical staff, and the client themselves."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from knotwork.accounts.models import Capability, Membership
from knotwork.accounts.permissions import membership_for, require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.interop.models import DataExport


def get_export_for_user(user: Any, pk: int) -> tuple[DataExport, Membership | None]:
    """Staff with clinical access to the clinic, or the client's own portal login; anyone else 404."""
    export = DataExport.objects.select_related("client", "clinic").filter(pk=pk).first()
    if export is None or not getattr(user, "is_authenticated", False):
        raise Http404("No such export")
    membership = membership_for(user, export.clinic_id)
    if membership is None:
        if export.client.portal_user_id != user.pk:
            raise Http404("No such export")
    else:
        require(membership, Capability.VIEW_CLINICAL)
    audit_record(action=Action.VIEW, obj=export, role=membership.role if membership else "client", detail={"client": export.client_id})
    return export, membership
