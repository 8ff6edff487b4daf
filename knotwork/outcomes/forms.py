"""One form per scoring rule. A form only collects answers (``items()``); scoring and range
checks live in :mod:`knotwork.outcomes.scoring`, whose per-answer errors come back onto the
fields through ``error_field``. Knotwork's own wording is used for the free instruments;
licensed instruments ask for the total only."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.utils import timezone

from knotwork.clients.models import PainDrawing
from knotwork.outcomes import scoring
from knotwork.outcomes.models import OutcomeSchedule

PSFS_ROWS = scoring.PSFS_MAX_ACTIVITIES
PPT_ROWS = 4
SIDES = [("", "—"), ("right", "Right"), ("left", "Left"), ("midline", "Midline")]
GROC_WORDS = {
    7: "A very great deal better", 6: "A great deal better", 5: "Quite a bit better", 4: "Moderately better",
    3: "Somewhat better", 2: "A little better", 1: "A tiny bit better", 0: "About the same",
}  # fmt: skip


def _score_field(label: str, lo: int = 0, hi: int = 10, *, required: bool = True, help_text: str = "") -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=lo, max_value=hi, required=required, help_text=help_text,
                              widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": lo, "max": hi}))  # fmt: skip


class MeasureForm(forms.Form):
    taken_on = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args: Any, measure: scoring.Measure, portal: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.measure = measure
        if portal:
            del self.fields["taken_on"]
        elif not self.is_bound:
            self.initial.setdefault("taken_on", timezone.localdate())

    def items(self) -> dict[str, Any]:
        raise NotImplementedError

    def error_field(self, key: str) -> str | None:
        return key if key in self.fields else None

    def taken_at(self, tz: Any) -> datetime | None:
        day = self.cleaned_data.get("taken_on")
        if day is None or day == timezone.localdate(timezone.now(), tz):
            return None  # now
        return timezone.make_aware(datetime.combine(day, time(12, 0)), tz)


class NprsForm(MeasureForm):
    now = _score_field("Pain right now", help_text="0 = no pain, 10 = the worst pain you can imagine.")
    best = _score_field("Pain at its least in the last 24 hours")
    worst = _score_field("Pain at its worst in the last 24 hours")

    def items(self) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) for k in scoring.NPRS_KEYS}


class PsfsForm(MeasureForm):
    def __init__(self, *args: Any, activities: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(PSFS_ROWS):
            self.fields[f"activity_{n}"] = forms.CharField(label=f"Activity {n + 1}", max_length=120, required=False)
            self.fields[f"score_{n}"] = _score_field(f"Activity {n + 1}: how well can you do it now?", required=False,
                                                     help_text="0 = unable to do it, 10 = as well as before the problem.")  # fmt: skip
            if activities and n < len(activities) and not self.is_bound:
                self.initial[f"activity_{n}"] = activities[n]

    def items(self) -> dict[str, Any]:
        rows = []
        for n in range(PSFS_ROWS):
            name, value = (self.cleaned_data.get(f"activity_{n}") or "").strip(), self.cleaned_data.get(f"score_{n}")
            if name or value is not None:
                rows.append({"activity": name, "score": value})
        return {"activities": rows}

    def error_field(self, key: str) -> str | None:
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "activities":
            return f"{'activity' if parts[2] == 'activity' else 'score'}_{parts[1]}"
        return None


class GrocForm(MeasureForm):
    rating = forms.TypedChoiceField(
        label="Compared with when your treatment started, how is the problem now?", coerce=int,
        choices=[(n, f"{n:+d}  {GROC_WORDS[abs(n)].replace('better', 'worse') if n < 0 else GROC_WORDS[n]}") for n in range(7, -8, -1)],
        widget=forms.RadioSelect,
    )  # fmt: skip

    def items(self) -> dict[str, Any]:
        return {"rating": self.cleaned_data.get("rating")}


class LefsForm(MeasureForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(scoring.LEFS_ITEMS):
            self.fields[f"item_{n}"] = _score_field(f"Item {n + 1}", 0, 4, required=False)

    def items(self) -> dict[str, Any]:
        return {"items": [self.cleaned_data.get(f"item_{n}") for n in range(scoring.LEFS_ITEMS)]}

    def error_field(self, key: str) -> str | None:
        parts = key.split(".")
        return f"item_{parts[1]}" if len(parts) == 2 and parts[0] == "items" else None


class PptForm(MeasureForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(PPT_ROWS):
            self.fields[f"site_{n}"] = forms.CharField(label=f"Site {n + 1}", max_length=80, required=False,
                                                       help_text="For example: upper trapezius, mid-belly.")  # fmt: skip
            self.fields[f"side_{n}"] = forms.ChoiceField(label=f"Site {n + 1} side", choices=SIDES, required=False)
            for t in range(scoring.PPT_MAX_TRIALS):
                self.fields[f"trial_{n}_{t}"] = forms.DecimalField(
                    label=f"Site {n + 1}, trial {t + 1} (kg/cm²)", min_value=0, max_value=20, decimal_places=2, required=False
                )

    def items(self) -> dict[str, Any]:
        sites = []
        for n in range(PPT_ROWS):
            trials = [self.cleaned_data.get(f"trial_{n}_{t}") for t in range(scoring.PPT_MAX_TRIALS)]
            name = (self.cleaned_data.get(f"site_{n}") or "").strip()
            if name or any(t is not None for t in trials):
                sites.append({"site": name, "side": self.cleaned_data.get(f"side_{n}") or "",
                              "trials": [float(t) for t in trials if t is not None]})  # fmt: skip
        return {"sites": sites}

    def error_field(self, key: str) -> str | None:
        parts = key.split(".")
        if parts[0] == "sites" and len(parts) >= 3:
            return (
                f"site_{parts[1]}" if parts[2] == "site" else (f"trial_{parts[1]}_{parts[3]}" if len(parts) == 4 else f"trial_{parts[1]}_0")
            )
        return None


class TotalForm(MeasureForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        m = self.measure
        self.fields["total"] = forms.DecimalField(
            label=f"Total score ({m.min:g}–{m.max:g}{' ' + m.unit if m.unit in ('%',) else ''})", decimal_places=m.decimals or None,
            help_text="Score the licensed paper or licensed electronic form, then enter its total here. Knotwork never shows this "
            "instrument's questions.",
        )  # fmt: skip

    def items(self) -> dict[str, Any]:
        total = self.cleaned_data.get("total")
        return {"total": None if total is None else float(total)}


def _drawing_label(d: PainDrawing) -> str:
    return f"{timezone.localtime(d.taken_at):%d %b %Y %H:%M} ({len(d.marks)} areas)"


class DrawingMeasureForm(forms.Form):
    drawing = forms.ModelChoiceField(queryset=PainDrawing.objects.none(), label="Pain drawing", empty_label=None)

    def __init__(self, *args: Any, client_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["drawing"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = PainDrawing.objects.filter(client_id=client_id).order_by("-taken_at")
        field.label_from_instance = _drawing_label  # type: ignore[method-assign,assignment]


FORMS: dict[str, type[MeasureForm]] = {
    "nprs": NprsForm, "psfs": PsfsForm, "groc": GrocForm, "lefs": LefsForm, "ppt": PptForm, "total": TotalForm,
}  # fmt: skip


class ScheduleForm(forms.Form):
    measures = forms.MultipleChoiceField(label="Measures to ask", widget=forms.CheckboxSelectMultiple, required=False)
    every_n_visits = forms.IntegerField(label="Ask again every … signed visits", min_value=1, max_value=20)
    no_change_after = forms.IntegerField(
        label="Flag “no important change” after … visits", min_value=1, max_value=30,
        help_text="When a measure has not improved by its MCID after this many visits since its baseline, the progress page "
        "prompts you to revise the plan or refer.",
    )  # fmt: skip
    remind = forms.BooleanField(label="E-mail the client a link when a portal measure is due", required=False)

    def __init__(self, *args: Any, schedule: OutcomeSchedule, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["measures"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(m.id, f"{m.name}{' (score only)' if m.score_only else ''}") for m in scoring.measures().values()]
        if not self.is_bound:
            self.initial.update(measures=schedule.measures, every_n_visits=schedule.every_n_visits,
                                no_change_after=schedule.no_change_after, remind=schedule.remind)  # fmt: skip
