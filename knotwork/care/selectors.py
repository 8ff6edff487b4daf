"""Reads for treatment pages, and the ``get_<obj>_for_user`` checks for care objects.

Care objects are clinical: they need VIEW_CLINICAL (EDIT_CLINICAL to write). Another clinic's
object is a 404; front desk gets a 403. Every read is audited.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import models
from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from knotwork.accounts.models import Capability, Membership
from knotwork.accounts.permissions import membership_for, require
from knotwork.atlas.loader import atlas
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.care.library import Exercise, library
from knotwork.care.models import (
    Addendum,
    AdherenceLog,
    CheckIn,
    Episode,
    HomeProgram,
    HomeProgramItem,
    PressureFeedback,
    TechniqueApplication,
    TreatmentPlan,
    TriggerPointFinding,
    Visit,
)
from knotwork.clients.models import Client, PainDrawing
from knotwork.clients.selectors import OPEN_CLIENT
from knotwork.engine import DrawingError


def _reach(user: Any, clinic_id: int, *, write: bool, clinic_scope: int | None) -> Membership:
    if clinic_scope is not None and clinic_scope != clinic_id:
        raise Http404("Not found")
    return require(membership_for(user, clinic_id), Capability.EDIT_CLINICAL if write else Capability.VIEW_CLINICAL)


def get_episode_for_user(user: Any, pk: int, *, write: bool = False, clinic_id: int | None = None) -> tuple[Episode, Membership]:
    episode = Episode.objects.select_related("client", "clinic").filter(pk=pk, **OPEN_CLIENT).first()
    if episode is None:
        raise Http404("No such episode")
    membership = _reach(user, episode.clinic_id, write=write, clinic_scope=clinic_id)
    if not write:
        audit_record(action=Action.VIEW, obj=episode, role=membership.role)
    return episode, membership


def get_visit_for_user(
    user: Any, pk: int, *, write: bool = False, clinic_id: int | None = None, audit: bool = True
) -> tuple[Visit, Membership]:
    visit = (
        Visit.objects.select_related("client", "client__portal_user", "clinic", "episode", "therapist", "signed_by")
        .filter(pk=pk, **OPEN_CLIENT)
        .first()
    )
    if visit is None:
        raise Http404("No such visit")
    membership = _reach(user, visit.clinic_id, write=write, clinic_scope=clinic_id)
    if audit and not write:
        audit_record(action=Action.VIEW, obj=visit, role=membership.role)
    return visit, membership


def get_own_visit(user: Any, pk: int) -> Visit:
    """A signed visit of the portal client logged in as ``user`` (their aftercare sheet); else 404."""
    if not getattr(user, "is_authenticated", False):
        raise Http404("No such visit")
    visit = (
        Visit.objects.signed().select_related("client", "clinic", "therapist")
        .filter(pk=pk, client__portal_user=user, client__archived_at__isnull=True).first()
    )  # fmt: skip
    if visit is None:
        raise Http404("No such visit")
    audit_record(action=Action.VIEW, obj=visit, role="client", detail={"aftercare": True})
    return visit


def episodes_of(client: Client) -> QuerySet[Episode]:
    return (
        Episode.objects.filter(client=client)
        .annotate(visit_count=Count("visits"))
        .prefetch_related(Prefetch("plans", queryset=TreatmentPlan.objects.order_by("-version")))
    )


def latest_plan(episode: Episode) -> TreatmentPlan | None:
    return episode.plans.order_by("-version").first()


def visit_full(pk: int) -> Visit:
    return (
        Visit.objects.select_related("client", "client__portal_user", "clinic", "episode", "therapist", "signed_by", "carried_from")
        .prefetch_related(
            Prefetch("findings", queryset=TriggerPointFinding.objects.select_related("trigger_point", "trigger_point__muscle")),
            Prefetch(
                "techniques", queryset=TechniqueApplication.objects.select_related("muscle", "trigger_point").prefetch_related("feedback")
            ),
            Prefetch("addenda"),
        )
        .get(pk=pk)
    )


def _per_visit(model: type[models.Model]) -> Coalesce:
    """How many ``model`` rows belong to each visit, as a correlated subquery.

    Three joined COUNT(DISTINCT …) multiply findings × techniques × addenda before grouping and
    count every visit before LIMIT; a subquery per row runs only for the rows a page shows.
    """
    rows = model.objects.filter(visit=OuterRef("pk")).order_by().values("visit").annotate(n=Count("pk")).values("n")  # type: ignore[attr-defined]
    return Coalesce(Subquery(rows[:1]), 0)


def visit_history(client: Client) -> QuerySet[Visit]:
    """Every visit of a client, newest first, with what a history row shows: a constant number of queries."""
    return (
        Visit.objects.filter(client=client)
        .select_related("episode", "therapist", "checkin")
        .annotate(finding_count=_per_visit(TriggerPointFinding), technique_count=_per_visit(TechniqueApplication),
                  addendum_count=_per_visit(Addendum))
        .prefetch_related(
            Prefetch("findings", queryset=TriggerPointFinding.objects.select_related("trigger_point__muscle").order_by("id")),
        )
        .order_by("-started_at", "-id")
    )  # fmt: skip


def trigger_point_history(client: Client, trigger_point_id: str) -> list[TriggerPointFinding]:
    """Every finding of one trigger point across the client's visits, oldest first."""
    return list(
        TriggerPointFinding.objects.filter(visit__client=client, trigger_point_id=trigger_point_id)
        .select_related("visit", "trigger_point__muscle").order_by("visit__started_at", "id")
    )  # fmt: skip


