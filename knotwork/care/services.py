"""Every write of the care app: keyword-only, atomic, audited; side effects on commit.

A signed visit is locked: :func:`ensure_unlocked` is called by every service that changes a
visit or anything logged on it, so no view or API operation can get round it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from knotwork.accounts.models import Membership
from knotwork.atlas.models import Muscle, TriggerPoint
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.bookings.models import Appointment
from knotwork.care import safety
from knotwork.care.library import library, techniques
from knotwork.care.models import (
    STAGE_EXIT_CRITERIA,
    Adherence,
    AdherenceLog,
    CareSettings,
    CheckIn,
    Episode,
    EpisodeStatus,
    FeedbackToken,
    HomeProgram,
    HomeProgramItem,
    PressureFeedback,
    Stage,
    TechniqueApplication,
    TreatmentPlan,
    TriggerPointFinding,
    Visit,
    hash_token,
    new_token,
)
from knotwork.clients.intake.screening import techniques as screening_names
from knotwork.clients.intake.selectors import open_flags
from knotwork.clients.models import Client, PainDrawing

CHECKIN_AFTER = timedelta(hours=24)
PROGRAM_SOFT_LIMIT = 4


class VisitLocked(Exception):
    """The visit is signed: it can only gain addenda."""

    def __init__(self, visit: Visit) -> None:
        super().__init__(
            f"This note was signed on {timezone.localtime(visit.signed_at):%d %b %Y %H:%M} and is locked. Add an addendum to correct it."
            if visit.signed_at
            else "This note is locked."
        )


class TechniqueBlocked(Exception):
    def __init__(self, verdict: safety.Verdict) -> None:
        self.verdict = verdict
        super().__init__(" ".join(f"{c.title}: {c.reason}" for c in verdict.blocked))


class CautionNotAcknowledged(Exception):
    def __init__(self, verdict: safety.Verdict) -> None:
        self.verdict = verdict
        super().__init__(
            "Acknowledge the precautions to log this technique: " + " ".join(f"{c.title}: {c.reason}" for c in verdict.cautions)
        )


def _audit(action: str, obj: Any, membership: Membership | None, **detail: Any) -> None:
    audit_record(action=action, obj=obj, clinic=getattr(obj, "clinic_id", None) or getattr(membership, "clinic_id", None),
                 role=membership.role if membership else "client", detail=detail or None)  # fmt: skip


def ensure_unlocked(visit: Visit) -> None:
    # Re-read under a row lock: a note signed a moment ago in another request is locked here too.
    fresh = Visit.objects.select_for_update().only("signed_at").get(pk=visit.pk)
    if fresh.signed_at is not None:
        visit.signed_at = fresh.signed_at
        raise VisitLocked(visit)


# --- episodes and plans ----------------------------------------------------------------------


@transaction.atomic
def episode_create(
    *,
    membership: Membership,
    client: Client,
    complaint: str,
    started_on: date,
    goals_note: str = "",
    drawing_ids: list[int] | None = None,
    diagnosis_codes: list[dict[str, str]] | None = None,
) -> Episode:
    episode = Episode.objects.create(
        clinic_id=client.clinic_id, client=client, complaint=complaint.strip(), started_on=started_on,
        goals_note=goals_note, created_by=membership.user, diagnosis_codes=diagnosis_codes or [],
    )  # fmt: skip
    linked = episode_link_drawings(membership=membership, episode=episode, drawing_ids=drawing_ids or [], audit=False)
    _audit(Action.CREATE, episode, membership, client=client.pk, drawings=linked)
    return episode


@transaction.atomic
def episode_link_drawings(*, membership: Membership, episode: Episode, drawing_ids: list[int], audit: bool = True) -> int:
    drawings = list(PainDrawing.objects.filter(client_id=episode.client_id, pk__in=drawing_ids))
    if len(drawings) != len(set(drawing_ids)):
        raise ValidationError({"drawings": "Pick drawings of this client only."})
    episode.drawings.set(drawings)
    if audit:
        _audit(Action.UPDATE, episode, membership, fields=["drawings"], count=len(drawings))
    return len(drawings)


@transaction.atomic
def episode_set_diagnoses(*, membership: Membership, episode: Episode, diagnosis_codes: list[dict[str, str]]) -> Episode:
    """Replace the episode's ICD-10 codes (already checked by ``claim_codes.parse_diagnoses``)."""
    episode.diagnosis_codes = diagnosis_codes
    episode.save(update_fields=["diagnosis_codes"])
    _audit(Action.UPDATE, episode, membership, fields=["diagnosis_codes"], count=len(diagnosis_codes))
    return episode


