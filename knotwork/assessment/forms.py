from __future__ import annotations

import json
from typing import Any

from django import forms

from knotwork.assessment.findings import rules
from knotwork.assessment.models import Assessment, MovementTest, Photo, PostureFinding, RomMeasurement
from knotwork.assessment.norms import norms


class AssessmentForm(forms.ModelForm):
    class Meta:
        model = Assessment
        fields = ["taken_at", "position", "note"]
        widgets = {
            "taken_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "note": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"taken_at": "Date and time", "note": "Note"}


class FindingForm(forms.ModelForm):
    class Meta:
        model = PostureFinding
        fields = ["kind", "side", "severity", "note"]
        labels = {"kind": "Finding"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "finding")
        super().__init__(*args, **kwargs)


class PhotoUploadForm(forms.Form):
    view = forms.ChoiceField(choices=Photo.ViewChoice.choices)
    facing = forms.TypedChoiceField(
        choices=[("", "Usual for the view"), *Photo.Facing.choices],
        coerce=int,
        empty_value=None,
        required=False,
        help_text="Side views: which way the client faces in the photo (right side view: usually facing right).",
    )
    # A FileField, not an ImageField: ImageField would hand the raw upload to Pillow before
    # knotwork.lib.uploads has checked it.
    image = forms.FileField(label="Photo", help_text="JPEG, PNG, WebP or HEIC, up to 20 MB. Location and camera data are removed.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "photo")
        super().__init__(*args, **kwargs)
        self.fields["image"].widget.attrs["accept"] = "image/jpeg,image/png,image/webp,image/heic,image/heif"


class LandmarkForm(forms.Form):
    landmarks = forms.CharField(widget=forms.HiddenInput, max_length=20_000)
    calibration_cm = forms.DecimalField(
        label="Calibration length (cm)",
        required=False,
        min_value=1,
        max_value=1000,
        decimal_places=1,
        help_text="The real distance between calibration marks A and B, to get distances in cm.",
    )
    facing = forms.TypedChoiceField(choices=Photo.Facing.choices, coerce=int, label="Client faces")

    def clean_landmarks(self) -> Any:
        try:
            return json.loads(self.cleaned_data["landmarks"] or "{}")
        except ValueError as exc:
            raise forms.ValidationError("The landmark data could not be read. Place the landmarks again.") from exc


class RomForm(forms.ModelForm):
    class Meta:
        model = RomMeasurement
        fields = ["motion", "side", "mode", "degrees", "method", "pain", "end_feel", "note"]
        labels = {"degrees": "Degrees", "pain": "Pain on movement (0–10)", "mode": "Active or passive"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "rom")
        super().__init__(*args, **kwargs)
        self.fields["degrees"].widget.attrs.update({"min": -90, "max": 220, "inputmode": "numeric"})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        motion = norms().motions.get(data.get("motion") or "")
        side = data.get("side") or ""
        if motion and motion.sided and side not in ("left", "right"):
            self.add_error("side", "Choose left or right for this motion.")
        if motion and not motion.sided and side:
            self.add_error("side", "This motion has no side; leave it as not sided.")
        return data


def _result_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    return [(t.label, [(f"{t.id}:{r.id}", r.label) for r in t.results.values()]) for t in rules().tests.values()]


class MovementTestForm(forms.ModelForm):
    """The test and its result are one choice ("thomas:hip_flexors_short") so only valid pairs exist."""

    outcome = forms.ChoiceField(label="Test and result", choices=_result_choices)

    class Meta:
        model = MovementTest
        fields = ["side", "note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "test")
        super().__init__(*args, **kwargs)
        self.order_fields(["outcome", "side", "note"])

    def movement_data(self) -> dict[str, Any]:
        test, _, result = self.cleaned_data["outcome"].partition(":")
        return {"test": test, "result": result, "side": self.cleaned_data["side"], "note": self.cleaned_data["note"]}


class CompareForm(forms.Form):
    a = forms.IntegerField(min_value=1, label="Earlier assessment")
    b = forms.IntegerField(min_value=1, label="Later assessment")


class NormSetForm(forms.Form):
    norm_set = forms.ChoiceField(label="Compare ROM with", choices=lambda: [(s.id, s.name) for s in norms().sets.values()])
