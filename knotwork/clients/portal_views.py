"""The client's own pages on the portal: the intake, step by step, new pain drawings, and their
own contact details, reminder choices and emergency contact.

Every page goes through ``get_own_client``: a client reaches only the record their login is
linked to, and staff (who have no such link) get a 404 here, never someone's intake.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from knotwork.atlas.bodymap import render_bodymap
from knotwork.atlas.region_words import map_words, quality_labels
from knotwork.clients.consent import SIGNATURE_HEIGHT, SIGNATURE_WIDTH, ConsentDocument, current_documents
from knotwork.clients.documents import consent_pdf_response
from knotwork.clients.forms import OwnDetailsForm
from knotwork.clients.intake import services as services
from knotwork.clients.intake.definition import SOURCE_LANGUAGE, FormDefinition, Section, plain_answers
from knotwork.clients.intake.forms import DrawingForm, ResignForm, SectionForm, SignatureForm
from knotwork.clients.intake.selectors import (
    consents_due,
    drawing_words,
    drawings_of,
    get_consent_for_user,
    get_own_client,
    intake_form_for,
)
from knotwork.clients.language import active_language, language_name
from knotwork.clients.models import Client, IntakeStatus, IntakeSubmission
from knotwork.clients.services import client_update_own_details


def bodymap_input(marks: list[dict[str, Any]], *, id_prefix: str, language: str = SOURCE_LANGUAGE) -> str:
    return mark_safe(  # noqa: S308  (render_bodymap escapes every piece of text itself)
        render_bodymap(
            values={m["cell"]: m["intensity"] for m in marks},
            categories={m["cell"]: m["quality"] for m in marks if m.get("quality")},
            mode="input",
            id_prefix=id_prefix,
            title=gettext("Pain drawing"),
            words=map_words(language),
        )
    )


def language_note(
    *, section: Section | None = None, documents: Iterable[ConsentDocument] = (), form: FormDefinition | None = None
) -> dict[str, Any] | None:
    """What a page in the client's language shows in English instead, for ``_language_note.html``:
    the whole form (no translation), some of a step's questions, or consent documents."""
    language = active_language()
    if language == SOURCE_LANGUAGE:
        return None
    whole_form = form is not None and form.language != language
    questions = 0 if whole_form or section is None else sum(1 for q in section.questions if not q.translated)
    english_docs = [d.title for d in documents if d.language != language]
    if not (whole_form or questions or english_docs):
        return None
    return {"name": language_name(language), "form": whole_form, "questions": questions, "documents": english_docs}


def _progress(form: FormDefinition, section: Section) -> dict[str, Any]:
    ids = form.step_ids()
    index = ids.index(section.id)
    return {"number": index + 1, "total": len(ids), "steps": form.sections, "prev": ids[index - 1] if index else None,
            "next": ids[index + 1] if index + 1 < len(ids) else None}  # fmt: skip


def _drawing_context(form: SectionForm) -> dict[str, Any]:
    """Body map and summary for a step with a drawing: what was sent is kept even when it failed."""
    q = next((q for q in form.section.questions if q.kind == "drawing"), None)
    if q is None:
        return {}
    raw, language = form.drawing_raw(q.id), active_language()
    try:
        marks = json.loads(raw).get("marks", []) if raw else []
        summary = drawing_words(marks, language)
        bodymap = bodymap_input(marks, id_prefix="intake-map", language=language)
    except (ValueError, AttributeError, TypeError, KeyError):
        summary, bodymap = "", bodymap_input([], id_prefix="intake-map", language=language)
    return {"drawing_q": q, "drawing_field": form[q.id], "drawing_raw": raw, "drawing_summary": summary, "bodymap": bodymap,
            "qualities": quality_labels(language)}  # fmt: skip


