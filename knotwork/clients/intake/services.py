"""Writes for intake, consent, screening flags and pain drawings.

Every function audits what it did with ids, field names and counts only: the audit log never
holds an answer, a note or a drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from knotwork.accounts.models import Capability, Membership, User
from knotwork.accounts.permissions import require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.clients.consent import ConsentDocument, clean_signature, current_documents
from knotwork.clients.intake.definition import FormDefinition, plain_answers
from knotwork.clients.intake.screening import FlagSpec, screen
from knotwork.clients.intake.selectors import intake_form_for
from knotwork.clients.language import client_translation
from knotwork.clients.models import (
    Client,
    ConsentSignature,
    IntakeNote,
    IntakeStatus,
    IntakeSubmission,
    MedicalClearance,
    PainDrawing,
    ScreeningFlag,
)
from knotwork.engine import parse_drawing, red_flag_questions, red_flag_rules_version
from knotwork.lib import context
from knotwork.lib.mail import send_email
from knotwork.lib.urls import absolute_url

# Answers copied onto the client record at submission: the client confirms their own contact details.
DEMOGRAPHIC_ANSWERS = ("date_of_birth", "phone", "address", "emergency_contact_name", "emergency_contact_phone")


@transaction.atomic
def intake_start(*, client: Client, actor: User) -> IntakeSubmission:
    """The client's draft intake, created on first use (one draft per client)."""
    draft = IntakeSubmission.objects.select_for_update().filter(client=client, status=IntakeStatus.DRAFT).first()
    if draft:
        return draft
    form = intake_form_for(client.clinic)
    draft = IntakeSubmission.objects.create(clinic=client.clinic, client=client, form_version=form.version, answers={})
    audit_record(action=Action.CREATE, obj=draft, clinic=client.clinic, actor=actor, role="client")
    return draft


@transaction.atomic
def intake_save_answers(*, intake: IntakeSubmission, form: FormDefinition, answers: dict[str, Any], actor: User) -> IntakeSubmission:
    """Merge one step's answers into the draft, each stored with the question's wording of today."""
    intake = IntakeSubmission.objects.select_for_update().get(pk=intake.pk)
    if intake.status != IntakeStatus.DRAFT:
        raise ValidationError(gettext("This intake has been submitted already; ask your clinic to change an answer."))
    changed: list[str] = []
    for qid, value in answers.items():
        q = form.by_id[qid]
        before = intake.answers.get(qid, {}).get("a") if isinstance(intake.answers.get(qid), dict) else None
        if value in (None, "", []) or (isinstance(value, dict) and not value.get("marks")):
            if qid in intake.answers:
                del intake.answers[qid]
                changed.append(qid)
            continue
        if before != value or intake.answers[qid].get("q") != q.text:
            intake.answers[qid] = {"q": q.text, "a": value}
            changed.append(qid)
    intake.form_version = form.version
    intake.language = form.language
    intake.save(update_fields=["answers", "form_version", "language", "updated_at"])
    if changed:
        audit_record(action=Action.UPDATE, obj=intake, actor=actor, role="client", detail={"questions": sorted(changed)})
    return intake


@dataclass(frozen=True)
class SignatureInput:
    typed_name: str
    signature: str
    ip: str | None
    user_agent: str


def consent_sign(
    *, client: Client, document: ConsentDocument, signed: SignatureInput, actor: User | None, intake: IntakeSubmission | None = None
) -> ConsentSignature:
    """Record a signature on the exact text of one document version, with its hash."""
    sig = ConsentSignature.objects.create(
        clinic=client.clinic,
        client=client,
        intake=intake,
        document=document.id,
        version=document.version,
        title=document.title,
        text=document.text,
        text_sha256=document.sha256,
        language=document.language,
        typed_name=signed.typed_name[:150],
        drawn_svg_path=clean_signature(signed.signature),
        signed_at=timezone.now(),
        ip=signed.ip,
        user_agent=signed.user_agent[:300],
        signed_by=actor,
    )
    audit_record(
        action=Action.SIGN,
        obj=sig,
        clinic=client.clinic,
        actor=actor,
        role="client",
        detail={"document": document.id, "version": document.version, "language": document.language},
    )
    return sig


@transaction.atomic
def consents_resign(*, client: Client, documents: list[ConsentDocument], signed: SignatureInput, actor: User) -> list[ConsentSignature]:
    """Sign new versions of documents the client signed before: all of them or, on any error, none."""
    if not documents:
        raise ValidationError(gettext("There is nothing to sign."))
    return [consent_sign(client=client, document=doc, signed=signed, actor=actor) for doc in documents]


