"""Writes for messaging: start a thread, post a message (with attachments), change a thread's kind, mark read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from knotwork.accounts.models import Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.clients.models import Client
from knotwork.lib.uploads import UploadRejected
from knotwork.messaging.attachments import MAX_FILES, CleanFile, clean_attachment
from knotwork.messaging.models import KIND_CHANGE_REFUSED, Attachment, Message, ReadMarker, Thread, may_change_kind, thread_capability

MAX_BODY = 5000


class MessageError(ValueError):
    """A message that cannot be sent; ``str()`` says why, for the person sending it."""


def _clean_files(files: Sequence[UploadedFile]) -> list[CleanFile]:
    if len(files) > MAX_FILES:
        raise MessageError(f"Attach at most {MAX_FILES} files to one message.")
    cleaned = []
    for f in files:
        try:
            cleaned.append(clean_attachment(f, name=f.name or "upload"))
        except UploadRejected as exc:
            raise MessageError(f"{f.name}: {exc}") from None
    return cleaned


def _role(membership: Membership | None) -> str:
    return membership.role if membership else "client"


@transaction.atomic
def message_post(*, thread: Thread, user: Any, membership: Membership | None, body: str, files: Sequence[UploadedFile] = ()) -> Message:
    body = body.strip()
    if not body and not files:
        raise MessageError(gettext("Write a message or attach a file."))
    if len(body) > MAX_BODY:
        raise MessageError(f"Messages are limited to {MAX_BODY} characters.")
    cleaned = _clean_files(files)  # before any write: a refused file saves nothing
    message = Message.objects.create(thread=thread, sender=user, from_client=membership is None, body=body)
    stored: list[str] = []
    try:
        for f in cleaned:
            name = default_storage.save(f.storage_name, ContentFile(f.data))
            stored.append(name)
            Attachment.objects.create(
                message=message, file=name, display_name=f.display_name, content_type=f.content_type, size=len(f.data)
            )
    except Exception:
        for name in stored:
            default_storage.delete(name)
        raise
    Thread.objects.filter(pk=thread.pk).update(last_message_at=message.created_at)
    ReadMarker.objects.update_or_create(thread=thread, user=user, defaults={"read_at": message.created_at})
    audit_record(
        action=Action.CREATE,
        obj=message,
        clinic=thread.clinic,
        actor=user,
        role=_role(membership),
        detail={"thread": thread.pk, "attachments": len(cleaned), "characters": len(body)},
    )
    from knotwork.messaging import tasks

    message_id = message.pk
    transaction.on_commit(lambda: tasks.notify_new_message.enqueue(message_id))
    return message


def _check_kind(kind: str) -> None:
    if kind not in Thread.Kind.values:
        raise MessageError(gettext("Choose who the conversation is for: booking, payment or forms, or clinical."))


@transaction.atomic
def thread_start(
    *,
    client: Client,
    user: Any,
    membership: Membership | None,
    subject: str,
    body: str,
    kind: str,
    files: Sequence[UploadedFile] = (),
) -> Thread:
    """Start a thread of ``kind``; staff may start only the kinds their role may write in (the
    front desk: admin). The client it belongs to may start either kind."""
    _check_kind(kind)
    if membership is not None and not membership.can(thread_capability(kind, write=True)):
        raise PermissionDenied("Your role can start only conversations about booking, payment or forms.")
    subject = subject.strip()[:120] or "Question"
    thread = Thread.objects.create(
        clinic=client.clinic, client=client, subject=subject, kind=kind, created_by=user, last_message_at=timezone.now()
    )
    audit_record(action=Action.CREATE, obj=thread, actor=user, role=_role(membership), detail={"client": client.pk, "kind": kind})
    message_post(thread=thread, user=user, membership=membership, body=body, files=files)
    return thread


@transaction.atomic
def thread_set_kind(*, thread: Thread, kind: str, user: Any, membership: Membership | None) -> bool:
    """Make a thread admin or clinical. Only clinicians may (403 otherwise). Audited with the old and
    new kind, never any message text. Returns False when the thread already had that kind."""
    if not may_change_kind(membership):
        raise PermissionDenied(KIND_CHANGE_REFUSED)
    _check_kind(kind)
    old = Thread.objects.select_for_update().values_list("kind", flat=True).get(pk=thread.pk)
    if old == kind:
        return False
    Thread.objects.filter(pk=thread.pk).update(kind=kind)
    thread.kind = kind
    audit_record(
        action=Action.UPDATE,
        obj=thread,
        clinic=thread.clinic_id,
        actor=user,
        role=_role(membership),
        detail={"fields": ["kind"], "from": old, "to": kind},
    )
    return True


def thread_mark_read(*, thread: Thread, user: Any) -> None:
    ReadMarker.objects.update_or_create(thread=thread, user=user, defaults={"read_at": timezone.now()})