@login_required
def portal_intake(request: HttpRequest, client_id: int) -> HttpResponse:
    client = get_own_client(request.user, client_id)
    intakes = list(client.intakes.all()[:5])
    draft = next((i for i in intakes if i.status == IntakeStatus.DRAFT), None)
    form = intake_form_for(client.clinic, active_language())
    answers = plain_answers(draft.answers) if draft else {}
    missing = {s.id for s, _ in form.missing(answers)}
    steps = [{"section": s, "done": s.id not in missing and any(q.id in answers for q in s.questions)} for s in form.sections]
    context = {"client": client, "intakes": intakes, "draft": draft, "steps": steps, "consents": client.consents.all()[:10],
               "drawings": drawings_of(client)[:5], "consents_due": consents_due(client, active_language())}  # fmt: skip
    return render(request, "clients/portal_intake.html", context)


@login_required
def portal_consents_sign(request: HttpRequest, client_id: int) -> HttpResponse:
    """Read and sign the new versions of documents the client signed before."""
    client = get_own_client(request.user, client_id)
    due = consents_due(client, active_language())
    if not due:
        signed_before = client.consents.exists()
        up_to_date = gettext("Your signed documents are up to date.")
        messages.info(request, up_to_date if signed_before else gettext("You sign the consent with your intake."))
        return redirect("portal_intake", client.pk)
    form = ResignForm(request.POST if request.method == "POST" else None, initial={"typed_name": client.full_name})
    if request.method == "POST" and form.is_valid():
        signed = services.request_signature_input(request, form.cleaned_data["typed_name"], form.cleaned_data["signature"])
        services.consents_resign(client=client, documents=due, signed=signed, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, gettext("Thank you. Your signed copies are listed under Signed documents."))
        return redirect("portal_intake", client.pk)
    context = {"client": client, "form": form, "documents": due, "sig_width": SIGNATURE_WIDTH, "sig_height": SIGNATURE_HEIGHT,
               "language_note": language_note(documents=due)}  # fmt: skip
    return render(request, "clients/consent_resign.html", context, status=400 if form.is_bound else 200)


@login_required
def portal_intake_start(request: HttpRequest, client_id: int) -> HttpResponse:
    client = get_own_client(request.user, client_id)
    if request.method != "POST":
        return redirect("portal_intake", client.pk)
    services.intake_start(client=client, actor=request.user)  # type: ignore[arg-type]
    return redirect("portal_intake_step", client.pk, intake_form_for(client.clinic, active_language()).step_ids()[0])


def _draft_of(client: Client) -> IntakeSubmission:
    draft = client.intakes.filter(status=IntakeStatus.DRAFT).first()
    if draft is None:
        raise Http404("No intake in progress")
    return draft


@login_required
def portal_intake_step(request: HttpRequest, client_id: int, step: str) -> HttpResponse:
    client = get_own_client(request.user, client_id)
    intake, form_def = _draft_of(client), intake_form_for(client.clinic, active_language())
    if step not in form_def.step_ids():
        raise Http404("No such step")
    section = form_def.section(step)
    if section.consent:
        return _consent_step(request, client, intake, form_def, section)
    answers = plain_answers(intake.answers)
    form = SectionForm(request.POST if request.method == "POST" else None, section=section, answers=answers)
    if request.method == "POST":
        action = request.POST.get("action", "next")
        valid = form.is_valid()
        services.intake_save_answers(intake=intake, form=form_def, answers=form.valid_answers(), actor=request.user)  # type: ignore[arg-type]
        only_required_missing = all(e.code == "required" for errs in form.errors.as_data().values() for e in errs)
        if action == "save" and only_required_missing:
            messages.success(request, gettext("Saved. You can finish your intake later from your portal."))
            return redirect("portal_intake", client.pk)
        progress = _progress(form_def, section)
        if action == "back" and only_required_missing and progress["prev"]:
            return redirect("portal_intake_step", client.pk, progress["prev"])
        if action == "next" and valid:
            return redirect("portal_intake_step", client.pk, progress["next"] or step)
    context = {
        "client": client,
        "intake": intake,
        "section": section,
        "form": form,
        **_progress(form_def, section),
        **_drawing_context(form),
        "language_note": language_note(section=section, form=form_def),
    }
    return render(request, "clients/intake_step.html", context)


