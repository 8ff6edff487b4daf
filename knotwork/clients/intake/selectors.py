"""Reads for intake, consent, flags and drawings, and the ``get_<obj>_for_user`` checks.

Clinical objects (intake answers, drawings, flags, consents) need VIEW_CLINICAL: front desk gets
a 403, another clinic's object is a 404. A portal client reaches only their own, never as staff.

:func:`client_explain` is the one place a client's drawing meets the engine: the intake's red-flag
answers, the latest assessment, age and sex go in as context, and a recorded medical clearance
that covers the current red flags brings back a muscle list the triage withheld.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Max
from django.http import Http404
from django.utils import timezone

from knotwork.accounts.models import Capability, Clinic, Membership
from knotwork.accounts.permissions import membership_for, require
from knotwork.atlas.bodymap import cell_label
from knotwork.atlas.loader import atlas
from knotwork.atlas.region_words import quality_label, region_label
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.clients.consent import ConsentDocument, current_documents
from knotwork.clients.intake.definition import (
    SOURCE_LANGUAGE,
    CustomQuestion,
    FormDefinition,
    build_form,
    plain_answers,
    red_flag_answers,
    translate_form,
)
from knotwork.clients.models import (
    Client,
    ConsentSignature,
    IntakeQuestion,
    IntakeStatus,
    IntakeSubmission,
    MedicalClearance,
    PainDrawing,
    ScreeningFlag,
)
from knotwork.clients.selectors import OPEN_CLIENT
from knotwork.engine import DEFAULT_TOP, ExplainResult, Triage, explain


def intake_form_for(clinic: Clinic, language: str = SOURCE_LANGUAGE) -> FormDefinition:
    """The clinic's intake form worded in ``language`` (English where there is no translation)."""
    custom = [
        CustomQuestion(key=q.key, kind=q.kind, text=q.text, help=q.help_text, required=q.required, choices=tuple(q.choices))
        for q in IntakeQuestion.objects.filter(clinic=clinic, archived_at__isnull=True)
    ]
    return translate_form(build_form(custom), language)


def get_own_client(user: Any, client_id: int) -> Client:
    """The client record whose portal login is ``user`` (the client's own pages); else 404."""
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such record")
    client = Client.objects.select_related("clinic").filter(pk=client_id, portal_user=user, archived_at__isnull=True).first()
    if client is None:
        raise Http404("No such record")
    audit_record(action=Action.VIEW, obj=client, role="client", detail={"portal": True})
    return client


def get_clinical_client(user: Any, client_id: int, *, write: bool = False) -> tuple[Client, Membership]:
    """A client for a staff clinical page: 404 for another clinic or a portal login, 403 for front desk."""
    client = Client.objects.select_related("clinic", "portal_user").filter(pk=client_id).first()
    if client is None or client.restricted_at is not None:
        raise Http404("No such client")  # an erased client's retained records are restricted
    membership = membership_for(user, client.clinic_id)
    if membership is None:
        raise Http404("No such client")
    require(membership, Capability.EDIT_CLINICAL if write else Capability.VIEW_CLINICAL)
    audit_record(action=Action.VIEW, obj=client, role=membership.role, detail={"clinical": True})
    return client, membership


def get_flag_for_user(user: Any, client_id: int, flag_id: int) -> tuple[ScreeningFlag, Membership]:
    flag = ScreeningFlag.objects.select_related("client", "clinic").filter(pk=flag_id, client_id=client_id, **OPEN_CLIENT).first()
    if flag is None:
        raise Http404("No such flag")
    membership = require(membership_for(user, flag.clinic_id), Capability.VIEW_CLINICAL)
    audit_record(action=Action.VIEW, obj=flag, role=membership.role)
    return flag, membership


def get_consent_for_user(user: Any, consent_id: int) -> tuple[ConsentSignature, Membership | None]:
    """A signed consent for its client (portal) or the clinic's clinical staff."""
    sig = ConsentSignature.objects.select_related("client", "clinic").filter(pk=consent_id, **OPEN_CLIENT).first()
    if sig is None or not getattr(user, "is_authenticated", False):
        raise Http404("No such document")
    membership = membership_for(user, sig.clinic_id)
    if membership is None:
        if sig.client.portal_user_id != user.pk:
            raise Http404("No such document")
        audit_record(action=Action.EXPORT, obj=sig, role="client")
        return sig, None
    require(membership, Capability.VIEW_CLINICAL)
    audit_record(action=Action.EXPORT, obj=sig, role=membership.role)
    return sig, membership