@transaction.atomic
def episode_set_status(*, membership: Membership, episode: Episode, status: str) -> Episode:
    if status not in EpisodeStatus.values:
        raise ValidationError({"status": "Unknown status."})
    episode.status = status
    episode.ended_on = timezone.localdate() if status == EpisodeStatus.DISCHARGED else None
    episode.ended_on = max(episode.ended_on, episode.started_on) if episode.ended_on else None
    episode.save(update_fields=["status", "ended_on"])
    _audit(Action.UPDATE, episode, membership, fields=["status"], status=status)
    return episode


def default_stages() -> list[dict[str, Any]]:
    return [{"id": s.value, "done": False, "exit": STAGE_EXIT_CRITERIA[s.value]} for s in Stage]


@transaction.atomic
def plan_save(
    *,
    membership: Membership,
    episode: Episode,
    goals: list[dict[str, str]],
    visits_per_week: int,
    planned_visits: int,
    focus: list[str],
    stages: list[dict[str, Any]],
    note: str = "",
) -> TreatmentPlan:
    """A new version of the episode's plan (earlier versions stay as they were)."""
    unknown = sorted(set(focus) - set(Muscle.objects.filter(pk__in=focus).values_list("pk", flat=True)))
    if unknown:
        raise ValidationError({"focus": f"Unknown muscles: {', '.join(unknown)}"})
    by_id = {s.get("id"): s for s in stages}
    if set(by_id) - set(Stage.values):
        raise ValidationError({"stages": "Unknown stage."})
    clean_stages = [
        {"id": s.value, "done": bool(by_id.get(s.value, {}).get("done")),
         "exit": str(by_id.get(s.value, {}).get("exit") or STAGE_EXIT_CRITERIA[s.value])[:500]}
        for s in Stage
    ]  # fmt: skip
    clean_goals = [
        {"activity": g["activity"].strip()[:200], "target": g.get("target", "").strip()[:200]}
        for g in goals
        if g.get("activity", "").strip()
    ]
    Episode.objects.select_for_update().filter(pk=episode.pk).first()  # one new version at a time
    last = episode.plans.order_by("-version").first()
    plan = TreatmentPlan.objects.create(
        episode=episode, version=(last.version + 1) if last else 1, goals=clean_goals, visits_per_week=visits_per_week,
        planned_visits=planned_visits, focus=list(dict.fromkeys(focus)), stages=clean_stages, note=note, created_by=membership.user,
    )  # fmt: skip
    _audit(Action.CREATE, plan, membership, episode=episode.pk, version=plan.version, goals=len(clean_goals), focus=len(plan.focus))
    return plan


# --- visits ----------------------------------------------------------------------------------


def previous_visit(visit: Visit) -> Visit | None:
    return (
        Visit.objects.signed().filter(episode_id=visit.episode_id).exclude(pk=visit.pk)
        .filter(Q(started_at__lt=visit.started_at) | Q(started_at=visit.started_at, pk__lt=visit.pk))
        .select_related("checkin").order_by("-started_at", "-id").first()
    )  # fmt: skip


