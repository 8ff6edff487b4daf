"""Messaging API: threads and text messages (attachments are sent through the web pages).

Staff read their clinic's threads (token scope ``clients:read``; ``clients:write`` to post); a
signed-in client reads and writes their own. Reads and writes are audited like the pages.

A thread's ``kind`` is ``admin`` (booking, payment, forms) or ``clinical`` (therapists and the owner
only): the front desk never sees clinical threads in lists and gets 403 on one; it can start only
admin threads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from knotwork.accounts.models import ApiToken, Capability, Membership
from knotwork.accounts.permissions import membership_for, require
from knotwork.atlas.explain_api import ErrorOut
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.clients.models import Client
from knotwork.lib.api import PageParams, page_of
from knotwork.messaging import services
from knotwork.messaging.models import Thread, kinds_for
from knotwork.messaging.selectors import get_thread_for_user, threads_for

router = Router(tags=["messaging"])
READ, WRITE = ApiToken.Scope.CLIENTS_READ, ApiToken.Scope.CLIENTS_WRITE
Kind = Literal["admin", "clinical"]
KIND_HELP = "admin: booking, payment or forms (the front desk reads it); clinical: therapists and the clinic owner only"


class ThreadOut(Schema):
    id: int
    clinic: int
    client: int
    subject: str
    kind: Kind = Field(..., description=KIND_HELP)
    last_message_at: datetime
    unread: int = 0


class ThreadPage(Schema):
    items: list[ThreadOut]
    count: int
    page: int
    page_size: int


class MessageOut(Schema):
    id: int
    from_client: bool
    sender: str
    body: str
    created_at: datetime
    attachments: list[str]


class ThreadDetail(ThreadOut):
    messages: list[MessageOut]


class ThreadIn(Schema):
    model_config = {"extra": "forbid"}
    client: int | None = Field(
        None, description="Staff: the client to write to. Clients: one of their own records (optional if they have one)"
    )
    subject: str = Field(..., min_length=1, max_length=120)
    body: str = Field(..., min_length=1, max_length=services.MAX_BODY)
    kind: Kind | None = Field(
        None,
        description=f"{KIND_HELP}. The front desk may start only admin threads (403 for clinical). "
        "Without it: clinical, or admin for the front desk",
    )


class MessageIn(Schema):
    model_config = {"extra": "forbid"}
    body: str = Field(..., min_length=1, max_length=services.MAX_BODY)


def _staff(request: HttpRequest, scope: str) -> Membership | None:
    """The acting membership: the token's clinic, or the session's current clinic; None for a client."""
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is not None:
        if scope not in token.scopes:
            raise HttpError(403, f"This token lacks the “{scope}” scope.")
        membership = membership_for(token.user, token.clinic_id)
        if membership is None:
            raise HttpError(403, "This token's owner has left the clinic.")
        return require(membership, Capability.VIEW_DEMOGRAPHICS)
    return getattr(request, "membership", None)


def _thread(request: HttpRequest, thread_id: int, scope: str) -> tuple[Thread, Membership | None]:
    acting = _staff(request, scope)
    thread, membership = get_thread_for_user(request.user, thread_id, write=scope == WRITE)
    if acting is not None and thread.clinic_id != acting.clinic_id:
        raise Http404("Not found")
    return thread, membership


def _out(t: Thread) -> dict:
    return {
        "id": t.pk,
        "clinic": t.clinic_id,
        "client": t.client_id,
        "subject": t.subject,
        "kind": t.kind,
        "last_message_at": t.last_message_at,
        "unread": getattr(t, "unread", 0),
    }


@router.get(
    "/threads",
    response={200: ThreadPage, 403: ErrorOut},
    url_name="thread_list",
    summary="Conversations, newest first, with unread counts (the front desk sees admin threads only)",
)
def list_threads(request: HttpRequest, paging: Query[PageParams]):  # type: ignore[no-untyped-def]
    membership = _staff(request, READ)
    rows, counts = page_of(threads_for(request.user, membership), paging)
    if rows:
        audit_many(action=Action.LIST, objects=rows, clinic=rows[0].clinic, role=membership.role if membership else "client")
    return {"items": [_out(t) for t in rows], **counts}


@router.post(
    "/threads",
    response={201: ThreadDetail, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    url_name="thread_create",
    summary="Start a conversation",
)
def create_thread(request: HttpRequest, payload: ThreadIn):  # type: ignore[no-untyped-def]
    membership = _staff(request, WRITE)
    if membership is not None:
        require(membership, Capability.EDIT_DEMOGRAPHICS)
        client = Client.objects.filter(clinic=membership.clinic, pk=payload.client or 0, archived_at__isnull=True).first()
        startable = kinds_for(membership, write=True)
        kind = payload.kind or (startable[-1] if startable else Thread.Kind.ADMIN)  # the most private kind the role may start
    else:
        mine = Client.objects.filter(portal_user=request.user, archived_at__isnull=True)  # type: ignore[misc]
        client = mine.filter(pk=payload.client).first() if payload.client else (mine.first() if mine.count() == 1 else None)
        kind = payload.kind or Thread.Kind.CLINICAL
    if client is None:
        raise Http404("No such client")
    try:
        thread = services.thread_start(
            client=client, user=request.user, membership=membership, subject=payload.subject, body=payload.body, kind=kind
        )
    except services.MessageError as exc:
        raise HttpError(422, str(exc)) from None
    return Status(201, _detail(thread))


def _detail(thread: Thread) -> dict:
    rows = list(thread.messages.select_related("sender").prefetch_related("attachments"))
    messages = [
        {
            "id": m.pk,
            "from_client": m.from_client,
            "sender": m.sender.display_name if m.sender else "",
            "body": m.body,
            "created_at": m.created_at,
            "attachments": [a.display_name for a in m.attachments.all()],
        }
        for m in rows
    ]
    return {**_out(thread), "messages": messages}


@router.get(
    "/threads/{thread_id}",
    response={200: ThreadDetail, 403: ErrorOut, 404: ErrorOut},
    url_name="thread_get",
    summary="One conversation; marks it read (403 for the front desk on a clinical thread)",
)
def get_thread(request: HttpRequest, thread_id: int):  # type: ignore[no-untyped-def]
    thread, membership = _thread(request, thread_id, READ)
    body = _detail(thread)
    audit_record(
        action=Action.VIEW, obj=thread, role=membership.role if membership else "client", detail={"messages": len(body["messages"])}
    )
    services.thread_mark_read(thread=thread, user=request.user)
    return body


@router.post(
    "/threads/{thread_id}/messages",
    response={201: MessageOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    url_name="thread_reply",
    summary="Write in a conversation (403 for the front desk on a clinical thread)",
)
def post_message(request: HttpRequest, thread_id: int, payload: MessageIn):  # type: ignore[no-untyped-def]
    thread, membership = _thread(request, thread_id, WRITE)
    try:
        m = services.message_post(thread=thread, user=request.user, membership=membership, body=payload.body)
    except services.MessageError as exc:
        raise HttpError(422, str(exc)) from None
    return Status(
        201,
        {
            "id": m.pk,
            "from_client": m.from_client,
            "sender": request.user.display_name,  # type: ignore[union-attr]
            "body": m.body,
            "created_at": m.created_at,
            "attachments": [],
        },
    )
