"""Reads for messaging: one thread for a user (404 outside their reach, 403 for a kind their role may
not read), inbox lists with unread counts."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from knotwork.accounts.models import Capability, Membership
from knotwork.accounts.permissions import membership_for, require
from knotwork.messaging.models import KIND_CHANGE_REFUSED, Attachment, ReadMarker, Thread, may_change_kind, thread_capability


def get_thread_for_user(user: Any, thread_id: int, *, write: bool = False) -> tuple[Thread, Membership | None]:
    """The thread if ``user`` is staff of its clinic or the client it belongs to; else 404.

    Staff also need the capability of the thread's kind: the front desk gets 403 on a clinical thread.
    Auditing is the caller's job: reading a thread audits how many messages were shown.
    """
    thread = Thread.objects.select_related("clinic", "client").filter(pk=thread_id).first()
    if thread is None:
        raise Http404("No such conversation")
    membership = membership_for(user, thread.clinic_id)
    if membership is None:
        if not getattr(user, "is_authenticated", False) or thread.client.portal_user_id != user.pk or thread.client.archived_at:
            raise Http404("No such conversation")
        return thread, None
    require(membership, Capability.EDIT_DEMOGRAPHICS if write else Capability.VIEW_DEMOGRAPHICS)
    if not membership.can(thread_capability(thread.kind, write=write)):
        raise PermissionDenied("This conversation is clinical: only therapists and the clinic owner can open it.")
    return thread, membership


def get_thread_for_kind_change(user: Any, thread_id: int) -> tuple[Thread, Membership]:
    """The thread if ``user`` may change its kind: 404 outside their reach, 403 for anyone but a clinician."""
    thread, membership = get_thread_for_user(user, thread_id, write=True)
    if membership is None or not may_change_kind(membership):
        raise PermissionDenied(KIND_CHANGE_REFUSED)
    return thread, membership


def get_attachment_for_user(user: Any, attachment_id: int) -> tuple[Attachment, Membership | None]:
    attachment = Attachment.objects.select_related("message__thread").filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("No such file")
    _, membership = get_thread_for_user(user, attachment.message.thread_id)
    return attachment, membership


def threads_for(user: Any, membership: Membership | None) -> QuerySet[Thread]:
    """The clinic's threads of the kinds the staff member may read; the person's own threads (every
    clinic, every kind) for a client. Each carries ``unread``: messages from the other side newer than
    this reader's marker."""
    if membership is not None:
        qs = Thread.objects.visible_to(membership)
        from_other_side = True  # staff read what clients wrote
    else:
        qs = Thread.objects.filter(client__portal_user=user, client__archived_at__isnull=True)
        from_other_side = False
    read_at = Subquery(ReadMarker.objects.filter(thread=OuterRef("pk"), user=user).values("read_at")[:1])
    unread_filter = Q(messages__from_client=from_other_side) & (Q(read_at__isnull=True) | Q(messages__created_at__gt=F("read_at")))
    return (
        qs.select_related("client", "clinic")
        .annotate(read_at=read_at)
        .annotate(unread=Count("messages", filter=unread_filter), message_count=Count("messages"))
        .order_by("-last_message_at", "-id")
    )


def unread_total(user: Any, membership: Membership | None) -> int:
    """Unread messages over every thread the reader may see (the front desk: admin threads only)."""
    rows = threads_for(user, membership).select_related(None).only("id")
    return sum(t.unread for t in rows)  # type: ignore[attr-defined]
