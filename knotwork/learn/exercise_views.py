"""The public exercise library: every home exercise Knotwork's therapists can prescribe, with its
illustration, steps and cautions. Articles link here with ``[[exercise:<id>]]``.

The pages speak the visitor's language: the interface through the catalogues, an exercise's name,
steps and cautions from the care library's translations (``exercise_in``), which give the English
where a translation is missing or out of date; the page marks that English with ``lang``. Muscle
names stay the atlas's English."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext, gettext_lazy, ngettext

from knotwork.atlas.loader import atlas
from knotwork.care.library import KINDS, Dosage, common_cautions_in, exercise_in, library
from knotwork.care.views.common import figure
from knotwork.clients.language import active_language

KIND_TITLES = {"stretch": gettext_lazy("Stretches"), "release": gettext_lazy("Self-release"),
               "strength": gettext_lazy("Strengthening"), "mobility": gettext_lazy("Mobility"),
               "relaxation": gettext_lazy("Relaxation")}  # fmt: skip


def dosage_words(d: Dosage) -> str:
    """A usual starting dose in the active language ("2 sets of 10, hold 30 s, 2× a day"), in the
    words the client's aftercare sheet uses."""
    words = ngettext("%(sets)d set of %(reps)s", "%(sets)d sets of %(reps)s", d.sets) % {"sets": d.sets, "reps": d.reps}
    if d.hold_s:
        words += gettext(", hold %(seconds)s s") % {"seconds": d.hold_s}
    return ngettext("%(dosage)s, %(times)s× a day", "%(dosage)s, %(times)s× a day", d.per_day) % {"dosage": words, "times": d.per_day}


def exercise_index(request: HttpRequest) -> HttpResponse:
    """All exercises by kind; ``?muscle=<atlas id>`` keeps those that work that muscle."""
    language = active_language()
    muscles = atlas().muscle_by_id
    wanted = request.GET.get("muscle", "")
    muscle = muscles.get(wanted)
    chosen = [exercise_in(e, language) for e in library().exercises if muscle is None or muscle.id in e.targets]
    groups = [(KIND_TITLES[k], [e for e in chosen if e.kind == k]) for k in KINDS]
    context = {
        "groups": [(title, rows) for title, rows in groups if rows],
        "figures": {e.id: figure(e) for e in chosen},
        "muscle": muscle,
        "unknown_muscle": bool(wanted) and muscle is None,
        "muscle_choices": sorted({m for e in library().exercises for m in e.targets}, key=lambda m: muscles[m].name),
        "muscle_names": {m.id: m.name for m in muscles.values()},
        "count": len(chosen),
        "page_language": language,
    }
    return render(request, "learn/exercises.html", context)


def exercise_detail(request: HttpRequest, exercise_id: str) -> HttpResponse:
    english = library().by_id.get(exercise_id)
    if english is None:
        raise Http404("No such exercise")
    language = active_language()
    exercise = exercise_in(english, language)
    muscles = atlas().muscle_by_id
    cautions = common_cautions_in(language)
    context = {
        "exercise": exercise,
        "kind": KIND_TITLES[exercise.kind],
        "figure": figure(exercise, size=200),
        "targets": [muscles[m] for m in exercise.targets],
        "dosage": dosage_words(exercise.dosage),
        "common_cautions": cautions,
        "cautions_language": language if cautions != library().common_cautions or language == "en" else "en",
        "page_language": language,
    }
    return render(request, "learn/exercise.html", context)
