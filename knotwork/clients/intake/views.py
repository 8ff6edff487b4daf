"""Staff pages for intake: pre-visit summary, intake review, screening flags, drawings, own questions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Membership
from knotwork.assessment.selectors import implicated_muscles_for_client
from knotwork.atlas.bodymap import render_bodymap
from knotwork.atlas.explain_views import present, triage_panel
from knotwork.atlas.loader import atlas
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.clients.documents import consent_pdf_response
from knotwork.clients.intake import services as services
from knotwork.clients.intake.definition import SOURCE_LANGUAGE, FormDefinition, plain_answers
from knotwork.clients.intake.forms import DrawingForm, IntakeQuestionForm, MedicalClearanceForm, NoteForm, OptionalNoteForm
from knotwork.clients.intake.screening import techniques
from knotwork.clients.intake.selectors import (
    ClientExplain,
    client_explain,
    compare_drawings,
    consents_due,
    current_marks,
    drawing_words,
    drawings_of,
    get_clinical_client,
    get_consent_for_user,
    get_flag_for_user,
    intake_form_for,
    latest_drawing,
    latest_intake,
    open_flags,
)
from knotwork.clients.language import language_name
from knotwork.clients.models import Client, IntakeQuestion, IntakeSubmission, PainDrawing
from knotwork.clients.portal_views import drawing_form_context
from knotwork.lib.views import staff_view


def display_map(marks: list[dict[str, Any]], *, id_prefix: str, compact: bool = False, markers: list[str] | None = None) -> str:
    return mark_safe(  # noqa: S308  (render_bodymap escapes every piece of text itself)
        render_bodymap(
            values={m["cell"]: m["intensity"] for m in marks},
            markers=markers or (),
            id_prefix=id_prefix,
            compact=compact,
            title="Pain drawing",
        )  # fmt: skip
    )


def answer_sections(intake: IntakeSubmission, form: FormDefinition) -> list[dict[str, Any]]:
    """Answers grouped by step; answers to retired questions kept at the end.

    ``form`` is the clinic's form in the clinic's language (English). An intake answered in English
    shows the wording the client saw; one answered in another language shows each question and
    choice in the clinic's language, with the wording the client read kept beside it (``asked``):
    the values are the same in every language, free text stays as the client wrote it.
    """
    stored = intake.answers
    translated = intake.language != form.language
    out: list[dict[str, Any]] = []
    for s in form.sections:
        rows = []
        for q in s.questions:
            if q.id not in stored or q.kind == "drawing":
                continue
            asked = stored[q.id].get("q", q.text)
            rows.append({"q": q.text if translated else asked, "asked": asked if translated and asked != q.text else "",
                         "a": q.label_of(stored[q.id].get("a")), "id": q.id, "red_flag": q.red_flag})  # fmt: skip
        if rows:
            out.append({"title": s.title, "rows": rows})
    retired = [{"q": v.get("q", k), "a": str(v.get("a")), "id": k} for k, v in stored.items() if k not in form.by_id]
    if retired:
        out.append({"title": "Questions the clinic no longer asks", "rows": retired})
    return out


def _flag_rows(client: Client) -> list[dict[str, Any]]:
    names = techniques()
    from knotwork.atlas.bodymap import cell_label

    return [{"flag": f, "forbids": [names.get(t, t) for t in f.forbids], "cautions": [names.get(t, t) for t in f.cautions],
             "regions": [cell_label(c) for c in f.regions]} for f in open_flags(client)]  # fmt: skip


def triage_context(
    explained: ClientExplain, membership: Membership, *, back: str, form: MedicalClearanceForm | None = None
) -> dict[str, Any]:
    """The client-record triage panel (templates/clients/_triage.html): the engine's triage, the
    latest clearance when it lifts a withheld list, and the form to record one for clinical roles."""
    can_clear = membership.can(Capability.EDIT_CLINICAL) and bool(explained.needs_clearance) and not explained.covered
    return {
        "clearance": explained.clearance if explained.covered else None,
        "clearance_form": (form or MedicalClearanceForm(initial={"flags": list(explained.needs_clearance), "next": back}))
        if can_clear else None,
        "back": back,
    }  # fmt: skip


def _summary_context(client: Client, membership: Membership, *, clearance_form: MedicalClearanceForm | None = None) -> dict[str, Any]:
    intake, drawings = latest_intake(client), drawings_of(client)
    answers = plain_answers(intake.answers) if intake else {}
    latest = drawings[0] if drawings else None
    implicated = implicated_muscles_for_client(client)
    explained = client_explain(client, latest, answers=answers, implicated=implicated)
    context = {
        "client": client, "membership": membership, "intake": intake, "answers": answers, "flags": _flag_rows(client),
        "latest": latest, "previous": drawings[1] if len(drawings) > 1 else None, "drawing_count": len(drawings),
        "latest_words": drawing_words(explained.marks),
        "latest_map": display_map(explained.marks, id_prefix="summary-map"),
        "comparison": compare_drawings(drawings[1], latest) if latest and len(drawings) > 1 else None,
        "form": intake_form_for(client.clinic), "can_clear_flags": membership.can(Capability.EDIT_CLINICAL),
        **present(explained.result), **triage_context(explained, membership, back="summary", form=clearance_form),
        "consents_due": consents_due(client),
        "implicated": [(atlas().muscle_by_id[m].name, why) for m, why in implicated.items() if m in atlas().muscle_by_id],
    }  # fmt: skip
    if intake:
        context["q"] = {qid: context["form"].by_id[qid].label_of(v) for qid, v in answers.items() if qid in context["form"].by_id}
    return context


@login_required
def previsit_summary(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id)
    return render(request, "clients/previsit_summary.html", _summary_context(client, membership))


@require_POST
@login_required
def medical_clearance_new(request: HttpRequest, client_id: int) -> HttpResponse:
    """Record a medical clearance for the red flags the page showed; refused if they have changed since."""
    client, membership = get_clinical_client(request.user, client_id, write=True)
    form = MedicalClearanceForm(request.POST)
    back = "intake_review" if request.POST.get("next") == "review" else "previsit_summary"
    if not form.is_valid() and "flags" not in form.errors:  # the note is missing: say so beside the field
        if back == "intake_review":
            return render(request, "clients/intake_review.html", _review_context(client, membership, clearance_form=form), status=400)
        return render(request, "clients/previsit_summary.html", _summary_context(client, membership, clearance_form=form), status=400)
    needed = client_explain(client, latest_drawing(client)).needs_clearance
    if "flags" in form.errors or set(form.cleaned_data["flags"]) != set(needed):
        messages.error(request, "The client's red flags changed since the page was opened. Read them again, then record it.")
        return redirect(back, client.pk)
    try:
        services.medical_clearance_record(client=client, membership=membership, flags=form.cleaned_data["flags"],
                                          note=form.cleaned_data["note"])  # fmt: skip
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Medical clearance recorded. The likely muscle sources are shown again.")
    return redirect(back, client.pk)


def _review_context(client: Client, membership: Membership, *, intake: IntakeSubmission | None = None,
                    info_form: NoteForm | None = None, clearance_form: MedicalClearanceForm | None = None) -> dict[str, Any]:  # fmt: skip
    """The intake review page: the triage of the latest drawing first, then the answers and the review forms."""
    intake = intake or latest_intake(client)
    explained = client_explain(client, latest_drawing(client), answers=plain_answers(intake.answers) if intake else {})
    return {
        "client": client, "membership": membership, "intake": intake,
        "intake_language": language_name(intake.language) if intake and intake.language != SOURCE_LANGUAGE else "",
        "sections": answer_sections(intake, intake_form_for(client.clinic)) if intake else [],
        "notes": intake.notes.select_related("author") if intake else [], "review_form": OptionalNoteForm(),
        "info_form": info_form or NoteForm(), "can_edit": membership.can(Capability.EDIT_CLINICAL),
        "triage": triage_panel(explained.result), **triage_context(explained, membership, back="review", form=clearance_form),
    }  # fmt: skip


@login_required
def intake_review(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id)
    return render(request, "clients/intake_review.html", _review_context(client, membership))


def _intake_of(client: Client, intake_id: int) -> IntakeSubmission:
    return get_object_or_404(IntakeSubmission.objects.select_related("client__portal_user", "client__clinic"), pk=intake_id, client=client)


@require_POST
@login_required
def intake_mark_reviewed(request: HttpRequest, client_id: int, intake_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id, write=True)
    form = OptionalNoteForm(request.POST)
    try:
        services.intake_mark_reviewed(intake=_intake_of(client, intake_id), membership=membership, note=form.data.get("note", "")[:2000])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Intake marked reviewed.")
    return redirect("intake_review", client.pk)


@require_POST
@login_required
def intake_request_info(request: HttpRequest, client_id: int, intake_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id, write=True)
    intake = _intake_of(client, intake_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.intake_request_info(intake=intake, membership=membership, note=form.cleaned_data["note"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "The client has been emailed a link to sign in; your question is kept on the intake.")
            return redirect("intake_review", client.pk)
    return render(request, "clients/intake_review.html", _review_context(client, membership, intake=intake, info_form=form))


@require_POST
@login_required
def flag_acknowledge(request: HttpRequest, client_id: int, flag_id: int) -> HttpResponse:
    flag, membership = get_flag_for_user(request.user, client_id, flag_id)
    try:
        services.flag_acknowledge(flag=flag, membership=membership, note=request.POST.get("note", "")[:2000])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Flag acknowledged: {flag.title}.")
    return redirect("previsit_summary" if request.POST.get("next") == "summary" else "intake_review", flag.client_id)


@require_POST
@login_required
def flag_clear(request: HttpRequest, client_id: int, flag_id: int) -> HttpResponse:
    flag, membership = get_flag_for_user(request.user, client_id, flag_id)
    try:
        services.flag_clear(flag=flag, membership=membership, note=request.POST.get("note", "")[:2000])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Flag cleared: {flag.title}.")
    return redirect("previsit_summary" if request.POST.get("next") == "summary" else "intake_review", flag.client_id)


def _drawing_of(client: Client, raw: str | None) -> PainDrawing | None:
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404("No such drawing")
    return get_object_or_404(PainDrawing, pk=int(raw), client=client)


@login_required
def drawing_list(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id)
    drawings = drawings_of(client)
    before = _drawing_of(client, request.GET.get("a")) or (drawings[1] if len(drawings) > 1 else None)
    after = _drawing_of(client, request.GET.get("b")) or (drawings[0] if drawings else None)
    if before and after and before.taken_at > after.taken_at:
        before, after = after, before
    known = [(d, current_marks(d.marks)) for d in drawings]  # a retired cell has no name to show
    context = {
        "client": client, "membership": membership, "drawings": drawings, "before": before, "after": after,
        "rows": [(d, drawing_words(marks[:6]), len(marks) > 6) for d, marks in known],
        "comparison": compare_drawings(before, after) if before and after and before.pk != after.pk else None,
        "before_map": display_map(before.marks, id_prefix="cmp-before", compact=True) if before else "",
        "after_map": display_map(after.marks, id_prefix="cmp-after", compact=True) if after else "",
    }  # fmt: skip
    audit_record(action=Action.LIST, object_type="clients.paindrawing", object_id=client.pk, clinic=client.clinic, role=membership.role,
                 detail={"drawings": len(drawings)})  # fmt: skip
    return render(request, "clients/drawings.html", context)


@login_required
def drawing_new(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_clinical_client(request.user, client_id, write=request.method == "POST")
    form = DrawingForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.drawing_create(client=client, marks=form.cleaned_data["drawing"]["marks"], note=form.cleaned_data["note"],
                                actor=request.user, role=membership.role)  # type: ignore[arg-type]  # fmt: skip
        messages.success(request, "Pain drawing saved.")
        return redirect("drawing_list", client.pk)
    return render(request, "clients/drawing_form.html", drawing_form_context(form, client=client, portal=False))


@login_required
def consent_pdf(request: HttpRequest, client_id: int, consent_id: int) -> HttpResponse:
    sig, membership = get_consent_for_user(request.user, consent_id)
    if membership is None or sig.client_id != client_id:
        raise Http404("No such document")
    return consent_pdf_response(sig)


@staff_view(Capability.MANAGE_CLINIC)
def intake_questions(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    questions = IntakeQuestion.objects.filter(clinic=membership.clinic, archived_at__isnull=True)
    next_position = (questions.aggregate(m=Max("position"))["m"] or 0) + 10
    form = IntakeQuestionForm(request.POST or None, initial={"position": next_position})
    if request.method == "POST" and form.is_valid():
        q = form.save(commit=False)
        q.clinic, q.choices = membership.clinic, form.cleaned_data["choices"]
        q.save()
        audit_record(action=Action.CREATE, obj=q, role=membership.role, detail={"kind": q.kind})
        messages.success(request, "Question added. New intakes ask it from now on.")
        return redirect("intake_questions")
    return render(request, "clients/intake_questions.html", {"questions": questions, "form": form})


@require_POST
@staff_view(Capability.MANAGE_CLINIC)
def intake_question_archive(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    q = get_object_or_404(IntakeQuestion, pk=pk, clinic=membership.clinic, archived_at__isnull=True)
    q.archived_at = timezone.now()
    q.save(update_fields=["archived_at"])
    audit_record(action=Action.UPDATE, obj=q, role=membership.role, detail={"archived": True})
    messages.success(request, "Question removed from the form. Answers already given keep it.")
    return redirect("intake_questions")
