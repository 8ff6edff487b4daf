from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from knotwork.atlas.loader import atlas
from knotwork.care.library import library, technique_choices
from knotwork.care.models import (
    Adherence,
    CareSettings,
    Change,
    FeedbackKind,
    Response,
    Side,
    Stage,
    TriggerPointFinding,
    Visit,
)
from knotwork.clients.models import PainDrawing
from knotwork.lib.claim_codes import parse_diagnoses

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

GOAL_ROWS = 4
BLANK = [("", "—")]


@cache
def muscle_choices() -> list[tuple[str, str]]:
    return sorted(((m.id, m.name) for m in atlas().muscles), key=lambda c: c[1])


@cache
def trigger_point_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Trigger points grouped by muscle (``<optgroup>``s), muscles alphabetically."""
    return sorted(((m.name, [(tp.id, f"{m.name}: {tp.name}") for tp in m.trigger_points]) for m in atlas().muscles), key=lambda g: g[0])


def _zero_ten(label: str | _StrPromise, *, required: bool = False) -> forms.IntegerField:
    return forms.IntegerField(
        label=label, min_value=0, max_value=10, required=required, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )


class DiagnosisForm(forms.Form):
    """The episode's ICD-10 codes for US superbills: one a line, the code then a description."""

    diagnosis_codes = forms.CharField(
        label="ICD-10 diagnosis codes (US superbills)", required=False, max_length=3000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional. One a line: the code, then a description, e.g. “M79.1 Myalgia” or “M62.830 Muscle spasm of back”.",
    )  # fmt: skip

    def clean_diagnosis_codes(self) -> list[dict[str, str]]:
        return parse_diagnoses(self.cleaned_data.get("diagnosis_codes") or "")


class EpisodeForm(DiagnosisForm):
    field_order = ["complaint", "started_on", "goals_note", "drawings", "diagnosis_codes"]
    complaint = forms.CharField(max_length=200, help_text="In the client's words, e.g. “right-sided headaches since March”.")
    started_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    goals_note = forms.CharField(
        label="What the client wants to get back to", required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )
    drawings = forms.ModelMultipleChoiceField(queryset=PainDrawing.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
                                              label="Linked pain drawings")  # fmt: skip

    def __init__(self, *args: Any, client: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["drawings"]
        field.queryset = PainDrawing.objects.filter(client=client).order_by("-taken_at")  # type: ignore[attr-defined]
        field.label_from_instance = lambda d: f"{d.taken_at:%d %b %Y} ({len(d.marks)} area{'s' if len(d.marks) != 1 else ''})"  # type: ignore[attr-defined]


class EpisodeStatusForm(forms.Form):
    status = forms.ChoiceField(choices=[("active", "Active"), ("paused", "Paused"), ("discharged", "Discharged")])


class PlanForm(forms.Form):
    visits_per_week = forms.IntegerField(label="Visits per week", min_value=1, max_value=7, initial=1)
    planned_visits = forms.IntegerField(label="Planned number of visits", min_value=1, max_value=100, initial=6)
    focus = forms.MultipleChoiceField(label="Focus muscles", choices=muscle_choices, required=False,
                                      widget=forms.SelectMultiple(attrs={"size": 8}),
                                      help_text="Ctrl/Cmd-click to choose several.")  # fmt: skip
    note = forms.CharField(label="Plan note", required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(1, GOAL_ROWS + 1):
            self.fields[f"goal_{n}_activity"] = forms.CharField(label=f"Goal {n}: activity", max_length=200, required=False)
            self.fields[f"goal_{n}_target"] = forms.CharField(label=f"Goal {n}: target", max_length=200, required=False)
        for s in Stage:
            self.fields[f"stage_{s.value}_done"] = forms.BooleanField(label=f"{s.label}: done", required=False)
            self.fields[f"stage_{s.value}_exit"] = forms.CharField(label=f"{s.label}: exit criteria", max_length=500, required=False,
                                                                   widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip

    def goal_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"goal_{n}_activity"], self[f"goal_{n}_target"]) for n in range(1, GOAL_ROWS + 1)]

    def stage_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [(s.label, self[f"stage_{s.value}_done"], self[f"stage_{s.value}_exit"]) for s in Stage]

    def plan_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "goals": [{"activity": d[f"goal_{n}_activity"], "target": d[f"goal_{n}_target"]} for n in range(1, GOAL_ROWS + 1)],
            "visits_per_week": d["visits_per_week"], "planned_visits": d["planned_visits"], "focus": d["focus"], "note": d["note"],
            "stages": [{"id": s.value, "done": d[f"stage_{s.value}_done"], "exit": d[f"stage_{s.value}_exit"]} for s in Stage],
        }  # fmt: skip

    @staticmethod
    def initial_from(plan: Any, suggestions: list[str]) -> dict[str, Any]:
        from knotwork.care.services import default_stages

        initial: dict[str, Any] = {"focus": plan.focus if plan else suggestions}
        if plan:
            initial.update(visits_per_week=plan.visits_per_week, planned_visits=plan.planned_visits, note=plan.note)
            for n, g in enumerate(plan.goals[:GOAL_ROWS], 1):
                initial[f"goal_{n}_activity"], initial[f"goal_{n}_target"] = g.get("activity", ""), g.get("target", "")
        for s in plan.stages if plan and plan.stages else default_stages():
            initial[f"stage_{s['id']}_done"], initial[f"stage_{s['id']}_exit"] = s.get("done", False), s.get("exit", "")
        return initial


