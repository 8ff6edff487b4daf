"""The aftercare sheet: what a visit did, in plain words, and what to do next. One builder for
the screen, the PDF and the portal, so they never disagree.

Built in the active language: the fixed text through gettext, the techniques' plain words and
the home program's exercises from the library's word files (English where an entry has no
up-to-date translation). Pages call it in the request's language; the PDF printed for a client
is built inside ``client_translation(client)``."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import dateformat
from django.utils.translation import gettext, ngettext, pgettext

from knotwork.care.library import Exercise, exercise_in, library, techniques_in
from knotwork.care.models import HomeProgramItem, Visit
from knotwork.clients.language import active_language


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
    return gettext("%(list)s and %(last)s") % {"list": ", ".join(names[:-1]), "last": names[-1]}


def _muscle_on_side(name: str, side: str) -> str:
    if side == "right":
        return pgettext("aftercare", "%(muscle)s (right)") % {"muscle": name}
    if side == "left":
        return pgettext("aftercare", "%(muscle)s (left)") % {"muscle": name}
    return name


def aftercare_for(visit: Visit, program_items: list[HomeProgramItem]) -> Aftercare:
    """``visit`` must come from ``visit_full`` (techniques with their muscles prefetched)."""
    language = active_language()
    techs = techniques_in(language)
    by_tech: dict[str, list[str]] = {}
    for t in visit.techniques.all():
        by_tech.setdefault(t.technique, []).append(_muscle_on_side(t.muscle.name, t.side))
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
        program=[ProgramLine(exercise=exercise_in(lib[i.exercise], language), item=i) for i in program_items if i.exercise in lib],
    )
