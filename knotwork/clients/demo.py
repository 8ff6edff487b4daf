"""Demo intake records: submitted intakes consistent with each demo client's alerts, dated pain
drawings with believable patterns, signed consents and the screening flags that follow. Never real data."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.utils import timezone

from knotwork.accounts.models import Clinic
from knotwork.clients.consent import current_documents
from knotwork.clients.intake.definition import plain_answers
from knotwork.clients.intake.screening import screen
from knotwork.clients.intake.selectors import intake_form_for
from knotwork.clients.intake.services import SignatureInput, consent_sign, drawing_create, flags_raise
from knotwork.clients.models import Client, IntakeStatus, IntakeSubmission
from knotwork.engine import red_flag_questions, red_flag_rules_version

# Pain patterns an NMT clinic sees every week: (cells with intensity, quality), newest drawing last.
PATTERNS: dict[str, list[tuple[str, int, str | None]]] = {
    "tension-headache": [("temple:right", 7, "aching"), ("neck-posterior-upper:right", 6, "aching"), ("shoulder-top:right", 5, "aching"),
                         ("occiput:right", 4, None)],
    "low-back-buttock": [("lumbar:left", 6, "aching"), ("sacroiliac:left", 5, "aching"), ("buttock-upper:left", 5, None),
                         ("thigh-lateral:left", 3, None)],
    "lateral-elbow": [("elbow-lateral:right", 7, "sharp"), ("forearm-dorsal:right", 5, "aching"), ("wrist-dorsal:right", 3, None)],
    "thoracic": [("scapula-medial:right", 5, "burning"), ("thoracic-upper:right", 4, "aching")],
    "shoulder-arm": [("shoulder-anterior:right", 6, "aching"), ("upper-arm-lateral:right", 4, None), ("forearm-dorsal:right", 3, None)],
    "jaw-ear": [("tmj:left", 6, "aching"), ("ear:left", 4, None), ("cheek:left", 3, None)],
    "hip-thigh": [("hip-lateral:right", 5, "aching"), ("thigh-lateral:right", 4, None), ("knee-lateral:right", 3, None)],
}  # fmt: skip

# first name -> (answers that differ from "no", pattern, goals)
PROFILES: dict[str, tuple[dict[str, Any], str, str]] = {
    "Eleanor": ({"anticoagulants": "yes", "medications": "Warfarin 3 mg daily; ramipril 5 mg", "heart_condition": "yes"},
                "tension-headache", "Read a book for an hour without a headache."),
    "Aisha": ({"allergies": "Lanolin and almond oil (rash)"}, "lateral-elbow", "Climb again twice a week."),
    "David": ({"diabetes": "yes", "reduced_sensation": "yes", "medications": "Metformin 1 g twice daily"}, "low-back-buttock",
              "Walk the dog for 40 minutes."),
    "Grace": ({"osteoporosis": "yes", "medications": "Alendronic acid weekly; calcium and vitamin D"}, "thoracic",
              "Garden without aching between the shoulder blades."),
    "Lucia": ({"pregnant": "yes", "medications": "Folic acid"}, "low-back-buttock", "Sleep through the night."),
    "Owen": ({"recent_surgery": "yes", "surgery_where": ["knee-anterior:right"], "medications": "Paracetamol as needed"}, "hip-thigh",
             "Walk to the shops without limping."),
    "Hannah": ({}, "jaw-ear", "Stop clenching my jaw at work."),
    "Kwame": ({}, "shoulder-arm", "Swim front crawl again."),
    "Sophie": ({"medications": "Sumatriptan when needed"}, "tension-headache", "Fewer headache days each month."),
    "Ravi": ({}, "low-back-buttock", "Play a full round of golf."),
    "Chloe": ({}, "lateral-elbow", "Type all day without forearm pain."),
    "Martin": ({"varicose_veins": "yes", "varicose_where": ["calf:left"], "medications": "Amlodipine 5 mg"}, "low-back-buttock",
               "Stand in the workshop all morning."),
    "Isabel": ({}, "thoracic", "Carry my toddler without back pain."),
    "Jack": ({"activity": "Rowing, six sessions a week"}, "low-back-buttock", "Race the whole season."),
    "Nadia": ({"cancer": "yes", "medications": "Letrozole 2.5 mg"}, "shoulder-arm", "Reach the top shelf again."),
    "Freya": ({}, "jaw-ear", "Eat without my jaw clicking and aching."),
    "Samuel": ({"work_posture": "sitting"}, "tension-headache", "Finish the working day without a headache."),
}  # fmt: skip

REASONS = {
    "tension-headache": "Headaches most afternoons, starting in my neck.",
    "low-back-buttock": "Low back pain that spreads into my buttock.",
    "lateral-elbow": "Pain on the outside of my elbow when I grip.",
    "thoracic": "Burning ache between my shoulder blades.",
    "shoulder-arm": "Shoulder pain down the outside of my arm.",
    "jaw-ear": "Jaw and ear ache, worse after work.",
    "hip-thigh": "Ache on the side of my hip and thigh.",
}

NO_QUESTIONS = (
    "heart_condition", "clotting_disorder", "anticoagulants", "diabetes", "cancer", "osteoporosis", "recent_surgery", "recent_fracture",
    "pregnant", "skin_condition", "varicose_veins", "inflamed_area", "infectious_illness", "neuro_symptoms",
)  # fmt: skip


def _signature(rng: random.Random) -> str:
    points, x = ["M40 120"], 40
    for _ in range(40):
        x = min(x + rng.randint(6, 14), 560)
        points.append(f"L{x} {rng.randint(60, 160)}")
    return " ".join(points)


def _answers(client: Client, extra: dict[str, Any], pattern: str, goals: str, rng: random.Random) -> dict[str, Any]:
    a: dict[str, Any] = dict.fromkeys(NO_QUESTIONS, "no")
    a.update({f"rf-{f.id}": "no" for f in red_flag_questions()})
    a.update(
        {
            "date_of_birth": client.date_of_birth.isoformat() if client.date_of_birth else "1980-01-01",
            "phone": client.phone or "+44 7700 900999",
            "emergency_contact_name": client.emergency_contact_name or "Partner",
            "emergency_contact_phone": client.emergency_contact_phone or "+44 7700 901999",
            "reason": REASONS[pattern],
            "goals": goals,
            "pain_since": rng.choice(["months", "year", "years"]),
            "pain_onset": rng.choice(["gradual", "gradual", "unsure"]),
            "pain_pattern": rng.choice(["constant", "intermittent", "intermittent"]),
            "worse": "Long days at the desk; stress.",
            "better": "Heat, a walk, a good night's sleep.",
            "sleep_effect": rng.choice(["none", "some"]),
            "work_effect": rng.choice(["some", "lot"]),
            "medications": "None",
            "allergies": client.clinical_alerts if "llergic" in client.clinical_alerts else "None known",
            "stress": rng.randint(3, 8),
            "pressure": rng.choice(["medium", "firm", "guide"]),
            "therapist_gender": "none",
            "previous_result": rng.choice(["partly", "none", "helped"]),
        }
    )
    a.update(extra)
    return a


def seed_demo(*, clinic: Clinic, rng: random.Random) -> None:
    """Intakes for most demo clients (not Tom Hughes, whose portal login is for trying the intake). Idempotent."""
    form = intake_form_for(clinic)
    now = timezone.now()
    # How the demo clients heard about the clinic (the practice report counts them); a quarter left
    # unrecorded, as at a real desk.
    sources = list(Client.ReferralSource.values)
    for i, pk in enumerate(Client.objects.filter(clinic=clinic, referral_source="").order_by("pk").values_list("pk", flat=True)):
        if i % 4 != 3:
            Client.objects.filter(pk=pk).update(referral_source=sources[(i * 3) % len(sources)])
    for client in Client.objects.filter(clinic=clinic, first_name__in=list(PROFILES)).order_by("pk"):
        if client.intakes.exists():
            continue
        extra, pattern, goals = PROFILES[client.first_name]
        answers = _answers(client, extra, pattern, goals, rng)
        submitted = now - timedelta(days=rng.randint(2, 10), hours=rng.randint(0, 8))
        marks: list[dict[str, Any]] = [{"cell": c, "intensity": i, **({"quality": q} if q else {})} for c, i, q in PATTERNS[pattern]]
        answers["drawing"] = {"marks": marks}
        intake = IntakeSubmission.objects.create(
            clinic=clinic, client=client, status=IntakeStatus.SUBMITTED, form_version=form.version, submitted_at=submitted,
            red_flag_rules_version=red_flag_rules_version(),
            answers={k: {"q": form.by_id[k].text, "a": v} for k, v in answers.items() if k in form.by_id},
        )  # fmt: skip
        signed = SignatureInput(typed_name=client.full_name, signature=_signature(rng), ip="192.0.2.10", user_agent="Demo browser")
        for doc in current_documents():
            consent_sign(client=client, document=doc, signed=signed, actor=None, intake=intake)
        if rng.random() < 0.6:  # an earlier, worse drawing: the summary then shows what improved
            earlier = [{**m, "intensity": min(10, m["intensity"] + rng.randint(1, 3))} for m in marks]
            drawing_create(client=client, marks=earlier, actor=None, taken_at=submitted - timedelta(days=21), note="First visit")
        drawing_create(client=client, marks=marks, actor=None, intake=intake, taken_at=submitted)
        flags_raise(client=client, intake=intake, specs=screen(plain_answers(intake.answers)))