def earlier_counts(visit: Visit) -> dict[tuple[str, str], int]:
    """(trigger point, side) -> how many earlier visits of the client recorded it (for the history links)."""
    rows = (
        TriggerPointFinding.objects.filter(visit__client_id=visit.client_id, visit__started_at__lt=visit.started_at)
        .values("trigger_point_id", "side").annotate(n=Count("id"))
    )  # fmt: skip
    return {(r["trigger_point_id"], r["side"]): r["n"] for r in rows}


def feedback_since(visit: Visit, *, limit: int = 12) -> list[PressureFeedback]:
    return list(reversed(PressureFeedback.objects.filter(visit=visit).order_by("-at", "-id")[:limit]))


def today_marks(findings: list[TriggerPointFinding]) -> tuple[dict[str, int], list[str]]:
    """Body-map values for today's findings: the trigger points' own cells, darker when active."""
    a = atlas()
    values: dict[str, int] = {}
    markers: list[str] = []
    for f in findings:
        rid = f.trigger_point.data["location"]["region"]
        region = a.region_by_id.get(rid)
        if region is None:
            continue
        cells = [rid] if region.kind != "paired" else ([f"{rid}:right", f"{rid}:left"] if f.side == "midline" else [f"{rid}:{f.side}"])
        for c in cells:
            values[c] = max(values.get(c, 0), 9 if f.status == "active" else 4)
            markers.append(c)
    return values, markers


# --- plan focus suggestions ------------------------------------------------------------------


@dataclass(frozen=True)
class FocusSuggestion:
    muscle: str
    name: str
    why: str


@dataclass(frozen=True)
class Focus:
    """Plan focus suggestions, or why there are none: ``withheld`` is the triage headline when the
    red flags hold the muscle list back until medical clearance."""

    suggestions: list[FocusSuggestion]
    withheld: str = ""


def focus_for_plan(client: Client, episode: Episode) -> Focus:
    """Muscles to focus on: the engine's cover set for the latest drawing (the episode's own first),
    then muscles the latest posture/ROM assessment implicates.

    The drawing is explained as on the pre-visit summary (intake red-flag answers, assessment,
    recorded clearance); while its triage withholds the muscle list, nothing is suggested at all.
    """
    from knotwork.clients.intake.selectors import client_explain

    names = {m.id: m.name for m in atlas().muscles}
    out: dict[str, FocusSuggestion] = {}
    drawing = (
        episode.drawings.order_by("-taken_at", "-id").first()
        or PainDrawing.objects.filter(client=client).order_by("-taken_at", "-id").first()
    )
    try:
        from knotwork.assessment.selectors import implicated_muscles_for_client
    except ImportError:  # the assessment app is optional for plans
        implicated: dict[str, str] = {}
    else:
        implicated = implicated_muscles_for_client(client)
    try:
        explained = client_explain(client, drawing, implicated=implicated)
    except DrawingError:
        explained = None
    triage = explained.result.triage if explained else None
    if triage is not None and triage.withheld:
        return Focus([], withheld=triage.headline)
    if explained is not None and drawing is not None:
        taken = f"{timezone.localtime(drawing.taken_at):%d %b %Y}"
        for step in explained.result.cover:
            side = "both sides" if step.side == "both" else step.side
            why = f"Explains part of the pain drawing of {taken} ({side})."
            out.setdefault(step.muscle, FocusSuggestion(step.muscle, names.get(step.muscle, step.muscle), why))
    for mid, why in implicated.items():
        out.setdefault(mid, FocusSuggestion(mid, names.get(mid, mid), f"Assessment: {why}"))
    return Focus(list(out.values()))


