"""Home programs (therapist side and the client's portal), aftercare sheets, the post-session
check-in page and the clinic's care settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Membership
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.care import selectors, services
from knotwork.care.aftercare import aftercare_for
from knotwork.care.documents import aftercare_pdf as aftercare_pdf_response
from knotwork.care.forms import AdherenceForm, CareSettingsForm, CheckInAnswerForm, DosageForm, ProgramItemForm
from knotwork.care.library import common_cautions_in, exercise_in, library
from knotwork.care.models import CareSettings, HomeProgramItem, Visit
from knotwork.care.views.common import add_errors, figure, form_status
from knotwork.clients.intake.selectors import get_clinical_client, get_own_client
from knotwork.clients.language import active_language, client_translation
from knotwork.clients.models import Client
from knotwork.lib.views import staff_view


def _program_items(client: Client) -> list[HomeProgramItem]:
    program = services.program_for(client)
    return list(program.items.filter(removed_at__isnull=True).order_by("added_at", "id")) if program else []


def _program_context(request: HttpRequest, client: Client, membership: Membership, add_form: ProgramItemForm | None = None) -> dict:
    program = services.program_for(client)
    visit_id = request.GET.get("visit", "")
    visit = Visit.objects.filter(client=client, pk=int(visit_id)).first() if visit_id.isdigit() else None
    rows = selectors.program_rows(program)
    current = {r.item.exercise for r in rows}
    return {
        "client": client, "membership": membership,
        "rows": [(r, DosageForm(initial=_dosage(r.item), prefix=f"i{r.item.pk}")) for r in rows],
        "add_form": add_form or ProgramItemForm(), "weeks": selectors.adherence_by_week(program),
        "suggestions": [e for e in selectors.suggested_exercises(client, visit) if e.id not in current],
        "library": library().exercises, "over_limit": len(rows) > services.PROGRAM_SOFT_LIMIT, "limit": services.PROGRAM_SOFT_LIMIT,
        "can_edit": membership.can(Capability.EDIT_CLINICAL),
    }  # fmt: skip


def _dosage(item: HomeProgramItem) -> dict[str, object]:
    return {"sets": item.sets, "reps": item.reps, "hold_s": item.hold_s, "per_day": item.per_day, "note": item.note}


@login_required
def program_edit(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id)
    return render(request, "care/program.html", _program_context(request, client, membership))


@require_POST
@login_required
def program_add(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id, write=True)
    form = ProgramItemForm(request.POST)
    if form.is_valid():
        try:
            d = form.cleaned_data
            services.program_add(membership=membership, client=client, exercise=d["exercise"], note=d["note"], **form.dosage())
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            n = len(_program_items(client))
            messages.success(request, f"{library().by_id[form.cleaned_data['exercise']].name} added.")
            if n > services.PROGRAM_SOFT_LIMIT:
                messages.warning(
                    request, f"The program now has {n} exercises. Adherence falls beyond {services.PROGRAM_SOFT_LIMIT}: consider fewer."
                )
            return redirect("program_edit", client.pk)
    return render(request, "care/program.html", _program_context(request, client, membership, form), status=form_status(form))


def _item(client: Client, item_id: int) -> HomeProgramItem:
    return get_object_or_404(HomeProgramItem.objects.select_related("program"), pk=item_id, program__client=client)


@require_POST
@login_required
def program_item_update(request: HttpRequest, client_id: int, item_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id, write=True)
    item = _item(client, item_id)
    form = DosageForm(request.POST, prefix=f"i{item.pk}")
    if not form.is_valid():
        context = _program_context(request, client, membership)
        context["rows"] = [(r, form if r.item.pk == item.pk else f) for r, f in context["rows"]]
        return render(request, "care/program.html", context, status=400)
    try:
        services.program_item_update(membership=membership, item=item, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Dosage saved.")
    return redirect("program_edit", client.pk)


@require_POST
@login_required
def program_item_remove(request: HttpRequest, client_id: int, item_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id, write=True)
    services.program_item_remove(membership=membership, item=_item(client, item_id))
    messages.success(request, "Exercise removed from the program (its history is kept).")
    return redirect("program_edit", client.pk)


# --- the client's portal ---------------------------------------------------------------------


def _portal_days() -> list:
    today = timezone.localdate()
    return [today - timedelta(days=n) for n in range(6, -1, -1)]


@login_required
def portal_program(request: HttpRequest, client_id: int, form: AdherenceForm | None = None) -> HttpResponse:
    client = get_own_client(request.user, client_id)
    days = _portal_days()
    language = active_language()  # the client reads the exercises in the page's language
    rows = [replace(r, exercise=exercise_in(r.exercise, language))
            for r in selectors.program_rows(services.program_for(client), since=days[0])]  # fmt: skip
    figures = {r.exercise.id: figure(r.exercise) for r in rows}
    context = {"client": client, "rows": rows, "days": days, "today": days[-1], "figures": figures, "form": form,
               "common_cautions": common_cautions_in(language)}  # fmt: skip
    return render(request, "care/portal_program.html", context, status=form_status(form))


@require_POST
@login_required
def portal_program_log(request: HttpRequest, client_id: int) -> HttpResponse:
    client = get_own_client(request.user, client_id)
    form = AdherenceForm(request.POST)
    if form.is_valid():
        item = HomeProgramItem.objects.select_related("program").filter(pk=form.cleaned_data["item"], program__client=client).first()
        try:
            if item is None:
                raise ValidationError({"item": "That exercise is not in your program."})
            services.adherence_record(client=client, item=item, day=form.cleaned_data["day"], done=form.cleaned_data["done"],
                                      feeling=form.cleaned_data["feeling"])  # fmt: skip
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, "Saved. Well done!" if form.cleaned_data["done"] else "Saved.")
            return redirect("portal_program", client.pk)
    return portal_program(request, client_id, form=form)


@login_required
def portal_aftercare(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = selectors.get_own_visit(request.user, visit_id)
    sheet = aftercare_for(selectors.visit_full(visit.pk), _program_items(visit.client))
    return render(request, "care/aftercare.html", {"sheet": sheet, "visit": visit, "portal": True, "figures": _figures(sheet)})


@login_required
def portal_aftercare_pdf(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = selectors.get_own_visit(request.user, visit_id)
    return aftercare_pdf_response(aftercare_for(selectors.visit_full(visit.pk), _program_items(visit.client)), visit_id=visit.pk)


def _figures(sheet: object) -> dict[str, str]:
    return {p.exercise.id: figure(p.exercise) for p in sheet.program}  # type: ignore[attr-defined]


# --- staff aftercare -------------------------------------------------------------------------


@login_required
def aftercare(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id)
    sheet = aftercare_for(selectors.visit_full(visit.pk), _program_items(visit.client))
    context = {"sheet": sheet, "visit": visit, "portal": False, "figures": _figures(sheet), "membership": membership}
    return render(request, "care/aftercare.html", context)


@login_required
def aftercare_pdf(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, audit=False)
    audit_record(action=Action.EXPORT, obj=visit, role=membership.role, detail={"format": "pdf", "aftercare": True})
    with client_translation(visit.client):  # printed for the client: in the client's language
        return aftercare_pdf_response(aftercare_for(selectors.visit_full(visit.pk), _program_items(visit.client)), visit_id=visit.pk)


@require_POST
@login_required
def aftercare_email(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, write=True)
    try:
        to = services.aftercare_email(membership=membership, visit=visit)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Aftercare link e-mailed to {to}.")
    return redirect("aftercare", visit.pk)


# --- post-session check-in (public by token) -------------------------------------------------


@never_cache
def checkin_answer(request: HttpRequest, token: str) -> HttpResponse:
    checkin = services.checkin_find(token)
    if checkin is None:
        return render(request, "care/checkin_gone.html", status=404)
    if checkin.answered_at:
        return render(request, "care/checkin_done.html", {"checkin": checkin})
    form = CheckInAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.checkin_answer(checkin=checkin, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            return render(request, "care/checkin_done.html", {"checkin": checkin, "just_sent": True})
    return render(request, "care/checkin_form.html", {"form": form, "clinic": checkin.clinic}, status=form_status(form))


@staff_view(Capability.MANAGE_CLINIC)
def care_settings(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    instance = CareSettings.for_clinic(membership.clinic)
    form = CareSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit_record(
            action=Action.UPDATE, obj=form.instance, clinic=membership.clinic, role=membership.role, detail={"fields": form.changed_data}
        )
        messages.success(request, "Treatment settings saved.")
        return redirect("care_settings")
    return render(request, "care/settings.html", {"form": form}, status=form_status(form))