@transaction.atomic
def intake_submit(*, intake: IntakeSubmission, form: FormDefinition, signed: SignatureInput, actor: User) -> IntakeSubmission:
    """Sign the consents, then submit: the drawing becomes a PainDrawing and the answers are screened.

    ``form`` is the form as the client saw it: its language is recorded on the intake, and the
    consents are signed in that language where the documents are translated into it.

    Refused (ValidationError, nothing written) while a required answer is missing.
    """
    intake = IntakeSubmission.objects.select_for_update().select_related("client", "clinic").get(pk=intake.pk)
    if intake.status != IntakeStatus.DRAFT:
        raise ValidationError(gettext("This intake has been submitted already."))
    answers = plain_answers(intake.answers)
    missing = form.missing(answers)
    if missing:
        raise ValidationError([f"{s.title}: {q.text}" for s, q in missing])
    client = intake.client
    for doc in current_documents(form.language):
        consent_sign(client=client, document=doc, signed=signed, actor=actor, intake=intake)
    now = timezone.now()
    intake.status = IntakeStatus.SUBMITTED
    intake.submitted_at = now
    intake.form_version = form.version
    intake.language = form.language
    intake.red_flag_rules_version = red_flag_rules_version()
    intake.save(update_fields=["status", "submitted_at", "form_version", "language", "red_flag_rules_version", "updated_at"])
    drawing = answers.get("drawing") or {"marks": []}
    if drawing.get("marks"):
        drawing_create(
            client=client, marks=drawing["marks"], symptoms=list(answers.get("symptoms") or []), actor=actor, intake=intake, taken_at=now
        )
    _apply_demographics(client, answers)
    flags = flags_raise(client=client, intake=intake, specs=screen(answers, parse_drawing({"marks": drawing.get("marks", [])})))
    audit_record(action=Action.UPDATE, obj=intake, actor=actor, role="client", detail={"status": "submitted", "flags": len(flags)})
    return intake


def _apply_demographics(client: Client, answers: dict[str, Any]) -> None:
    changed: list[str] = []
    for name in DEMOGRAPHIC_ANSWERS:
        value = answers.get(name)
        if not value:
            continue
        if name == "date_of_birth":
            value = date.fromisoformat(value)
        if getattr(client, name) != value:
            setattr(client, name, value)
            changed.append(name)
    if changed:
        client.save(update_fields=[*changed, "updated_at"])
        audit_record(action=Action.UPDATE, obj=client, role="client", detail={"fields": changed, "from": "intake"})


def flags_raise(*, client: Client, intake: IntakeSubmission | None, specs: list[FlagSpec]) -> list[ScreeningFlag]:
    """Open a flag per spec; a rule already open for this client is updated (its regions merged), not duplicated."""
    out: list[ScreeningFlag] = []
    for spec in specs:
        flag = ScreeningFlag.objects.open().filter(client=client, rule_id=spec.rule_id).first()
        fields = {
            "flag_class": spec.flag_class,
            "title": spec.title,
            "reason": spec.reason,
            "changes": spec.changes,
            "forbids": list(spec.forbids),
            "cautions": list(spec.cautions),
            "source": spec.source,
            "rules_version": spec.rules_version,
        }
        if flag is None:
            flag = ScreeningFlag.objects.create(
                clinic=client.clinic, client=client, intake=intake, rule_id=spec.rule_id, regions=list(spec.regions), **fields
            )
            audit_record(action=Action.CREATE, obj=flag, clinic=client.clinic, detail={"rule": spec.rule_id, "class": spec.flag_class})
        else:
            for k, v in fields.items():
                setattr(flag, k, v)
            flag.regions = list(dict.fromkeys([*flag.regions, *spec.regions]))
            flag.intake = intake
            flag.save()
            audit_record(action=Action.UPDATE, obj=flag, clinic=client.clinic, detail={"rule": spec.rule_id})
        out.append(flag)
    return out


@transaction.atomic
def flag_acknowledge(*, flag: ScreeningFlag, membership: Membership, note: str) -> ScreeningFlag:
    require(membership, Capability.VIEW_CLINICAL)
    if flag.cleared_at:
        raise ValidationError("This flag has been cleared already.")
    flag.acknowledged_at = timezone.now()
    flag.acknowledged_by = membership.user
    flag.acknowledge_note = note.strip()
    flag.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledge_note"])
    audit_record(action=Action.ACKNOWLEDGE, obj=flag, role=membership.role, detail={"rule": flag.rule_id, "note": bool(note.strip())})
    return flag


@transaction.atomic
def flag_clear(*, flag: ScreeningFlag, membership: Membership, note: str) -> ScreeningFlag:
    """Only a clinically qualified role clears a flag, and says why."""
    if not membership.can(Capability.EDIT_CLINICAL):
        raise PermissionDenied("Only clinically qualified staff can clear a screening flag.")
    if flag.cleared_at:
        raise ValidationError("This flag has been cleared already.")
    if not note.strip():
        raise ValidationError("Say why the flag no longer applies.")
    flag.cleared_at = timezone.now()
    flag.cleared_by = membership.user
    flag.clear_note = note.strip()
    flag.save(update_fields=["cleared_at", "cleared_by", "clear_note"])
    audit_record(action=Action.UPDATE, obj=flag, role=membership.role, detail={"rule": flag.rule_id, "status": "cleared"})
    return flag


MAX_NOTE = 2000


