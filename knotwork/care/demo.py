"""Demo treatment records: episodes with plans, signed visits whose trigger points calm down over
the weeks, technique logs that respect each client's screening flags, and home programs with a
few weeks of check-offs. Idempotent: a client who already has an episode is left alone."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from knotwork.accounts.models import Clinic, Membership, Role
from knotwork.atlas.models import Muscle, TriggerPoint
from knotwork.atlas.services import atlas_load
from knotwork.care import services
from knotwork.care.models import AdherenceLog, CheckIn, Episode, HomeProgramItem, Visit
from knotwork.clients.models import Client

# client -> (complaint, goals, [(trigger point, side)], preferred technique, exercises)
DEMO_EPISODES: dict[tuple[str, str], tuple[str, list[tuple[str, str]], list[tuple[str, str]], str, list[str]]] = {
    ("Sophie", "Turner"): ("Afternoon headaches starting in the neck", [("Work a full day at the screen", "no headache by 5 pm")],
                           [("upper-trapezius-1", "right"), ("sternocleidomastoid-sternal", "right"), ("suboccipitals-1", "right")],
                           "trigger-point-pressure-release", ["upper-trapezius-stretch", "chin-tuck", "scm-stretch"]),
    ("Eleanor", "Marsh"): ("Neck and shoulder ache after gardening", [("Garden for an hour", "without neck ache the next day")],
                           [("levator-scapulae-1", "left"), ("upper-trapezius-2", "left")],
                           "trigger-point-pressure-release", ["levator-scapulae-stretch", "upper-trapezius-stretch"]),
    ("Chloe", "Dubois"): ("Outer elbow pain when gripping", [("Type all day", "forearm pain under 2/10")],
                          [("extensor-carpi-radialis-brevis-main", "right"), ("supinator-main", "right")],
                          "ischemic-compression", ["wrist-extensor-stretch", "forearm-pronation-stretch"]),
    ("Kwame", "Mensah"): ("Shoulder pain down the outside of the arm", [("Swim front crawl", "20 lengths without pain")],
                          [("infraspinatus-upper", "right"), ("infraspinatus-medial", "right")],
                          "trigger-point-pressure-release", ["infraspinatus-ball-release", "cross-body-shoulder-stretch", "wall-angel"]),
    ("Hannah", "Schmidt"): ("Jaw and ear ache after work", [("Eat a sandwich", "without jaw ache")],
                            [("masseter-superficial-middle", "left"), ("temporalis-anterior", "left")],
                            "myofascial-release", ["jaw-opening-stretch", "jaw-rest-position", "temporalis-self-massage"]),
    ("Tom", "Hughes"): ("Low back pain spreading into the buttock", [("Play five-a-side football", "a full match")],
                        [("quadratus-lumborum-superficial-upper", "right"), ("gluteus-medius-1", "right")],
                        "trigger-point-pressure-release", ["quadratus-lumborum-side-stretch", "hip-abductor-stretch", "glute-bridge"]),
}  # fmt: skip

FALLBACKS = ("muscle-energy-technique", "stretching")


def _therapist(clinic: Clinic) -> Membership | None:
    return (
        Membership.objects.select_related("user", "clinic")
        .filter(clinic=clinic, role=Role.THERAPIST, is_active=True)
        .order_by("id")
        .first()
    )


def _point(tp_id: str) -> TriggerPoint | None:
    return TriggerPoint.objects.select_related("muscle").filter(pk=tp_id).first()


def _log_technique(
    membership: Membership, visit: Visit, point: TriggerPoint, side: str, preferred: str, rng: random.Random, week: int
) -> None:
    """The preferred technique where the client's flags allow it, else a gentler one; precautions acknowledged."""
    for technique in (preferred, *FALLBACKS):
        verdict = services.technique_verdict(visit=visit, technique=technique, muscle=point.muscle, trigger_point=point, side=side)
        if verdict.allowed:
            before = max(1, 7 - week - rng.randint(0, 1))
            services.technique_log(
                membership=membership, visit=visit, technique=technique, muscle=point.muscle, trigger_point=point, side=side,
                hold_s=rng.choice((30, 45, 60, 90)) if technique not in FALLBACKS else 20, reps=rng.randint(1, 3),
                pressure=rng.randint(3, 6),
                response="released" if week > 1 else rng.choice(("eased", "released")), pain_before=before, pain_after=max(0, before - 3),
                acknowledge=True,
            )  # fmt: skip
            return