@transaction.atomic
def visit_start(
    *, membership: Membership, episode: Episode, started_at: datetime | None = None, appointment: Appointment | None = None
) -> Visit:
    if episode.status == EpisodeStatus.DISCHARGED:
        raise ValidationError("This episode is discharged; reopen it or start a new episode first.")
    visit = Visit.objects.create(
        clinic_id=episode.clinic_id, client_id=episode.client_id, episode=episode, therapist=membership.user,
        started_at=started_at or timezone.now(), appointment=appointment,
    )  # fmt: skip
    prev = previous_visit(visit)
    answered = getattr(prev, "checkin", None) if prev else None
    if answered is not None and answered.answered_at:
        visit.soreness_after_last = answered.soreness
        visit.subjective = checkin_words(answered)
        visit.save(update_fields=["soreness_after_last", "subjective"])
    _audit(Action.CREATE, visit, membership, episode=episode.pk, prefilled_from_checkin=bool(answered and answered.answered_at))
    return visit


class NoOpenEpisode(ValidationError):
    """The appointment's client has no active episode to file the visit under."""


@transaction.atomic
def visit_for_appointment(*, membership: Membership, appointment: Appointment) -> tuple[Visit, bool]:
    """The visit note of a booked appointment: the one already started from it, or a new one in the
    client's most recent active episode, timed at the appointment's start. Returns (visit, created)."""
    locked = Appointment.objects.select_for_update().get(pk=appointment.pk)  # two clicks make one note
    existing = Visit.objects.filter(appointment=locked).first()
    if existing is not None:
        return existing, False
    if not locked.takes_visit_note or locked.client_id is None:  # (the second test only tells the type checker)
        raise ValidationError("Only a confirmed or attended appointment can have a visit note.")
    episode = (
        Episode.objects.filter(client_id=locked.client_id, clinic_id=locked.clinic_id, status=EpisodeStatus.ACTIVE)
        .order_by("-started_on", "-id").first()
    )  # fmt: skip
    if episode is None:
        raise NoOpenEpisode("This client has no active episode. Open one for their complaint, then start the visit.")
    return visit_start(membership=membership, episode=episode, started_at=locked.starts_at, appointment=locked), True


def checkin_words(checkin: CheckIn) -> str:
    """The post-session check-in as a line for the next Subjective."""
    parts = [f"After the last visit (check-in {timezone.localtime(checkin.answered_at):%d %b}):"] if checkin.answered_at else []
    if checkin.soreness is not None:
        parts.append(f"soreness {checkin.soreness}/10;")
    if checkin.familiar_pain_returned is not None:
        parts.append("familiar pain came back." if checkin.familiar_pain_returned else "familiar pain did not come back.")
    if checkin.worrying:
        parts.append(f"Worried about: {checkin.worrying}")
    return " ".join(parts)


def subjective_from_checkin(visit: Visit) -> str:
    lines = []
    if visit.pain_today is not None:
        lines.append(f"Pain today {visit.pain_today}/10.")
    if visit.change_since_last:
        lines.append(f"Since the last visit: {visit.get_change_since_last_display().lower()}.")
    if visit.soreness_after_last is not None:
        lines.append(f"Soreness after the last visit {visit.soreness_after_last}/10.")
    if visit.program_adherence:
        lines.append(f"Home program: {Adherence(visit.program_adherence).label.lower()}.")
    return " ".join(lines)


@transaction.atomic
def visit_checkin(
    *,
    membership: Membership,
    visit: Visit,
    pain_today: int | None,
    change_since_last: str,
    soreness_after_last: int | None,
    program_adherence: str,
) -> Visit:
    """Record the start-of-visit check-in and pre-fill the Subjective with it (kept editable).

    What the therapist already typed in the Subjective is kept; the check-in line goes first.
    """
    ensure_unlocked(visit)
    visit.pain_today, visit.change_since_last = pain_today, change_since_last
    visit.soreness_after_last, visit.program_adherence = soreness_after_last, program_adherence
    visit.checkin_at = timezone.now()
    line = subjective_from_checkin(visit)
    if line and line not in visit.subjective:
        visit.subjective = f"{line}\n{visit.subjective}".strip()
    visit.save(
        update_fields=[
            "pain_today",
            "change_since_last",
            "soreness_after_last",
            "program_adherence",
            "checkin_at",
            "subjective",
            "updated_at",
        ]
    )
    _audit(Action.UPDATE, visit, membership, fields=["checkin"])
    return visit