@transaction.atomic
def medical_clearance_record(*, client: Client, membership: Membership, flags: list[str], note: str) -> MedicalClearance:
    """Record that a physician has cleared ``client`` for hands-on work despite the red flags ``flags``.

    Only a clinically qualified role of the client's clinic records it, naming the red flags it
    covers and saying who cleared the client and when (``note``, kept encrypted; the audit event
    carries the flag ids only).
    """
    if membership.clinic_id != client.clinic_id or not membership.can(Capability.EDIT_CLINICAL):
        raise PermissionDenied("Only clinically qualified staff of the client's clinic can record a medical clearance.")
    known = {f.id for f in red_flag_questions()}
    flags = list(dict.fromkeys(flags))
    unknown = [f for f in flags if f not in known]
    if not flags or unknown:
        raise ValidationError("Name the red flags the clearance covers." if not flags else f"Unknown red flag: {', '.join(unknown)}.")
    note = note.strip()
    if not note:
        raise ValidationError("Say who cleared the client and when.")
    if len(note) > MAX_NOTE:
        raise ValidationError(f"Keep the note to {MAX_NOTE} characters.")
    clearance = MedicalClearance.objects.create(
        clinic=client.clinic, client=client, flags=flags, rules_version=red_flag_rules_version(), note=note, recorded_by=membership.user
    )
    audit_record(action=Action.CREATE, obj=clearance, role=membership.role, detail={"flags": flags})
    return clearance


@transaction.atomic
def intake_mark_reviewed(*, intake: IntakeSubmission, membership: Membership, note: str = "") -> IntakeSubmission:
    require(membership, Capability.EDIT_CLINICAL)
    if intake.status != IntakeStatus.SUBMITTED:
        raise ValidationError("Only a submitted intake can be marked reviewed.")
    intake.status = IntakeStatus.REVIEWED
    intake.reviewed_at = timezone.now()
    intake.reviewed_by = membership.user
    intake.save(update_fields=["status", "reviewed_at", "reviewed_by", "updated_at"])
    IntakeNote.objects.create(intake=intake, kind=IntakeNote.Kind.REVIEWED, text=note.strip(), author=membership.user)
    audit_record(action=Action.UPDATE, obj=intake, role=membership.role, detail={"status": "reviewed"})
    return intake


@transaction.atomic
def intake_request_info(*, intake: IntakeSubmission, membership: Membership, note: str) -> IntakeNote:
    """Ask the client for more: a note on the intake (kept) and an email with a link and no clinical detail."""
    require(membership, Capability.EDIT_CLINICAL)
    client = intake.client
    if not client.email and not (client.portal_user and client.portal_user.email):
        raise ValidationError("This client has no email address on file.")
    entry = IntakeNote.objects.create(intake=intake, kind=IntakeNote.Kind.MORE_INFO, text=note.strip(), author=membership.user)
    audit_record(action=Action.UPDATE, obj=intake, role=membership.role, detail={"requested_info": entry.pk})
    email = client.portal_user.email if client.portal_user else client.email
    url = absolute_url(reverse("portal_intake", args=[client.pk]))
    # The email says only that there is a question, never what it is: email is not a secure channel.
    names = {"clinic": client.clinic.name, "name": client.preferred_name or client.first_name}
    with client_translation(client):
        subject = gettext("%(clinic)s: a question about your intake") % names
        body = "\n\n".join(
            [
                gettext("Hello %(name)s,") % names,
                gettext("%(clinic)s has a question about the intake form you sent. Please sign in to read it:") % names + f"\n{url}",
                gettext("If you did not expect this, please contact %(clinic)s.") % names,
            ]
        )
    transaction.on_commit(lambda: send_email(to=email, subject=subject, text=body, clinic=client.clinic))
    return entry


@transaction.atomic
def drawing_create(
    *,
    client: Client,
    marks: list[dict[str, Any]],
    actor: User | None,
    symptoms: list[str] | None = None,
    note: str = "",
    intake: IntakeSubmission | None = None,
    taken_at: datetime | None = None,
    role: str = "client",
) -> PainDrawing:
    """Store a dated drawing; the engine validates it first (DrawingError on a bad one)."""
    parsed = parse_drawing({"marks": marks, "symptoms": symptoms or []})
    drawing = PainDrawing.objects.create(
        clinic=client.clinic,
        client=client,
        intake=intake,
        taken_at=taken_at or timezone.now(),
        marks=[
            {k: v for k, v in {"cell": m.cell, "intensity": m.intensity, "quality": m.quality}.items() if v is not None}
            for m in parsed.marks
        ],
        symptoms=list(parsed.symptoms),
        note=note.strip()[:300],
        created_by=actor,
    )
    audit_record(action=Action.CREATE, obj=drawing, clinic=client.clinic, actor=actor, role=role, detail={"marks": len(parsed.marks)})
    return drawing


def request_signature_input(request: Any, typed_name: str, signature: str) -> SignatureInput:
    return SignatureInput(
        typed_name=typed_name,
        signature=signature,
        ip=context.current().ip,
        user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:300],
    )


__all__ = [
    "SignatureInput",
    "consent_sign",
    "consents_resign",
    "drawing_create",
    "flag_acknowledge",
    "flag_clear",
    "flags_raise",
    "intake_mark_reviewed",
    "intake_request_info",
    "intake_save_answers",
    "intake_start",
    "intake_submit",
    "request_signature_input",
]