def _visit(membership: Membership, episode, when, points, preferred, rng: random.Random, week: int, total: int) -> Visit:  # type: ignore[no-untyped-def]
    visit = services.visit_start(membership=membership, episode=episode, started_at=when)
    pain = max(1, 7 - week - rng.randint(0, 1))
    services.visit_checkin(membership=membership, visit=visit, pain_today=pain, change_since_last="better" if week else "",
                           soreness_after_last=rng.randint(1, 4) if week else None,
                           program_adherence="most" if week else "no_program")  # fmt: skip
    for tp_id, side in points:
        point = _point(tp_id)
        if point is None:
            continue
        active = week < max(2, total - 2)  # active early, latent once the episode has done its work
        services.finding_add(membership=membership, visit=visit, trigger_point=point, data={
            "side": side, "status": "active" if active else "latent", "taut_band": True, "twitch_response": active and rng.random() < 0.5,
            "referral_reproduced": active, "familiar_pain": active, "tenderness": max(1, pain + rng.randint(-1, 1)),
            "ppt_kg_cm2": round(1.6 + 0.35 * week + rng.random() * 0.3, 2), "released": week > 0,
        })  # fmt: skip
        _log_technique(membership, visit, point, side, preferred, rng, week)
    services.visit_update_notes(membership=membership, visit=visit, data={
        "objective": "Palpation as logged; posture reviewed.",
        "assessment": "Trigger points responding; referral harder to reproduce." if week else "Active trigger points reproduce the pain.",
        "plan": "Continue weekly; progress home program.", "next_steps": ["Recheck the logged trigger points", "Review the home program"],
    })  # fmt: skip
    services.visit_sign(membership=membership, visit=visit)
    signed_at = when + timedelta(hours=1)
    Visit.objects.filter(pk=visit.pk).update(signed_at=signed_at)
    CheckIn.objects.filter(visit=visit).update(
        due_at=signed_at + services.CHECKIN_AFTER, sent_at=signed_at + services.CHECKIN_AFTER,
        answered_at=signed_at + timedelta(hours=27), soreness=rng.randint(1, 4), familiar_pain_returned=week == 0,
    )  # fmt: skip
    return visit


def seed_demo(*, clinic: Clinic, rng: random.Random) -> None:
    membership = _therapist(clinic)
    if membership is None:
        return
    if not Muscle.objects.exists():
        atlas_load()
    now = timezone.now()
    for (first, last), (complaint, goals, points, preferred, exercises) in DEMO_EPISODES.items():
        client = Client.objects.filter(clinic=clinic, first_name=first, last_name=last).first()
        if client is None or Episode.objects.filter(client=client).exists():
            continue
        total = rng.randint(3, 6)
        start = now - timedelta(weeks=total, days=rng.randint(0, 3))
        with transaction.atomic():
            episode = services.episode_create(membership=membership, client=client, complaint=complaint,
                                              started_on=timezone.localdate(start),
                                              drawing_ids=list(client.pain_drawings.values_list("pk", flat=True)[:1]))  # fmt: skip
            services.plan_save(
                membership=membership, episode=episode, goals=[{"activity": a, "target": t} for a, t in goals], visits_per_week=1,
                planned_visits=total + 2, focus=[m for m in dict.fromkeys(_muscle_of(p) for p, _ in points) if m],
                stages=services.default_stages(), note="",
            )  # fmt: skip
            for week in range(total):
                when = start + timedelta(weeks=week, hours=rng.randint(0, 6))
                _visit(membership, episode, when, points, preferred, rng, week, total)
            _program(membership, client, exercises, rng, since=start + timedelta(days=1))


def _muscle_of(tp_id: str) -> str:
    point = _point(tp_id)
    return point.muscle_id if point else ""


def _program(membership: Membership, client: Client, exercises: list[str], rng: random.Random, since) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    start = max(timezone.localdate(since), today - timedelta(days=27))
    for slug in exercises:
        d = services.library().by_id[slug].dosage
        item = services.program_add(
            membership=membership, client=client, exercise=slug, sets=d.sets, reps=d.reps, hold_s=d.hold_s, per_day=d.per_day
        )
        HomeProgramItem.objects.filter(pk=item.pk).update(added_at=timezone.now() - timedelta(days=(today - start).days))
        AdherenceLog.objects.bulk_create([
            AdherenceLog(item=item, day=start + timedelta(days=n), done=True, feeling=rng.randint(0, 4))
            for n in range((today - start).days) if rng.random() < 0.7
        ])  # fmt: skip
