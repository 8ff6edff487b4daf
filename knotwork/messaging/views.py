"""Messaging pages: the inbox, one conversation, a new conversation, attachment downloads."""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Clinic, Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.bookings.forms import AboutYouForm
from knotwork.bookings.services import BookingError, client_for_booking
from knotwork.clients.models import Client
from knotwork.clients.selectors import client_list
from knotwork.lib.uploads import limit_upload_size, private_image_response
from knotwork.lib.views import paginate
from knotwork.messaging import services
from knotwork.messaging.attachments import MAX_BYTES, MAX_FILES
from knotwork.messaging.forms import NewThreadForm, ReplyForm, ThreadKindForm
from knotwork.messaging.models import Thread, kinds_for, may_change_kind
from knotwork.messaging.selectors import get_attachment_for_user, get_thread_for_kind_change, get_thread_for_user, threads_for

UPLOAD_CAP = MAX_BYTES * MAX_FILES + 64 * 1024
TOO_LARGE = format_lazy(
    _("The files are too large: at most {files} files of {megabytes} MB each."), files=MAX_FILES, megabytes=MAX_BYTES // (1024 * 1024)
)


def _membership(request: HttpRequest) -> Membership | None:
    return getattr(request, "membership", None)


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    page = paginate(request, threads_for(request.user, membership))
    clinic = membership.clinic if membership else None
    if page.object_list:
        audit_many(
            action=Action.LIST,
            objects=page.object_list,
            clinic=clinic or page.object_list[0].clinic,
            role=membership.role if membership else "client",
        )
    can_read_clinical = membership is not None and Thread.Kind.CLINICAL in kinds_for(membership)
    return render(request, "messaging/inbox.html", {"page": page, "membership": membership, "can_read_clinical": can_read_clinical})


def _send(request: HttpRequest, form: Any, send: Any) -> Any:
    """Run ``send`` for a valid form; a refused message becomes a form error and keeps what was typed."""
    if getattr(request, "upload_too_large", False):
        form.add_error("files", TOO_LARGE)
        return None
    if not form.is_valid():
        return None
    try:
        return send(form.cleaned_data)
    except (services.MessageError, BookingError) as exc:
        form.add_error(None, str(exc))
        return None


@limit_upload_size(UPLOAD_CAP)
@login_required
def thread_detail(request: HttpRequest, pk: int) -> HttpResponse:
    thread, membership = get_thread_for_user(request.user, pk, write=request.method == "POST")
    form = ReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        sent = _send(
            request,
            form,
            lambda d: services.message_post(thread=thread, user=request.user, membership=membership, body=d["body"], files=d["files"]),
        )
        if sent is not None:
            return redirect("thread_detail", pk)
    return _render_thread(request, thread, membership, form=form)


def _render_thread(
    request: HttpRequest,
    thread: Thread,
    membership: Membership | None,
    *,
    form: ReplyForm | None = None,
    kind_form: ThreadKindForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The conversation page: shows (and audits, and marks read) every message of the thread."""
    rows = list(thread.messages.select_related("sender").prefetch_related("attachments"))
    audit_record(action=Action.VIEW, obj=thread, role=membership.role if membership else "client", detail={"messages": len(rows)})
    services.thread_mark_read(thread=thread, user=request.user)
    if kind_form is None and may_change_kind(membership):
        kind_form = ThreadKindForm(thread=thread)
    context = {"thread": thread, "rows": rows, "form": form or ReplyForm(), "membership": membership, "kind_form": kind_form}
    return render(request, "messaging/thread.html", context, status=status)


@login_required
@require_POST
def thread_kind(request: HttpRequest, pk: int) -> HttpResponse:
    """A clinician makes a thread admin or clinical (403 for anyone else)."""
    thread, membership = get_thread_for_kind_change(request.user, pk)
    form = ThreadKindForm(request.POST, thread=thread)
    if not form.is_valid():
        return _render_thread(request, thread, membership, kind_form=form)
    changed = services.thread_set_kind(thread=thread, kind=form.cleaned_data["kind"], user=request.user, membership=membership)
    if not changed:
        flash.info(request, "Nothing changed: the conversation already had that kind.")
    elif thread.kind == Thread.Kind.CLINICAL:
        flash.success(request, "The conversation is clinical now: only therapists and the owner can read it.")
    else:
        flash.success(request, "The conversation is about booking, payment or forms now: the front desk can read it.")
    return redirect("thread_detail", pk)


def _client_records(request: HttpRequest) -> Any:
    return Client.objects.filter(portal_user=request.user, archived_at__isnull=True).select_related("clinic")  # type: ignore[misc]


@limit_upload_size(UPLOAD_CAP)
@login_required
def thread_new(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    clinic = get_object_or_404(Clinic, slug=request.GET.get("clinic", "")[:80]) if request.GET.get("clinic") else None
    if membership is not None and clinic is None:
        form = NewThreadForm(request.POST or None, request.FILES or None, clients=client_list(membership=membership), staff=membership)
        about = None
    else:
        records = _client_records(request).filter(clinic=clinic) if clinic else _client_records(request)
        form = NewThreadForm(request.POST or None, request.FILES or None, clients=records if clinic is None else None, by_clinic=True)
        # A first question before any visit creates the person's record at that clinic.
        about = AboutYouForm(request.POST or None, prefix="about") if clinic is not None and not records.exists() else None
    if request.method == "POST" and (about is None or about.is_valid()):
        thread = _send(request, form, lambda d: _start(request, membership if clinic is None else None, clinic, about, d))
        if thread is not None:
            flash.success(request, gettext("Message sent."))
            return redirect("thread_detail", thread.pk)
    return render(request, "messaging/new.html", {"form": form, "about": about, "clinic": clinic})


def _start(request: HttpRequest, membership: Membership | None, clinic: Clinic | None, about: Any, data: dict[str, Any]) -> Any:
    client: Client | None = data.get("client")
    if client is None and clinic is not None:
        extra = about.cleaned_data if about is not None else {}
        client = client_for_booking(clinic=clinic, user=request.user, **extra)[0]  # type: ignore[arg-type]
    if client is None:
        raise services.MessageError(gettext("Choose whom to write to."))
    return services.thread_start(
        client=client,
        user=request.user,
        membership=membership,
        subject=data["subject"],
        body=data["body"],
        kind=data["kind"],
        files=data["files"],
    )


@login_required
def message_attachment(request: HttpRequest, pk: int) -> HttpResponseBase:
    attachment, membership = get_attachment_for_user(request.user, pk)
    audit_record(
        action=Action.VIEW, obj=attachment, clinic=attachment.message.thread.clinic_id, role=membership.role if membership else "client"
    )
    if attachment.content_type.startswith("image/"):
        return private_image_response(attachment.file.name, content_type=attachment.content_type)
    response = FileResponse(
        attachment.file.open("rb"), content_type=attachment.content_type, as_attachment=True, filename=attachment.display_name
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response
