from __future__ import annotations

from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from knotwork.accounts.models import Capability, Membership
from knotwork.audit.forms import AuditFilterForm
from knotwork.audit.models import Action, AuditEvent
from knotwork.audit.services import audit_filter, audit_record
from knotwork.lib.csv import csv_response
from knotwork.lib.views import paginate, staff_view


def _filtered(request: HttpRequest, membership: Membership) -> tuple[AuditFilterForm, QuerySet[AuditEvent]]:
    form = AuditFilterForm(request.GET or None)
    qs: QuerySet[AuditEvent] = AuditEvent.objects.for_clinic(membership.clinic).select_related("actor")
    if form.is_valid():
        qs = audit_filter(qs, **form.cleaned_data)
    return form, qs


@staff_view(Capability.VIEW_AUDIT)
def audit_log(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    form, qs = _filtered(request, membership)
    page = paginate(request, qs, per_page=50)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/log.html", {"form": form, "page": page, "query": query.urlencode()})


@staff_view(Capability.VIEW_AUDIT)
def audit_export(request: HttpRequest, *, membership: Membership) -> HttpResponseBase:
    form, qs = _filtered(request, membership)
    audit_record(action=Action.EXPORT, object_type="audit.auditevent", clinic=membership.clinic, role=membership.role)
    # Rows not sealed yet have no place in the chain: they come last, in the order they were written.
    rows = (
        (
            "" if e.seq is None else e.seq,
            e.at.isoformat(),
            e.actor_label,
            e.role,
            e.action,
            e.object_type,
            e.object_id,
            e.ip or "",
            e.request_id,
            e.hash,
        )
        for e in qs.order_by(F("seq").asc(nulls_last=True), "id").iterator(chunk_size=2000)
    )
    header = ["seq", "at", "actor", "role", "action", "object_type", "object_id", "ip", "request_id", "hash"]
    return csv_response(f"audit-{membership.clinic.slug}-{timezone.now():%Y%m%d}.csv", header, rows)