@transaction.atomic
def visit_update_notes(*, membership: Membership, visit: Visit, data: dict[str, Any]) -> Visit:
    ensure_unlocked(visit)
    allowed = {*Visit.SOAP_FIELDS, "next_steps"}
    changed = sorted(k for k in data if k in allowed and getattr(visit, k) != data[k])
    for k in changed:
        setattr(visit, k, data[k])
    if changed:
        visit.save(update_fields=[*changed, "updated_at"])
        _audit(Action.UPDATE, visit, membership, fields=changed)
    return visit


@dataclass(frozen=True)
class CarryResult:
    carried: list[str]
    skipped: list[str]
    source: Visit | None


@transaction.atomic
def visit_carry_forward(*, membership: Membership, visit: Visit, fields: list[str]) -> CarryResult:
    """Copy text from the episode's previous signed note, explicitly, into fields still empty.

    Fields that already hold text are skipped (nothing typed is overwritten); what was carried
    is recorded on the visit and shown on the note.
    """
    ensure_unlocked(visit)
    wanted = [f for f in fields if f in (*Visit.SOAP_FIELDS, "next_steps")]
    if not wanted:
        raise ValidationError("Choose at least one part of the note to carry forward.")
    source = previous_visit(visit)
    if source is None:
        raise ValidationError("There is no earlier signed note in this episode to carry forward.")
    carried, skipped = [], []
    for f in wanted:
        if getattr(visit, f) or not getattr(source, f):
            skipped.append(f)
            continue
        setattr(visit, f, list(getattr(source, f)) if f == "next_steps" else getattr(source, f))
        carried.append(f)
    if carried:
        visit.carried_from = source
        visit.carried_fields = sorted(set(visit.carried_fields) | set(carried))
        visit.save(update_fields=[*carried, "carried_from", "carried_fields", "updated_at"])
    _audit(Action.UPDATE, visit, membership, carried_from=source.pk, carried=carried, skipped=skipped)
    return CarryResult(carried=carried, skipped=skipped, source=source)


@transaction.atomic
def finding_add(*, membership: Membership, visit: Visit, trigger_point: TriggerPoint, data: dict[str, Any]) -> TriggerPointFinding:
    ensure_unlocked(visit)
    try:
        with transaction.atomic():
            finding = TriggerPointFinding.objects.create(visit=visit, trigger_point=trigger_point, **data)
    except IntegrityError:
        raise ValidationError(
            {"trigger_point": "This trigger point and side is already in today's log; remove it first to change it."}
        ) from None
    _audit(Action.CREATE, finding, membership, visit=visit.pk, trigger_point=trigger_point.pk, side=finding.side)
    return finding


@transaction.atomic
def finding_remove(*, membership: Membership, finding: TriggerPointFinding) -> None:
    ensure_unlocked(finding.visit)
    _audit(Action.DELETE, finding, membership, visit=finding.visit_id, trigger_point=finding.trigger_point_id)
    finding.delete()


def target_cells(muscle: Muscle, trigger_point: TriggerPoint | None, side: str) -> list[str]:
    """Body-map cells a technique touches: the trigger point's region, or every region of the muscle's points."""
    from knotwork.atlas.loader import atlas

    points = (
        [trigger_point.data] if trigger_point else [tp.model_dump(mode="json") for tp in atlas().muscle_by_id[muscle.pk].trigger_points]
    )
    regions = atlas().region_by_id
    cells: list[str] = []
    for tp in points:
        rid = tp["location"]["region"]
        if regions[rid].kind != "paired":
            cells.append(rid)
        elif side == "midline":
            cells += [f"{rid}:right", f"{rid}:left"]
        else:
            cells.append(f"{rid}:{side}")
    return sorted(set(cells))


