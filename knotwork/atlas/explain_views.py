"""The "Explain a drawing" page: paint where it hurts, see likely trigger-point sources to examine.

Clinical reasoning, so it needs the VIEW_CLINICAL capability (front desk gets a 403). It reads and
writes no client record, so explaining is not audited; the one exception is a medical clearance
ticked on this scratch page, which is a clinician's statement and is recorded as an audit event.

The triage (red-flag level, what to do, the questions to ask first) always comes first; at the
levels that withhold the muscle list, only the count of withheld sources and the clearance box
show. Without JavaScript the form posts to the page itself and the whole page comes back with the
drawing kept; with htmx every change to the drawing, the symptoms, the red-flag answers or the
clearance posts to ``explain_results``, which answers with the results fragment only (plus the
triage panel and the status line, swapped out of band).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Membership
from knotwork.atlas import selectors, services
from knotwork.atlas.bodymap import cell_label, render_bodymap
from knotwork.atlas.loader import atlas
from knotwork.engine import (
    EMPTY_MESSAGE,
    QUALITY_LABELS,
    DrawingError,
    ExplainResult,
    Hypothesis,
    default_engine,
    red_flag_questions,
)
from knotwork.engine.wording import muscle_on_side
from knotwork.lib.views import staff_view

TOP = 10
MAX_DRAWING_CHARS = 20_000  # 163 marks of about 60 characters each, with room to spare

# Badge colour per screen verdict: red for "stop and refer", amber for "act on this", green for clear.
VERDICT_BADGES = {
    "clear": "badge-ok",
    "not met": "badge-ok",
    "not asked": "badge-warn",
    "incomplete": "badge-warn",
    "examine": "badge-warn",
    "met": "badge-warn",
    "refer out": "badge-danger",
    "refer": "badge-danger",
}

# Triage level -> (words on the badge, badge class, tone of the panel). Emergency and same-day are
# red ("refer now / today"), ask-first and before-treatment amber ("act before anything else").
TRIAGE_LEVELS: dict[str, tuple[str, str, str]] = {
    "emergency": ("Emergency", "badge-danger", "danger"),
    "same-day": ("Same day", "badge-danger", "danger"),
    "ask-first": ("Ask first", "badge-warn", "warn"),
    "before-treatment": ("Before treatment", "badge-warn", "warn"),
    "not asked": ("Not asked", "badge-warn", "warn"),
    "incomplete": ("Incomplete", "badge-warn", "warn"),
    "clear": ("Clear", "badge-ok", "ok"),
}
QUIET_LEVELS = frozenset({"clear", "not asked"})
"""Triage levels the status line does not lead with."""


def _no_json_constants(name: str) -> None:
    raise ValueError(name)


class ExplainForm(forms.Form):
    drawing = forms.CharField(
        required=False,
        max_length=MAX_DRAWING_CHARS,
        label="Drawing",
        widget=forms.HiddenInput(attrs={"data-bodymap-output": ""}),
    )
    symptoms = forms.MultipleChoiceField(required=False, label="Reported symptoms", widget=forms.CheckboxSelectMultiple)
    red_flags = forms.MultipleChoiceField(required=False, label="Red-flag questions answered yes", widget=forms.CheckboxSelectMultiple)
    red_flags_all_asked = forms.BooleanField(required=False, label="I asked every question; any not ticked was answered no")
    medical_clearance = forms.BooleanField(required=False, label="A physician has cleared the client (medical clearance)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["symptoms"].choices = [(s.id, s.name) for s in atlas().symptoms]  # type: ignore[attr-defined]
        self.fields["red_flags"].choices = [(f.id, f.question) for f in red_flag_questions()]  # type: ignore[attr-defined]

    def clean_drawing(self) -> list[Any]:
        raw = self.cleaned_data["drawing"].strip()
        if not raw:
            return []
        try:
            data = json.loads(raw, parse_constant=_no_json_constants)
        except (ValueError, RecursionError):
            raise ValidationError("The drawing could not be read (it is not valid JSON). Clear the map and mark it again.") from None
        marks = data.get("marks") if isinstance(data, dict) else None
        if not isinstance(marks, list):
            raise ValidationError("The drawing could not be read: it must hold a list of marks.")
        if len(marks) > len(default_engine().cells):
            raise ValidationError("The drawing has more marks than the body map has areas.")
        return marks

    def clean(self) -> dict[str, Any]:
        super().clean()
        if not self.errors:
            try:
                default_engine().parse(self.drawing_data())
            except DrawingError as exc:
                self.add_error("drawing", "The drawing has problems: " + "; ".join(f"{w}: {m}" for w, m in exc.problems[:5]))
        return self.cleaned_data

    def red_flag_answers(self) -> list[str] | dict[str, bool] | None:
        """As the engine takes them: all asked -> the list of yes ids; some ticked -> those as yes; else not asked."""
        yes = list(self.cleaned_data.get("red_flags") or [])
        if self.cleaned_data.get("red_flags_all_asked"):
            return yes
        return dict.fromkeys(yes, True) or None

    def drawing_data(self) -> dict[str, Any]:
        """The engine's drawing; a form with errors gives an empty one that keeps the red-flag answers."""
        ok = not self.errors
        data: dict[str, Any] = {
            "marks": self.cleaned_data.get("drawing", []) if ok else [],
            "symptoms": self.cleaned_data.get("symptoms", []) if ok else [],
        }
        context: dict[str, Any] = {}
        answers = self.red_flag_answers() if "red_flags" in self.cleaned_data else None
        if answers is not None:
            context["red_flags"] = answers
        if self.cleaned_data.get("medical_clearance"):
            context["medical_clearance"] = True
        if context:
            data["context"] = context
        return data