class CheckInForm(forms.Form):
    pain_today = _zero_ten("Pain today (0–10)")
    change_since_last = forms.ChoiceField(label="Since the last visit", choices=BLANK + Change.choices, required=False)
    soreness_after_last = _zero_ten("Soreness after the last visit (0–10)")
    program_adherence = forms.ChoiceField(label="Home program", choices=BLANK + Adherence.choices, required=False)


class NotesForm(forms.Form):
    subjective = forms.CharField(label="Subjective", required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 4}))
    objective = forms.CharField(label="Objective (besides the trigger-point log)", required=False, max_length=20000,
                                widget=forms.Textarea(attrs={"rows": 3}))  # fmt: skip
    assessment = forms.CharField(label="Assessment", required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3}))
    plan = forms.CharField(label="Plan", required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 3}))
    next_steps = forms.CharField(
        label="Next steps (one per line)", required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean_next_steps(self) -> list[str]:
        return [line.strip()[:200] for line in self.cleaned_data["next_steps"].splitlines() if line.strip()][:20]

    @staticmethod
    def initial_from(visit: Visit) -> dict[str, Any]:
        return {f: getattr(visit, f) for f in Visit.SOAP_FIELDS} | {"next_steps": "\n".join(visit.next_steps)}


class CarryForwardForm(forms.Form):
    fields_ = forms.MultipleChoiceField(
        label="Carry forward", widget=forms.CheckboxSelectMultiple,
        choices=[("objective", "Objective"), ("assessment", "Assessment"), ("plan", "Plan"), ("next_steps", "Next steps")],
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fields"] = self.fields.pop("fields_")


class FindingForm(forms.ModelForm):
    trigger_point = forms.ChoiceField(label="Trigger point", choices=lambda: [("", "Choose a trigger point"), *trigger_point_choices()])

    class Meta:
        model = TriggerPointFinding
        fields = [
            "side",
            "status",
            "taut_band",
            "twitch_response",
            "referral_reproduced",
            "familiar_pain",
            "tenderness",
            "ppt_kg_cm2",
            "released",
        ]
        widgets = {"side": forms.RadioSelect, "status": forms.RadioSelect}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(["trigger_point", *self.Meta.fields])
        # Radio buttons need no empty choice: a side and a status are always required.
        self.fields["side"].choices = Side.choices  # type: ignore[attr-defined]
        self.fields["status"].choices = TriggerPointFinding.Status.choices  # type: ignore[attr-defined]

    def sign_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in ("taut_band", "twitch_response", "referral_reproduced", "familiar_pain", "released")]


class TechniqueForm(forms.Form):
    technique = forms.ChoiceField(choices=lambda: [("", "Choose a technique"), *technique_choices()])
    muscle = forms.ChoiceField(label="Target muscle", choices=lambda: [("", "Choose a muscle"), *muscle_choices()])
    trigger_point = forms.ChoiceField(
        label="Trigger point (optional)", required=False, choices=lambda: [("", "—"), *trigger_point_choices()]
    )
    side = forms.ChoiceField(choices=Side.choices, widget=forms.RadioSelect)
    hold_s = forms.IntegerField(label="Hold (seconds)", min_value=0, max_value=600, initial=60)
    reps = forms.IntegerField(label="Repetitions", min_value=1, max_value=50, initial=1)
    pressure = _zero_ten("Pressure: client's discomfort (0–10)", required=True)
    response = forms.ChoiceField(label="Client response", choices=Response.choices)
    response_note = forms.CharField(label="Response note", max_length=300, required=False)
    pain_before = _zero_ten("Pain before (0–10)")
    pain_after = _zero_ten("Pain after (0–10)")
    acknowledge = forms.BooleanField(label="I have read the precautions above and will work within them", required=False)


class AddendumForm(forms.Form):
    reason = forms.CharField(label="Why (what is being corrected or added)", max_length=200)
    text = forms.CharField(label="Addendum", max_length=20000, widget=forms.Textarea(attrs={"rows": 4}))


class ProgramItemForm(forms.Form):
    exercise = forms.ChoiceField(choices=lambda: [("", "Choose an exercise"), *((e.id, e.name) for e in library().exercises)])
    sets = forms.IntegerField(min_value=1, max_value=10, required=False)
    reps = forms.IntegerField(min_value=1, max_value=50, required=False)
    hold_s = forms.IntegerField(label="Hold (seconds)", min_value=0, max_value=300, required=False)
    per_day = forms.IntegerField(label="Times a day", min_value=1, max_value=6, required=False)
    note = forms.CharField(max_length=300, required=False)

    def dosage(self) -> dict[str, int]:
        """The typed dosage, with the library's defaults for anything left blank."""
        d = library().by_id[self.cleaned_data["exercise"]].dosage
        c = self.cleaned_data
        return {k: c[k] if c.get(k) is not None else getattr(d, k) for k in ("sets", "reps", "hold_s", "per_day")}


class DosageForm(forms.Form):
    sets = forms.IntegerField(min_value=1, max_value=10)
    reps = forms.IntegerField(min_value=1, max_value=50)
    hold_s = forms.IntegerField(label="Hold (seconds)", min_value=0, max_value=300)
    per_day = forms.IntegerField(label="Times a day", min_value=1, max_value=6)
    note = forms.CharField(max_length=300, required=False)


class AdherenceForm(forms.Form):
    item = forms.IntegerField(widget=forms.HiddenInput)
    day = forms.DateField(widget=forms.HiddenInput)
    done = forms.BooleanField(required=False, label=_("Done"))
    feeling = _zero_ten(_("How did it feel? (0 = fine, 10 = very painful)"))


class CheckInAnswerForm(forms.Form):
    soreness = forms.IntegerField(label=_("How sore are you now? (0 = not at all, 10 = worst imaginable)"), min_value=0, max_value=10,
                                  widget=forms.NumberInput(attrs={"inputmode": "numeric"}))  # fmt: skip
    familiar_pain_returned = forms.TypedChoiceField(
        label=_("Has your usual pain come back?"), choices=[("yes", _("Yes")), ("no", _("No"))], widget=forms.RadioSelect,
        coerce=lambda v: v == "yes",
    )  # fmt: skip
    worrying = forms.CharField(
        label=_("Anything worrying you? (optional)"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class FeedbackPressForm(forms.Form):
    kind = forms.ChoiceField(choices=FeedbackKind.choices)


class CareSettingsForm(forms.ModelForm):
    class Meta:
        model = CareSettings
        fields = ["pressure_ceiling", "soreness_alert"]
