"""Clinic analytics for the owner: aggregates only, never a client's identity.

- *Complaint area*: the atlas group of the first focus muscle of the episode's latest plan
  ("Unspecified" without one); free-text complaints are not classified.
- *Reached the MCID*: an NPRS or PSFS score after the baseline flagged as a clinically
  important improvement (the same rule as the progress page).
- *Visits to MCID*: signed visits from the start of the episode up to that first score.
- *Adherence*: the client's own check-in answer at each visit (all 100 %, most 75 %, some 40 %,
  none 0 %), averaged over the episode's visits.
Episodes count when they started within the period. A constant number of queries.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch

from knotwork.accounts.models import Clinic
from knotwork.atlas.models import Muscle
from knotwork.care.models import Adherence, Episode, EpisodeStatus, TreatmentPlan, Visit
from knotwork.outcomes import scoring
from knotwork.outcomes.models import OutcomeResponse

PRIMARY = ("nprs", "psfs")
ADHERENCE_PERCENT: dict[str, int] = {Adherence.ALL: 100, Adherence.MOST: 75, Adherence.SOME: 40, Adherence.NONE: 0}
ADHERENCE_BANDS = (("High (75 % or more)", 75, 101), ("Partial (40-74 %)", 40, 75), ("Low (under 40 %)", 0, 40))
UNSPECIFIED = "Unspecified"


@dataclass
class EpisodeOutcome:
    area: str
    therapist: str
    visits: int
    measured: bool
    reached: bool
    visits_to_mcid: int | None
    adherence: float | None
    active: bool


@dataclass
class AreaRow:
    area: str
    episodes: int = 0
    measured: int = 0
    reached: int = 0
    to_mcid: list[int] = field(default_factory=list)

    @property
    def percent(self) -> int | None:
        return round(100 * self.reached / self.measured) if self.measured else None

    @property
    def median_visits(self) -> float | None:
        return statistics.median(self.to_mcid) if self.to_mcid else None


@dataclass
class TherapistRow:
    therapist: str
    active: int = 0
    episodes: int = 0
    visits: int = 0
    reached: int = 0


@dataclass
class Analytics:
    start: date
    end: date
    episodes: int
    areas: list[AreaRow]
    overall: AreaRow
    adherence: list[AreaRow]
    therapists: list[TherapistRow]


def _reached(responses: list[OutcomeResponse], visit_times: list[datetime]) -> tuple[bool, int | None]:
    known = scoring.measures()
    first_hit: datetime | None = None
    by_measure: dict[str, list[OutcomeResponse]] = defaultdict(list)
    for r in responses:
        if r.measure in PRIMARY:
            by_measure[r.measure].append(r)
    for mid, rs in by_measure.items():
        base = float(rs[0].score)
        for r in rs[1:]:
            change = scoring.assess(known[mid], baseline=base, latest=float(r.score))
            if change.flag == scoring.IMPORTANT_IMPROVEMENT:
                first_hit = r.taken_at if first_hit is None else min(first_hit, r.taken_at)
                break
    if first_hit is None:
        return False, None
    return True, sum(1 for t in visit_times if t <= first_hit)


def clinic_analytics(*, clinic: Clinic, start: date, end: date) -> Analytics:
    episodes = list(
        Episode.objects.filter(clinic=clinic, started_on__gte=start, started_on__lte=end)
        .prefetch_related(
            Prefetch("plans", queryset=TreatmentPlan.objects.order_by("-version")),
            Prefetch("visits", queryset=Visit.objects.signed().select_related("therapist").order_by("started_at")),
            Prefetch("outcome_responses", queryset=OutcomeResponse.objects.filter(measure__in=PRIMARY).order_by("taken_at", "id")),
        )
    )  # fmt: skip
    groups = dict(Muscle.objects.values_list("id", "group"))
    labels = {g: g.replace("-", " ").capitalize() for g in set(groups.values())}
    rows = [_episode_outcome(ep, groups, labels) for ep in episodes]
    return _aggregate(rows, start, end)


def _episode_outcome(ep: Episode, groups: dict[str, str], labels: dict[str, str]) -> EpisodeOutcome:
    plans = list(ep.plans.all())
    focus = plans[0].focus if plans and plans[0].focus else []
    area = labels.get(groups.get(focus[0], ""), UNSPECIFIED) if focus else UNSPECIFIED
    visits = list(ep.visits.all())
    therapist = Counter(v.therapist.display_name for v in visits).most_common(1)
    answers = [ADHERENCE_PERCENT[a] for a in (v.program_adherence for v in visits) if a in ADHERENCE_PERCENT]
    responses = list(ep.outcome_responses.all())
    reached, to_mcid = _reached(responses, [v.started_at for v in visits])
    return EpisodeOutcome(
        area=area, therapist=therapist[0][0] if therapist else "No visits", visits=len(visits), measured=len(responses) > 1,
        reached=reached, visits_to_mcid=to_mcid, adherence=sum(answers) / len(answers) if answers else None,
        active=ep.status == EpisodeStatus.ACTIVE,
    )  # fmt: skip


def _add(row: AreaRow, e: EpisodeOutcome) -> None:
    row.episodes += 1
    row.measured += e.measured
    row.reached += e.reached
    if e.visits_to_mcid is not None:
        row.to_mcid.append(e.visits_to_mcid)


def _aggregate(rows: list[EpisodeOutcome], start: date, end: date) -> Analytics:
    areas: dict[str, AreaRow] = {}
    overall = AreaRow("All episodes")
    bands = [AreaRow(label) for label, _, _ in ADHERENCE_BANDS] + [AreaRow("No adherence answers")]
    therapists: dict[str, TherapistRow] = {}
    for e in rows:
        _add(areas.setdefault(e.area, AreaRow(e.area)), e)
        _add(overall, e)
        if e.adherence is None:
            _add(bands[-1], e)
        else:
            _add(next(b for b, (_, lo, hi) in zip(bands, ADHERENCE_BANDS, strict=False) if lo <= e.adherence < hi), e)
        t = therapists.setdefault(e.therapist, TherapistRow(e.therapist))
        t.episodes += 1
        t.active += e.active
        t.visits += e.visits
        t.reached += e.reached
    return Analytics(start=start, end=end, episodes=len(rows), areas=sorted(areas.values(), key=lambda a: (-a.episodes, a.area)),
                     overall=overall, adherence=bands, therapists=sorted(therapists.values(), key=lambda t: t.therapist))  # fmt: skip


def csv_rows(a: Analytics) -> list[list[Any]]:
    """The aggregate tables as one CSV: a ``table`` column says which table a row belongs to."""
    out: list[list[Any]] = []
    for table, rows in (("complaint area", [*a.areas, a.overall]), ("adherence", a.adherence)):
        for r in rows:
            out.append([table, r.area, r.episodes, r.measured, r.reached, "" if r.percent is None else r.percent,
                        "" if r.median_visits is None else r.median_visits, "", ""])  # fmt: skip
    for t in a.therapists:
        out.append(["therapist caseload", t.therapist, t.episodes, "", t.reached, "", "", t.active, t.visits])
    return out


CSV_HEADER = ["table", "group", "episodes", "measured twice or more", "reached MCID", "% of measured reaching MCID",
              "median visits to MCID", "active episodes", "signed visits"]  # fmt: skip