# -- presenting a result -------------------------------------------------------------------------


def _labels(cells: Iterable[str]) -> str:
    text = ", ".join(cell_label(c)[:1].lower() + cell_label(c)[1:] for c in cells)
    return text[:1].upper() + text[1:]


SIDE_WORDS = {"right": "Right", "left": "Left", "midline": "Midline", "both": "Both sides"}


def hypothesis_zones(h: Hypothesis) -> dict[str, str]:
    """Cell -> "essential"/"spillover" for a hypothesis row, as the engine counted it.

    The union over the row's trigger points, each on its own side (a midline one on both sides;
    a ``both`` row has its right and its left trigger points); essential wins over spillover.
    """
    tps = {t.id: t for t in atlas().muscle_by_id[h.muscle].trigger_points}
    zones: dict[str, str] = {}
    for hit in h.trigger_points:
        tp = tps.get(hit.trigger_point)
        if tp is None:
            continue
        for side in ("right", "left") if hit.side in ("midline", "both") else (hit.side,):
            for cell, kind in selectors.zone_cells(tp, side).items():
                if zones.get(cell) != "essential":
                    zones[cell] = kind
    return zones


@dataclass(frozen=True)
class TriggerPointRow:
    """One trigger point inside a muscle's row; ``sides`` is "right", "left", "right and left" or ""."""

    id: str
    name: str
    sides: str
    explains: str


@dataclass(frozen=True)
class HypothesisRow:
    rank: int
    h: Hypothesis
    muscle_name: str
    trigger_point_name: str
    side_words: str
    trigger_points: tuple[TriggerPointRow, ...]
    essential: str
    spillover: str
    unexplained: str
    explains: int
    zones_json: str
    nerve: str = ""


def _trigger_point_rows(h: Hypothesis, names: dict[str, str]) -> tuple[TriggerPointRow, ...]:
    """The row's trigger points, best first: one line per trigger point with every side it is used on."""
    sides: dict[str, list[str]] = {}
    cells: dict[str, list[str]] = {}
    for hit in h.trigger_points:
        tp_sides, tp_cells = sides.setdefault(hit.trigger_point, []), cells.setdefault(hit.trigger_point, [])
        if hit.side in ("right", "left") and hit.side not in tp_sides:
            tp_sides.append(hit.side)
        tp_cells.extend(c for c in (*hit.essential_hits, *hit.spillover_hits) if c not in tp_cells)
    return tuple(
        TriggerPointRow(id=tp, name=names.get(tp, tp), sides=" and ".join(s), explains=_labels(cells[tp])) for tp, s in sides.items()
    )


def _hypothesis_row(rank: int, h: Hypothesis) -> HypothesisRow:
    muscle = atlas().muscle_by_id[h.muscle]
    names = {t.id: t.name for t in muscle.trigger_points}
    return HypothesisRow(
        rank=rank,
        h=h,
        muscle_name=muscle.name,
        trigger_point_name=names.get(h.trigger_point, h.trigger_point),
        side_words=SIDE_WORDS.get(h.side, h.side),
        trigger_points=_trigger_point_rows(h, names),
        essential=_labels(h.essential_hits),
        spillover=_labels(h.spillover_hits),
        unexplained=_labels(h.unexplained),
        explains=round(h.explains * 100),
        zones_json=json.dumps(hypothesis_zones(h), separators=(",", ":")),
        nerve=_labels(h.nerve_hits),
    )


