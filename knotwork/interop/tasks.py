"""Building a client's data export in the background, and removing expired archives."""

from __future__ import annotations

import logging
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from knotwork.interop.export import build_zip
from knotwork.interop.models import DataExport, ExportStatus

log = logging.getLogger(__name__)


def purge_expired(*, now: object = None) -> int:
    """Delete the archives of expired exports (the rows stay, as a record that an export happened)."""
    n = 0
    for export in DataExport.objects.filter(expires_at__lte=now or timezone.now()).exclude(file_name=""):
        default_storage.delete(export.file_name)
        DataExport.objects.filter(pk=export.pk).update(file_name="", status=ExportStatus.EXPIRED)
        n += 1
    return n


@task()
def build_data_export(export_id: int) -> str:
    export = DataExport.objects.select_related("client__clinic").filter(pk=export_id, status=ExportStatus.PENDING).first()
    if export is None:
        return "gone"
    try:
        data, counts = build_zip(export.client)
    except Exception:
        log.exception("data export %s failed", export_id)
        DataExport.objects.filter(pk=export_id).update(status=ExportStatus.FAILED, finished_at=timezone.now())
        return "failed"
    name = default_storage.save(f"exports/{secrets.token_urlsafe(18)}.zip", ContentFile(data))
    with transaction.atomic():
        updated = DataExport.objects.filter(pk=export_id, status=ExportStatus.PENDING).update(
            status=ExportStatus.READY, file_name=name, byte_size=len(data), row_counts=counts, finished_at=timezone.now()
        )
    if not updated:  # deleted or changed meanwhile: keep no orphan archive
        default_storage.delete(name)
    purge_expired()
    return "ready"