def latest_intake(client: Client) -> IntakeSubmission | None:
    """The intake staff should read: the newest submitted or reviewed one, else the draft."""
    rows = list(client.intakes.order_by("-created_at", "-id")[:5])
    done = [i for i in rows if i.status != IntakeStatus.DRAFT]
    return done[0] if done else (rows[0] if rows else None)


def open_flags(client: Client) -> list[ScreeningFlag]:
    return list(ScreeningFlag.objects.open().filter(client=client).select_related("acknowledged_by").by_severity())


def drawings_of(client: Client) -> list[PainDrawing]:
    return list(PainDrawing.objects.filter(client=client).order_by("-taken_at", "-id"))


def latest_drawing(client: Client) -> PainDrawing | None:
    return PainDrawing.objects.filter(client=client).order_by("-taken_at", "-id").first()


@dataclass(frozen=True)
class CellChange:
    cell: str
    label: str
    before: int
    after: int
    before_quality: str | None
    after_quality: str | None

    @property
    def delta(self) -> int:
        return self.after - self.before

    @property
    def words(self) -> str:
        if self.before == 0:
            return f"new, {self.after}/10"
        if self.after == 0:
            return f"gone (was {self.before}/10)"
        if self.delta == 0:
            return f"unchanged, {self.after}/10"
        return f"{self.before}/10 → {self.after}/10"


@dataclass(frozen=True)
class Comparison:
    better: list[CellChange]
    worse: list[CellChange]
    same: list[CellChange]

    @property
    def total_before(self) -> int:
        return sum(c.before for c in [*self.better, *self.worse, *self.same])

    @property
    def total_after(self) -> int:
        return sum(c.after for c in [*self.better, *self.worse, *self.same])


def compare_drawings(before: PainDrawing, after: PainDrawing) -> Comparison:
    """Per cell: what got better (lower or gone), worse (higher or new) and what stayed."""
    a = {m["cell"]: m for m in before.marks}
    b = {m["cell"]: m for m in after.marks}
    from knotwork.atlas.bodymap import cell_order

    order = cell_order()
    changes = [
        CellChange(
            cell=c,
            label=cell_label(c),
            before=int(a.get(c, {}).get("intensity", 0)),
            after=int(b.get(c, {}).get("intensity", 0)),
            before_quality=a.get(c, {}).get("quality"),
            after_quality=b.get(c, {}).get("quality"),
        )
        for c in sorted(set(a) | set(b), key=lambda c: order.get(c, 0))
    ]
    return Comparison(
        better=sorted((c for c in changes if c.delta < 0), key=lambda c: c.delta),
        worse=sorted((c for c in changes if c.delta > 0), key=lambda c: -c.delta),
        same=[c for c in changes if c.delta == 0],
    )


def mark_words(mark: dict[str, Any], language: str = SOURCE_LANGUAGE) -> str:
    """The same wording as the body-map widget's summary: "right temple 7/10, aching".

    In ``language`` for a client's page ("sien derecha 7/10, dolor sordo"); staff pages keep the
    default, English. The place and quality words come from :mod:`knotwork.atlas.region_words`.
    """
    label = region_label(mark["cell"], language)
    words = f"{label[:1].lower()}{label[1:]} {mark['intensity']}/10"
    quality = quality_label(mark["quality"], language) if mark.get("quality") else ""
    return words + (f", {quality[:1].lower()}{quality[1:]}" if quality else "")


def drawing_words(marks: list[dict[str, Any]], language: str = SOURCE_LANGUAGE) -> str:
    """A drawing's marks in words, head to toe as given, in ``language`` (English by default)."""
    return "; ".join(mark_words(m, language) for m in marks)