def triage_panel(result: ExplainResult) -> dict[str, Any]:
    """What the triage partial (templates/atlas/_triage.html) shows, in words, for any surface.

    ``flags`` are the red-flag ids a medical clearance has to cover: the positive ones and those
    to ask first. At ``ask-first`` the actions are the emergency questions themselves, so the
    panel lists the questions once, each with its urgency.
    """
    screen = result.screens[0]
    tri = result.triage
    questions = {f.id: f for f in red_flag_questions()}
    level = tri.level if tri else screen.verdict
    words, badge, tone = TRIAGE_LEVELS.get(level, (level.capitalize(), "", "warn"))
    ask_first = tri.ask_first if tri else tuple(screen.details.get("ask_first", ()))
    return {
        "triage": tri,
        "screen": screen,
        "level": level,
        "level_words": words,
        "badge": badge,
        "tone": tone,
        "headline": tri.headline if tri else screen.details.get("summary", ""),
        "actions": [] if level == "ask-first" or not tri else list(tri.actions),
        "positive": screen.details.get("positive", []),
        "ask_first": [{"id": q, "question": questions[q].question, "urgency": questions[q].urgency} for q in ask_first if q in questions],
        "withheld": bool(tri and tri.withheld),
        "withheld_count": result.withheld,
        "cleared": bool(tri and tri.cleared),
        "flags": list(tri.clearance_flags) if tri else list(ask_first),
    }


def _tp_name(muscle: Any, tp_id: str) -> str:
    return next((tp.name for tp in muscle.trigger_points if tp.id == tp_id), tp_id)


def present(result: ExplainResult) -> dict[str, Any]:
    """Everything the results templates show, in plain words; the triage first."""
    muscles = atlas().muscle_by_id
    return {
        "result": result,
        "triage": triage_panel(result),
        "pattern": result.pattern,
        "drawing_is_empty": result.message == EMPTY_MESSAGE,
        "hypotheses": [_hypothesis_row(i, h) for i, h in enumerate(result.hypotheses, 1)],
        "first_words": muscle_on_side(muscles[result.hypotheses[0].muscle].name, result.hypotheses[0].side) if result.hypotheses else "",
        "cover": [
            {
                "step": c,
                "name": muscles[c.muscle].name,
                "tp_name": _tp_name(muscles[c.muscle], c.trigger_point),
                "words": muscle_on_side(muscles[c.muscle].name, c.side),
                "adds": _labels(c.adds),
                "share": round(c.cumulative * 100),
            }
            for c in result.cover
        ],
        "screens": [{"screen": s, "badge": VERDICT_BADGES.get(s.verdict, "")} for s in result.screens[1:]],
        "quiet_levels": QUIET_LEVELS,
    }


def explain_context(form: ExplainForm, membership: Membership) -> dict[str, Any]:
    """Run the engine on a bound or unbound form; the triage comes back even for a bad drawing.

    A ticked medical clearance is a clinician's statement on a scratch page with no client
    record, so it is audited here (clinical roles only).
    """
    if form.is_bound:
        form.is_valid()  # validate; drawing_data() then drops whatever failed
    data = form.drawing_data() if form.is_bound else {"marks": []}
    result = default_engine().explain(data, top=TOP)
    if data.get("context", {}).get("medical_clearance"):
        if not membership.can(Capability.EDIT_CLINICAL):
            raise PermissionDenied("Only clinically qualified staff can record a medical clearance.")
        services.engine_clearance_record(membership=membership, result=result, source="explain page")
    return {**present(result), "form": form}


def drawing_context(form: ExplainForm) -> dict[str, Any]:
    """The input side of the full page: the map painted with the drawing, its words, the hidden field."""
    # A drawing that passed validation is kept on the map even when another field failed.
    marks = form.cleaned_data.get("drawing", []) if form.is_bound else []
    kept = form.is_bound and "drawing" in form.errors  # show what was sent, so the error can be put right
    bodymap = render_bodymap(
        values={m["cell"]: m["intensity"] for m in marks},
        categories={m["cell"]: m["quality"] for m in marks if m.get("quality")},
        mode="input",
        id_prefix="explain-map",
        title="Pain drawing",
    )
    return {
        "bodymap": mark_safe(bodymap),  # noqa: S308  (render_bodymap escapes every piece of text itself)
        "drawing_json": form.data.get("drawing", "") if kept else json.dumps({"marks": marks}, separators=(",", ":")),
        "drawing_summary": "; ".join(_mark_words(m) for m in marks),
        "qualities": QUALITY_LABELS,
    }


def _mark_words(mark: dict[str, Any]) -> str:
    # The same wording as the widget's own summary (static/atlas/bodymap.js).
    label = cell_label(mark["cell"])
    words = f"{label[:1].lower()}{label[1:]} {mark['intensity']}/10"
    quality = QUALITY_LABELS.get(mark.get("quality") or "", mark.get("quality"))
    return words + (f", {quality[:1].lower()}{quality[1:]}" if quality else "")


# -- views ---------------------------------------------------------------------------------------


@staff_view(Capability.VIEW_CLINICAL)
def explain_page(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    form = ExplainForm(request.POST if request.method == "POST" else None)
    return render(request, "atlas/explain.html", {**explain_context(form, membership), **drawing_context(form)})


@require_POST
@staff_view(Capability.VIEW_CLINICAL)
def explain_results(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    return render(request, "atlas/_explain_update.html", explain_context(ExplainForm(request.POST), membership))