def technique_verdict(*, visit: Visit, technique: str, muscle: Muscle, trigger_point: TriggerPoint | None, side: str) -> safety.Verdict:
    tech = techniques()[technique]
    flags: list[Any] = open_flags(visit.client)
    return safety.check_technique(tech, target_cells(muscle, trigger_point, side), flags, screening_names())


@transaction.atomic
def technique_log(
    *,
    membership: Membership,
    visit: Visit,
    technique: str,
    muscle: Muscle,
    trigger_point: TriggerPoint | None,
    side: str,
    hold_s: int,
    reps: int,
    pressure: int,
    response: str,
    response_note: str = "",
    pain_before: int | None = None,
    pain_after: int | None = None,
    acknowledge: bool = False,
) -> TechniqueApplication:
    """Log one technique. Blocked techniques raise :class:`TechniqueBlocked`; precautions must be
    acknowledged (``acknowledge=True``) or :class:`CautionNotAcknowledged` is raised. Feedback
    presses not yet tied to a technique are tied to this one."""
    ensure_unlocked(visit)
    if technique not in techniques():
        raise ValidationError({"technique": "Unknown technique."})
    if trigger_point is not None and trigger_point.muscle_id != muscle.pk:
        raise ValidationError({"trigger_point": "That trigger point belongs to another muscle."})
    ceiling = CareSettings.for_clinic(visit.clinic_id).pressure_ceiling
    if pressure > ceiling:
        raise ValidationError({"pressure": f"The clinic's ceiling is {ceiling}/10: work below it."})
    verdict = technique_verdict(visit=visit, technique=technique, muscle=muscle, trigger_point=trigger_point, side=side)
    if verdict.blocked:
        raise TechniqueBlocked(verdict)
    if verdict.cautions and not acknowledge:
        raise CautionNotAcknowledged(verdict)
    app = TechniqueApplication.objects.create(
        visit=visit, technique=technique, muscle=muscle, trigger_point=trigger_point, side=side, hold_s=hold_s, reps=reps,
        pressure=pressure, response=response, response_note=response_note, pain_before=pain_before, pain_after=pain_after,
        acknowledged_flags=verdict.caution_ids, created_by=membership.user,
    )  # fmt: skip
    linked = PressureFeedback.objects.filter(visit=visit, technique__isnull=True).update(technique=app)
    if verdict.cautions:
        audit_record(action=Action.ACKNOWLEDGE, obj=app, clinic=visit.clinic_id, role=membership.role,
                     detail={"flags": verdict.caution_ids, "technique": technique, "visit": visit.pk})  # fmt: skip
    _audit(Action.CREATE, app, membership, visit=visit.pk, technique=technique, muscle=muscle.pk, feedback_linked=linked)
    return app


@transaction.atomic
def technique_remove(*, membership: Membership, application: TechniqueApplication) -> None:
    ensure_unlocked(application.visit)
    _audit(Action.DELETE, application, membership, visit=application.visit_id, technique=application.technique)
    application.delete()


@transaction.atomic
def visit_sign(*, membership: Membership, visit: Visit) -> Visit:
    """Lock the note, end live feedback and schedule the post-session check-in."""
    ensure_unlocked(visit)
    if not (visit.subjective.strip() or visit.objective.strip() or visit.findings.exists() or visit.techniques.exists()):
        raise ValidationError("An empty note cannot be signed: record at least the Subjective, a finding or a technique.")
    now = timezone.now()
    visit.signed_at, visit.signed_by = now, membership.user
    visit.save(update_fields=["signed_at", "signed_by", "updated_at"])
    revoked = FeedbackToken.objects.filter(visit=visit, revoked_at__isnull=True).update(revoked_at=now)
    CheckIn.objects.get_or_create(visit=visit, defaults={"clinic_id": visit.clinic_id, "due_at": now + CHECKIN_AFTER})
    _audit(Action.SIGN, visit, membership, feedback_links_revoked=revoked)
    return visit


