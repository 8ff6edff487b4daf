"""Reads for outcomes: the access check for responses, what is due, and an episode's progress
(measure series with their flags and charts, the pain drawings, trigger-point history, ROM and
posture changes) in a constant number of queries."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from knotwork.accounts.models import Capability, Membership
from knotwork.accounts.permissions import membership_for, require
from knotwork.atlas.bodymap import render_bodymap
from knotwork.atlas.loader import atlas
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.care.models import Episode, EpisodeStatus, TriggerPointFinding, Visit
from knotwork.clients.models import Client, PainDrawing
from knotwork.clients.selectors import OPEN_CLIENT
from knotwork.outcomes import charts, scoring
from knotwork.outcomes.models import OutcomeResponse, OutcomeSchedule


def get_response_for_user(user: Any, pk: int, *, write: bool = False, clinic_id: int | None = None) -> tuple[OutcomeResponse, Membership]:
    response = OutcomeResponse.objects.select_related("episode", "client", "clinic").filter(pk=pk, **OPEN_CLIENT).first()
    if response is None or (clinic_id is not None and response.clinic_id != clinic_id):
        raise Http404("No such response")
    membership = require(membership_for(user, response.clinic_id), Capability.EDIT_CLINICAL if write else Capability.VIEW_CLINICAL)
    if not write:
        audit_record(action=Action.VIEW, obj=response, role=membership.role)
    return response, membership


def schedule_for(episode: Episode) -> OutcomeSchedule:
    found = OutcomeSchedule.objects.filter(episode=episode).first()
    return found or OutcomeSchedule(episode=episode, measures=list(OutcomeSchedule.DEFAULT_MEASURES))


# --- what is due ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    measure: scoring.Measure
    reason: str


def due_measures(
    *, episode: Episode, schedule: OutcomeSchedule, taken: dict[str, list[datetime]], signed_visits: list[datetime]
) -> list[Due]:
    """Which scheduled measures to ask now: a baseline when none exists (not for a change rating,
    which needs something to compare with), a follow-up once ``every_n_visits`` signed visits have
    passed since the last one, and one at discharge."""
    known = scoring.measures()
    out = []
    visits = sorted(signed_visits)
    for mid in schedule.measures:
        m = known.get(mid)
        if m is None:
            continue
        times = sorted(taken.get(mid, []))
        last = times[-1] if times else None
        since = len(visits) - bisect_right(visits, last) if last else len(visits)
        if episode.status == EpisodeStatus.DISCHARGED:
            if episode.ended_on and not any(timezone.localdate(t) >= episode.ended_on for t in times):
                out.append(Due(m, "at discharge"))
        elif not times and m.flag_on != "value":
            out.append(Due(m, "baseline"))
        elif since >= schedule.every_n_visits:
            out.append(Due(m, f"{since} visits since the last one"))
    return out


# --- progress --------------------------------------------------------------------------------


@dataclass
class Series:
    measure: scoring.Measure
    responses: list[OutcomeResponse]
    flags: list[str]
    change: scoring.Change | None
    visits_since_baseline: int
    chart: SafeString = mark_safe("")  # noqa: S308  (empty)
    plot: charts.Plot | None = None

    @property
    def baseline(self) -> OutcomeResponse:
        return self.responses[0]

    @property
    def latest(self) -> OutcomeResponse:
        return self.responses[-1]

    @property
    def rows(self) -> list[tuple[OutcomeResponse, str, str]]:
        """(response, flag, score as the measure prints it)."""
        return [(r, f, self.measure.fmt(float(r.score))) for r, f in zip(self.responses, self.flags, strict=True)]

    @property
    def latest_text(self) -> str:
        return self.measure.fmt(float(self.latest.score))

    @property
    def baseline_text(self) -> str:
        return self.measure.fmt(float(self.baseline.score))


def build_series(
    m: scoring.Measure,
    responses: list[OutcomeResponse],
    signed_visits: list[datetime],
    *,
    no_change_after: int,
    id_prefix: str,
    words: charts.ChartWords = charts.ENGLISH,
) -> Series:
    visits = sorted(signed_visits)
    base = responses[0]
    base_value = float(base.score)
    flags = []
    for n, r in enumerate(responses):
        if n == 0 and m.flag_on != "value":
            flags.append("")
            continue
        since = bisect_right(visits, r.taken_at) - bisect_right(visits, base.taken_at)
        flags.append(scoring.assess(m, baseline=base_value, latest=float(r.score), visits_since_baseline=since,
                                    no_change_after=no_change_after).flag)  # fmt: skip
    since_now = len(visits) - bisect_right(visits, base.taken_at)
    change = None
    if len(responses) > 1 or m.flag_on == "value":
        change = scoring.assess(m, baseline=None if m.flag_on == "value" else base_value, latest=float(responses[-1].score),
                                visits_since_baseline=since_now, no_change_after=no_change_after)  # fmt: skip
    elif since_now >= no_change_after and (m.mcid or m.mdc):
        change = scoring.assess(m, baseline=base_value, latest=base_value, visits_since_baseline=since_now, no_change_after=no_change_after)
    series = Series(m, responses, flags, change, since_now)
    points = [(timezone.localtime(r.taken_at), float(r.score), f) for r, f in zip(responses, flags, strict=True)]
    series.plot = charts.plot(m, points, baseline=None if m.flag_on == "value" else base_value, words=words)
    title, desc = words.title_for(m.short), words.desc_for(m.name, points)
    series.chart = mark_safe(charts.svg(series.plot, title=title, desc=desc, id_prefix=id_prefix))  # noqa: S308  (charts.svg escapes all text)
    return series


@dataclass
class DrawingMap:
    drawing: PainDrawing
    svg: SafeString
    extent: dict[str, Any]


@dataclass
class PointHistory:
    label: str
    side: str
    statuses: list[str]  # one per examined visit: "active", "latent" or "" (not recorded)
    state: str


@dataclass
class Progress:
    episode: Episode
    schedule: OutcomeSchedule
    series: list[Series]
    due: list[Due]
    visits: list[Visit]
    drawings: list[DrawingMap] = field(default_factory=list)
    point_visits: list[Visit] = field(default_factory=list)
    points: list[PointHistory] = field(default_factory=list)
    rom: list[Any] = field(default_factory=list)
    posture: list[Any] = field(default_factory=list)
    assessments: tuple[Any, Any] | None = None

    @property
    def flags(self) -> list[Series]:
        return [s for s in self.series if s.change and s.change.flag]

    @property
    def needs_review(self) -> bool:
        return any(s.change and s.change.flag in (scoring.NO_CHANGE, scoring.WORSENING) for s in self.series)


def _drawing_maps(episode: Episode) -> list[DrawingMap]:
    from knotwork.outcomes.bodyarea import cell_areas

    start = timezone.make_aware(datetime.combine(episode.started_on, datetime.min.time()), episode.clinic.tz)
    linked = {d.pk for d in episode.drawings.all()}
    drawings = PainDrawing.objects.filter(client_id=episode.client_id).order_by("taken_at", "id")
    valid = set(atlas().cells())
    out = []
    for d in drawings:
        if d.pk not in linked and d.taken_at < start:
            continue
        values = {str(mk["cell"]): float(mk.get("intensity", 0)) for mk in d.marks if str(mk.get("cell")) in valid}
        html = render_bodymap(values=values, id_prefix=f"pd{d.pk}", compact=True, legend=False,
                              title=f"Pain drawing of {timezone.localtime(d.taken_at):%d %b %Y}")  # fmt: skip
        out.append(DrawingMap(d, mark_safe(html), scoring.pain_extent(list(d.marks), cell_areas())))  # noqa: S308  (render_bodymap escapes)
    return out[-8:]


def _point_history(visits: list[Visit]) -> tuple[list[Visit], list[PointHistory]]:
    examined = [v for v in visits if v.findings.all()]
    rows: dict[tuple[str, str], dict[int, str]] = defaultdict(dict)
    labels: dict[tuple[str, str], str] = {}
    for v in examined:
        for f in v.findings.all():
            key = (f.trigger_point_id, f.side)
            rows[key][v.pk] = f.status
            labels[key] = f"{f.trigger_point.muscle.name} ({f.trigger_point.name})" if f.trigger_point.name else f.trigger_point.muscle.name
    out = []
    last = examined[-1].pk if examined else None
    for key, by_visit in rows.items():
        statuses = [by_visit.get(v.pk, "") for v in examined]
        state = by_visit.get(last, "") if last else ""
        out.append(PointHistory(labels[key], key[1], statuses, state or "resolved (not found at the last examination)"))
    out.sort(key=lambda p: p.label)
    return examined, out


def _assessment_changes(progress: Progress) -> None:
    try:
        from knotwork.assessment import selectors as assessment
        from knotwork.assessment.models import Assessment
    except ImportError:  # the assessment app is optional
        return
    ep = progress.episode
    ids = list(Assessment.objects.filter(client_id=ep.client_id, taken_at__date__gte=ep.started_on).order_by("taken_at", "id")
               .values_list("pk", flat=True))  # fmt: skip
    if len(ids) < 2:
        return
    before, after = assessment.assessment_full(ids[0]), assessment.assessment_full(ids[-1])
    progress.assessments = (before, after)
    progress.rom = [r for r in assessment.rom_changes(before, after) if r.change is not None]
    progress.posture = [r for r in assessment.measure_changes(before, after) if r.change is not None]


def episode_progress(episode: Episode) -> Progress:
    schedule = schedule_for(episode)
    responses = list(OutcomeResponse.objects.filter(episode=episode).order_by("taken_at", "id"))
    visits = list(
        Visit.objects.filter(episode=episode).signed().select_related("therapist")
        .prefetch_related(Prefetch("findings", queryset=TriggerPointFinding.objects.select_related("trigger_point__muscle")))
        .order_by("started_at", "id")
    )  # fmt: skip
    signed = [v.started_at for v in visits]
    by_measure: dict[str, list[OutcomeResponse]] = defaultdict(list)
    for r in responses:
        by_measure[r.measure].append(r)
    known = scoring.measures()
    order = [m for m in known if m in schedule.measures or m in by_measure]
    series = [
        build_series(known[m], by_measure[m], signed, no_change_after=schedule.no_change_after, id_prefix=f"chart-{m}")
        for m in order if by_measure.get(m)
    ]  # fmt: skip
    due = due_measures(episode=episode, schedule=schedule, taken={k: [r.taken_at for r in v] for k, v in by_measure.items()},
                       signed_visits=signed)  # fmt: skip
    progress = Progress(episode, schedule, series, due, visits, drawings=_drawing_maps(episode))
    progress.point_visits, progress.points = _point_history(visits)
    _assessment_changes(progress)
    return progress


# --- the client page and the portal ----------------------------------------------------------


def client_summary(client: Client, *, words: charts.ChartWords = charts.ENGLISH) -> list[tuple[Episode, list[Series]]]:
    """The five latest episodes, each with its measure series (empty when nothing is recorded yet);
    the charts written with ``words`` (English for staff, ``charts.client_words()`` in the portal)."""
    episodes = list(Episode.objects.filter(client=client).select_related("clinic").order_by("-started_on", "-id")[:5])
    responses = OutcomeResponse.objects.filter(episode__in=episodes).order_by("taken_at", "id")
    visits = Visit.objects.filter(episode__in=episodes).signed().values_list("episode_id", "started_at")
    schedules = {s.episode_id: s for s in OutcomeSchedule.objects.filter(episode__in=episodes)}
    by_ep: dict[int, dict[str, list[OutcomeResponse]]] = defaultdict(lambda: defaultdict(list))
    for r in responses:
        by_ep[r.episode_id][r.measure].append(r)
    signed: dict[int, list[datetime]] = defaultdict(list)
    for ep_id, at in visits:
        signed[ep_id].append(at)
    known = scoring.measures()
    out = []
    for ep in episodes:
        after = schedules[ep.pk].no_change_after if ep.pk in schedules else 4
        series = [build_series(known[m], rs, signed[ep.pk], no_change_after=after, id_prefix=f"c{ep.pk}-{m}", words=words)
                  for m, rs in by_ep[ep.pk].items() if m in known]  # fmt: skip
        out.append((ep, series))
    return out


def portal_due(client: Client) -> list[tuple[Episode, list[Due]]]:
    """Open episodes and the measures the client may answer in the portal now."""
    episodes = list(Episode.objects.filter(client=client).exclude(status=EpisodeStatus.PAUSED).order_by("-started_on"))
    schedules = {s.episode_id: s for s in OutcomeSchedule.objects.filter(episode__in=episodes)}
    taken: dict[int, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    for ep_id, mid, at in OutcomeResponse.objects.filter(episode__in=episodes).values_list("episode_id", "measure", "taken_at"):
        taken[ep_id][mid].append(at)
    signed: dict[int, list[datetime]] = defaultdict(list)
    for ep_id, at in Visit.objects.filter(episode__in=episodes).signed().values_list("episode_id", "started_at"):
        signed[ep_id].append(at)
    out = []
    for ep in episodes:
        schedule = schedules.get(ep.pk) or OutcomeSchedule(episode=ep, measures=list(OutcomeSchedule.DEFAULT_MEASURES))
        due = [d for d in due_measures(episode=ep, schedule=schedule, taken=taken[ep.pk], signed_visits=signed[ep.pk]) if d.measure.portal]
        if due:
            out.append((ep, due))
    return out