def focus_suggestions(client: Client, episode: Episode) -> list[FocusSuggestion]:
    """The suggestions of :func:`focus_for_plan` alone (none while the triage withholds them)."""
    return focus_for_plan(client, episode).suggestions


# --- home programs ---------------------------------------------------------------------------


@dataclass
class ProgramRow:
    item: HomeProgramItem
    exercise: Exercise
    days: dict[date, AdherenceLog] = field(default_factory=dict)


def program_rows(program: HomeProgram | None, *, since: date | None = None) -> list[ProgramRow]:
    if program is None:
        return []
    lib = library().by_id
    logs = AdherenceLog.objects.filter(day__gte=since) if since else AdherenceLog.objects.all()
    items = program.items.filter(removed_at__isnull=True).prefetch_related(Prefetch("logs", queryset=logs)).order_by("added_at", "id")
    return [ProgramRow(item=i, exercise=lib[i.exercise], days={log.day: log for log in i.logs.all()}) for i in items if i.exercise in lib]


@dataclass(frozen=True)
class WeekAdherence:
    week_of: date
    done: int
    expected: int
    mean_feeling: float | None

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.expected) if self.expected else 0


def adherence_by_week(program: HomeProgram | None, *, weeks: int = 8) -> list[WeekAdherence]:
    """Per week (Monday first), exercises checked off against exercises × days prescribed."""
    if program is None:
        return []
    today = timezone.localdate()
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    items = list(program.items.all())
    logs = AdherenceLog.objects.filter(item__program=program, day__gte=start).values("day", "done", "feeling")
    done: dict[date, int] = defaultdict(int)
    feelings: dict[date, list[int]] = defaultdict(list)
    for log in logs:
        wk = log["day"] - timedelta(days=log["day"].weekday())
        done[wk] += 1 if log["done"] else 0
        if log["feeling"] is not None:
            feelings[wk].append(log["feeling"])
    out = []
    for n in range(weeks):
        wk = start + timedelta(weeks=n)
        end = min(wk + timedelta(days=6), today)
        expected = 0
        for i in items:
            first = max(timezone.localdate(i.added_at), wk)
            last = min(timezone.localdate(i.removed_at) - timedelta(days=1), end) if i.removed_at else end
            expected += max(0, (last - first).days + 1)
        if expected or done[wk]:
            f = feelings[wk]
            out.append(WeekAdherence(week_of=wk, done=done[wk], expected=expected, mean_feeling=round(sum(f) / len(f), 1) if f else None))
    return list(reversed(out))


def suggested_exercises(client: Client, visit: Visit | None = None) -> list[Exercise]:
    """Library exercises for the muscles treated at ``visit`` (else the client's latest signed visit)."""
    visit = visit or Visit.objects.signed().filter(client=client).order_by("-started_at", "-id").first()
    if visit is None:
        return []
    muscles = set(visit.techniques.values_list("muscle_id", flat=True)) | set(
        visit.findings.values_list("trigger_point__muscle_id", flat=True)
    )
    return library().for_muscles(muscles)[:12]


def flagged_checkins(client: Client) -> list[CheckIn]:
    return list(
        CheckIn.objects.filter(visit__client=client, flagged=True, answered_at__gte=timezone.now() - timedelta(days=30)).select_related(
            "visit"
        )
    )


def muscle_names() -> dict[str, str]:
    return {m.id: m.name for m in atlas().muscles}
