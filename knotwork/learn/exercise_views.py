"""The public exercise library: every home exercise Knotwork's therapists can prescribe, with its
illustration, steps and cautions. Articles link here with ``[[exercise:<id>]]``."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from knotwork.atlas.loader import atlas
from knotwork.care.library import KINDS, library
from knotwork.care.views.common import figure

KIND_TITLES = {"stretch": "Stretches", "release": "Self-release", "strength": "Strengthening", "mobility": "Mobility",
               "relaxation": "Relaxation"}  # fmt: skip


def exercise_index(request: HttpRequest) -> HttpResponse:
    """All exercises by kind; ``?muscle=<atlas id>`` keeps those that work that muscle."""
    muscles = atlas().muscle_by_id
    wanted = request.GET.get("muscle", "")
    muscle = muscles.get(wanted)
    chosen = [e for e in library().exercises if muscle is None or muscle.id in e.targets]
    groups = [(KIND_TITLES[k], [e for e in chosen if e.kind == k]) for k in KINDS]
    context = {
        "groups": [(title, rows) for title, rows in groups if rows],
        "figures": {e.id: figure(e) for e in chosen},
        "muscle": muscle,
        "unknown_muscle": bool(wanted) and muscle is None,
        "muscle_choices": sorted({m for e in library().exercises for m in e.targets}, key=lambda m: muscles[m].name),
        "muscle_names": {m.id: m.name for m in muscles.values()},
        "count": len(chosen),
    }
    return render(request, "learn/exercises.html", context)


def exercise_detail(request: HttpRequest, exercise_id: str) -> HttpResponse:
    exercise = library().by_id.get(exercise_id)
    if exercise is None:
        raise Http404("No such exercise")
    muscles = atlas().muscle_by_id
    context = {
        "exercise": exercise,
        "kind": KIND_TITLES[exercise.kind],
        "figure": figure(exercise, size=200),
        "targets": [muscles[m] for m in exercise.targets],
        "common_cautions": library().common_cautions,
    }
    return render(request, "learn/exercise.html", context)
