"""The visit screen at the treatment table: check-in, SOAP, trigger-point and technique logs,
signing and addenda. Every POST goes through a service; a signed note answers 409."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Membership
from knotwork.atlas.models import Muscle, TriggerPoint
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.care import selectors, services
from knotwork.care.documents import note_pdf
from knotwork.care.forms import AddendumForm, CarryForwardForm, CheckInForm, FindingForm, NotesForm, TechniqueForm
from knotwork.care.library import techniques
from knotwork.care.models import TechniqueApplication, TriggerPointFinding, Visit
from knotwork.care.views.common import add_errors, display_map, form_status, locked_response, qr_svg
from knotwork.clients.intake.selectors import get_clinical_client
from knotwork.clients.intake.views import _flag_rows
from knotwork.lib.views import paginate

FEEDBACK_SESSION_KEY = "care_feedback_links"


def feedback_link(request: HttpRequest, visit: Visit) -> str | None:
    """The raw feedback token this browser issued for the visit, while it is still usable."""
    raw = request.session.get(FEEDBACK_SESSION_KEY, {}).get(str(visit.pk))
    token = services.feedback_token_find(raw) if raw else None
    return raw if token is not None and token.visit_id == visit.pk else None


def visit_context(request: HttpRequest, visit_id: int, membership: Membership, **forms: Any) -> dict[str, Any]:
    visit = selectors.visit_full(visit_id)
    findings = list(visit.findings.all())
    values, markers = selectors.today_marks(findings)
    raw = feedback_link(request, visit) if not visit.is_signed else None
    url = request.build_absolute_uri(reverse("feedback_page", args=[raw])) if raw else ""
    counts = selectors.earlier_counts(visit)
    names = {k: t.name for k, t in techniques().items()}
    applications = list(visit.techniques.all())
    for a in applications:
        a.technique_name = names.get(a.technique, a.technique)  # type: ignore[attr-defined]
    return {
        "visit": visit, "client": visit.client, "membership": membership, "flags": _flag_rows(visit.client),
        "can_edit": membership.can(Capability.EDIT_CLINICAL) and not visit.is_signed,
        "can_add_addendum": membership.can(Capability.EDIT_CLINICAL) and visit.is_signed,
        "findings": [(f, counts.get((f.trigger_point_id, f.side), 0)) for f in findings],
        "applications": applications,
        "bodymap": display_map(values, markers, id_prefix="visit-map"), "previous": services.previous_visit(visit),
        "feedback_url": url, "feedback_qr": qr_svg(url, label="QR code for the client's feedback page") if url else "",
        "feedback": selectors.feedback_since(visit),
        "checkin_form": forms.get("checkin_form") or CheckInForm(initial={
            "pain_today": visit.pain_today, "change_since_last": visit.change_since_last,
            "soreness_after_last": visit.soreness_after_last, "program_adherence": visit.program_adherence}),
        "notes_form": forms.get("notes_form") or NotesForm(initial=NotesForm.initial_from(visit)),
        "carry_form": forms.get("carry_form") or CarryForwardForm(),
        "finding_form": forms.get("finding_form") or FindingForm(initial={"side": "right", "status": "active"}),
        "technique_form": forms.get("technique_form") or TechniqueForm(initial={"side": "right"}),
        "addendum_form": forms.get("addendum_form") or AddendumForm(),
        "technique_problem": forms.get("technique_problem"), "sign_error": forms.get("sign_error"),
    }  # fmt: skip


def _render(request: HttpRequest, visit: Visit, membership: Membership, **forms: Any) -> HttpResponse:
    status = forms.pop("status", None) or form_status(*forms.values())
    return render(request, "care/visit.html", visit_context(request, visit.pk, membership, **forms), status=status)


@login_required
def visit_detail(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id)
    return _render(request, visit, membership)


@require_POST
@login_required
def visit_checkin(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, write=True)
    form = CheckInForm(request.POST)
    if not form.is_valid():
        return _render(request, visit, membership, checkin_form=form)
    try:
        services.visit_checkin(membership=membership, visit=visit, **form.cleaned_data)
    except services.VisitLocked as exc:
        return locked_response(request, visit, exc)
    messages.success(request, "Check-in saved; the Subjective now starts with it.")
    return redirect(reverse("visit_detail", args=[visit.pk]) + "#notes")


@require_POST
@login_required
def visit_notes(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, write=True)
    form = NotesForm(request.POST)
    if not form.is_valid():
        return _render(request, visit, membership, notes_form=form)
    try:
        services.visit_update_notes(membership=membership, visit=visit, data=form.cleaned_data)
    except services.VisitLocked as exc:
        return locked_response(request, visit, exc)
    messages.success(request, "Note saved.")
    return redirect(reverse("visit_detail", args=[visit.pk]) + "#notes")


@require_POST
@login_required
def visit_carry_forward(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, write=True)
    form = CarryForwardForm(request.POST)
    if not form.is_valid():
        return _render(request, visit, membership, carry_form=form)
    try:
        result = services.visit_carry_forward(membership=membership, visit=visit, fields=form.cleaned_data["fields"])
    except services.VisitLocked as exc:
        return locked_response(request, visit, exc)
    except ValidationError as exc:
        add_errors(form, exc)
        return _render(request, visit, membership, carry_form=form)
    if result.carried:
        messages.success(request, f"Carried forward: {', '.join(result.carried)} (marked on the note).")
    if result.skipped:
        messages.warning(request, f"Not carried (already written here, or empty before): {', '.join(result.skipped)}.")
    return redirect(reverse("visit_detail", args=[visit.pk]) + "#notes")


@require_POST
@login_required
def finding_add(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, write=True)
    form = FindingForm(request.POST)
    if form.is_valid():
        tp = get_object_or_404(TriggerPoint, pk=form.cleaned_data.pop("trigger_point"))
        try:
            services.finding_add(membership=membership, visit=visit, trigger_point=tp, data=form.cleaned_data)
        except services.VisitLocked as exc:
            return locked_response(request, visit, exc)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"{tp.muscle.name}: {tp.name} logged.")
            return redirect(reverse("visit_detail", args=[visit.pk]) + "#findings")
    return _render(request, visit, membership, finding_form=form)


@require_POST
@login_required
def finding_remove(request: HttpRequest, visit_id: int, finding_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, write=True)
    finding = get_object_or_404(TriggerPointFinding.objects.select_related("visit"), pk=finding_id, visit=visit)
    try:
        services.finding_remove(membership=membership, finding=finding)
    except services.VisitLocked as exc:
        return locked_response(request, visit, exc)
    messages.success(request, "Finding removed.")
    return redirect(reverse("visit_detail", args=[visit.pk]) + "#findings")


def _technique_args(form: TechniqueForm) -> dict[str, Any]:
    d = dict(form.cleaned_data)
    d["muscle"] = get_object_or_404(Muscle, pk=d["muscle"])
    d["trigger_point"] = get_object_or_404(TriggerPoint, pk=d["trigger_point"]) if d["trigger_point"] else None
    return d


@require_POST
@login_required
def technique_add(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, write=True)
    form = TechniqueForm(request.POST)
    if not form.is_valid():
        return _render(request, visit, membership, technique_form=form)
    try:
        services.technique_log(membership=membership, visit=visit, **_technique_args(form))
    except services.VisitLocked as exc:
        return locked_response(request, visit, exc)
    except services.TechniqueBlocked as exc:
        return _render(request, visit, membership, technique_form=form, technique_problem={"blocked": exc.verdict.blocked}, status=422)
    except services.CautionNotAcknowledged as exc:
        return _render(request, visit, membership, technique_form=form, technique_problem={"cautions": exc.verdict.cautions}, status=422)
    except ValidationError as exc:
        add_errors(form, exc)
        return _render(request, visit, membership, technique_form=form)
    messages.success(request, "Technique logged.")
    return redirect(reverse("visit_detail", args=[visit.pk]) + "#techniques")


@require_POST
@login_required
def technique_remove(request: HttpRequest, visit_id: int, application_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, write=True)
    app = get_object_or_404(TechniqueApplication.objects.select_related("visit"), pk=application_id, visit=visit)
    try:
        services.technique_remove(membership=membership, application=app)
    except services.VisitLocked as exc:
        return locked_response(request, visit, exc)
    messages.success(request, "Technique removed from the log.")
    return redirect(reverse("visit_detail", args=[visit.pk]) + "#techniques")


@require_POST
@login_required
def visit_sign(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, write=True)
    try:
        services.visit_sign(membership=membership, visit=visit)
    except services.VisitLocked as exc:
        return locked_response(request, visit, exc)
    except ValidationError as exc:
        return _render(request, visit, membership, sign_error=" ".join(exc.messages), status=400)
    request.session.get(FEEDBACK_SESSION_KEY, {}).pop(str(visit.pk), None)
    request.session.modified = True
    messages.success(request, "Note signed and locked. The client's check-in goes out in 24 hours.")
    return redirect("visit_detail", visit.pk)


@require_POST
@login_required
def addendum_add(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, write=True)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            services.addendum_add(membership=membership, visit=visit, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "Addendum added.")
            return redirect(reverse("visit_detail", args=[visit.pk]) + "#addenda")
    return _render(request, visit, membership, addendum_form=form)


@login_required
def visit_pdf(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, audit=False)
    audit_record(action=Action.EXPORT, obj=visit, role=membership.role, detail={"format": "pdf"})
    return note_pdf(selectors.visit_full(visit.pk))


@login_required
def client_history(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id)
    page = paginate(request, selectors.visit_history(client), per_page=50)
    return render(request, "care/history.html", {"client": client, "membership": membership, "page": page})


@login_required
def trigger_point_history(request: HttpRequest, client_id: int, trigger_point_id: str) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id)
    tp = get_object_or_404(TriggerPoint.objects.select_related("muscle"), pk=trigger_point_id)
    rows = selectors.trigger_point_history(client, tp.pk)
    template = "care/_tp_history.html" if request.htmx else "care/tp_history.html"  # type: ignore[attr-defined]
    return render(request, template, {"client": client, "tp": tp, "rows": rows})
