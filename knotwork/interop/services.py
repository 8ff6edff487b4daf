"""Requesting a data export, and the signed download link that reaches it."""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.db import transaction
from django.utils import timezone

from knotwork.accounts.models import Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.clients.models import Client
from knotwork.interop.models import DataExport, ExportStatus

_SALT = "knotwork.interop.data-export"


@transaction.atomic
def export_request(*, client: Client, user: Any, membership: Membership | None) -> DataExport:
    """Queue a new export of the client's record, or return the one already being prepared."""
    pending = DataExport.objects.filter(client=client, status=ExportStatus.PENDING).first()
    if pending is not None:
        return pending
    export = DataExport.objects.create(clinic_id=client.clinic_id, client=client, requested_by=user if user.is_authenticated else None,
                                       expires_at=timezone.now() + DataExport.VALID_FOR)  # fmt: skip
    audit_record(action=Action.EXPORT, obj=export, clinic=client.clinic_id, role=membership.role if membership else "client",
                 detail={"client": client.pk, "requested": True})  # fmt: skip

    def enqueue() -> None:
        from knotwork.interop.tasks import build_data_export

        build_data_export.enqueue(export.pk)

    transaction.on_commit(enqueue)
    return export


def download_token(export: DataExport) -> str:
    return signing.TimestampSigner(salt=_SALT).sign(str(export.pk))


def export_id_from_token(token: str) -> int | None:
    """The export id in a download token, or None when it is forged or older than an export lives."""
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(token, max_age=DataExport.VALID_FOR)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None
