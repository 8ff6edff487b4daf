"""The "Explain a drawing" page: paint where it hurts, see likely trigger-point sources to examine.

Clinical reasoning, so it needs the VIEW_CLINICAL capability (front desk gets a 403). It reads
and writes no client record, so nothing is audited. Without JavaScript the form posts to the page
itself and the whole page comes back with the drawing kept; with htmx every change to the drawing,
the symptoms or the red-flag answers posts to ``explain_results``, which answers with the results
fragment only (plus the red-flag verdict, swapped out of band).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Membership
from knotwork.atlas import selectors
from knotwork.atlas.bodymap import cell_label, render_bodymap
from knotwork.atlas.loader import atlas
from knotwork.engine import EMPTY_MESSAGE, QUALITIES, DrawingError, ExplainResult, Hypothesis, Screen, default_engine, red_flag_questions
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
        answers = self.red_flag_answers() if "red_flags" in self.cleaned_data else None
        if answers is not None:
            data["context"] = {"red_flags": answers}
        return data


# -- presenting a result -------------------------------------------------------------------------


def _labels(cells: Iterable[str]) -> str:
    text = ", ".join(cell_label(c)[:1].lower() + cell_label(c)[1:] for c in cells)
    return text[:1].upper() + text[1:]


def hypothesis_zones(h: Hypothesis) -> dict[str, str]:
    """Cell -> "essential"/"spillover" for a hypothesis, as the engine counted it (midline: both sides)."""
    tp = next(t for t in atlas().muscle_by_id[h.muscle].trigger_points if t.id == h.trigger_point)
    if h.side != "midline":
        return selectors.zone_cells(tp, h.side)
    right, left = selectors.zone_cells(tp, "right"), selectors.zone_cells(tp, "left")
    both = {**right, **left}
    return {c: "essential" if "essential" in (right.get(c), left.get(c)) else both[c] for c in both}


@dataclass(frozen=True)
class HypothesisRow:
    rank: int
    h: Hypothesis
    muscle_name: str
    trigger_point_name: str
    essential: str
    spillover: str
    unexplained: str
    explains: int
    zones_json: str


def _hypothesis_row(rank: int, h: Hypothesis) -> HypothesisRow:
    muscle = atlas().muscle_by_id[h.muscle]
    tp = next(t for t in muscle.trigger_points if t.id == h.trigger_point)
    return HypothesisRow(
        rank=rank,
        h=h,
        muscle_name=muscle.name,
        trigger_point_name=tp.name,
        essential=_labels(h.essential_hits),
        spillover=_labels(h.spillover_hits),
        unexplained=_labels(h.unexplained),
        explains=round(h.explains * 100),
        zones_json=json.dumps(hypothesis_zones(h), separators=(",", ":")),
    )


def _red_flag_panel(screen: Screen) -> dict[str, Any]:
    questions = {f.id: f.question for f in red_flag_questions()}
    return {
        "screen": screen,
        "badge": VERDICT_BADGES.get(screen.verdict, ""),
        "ask_first": [questions[q] for q in screen.details.get("ask_first", ())],
        "positive": screen.details.get("positive", []),
    }


def _tp_name(muscle: Any, tp_id: str) -> str:
    return next((tp.name for tp in muscle.trigger_points if tp.id == tp_id), tp_id)


def present(result: ExplainResult) -> dict[str, Any]:
    """Everything the results templates show, in plain words."""
    muscles = atlas().muscle_by_id
    return {
        "result": result,
        "drawing_is_empty": result.message == EMPTY_MESSAGE,
        "hypotheses": [_hypothesis_row(i, h) for i, h in enumerate(result.hypotheses, 1)],
        "cover": [
            {"step": c, "name": muscles[c.muscle].name, "tp_name": _tp_name(muscles[c.muscle], c.trigger_point),
             "adds": _labels(c.adds), "share": round(c.cumulative * 100)}
            for c in result.cover
        ],
        "red_flags": _red_flag_panel(result.screens[0]),
        "screens": [{"screen": s, "badge": VERDICT_BADGES.get(s.verdict, "")} for s in result.screens[1:]],
    }


def explain_context(form: ExplainForm) -> dict[str, Any]:
    """Run the engine on a bound or unbound form; the red-flag screen comes back even for a bad drawing."""
    if form.is_bound:
        form.is_valid()  # validate; drawing_data() then drops whatever failed
    data = form.drawing_data() if form.is_bound else {"marks": []}
    return {**present(default_engine().explain(data, top=TOP)), "form": form}


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
        "qualities": QUALITIES,
    }


def _mark_words(mark: dict[str, Any]) -> str:
    # The same wording as the widget's own summary (static/atlas/bodymap.js).
    label = cell_label(mark["cell"])
    words = f"{label[:1].lower()}{label[1:]} {mark['intensity']}/10"
    return words + (f", {mark['quality']}" if mark.get("quality") else "")


# -- views ---------------------------------------------------------------------------------------


@staff_view(Capability.VIEW_CLINICAL)
def explain_page(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    form = ExplainForm(request.POST if request.method == "POST" else None)
    return render(request, "atlas/explain.html", {**explain_context(form), **drawing_context(form)})


@require_POST
@staff_view(Capability.VIEW_CLINICAL)
def explain_results(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    return render(request, "atlas/_explain_update.html", explain_context(ExplainForm(request.POST)))
