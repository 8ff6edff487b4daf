"""The aftercare sheet: what a visit did, in plain words, and what to do next. One builder for
the screen, the PDF and the portal, so they never disagree."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import dateformat
from django.utils.translation import gettext, ngettext

from knotwork.care.library import Exercise, library, techniques
from knotwork.care.models import HomeProgramItem, Visit


@dataclass(frozen=True)
class ProgramLine:
    exercise: Exercise
    item: HomeProgramItem

    @property
    def dosage(self) -> str:
        i = self.item
        words = ngettext("%(sets)d set of %(reps)s", "%(sets)d sets of %(reps)s", i.sets) % {"sets": i.sets, "reps": i.reps}
        if i.hold_s:
            words += gettext(", hold %(seconds)s s") % {"seconds": i.hold_s}
        return ngettext("%(dosage)s, %(times)s× a day", "%(dosage)s, %(times)s× a day", i.per_day) % {"dosage": words, "times": i.per_day}


@dataclass(frozen=True)
class Aftercare:
    clinic_name: str
    clinic_phone: str
    client_name: str
    date_text: str
    what_we_did: list[str]
    soreness: str
    hydration: str
    heat_ice: str
    call_us: list[str]
    program: list[ProgramLine]


def _muscle_phrase(names: list[str]) -> str:
    names = list(dict.fromkeys(n.lower() for n in names))
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def aftercare_for(visit: Visit, program_items: list[HomeProgramItem]) -> Aftercare:
    """``visit`` must come from ``visit_full`` (techniques with their muscles prefetched)."""
    techs = techniques()
    by_tech: dict[str, list[str]] = {}
    for t in visit.techniques.all():
        by_tech.setdefault(t.technique, []).append(
            f"{t.muscle.name} ({t.get_side_display().lower()})" if t.side != "midline" else t.muscle.name
        )
    did = [f"{techs[k].plain[:1].upper()}{techs[k].plain[1:]} — {_muscle_phrase(v)}." for k, v in by_tech.items() if k in techs]
    if not did:
        did = [gettext("We examined the muscles that can cause your pain and talked through what we found.")]
    clinic = visit.clinic
    lib = library().by_id
    return Aftercare(
        clinic_name=clinic.name,
        clinic_phone=clinic.phone,
        client_name=visit.client.preferred_name or visit.client.first_name,
        date_text=dateformat.format(visit.started_at, gettext("j M Y")),
        what_we_did=did,
        soreness=gettext(
            "The treated muscles may feel sore or bruised, like after a workout, for 24 to 48 hours. That is common and "
            "should ease day by day. Keep moving gently; rest from hard exercise for a day."
        ),
        hydration=gettext("Drink water as you normally would, and a little more today. Avoid a lot of alcohol tonight."),
        heat_ice=gettext(
            "A warm shower or a warm (not hot) pack for 15 to 20 minutes helps sore muscles relax. If an area feels hot, "
            "swollen or bruised, use a cold pack wrapped in a cloth for 10 to 15 minutes instead. Never put ice or heat "
            "straight on the skin, and do not use heat where you have reduced feeling."
        ),
        call_us=[
            gettext("soreness that gets worse after 48 hours instead of better, or a large bruise;"),
            gettext("new numbness, tingling or weakness;"),
            gettext("a calf that becomes swollen, hot, red or painful;"),
            gettext("anything that worries you."),
            gettext("Chest pain, sudden breathlessness, or the worst headache of your life: call emergency services, not the clinic."),
        ],
        program=[ProgramLine(exercise=lib[i.exercise], item=i) for i in program_items if i.exercise in lib],
    )