def _consent_step(
    request: HttpRequest, client: Client, intake: IntakeSubmission, form_def: FormDefinition, section: Section
) -> HttpResponse:
    form = SignatureForm(request.POST if request.method == "POST" else None, initial={"typed_name": client.full_name})
    missing = form_def.missing(plain_answers(intake.answers))
    if request.method == "POST" and request.POST.get("action") == "back":
        return redirect("portal_intake_step", client.pk, _progress(form_def, section)["prev"])
    if request.method == "POST" and form.is_valid() and not missing:
        signed = services.request_signature_input(request, form.cleaned_data["typed_name"], form.cleaned_data["signature"])
        try:
            services.intake_submit(intake=intake, form=form_def, signed=signed, actor=request.user)  # type: ignore[arg-type]
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, gettext("Thank you. Your intake has been sent to the clinic."))
            return redirect("portal_intake", client.pk)
    documents = current_documents(form_def.language)
    context = {"client": client, "intake": intake, "section": section, "form": form, "missing": missing if form.is_bound else [],
               "documents": documents, "sig_width": SIGNATURE_WIDTH, "sig_height": SIGNATURE_HEIGHT,
               "language_note": language_note(documents=documents, form=form_def), **_progress(form_def, section)}  # fmt: skip
    return render(request, "clients/intake_consent.html", context)


@login_required
def portal_drawing_new(request: HttpRequest, client_id: int) -> HttpResponse:
    client = get_own_client(request.user, client_id)
    form = DrawingForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        marks, note = form.cleaned_data["drawing"]["marks"], form.cleaned_data["note"]
        services.drawing_create(client=client, marks=marks, note=note, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, gettext("Your pain drawing was saved. Your therapist will see it before your next visit."))
        return redirect("portal_intake", client.pk)
    return render(request, "clients/drawing_form.html", drawing_form_context(form, client=client, portal=True))


def drawing_form_context(form: DrawingForm, *, client: Client, portal: bool) -> dict[str, Any]:
    raw = str(form.data.get("drawing", "")) if form.is_bound else ""
    language = active_language() if portal else SOURCE_LANGUAGE  # staff pages keep the atlas's English
    try:
        marks = json.loads(raw).get("marks", []) if raw else []
        bodymap, summary = bodymap_input(marks, id_prefix="drawing-map", language=language), drawing_words(marks, language)
    except (ValueError, AttributeError, TypeError, KeyError):
        bodymap, summary = bodymap_input([], id_prefix="drawing-map", language=language), ""
    return {"client": client, "form": form, "bodymap": bodymap, "drawing_raw": raw, "drawing_summary": summary,
            "qualities": quality_labels(language), "portal": portal}  # fmt: skip


@login_required
def portal_consent_pdf(request: HttpRequest, consent_id: int) -> HttpResponse:
    sig, membership = get_consent_for_user(request.user, consent_id)
    if membership is not None:
        raise Http404("Staff download consents from the client's record")
    return consent_pdf_response(sig, language=sig.language)


@login_required
def portal_details(request: HttpRequest, client_id: int) -> HttpResponse:
    """The client keeps their phone, address, reminder choices and emergency contact up to date."""
    client = get_own_client(request.user, client_id)
    form = OwnDetailsForm(request.POST if request.method == "POST" else None, instance=client)
    if request.method == "POST" and form.is_valid():
        changed = client_update_own_details(client=client, user=request.user, data=form.cleaned_data)
        messages.success(request, gettext("Your details are saved.") if changed else gettext("Nothing had changed."))
        return redirect("home")
    return render(request, "clients/portal_details.html", {"client": client, "form": form}, status=400 if form.is_bound else 200)