@transaction.atomic
def addendum_add(*, membership: Membership, visit: Visit, reason: str, text: str) -> Any:
    from knotwork.care.models import Addendum

    if not visit.is_signed:
        raise ValidationError("The note is not signed yet: change it directly.")
    if not reason.strip() or not text.strip():
        raise ValidationError(
            {"reason": "Say why.", "text": "Write the correction."} if not reason.strip() else {"text": "Write the correction."}
        )
    add = Addendum.objects.create(visit=visit, author=membership.user, reason=reason.strip(), text=text.strip())
    _audit(Action.CREATE, add, membership, visit=visit.pk)
    return add


# --- live pressure feedback ------------------------------------------------------------------


@transaction.atomic
def feedback_link_issue(*, membership: Membership, visit: Visit) -> str:
    """A fresh feedback link for the visit (earlier ones are revoked). Returns the raw token, once."""
    ensure_unlocked(visit)
    now = timezone.now()
    FeedbackToken.objects.filter(visit=visit, revoked_at__isnull=True).update(revoked_at=now)
    raw, digest = new_token()
    token = FeedbackToken.objects.create(
        visit=visit, token_hash=digest, created_by=membership.user, expires_at=now + FeedbackToken.VALID_FOR
    )
    audit_record(action=Action.CREATE, obj=token, clinic=visit.clinic_id, role=membership.role, detail={"visit": visit.pk})
    return raw