def consents_due(client: Client, language: str = SOURCE_LANGUAGE) -> list[ConsentDocument]:
    """The current consent documents a client must sign again: once they have signed anything, every
    document whose current version is newer than the one they signed (or that they never signed).
    A client who has signed nothing yet signs everything with their first intake instead."""
    signed = dict(
        ConsentSignature.objects.filter(client=client).values("document").annotate(latest=Max("version")).values_list("document", "latest")
    )
    if not signed:
        return []
    return [doc for doc in current_documents(language) if signed.get(doc.id, 0) < doc.version]


# -- the engine on a client's record -------------------------------------------------------------


def current_marks(marks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Marks on cells the current atlas knows: a drawing stored before a region was retired still shows."""
    cells = set(atlas().cells())
    return [m for m in marks if isinstance(m, dict) and m.get("cell") in cells]


def current_symptoms(symptoms: list[str]) -> list[str]:
    known = {s.id for s in atlas().symptoms}
    return [s for s in symptoms if s in known]


def engine_context(client: Client, answers: dict[str, Any], implicated: dict[str, str]) -> dict[str, Any]:
    """The drawing's ``context`` from the record: assessment findings, red-flag answers, age, sex."""
    ctx: dict[str, Any] = {}
    if implicated:
        ctx["implicated_muscles"] = implicated
    rf = red_flag_answers(answers)
    if rf:
        ctx["red_flags"] = rf
    age = client.age_on(timezone.localdate())
    if age is not None and 0 <= age <= 120:
        ctx["age"] = age
    if client.sex in ("female", "male", "other"):
        ctx["sex"] = client.sex
    return ctx


def latest_clearance(client: Client) -> MedicalClearance | None:
    return MedicalClearance.objects.filter(client=client).select_related("recorded_by").order_by("-recorded_at", "-id").first()


def clearance_flags(triage: Triage | None) -> tuple[str, ...]:
    """The red-flag ids a medical clearance must cover for this triage: none unless it withholds the muscle list."""
    return triage.clearance_flags if triage is not None and triage.withheld else ()


@dataclass(frozen=True)
class ClientExplain:
    """The engine's answer for one of a client's drawings, with the record's context applied.

    ``needs_clearance`` lists the red flags a clearance must cover (empty when nothing is
    withheld); ``covered`` says the latest clearance covers them, so ``result`` shows the list.
    """

    result: ExplainResult
    drawing: PainDrawing | None
    marks: list[dict[str, Any]]
    clearance: MedicalClearance | None
    needs_clearance: tuple[str, ...]
    covered: bool


def client_explain(
    client: Client,
    drawing: PainDrawing | None,
    *,
    answers: dict[str, Any] | None = None,
    implicated: dict[str, str] | None = None,
    top: int | None = DEFAULT_TOP,
) -> ClientExplain:
    """Explain ``drawing`` (or no drawing: the red-flag answers alone) for ``client``.

    ``answers`` (the latest intake's plain answers) and ``implicated`` (the latest assessment's
    muscles) are read when not given. The engine runs a second time, with
    ``context.medical_clearance``, only when the triage withholds the list and the latest
    clearance covers its red flags.
    """
    from knotwork.assessment.selectors import implicated_muscles_for_client

    if answers is None:
        intake = latest_intake(client)
        answers = plain_answers(intake.answers) if intake else {}
    if implicated is None:
        implicated = implicated_muscles_for_client(client)
    marks = current_marks(drawing.marks) if drawing else []
    data: dict[str, Any] = {
        "marks": marks,
        "symptoms": current_symptoms(drawing.symptoms) if drawing else [],
        "context": engine_context(client, answers, implicated),
    }
    result = explain(data, top=top)
    needed = clearance_flags(result.triage)
    # Deliberately simple: the latest clearance counts, whenever it was recorded, if it names every
    # flag; the triage panel still shows the flags above the list, with who recorded it and when.
    clearance = latest_clearance(client) if needed else None
    covered = clearance is not None and clearance.covers(needed)
    if covered:
        result = explain({**data, "context": {**data["context"], "medical_clearance": True}}, top=top)
    return ClientExplain(result=result, drawing=drawing, marks=marks, clearance=clearance, needs_clearance=needed, covered=covered)
