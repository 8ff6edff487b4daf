"""Demo outcome measures for the care demo's episodes (which are seeded first).

Each episode gets a schedule and, at its signed visits, an NPRS, a PSFS on the plan's goal
activity, pain extent from its drawing, and a GROC at the last visit. Most demo clients improve,
so their NPRS and PSFS cross the MCID; one (Eleanor Marsh) stays flat, so the progress page shows
the "no important change" prompt too. Idempotent: an episode with any response is left alone.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction

from knotwork.accounts.models import Clinic, Membership, Role
from knotwork.care.models import Episode, Visit
from knotwork.outcomes import services
from knotwork.outcomes.models import OutcomeResponse, OutcomeSchedule, Source

FLAT = ("Eleanor", "Marsh")


def _therapist(clinic: Clinic) -> Membership | None:
    return (
        Membership.objects.select_related("user", "clinic")
        .filter(clinic=clinic, role=Role.THERAPIST, is_active=True)
        .order_by("id")
        .first()
    )


def seed_demo(*, clinic: Clinic, rng: random.Random) -> None:
    membership = _therapist(clinic)
    if membership is None:
        return
    episodes = Episode.objects.filter(clinic=clinic).select_related("client", "clinic").prefetch_related("plans", "drawings")
    for episode in episodes:
        if OutcomeResponse.objects.filter(episode=episode).exists():
            continue
        visits = list(Visit.objects.filter(episode=episode).signed().order_by("started_at"))
        if len(visits) < 2:
            continue
        with transaction.atomic():
            _seed_episode(membership, episode, visits, rng)


def _seed_episode(membership: Membership, episode: Episode, visits: list[Visit], rng: random.Random) -> None:
    OutcomeSchedule.objects.update_or_create(
        episode=episode, defaults={"measures": ["nprs", "psfs", "groc", "pain_extent"], "every_n_visits": 2, "no_change_after": 3}
    )
    flat = (episode.client.first_name, episode.client.last_name) == FLAT
    plan = episode.plans.order_by("-version").first()
    activity = next((g["activity"] for g in (plan.goals if plan else []) if isinstance(g, dict) and g.get("activity")), "Everyday tasks")
    n = len(visits)
    for i, visit in enumerate(visits):
        if i not in (0, n - 1) and i % 2:
            continue
        progress = 0.0 if flat else i / (n - 1)
        now = max(0, min(10, round(7 - 5 * progress + rng.choice((-1, 0, 0, 1)) * (0 if flat else 0.5))))
        at = visit.started_at + timedelta(minutes=5)
        services.response_record(membership=membership, episode=episode, measure_id="nprs", taken_at=at,
                                 items={"now": now, "best": max(0, now - 2), "worst": min(10, now + 2)})  # fmt: skip
        psfs = round(3 + 5 * progress)
        services.response_record(membership=membership, episode=episode, measure_id="psfs", taken_at=at, items={"activities": [
            {"activity": activity, "score": psfs}, {"activity": "Sleep through the night", "score": min(10, psfs + 1)},
        ]})  # fmt: skip
        if i == n - 1:
            services.response_record(membership=membership, episode=episode, measure_id="groc", taken_at=at, source=Source.PORTAL,
                                     items={"rating": 0 if flat else 5})  # fmt: skip
    drawing = episode.drawings.order_by("taken_at").first()
    if drawing is not None and drawing.marks:
        services.response_from_drawing(membership=membership, episode=episode, measure_id="pain_extent", drawing=drawing)