@transaction.atomic
def feedback_link_revoke(*, membership: Membership, visit: Visit) -> int:
    n = FeedbackToken.objects.filter(visit=visit, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit_record(action=Action.REVOKE, object_type="care.feedbacktoken", object_id=visit.pk, clinic=visit.clinic_id,
                 role=membership.role, detail={"visit": visit.pk, "count": n})  # fmt: skip
    return n


def feedback_token_find(raw: str) -> FeedbackToken | None:
    if not raw or len(raw) > 100:
        return None
    return FeedbackToken.objects.usable().select_related("visit", "visit__clinic").filter(token_hash=hash_token(raw)).first()


@transaction.atomic
def feedback_press(*, token: FeedbackToken, kind: str) -> PressureFeedback:
    press = PressureFeedback.objects.create(visit=token.visit, kind=kind)
    audit_record(
        action=Action.CREATE, obj=press, clinic=token.visit.clinic_id, role="client", detail={"visit": token.visit_id, "kind": kind}
    )
    return press


# --- post-session check-in -------------------------------------------------------------------


def checkin_find(raw: str) -> CheckIn | None:
    if not raw or len(raw) > 100:
        return None
    found = CheckIn.objects.select_related("visit", "visit__client", "clinic").filter(token_hash=hash_token(raw)).first()
    if found is None or found.sent_at is None or found.sent_at + CheckIn.ANSWER_WINDOW < timezone.now():
        return None
    return found


@transaction.atomic
def checkin_answer(*, checkin: CheckIn, soreness: int, familiar_pain_returned: bool, worrying: str = "") -> CheckIn:
    if checkin.answered_at is not None:
        raise ValidationError("These answers were already sent. Thank you!")
    # "Unusually high" for this client: well above their own usual soreness, or above the clinic's alert level.
    rows = CheckIn.objects.filter(visit__client_id=checkin.visit.client_id, soreness__isnull=False).exclude(pk=checkin.pk)
    earlier = [s for s in rows.order_by("-answered_at").values_list("soreness", flat=True)[:10] if s is not None]
    alert = CareSettings.for_clinic(checkin.clinic_id).soreness_alert
    unusual = soreness >= alert or (len(earlier) >= 2 and soreness >= statistics.median(earlier) + 3)
    checkin.soreness, checkin.familiar_pain_returned, checkin.worrying = soreness, familiar_pain_returned, worrying.strip()
    checkin.answered_at = timezone.now()
    checkin.flagged = bool(unusual or checkin.worrying)
    checkin.save(update_fields=["soreness", "familiar_pain_returned", "worrying", "answered_at", "flagged"])
    audit_record(action=Action.CREATE, obj=checkin, clinic=checkin.clinic_id, role="client",
                 detail={"visit": checkin.visit_id, "flagged": checkin.flagged})  # fmt: skip
    return checkin


# --- home program ----------------------------------------------------------------------------


def program_for(client: Client) -> HomeProgram | None:
    return HomeProgram.objects.filter(client=client).first()


@transaction.atomic
def program_add(
    *, membership: Membership, client: Client, exercise: str, sets: int, reps: int, hold_s: int, per_day: int, note: str = ""
) -> HomeProgramItem:
    if exercise not in library().by_id:
        raise ValidationError({"exercise": "Unknown exercise."})
    program, _ = HomeProgram.objects.get_or_create(client=client, defaults={"clinic_id": client.clinic_id, "created_by": membership.user})
    if program.items.filter(exercise=exercise, removed_at__isnull=True).exists():
        raise ValidationError({"exercise": "That exercise is already in the program; change its dosage instead."})
    item = HomeProgramItem.objects.create(
        program=program, exercise=exercise, sets=sets, reps=reps, hold_s=hold_s, per_day=per_day, note=note
    )
    program.save(update_fields=["updated_at"])
    _audit(Action.CREATE, item, membership, client=client.pk, exercise=exercise)
    return item


@transaction.atomic
def program_item_update(
    *, membership: Membership, item: HomeProgramItem, sets: int, reps: int, hold_s: int, per_day: int, note: str = ""
) -> HomeProgramItem:
    if item.removed_at:
        raise ValidationError("This exercise was removed from the program.")
    item.sets, item.reps, item.hold_s, item.per_day, item.note = sets, reps, hold_s, per_day, note
    item.save(update_fields=["sets", "reps", "hold_s", "per_day", "note"])
    audit_record(action=Action.UPDATE, obj=item, clinic=item.program.clinic_id, role=membership.role, detail={"fields": ["dosage"]})
    return item


@transaction.atomic
def program_item_remove(*, membership: Membership, item: HomeProgramItem) -> None:
    if item.removed_at is None:
        item.removed_at = timezone.now()
        item.save(update_fields=["removed_at"])
        audit_record(
            action=Action.DELETE, obj=item, clinic=item.program.clinic_id, role=membership.role, detail={"exercise": item.exercise}
        )


@transaction.atomic
def adherence_record(*, client: Client, item: HomeProgramItem, day: date, done: bool, feeling: int | None) -> AdherenceLog:
    """The client's own check-off for one day (today or the six days before it)."""
    today = timezone.localdate()
    if not (today - timedelta(days=6) <= day <= today):
        raise ValidationError({"day": "Log today or one of the last six days."})
    if item.program.client_id != client.pk or item.removed_at is not None:
        raise ValidationError({"item": "That exercise is not in your program."})
    log, _ = AdherenceLog.objects.update_or_create(item=item, day=day, defaults={"done": done, "feeling": feeling})
    audit_record(action=Action.UPDATE, obj=log, clinic=client.clinic_id, role="client", detail={"item": item.pk, "done": done})
    return log


# --- aftercare -------------------------------------------------------------------------------


@transaction.atomic
def aftercare_email(*, membership: Membership, visit: Visit) -> str:
    """Queue the aftercare e-mail to the client. Returns the address used.

    The e-mail carries a link to the sheet in the client's portal and nothing clinical.
    """
    from knotwork.care import tasks

    client = visit.client
    if not visit.is_signed:
        raise ValidationError("Sign the note first: the aftercare sheet describes the finished visit.")
    if client.portal_user is None:
        raise ValidationError("Invite the client to the portal first: the email links to the sheet in their portal.")
    to = client.portal_user.email
    audit_record(action=Action.EXPORT, obj=visit, role=membership.role, detail={"aftercare_email": True})
    transaction.on_commit(lambda: tasks.send_aftercare_email.enqueue(visit.pk))
    return to
