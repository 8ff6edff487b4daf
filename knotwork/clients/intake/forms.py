"""Django forms for the intake steps, the pain drawing, the signature and staff actions."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from knotwork.clients.consent import SignatureError, clean_signature
from knotwork.clients.intake.definition import LIST_KINDS, Question, Section, is_blank
from knotwork.clients.models import IntakeQuestion
from knotwork.engine import DrawingError, parse_drawing, red_flag_questions

MAX_DRAWING_CHARS = 20_000
TEXTAREA_MAX = 4000


def _no_json_constants(name: str) -> None:
    raise ValueError(name)


def parse_drawing_field(raw: str) -> dict[str, Any]:
    """The drawing JSON from the body-map widget, validated by the engine; ValidationError in words."""
    raw = (raw or "").strip()
    if not raw:
        return {"marks": []}
    if len(raw) > MAX_DRAWING_CHARS:
        raise ValidationError(_("The drawing is too large to store. Clear the map and mark it again."))
    try:
        data = json.loads(raw, parse_constant=_no_json_constants)
    except (ValueError, RecursionError):
        raise ValidationError(_("The drawing could not be read (it is not valid JSON). Clear the map and mark it again.")) from None
    if not isinstance(data, dict) or not isinstance(data.get("marks"), list):
        raise ValidationError(_("The drawing could not be read: it must hold a list of marks."))
    drawing = {"marks": data["marks"]}
    try:
        parse_drawing(drawing)
    except DrawingError as exc:
        problems = "; ".join(f"{w}: {m}" for w, m in exc.problems[:5])
        raise ValidationError(gettext("The drawing has problems: %(problems)s") % {"problems": problems}) from None
    return drawing


def _field(q: Question) -> forms.Field:
    common: dict[str, Any] = {"label": q.text, "help_text": q.help, "required": q.required}
    if q.kind == "text":
        return forms.CharField(max_length=q.max_length or 300, **common)
    if q.kind == "textarea":
        return forms.CharField(max_length=TEXTAREA_MAX, widget=forms.Textarea(attrs={"rows": 3}), **common)
    if q.kind in ("choice", "yesno"):
        return forms.ChoiceField(choices=list(q.choices), widget=forms.RadioSelect, **common)
    if q.kind in LIST_KINDS:
        return forms.MultipleChoiceField(choices=list(q.choices), widget=forms.CheckboxSelectMultiple, **common)
    if q.kind == "number":
        return forms.IntegerField(min_value=q.min, max_value=q.max, widget=forms.NumberInput(attrs={"inputmode": "numeric"}), **common)
    if q.kind == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **common)
    if q.kind == "drawing":
        return forms.CharField(widget=forms.HiddenInput(attrs={"data-bodymap-output": ""}), **common)
    raise ValueError(f"unknown question kind {q.kind!r}")


def _stored(q: Question, value: Any) -> Any:
    """A cleaned form value as stored in the answers JSON."""
    if isinstance(value, date):
        return value.isoformat()
    if q.kind in LIST_KINDS:
        return list(value or [])
    return value


class IntakeBoundField(forms.BoundField):
    """An intake question as the step's template needs it: its follow-up gate and disclosure state.

    A follow-up (``required_if``) is asked right after the question it depends on. Where it is a
    grid of checkboxes (the "where on the body?" questions: 34 boxes each), the template folds it
    into a <details> so the step stays short without JavaScript; it opens on its own when the
    answer calls for it, so nothing already ticked or wrongly answered is ever hidden.
    """

    @property
    def question(self) -> Question:
        return self.field.question  # type: ignore[attr-defined,no-any-return]

    @property
    def followup_of(self) -> str:
        return self.question.required_if[0] if self.question.required_if else ""

    @property
    def followup_when(self) -> str:
        return self.question.required_if[1] if self.question.required_if else ""

    @property
    def disclosure(self) -> bool:
        return bool(self.question.required_if) and self.question.kind in LIST_KINDS

    @property
    def chosen_count(self) -> int:
        value = self.value()
        return len([v for v in value if v]) if isinstance(value, (list, tuple)) else 0

    @property
    def empty_hint(self) -> str:
        """What a closed, unticked grid's summary says beside the question."""
        count = len(self.question.choices)
        if self.question.kind == "cells":
            return ngettext("Choose from %(count)d body area", "Choose from %(count)d body areas", count) % {"count": count}
        return ngettext("Choose from %(count)d option", "Choose from %(count)d options", count) % {"count": count}

    @property
    def gate_answer(self) -> Any:
        """The current answer to the question this one follows (the posted one on a re-render)."""
        parent = self.followup_of
        if not parent:
            return None
        form = self.form
        return form[parent].value() if parent in form.fields else getattr(form, "answers", {}).get(parent)

    @property
    def disclosure_open(self) -> bool:
        return bool(self.errors) or self.chosen_count > 0 or self.gate_answer == self.followup_when


class SectionForm(forms.Form):
    """One intake step. ``answers`` (plain values, all steps) fill it and decide follow-ups."""

    bound_field_class = IntakeBoundField

    def __init__(self, *args: Any, section: Section, answers: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.section = section
        self.answers = answers
        for q in section.questions:
            self.fields[q.id] = _field(q)
            self.fields[q.id].question = q  # type: ignore[attr-defined]
        if not self.is_bound:
            self.initial = {q.id: self._initial(q, answers.get(q.id)) for q in section.questions if answers.get(q.id) is not None}

    @staticmethod
    def _initial(q: Question, value: Any) -> Any:
        if q.kind == "drawing":
            return json.dumps(value, separators=(",", ":"))
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for q in self.section.questions:
            if q.kind == "drawing" and q.id in cleaned:
                try:
                    cleaned[q.id] = parse_drawing_field(cleaned[q.id])
                except ValidationError as exc:
                    self.add_error(q.id, exc)
                    continue
                if q.required and not cleaned[q.id]["marks"]:
                    self.add_error(q.id, gettext("Mark at least one area where you feel pain (tap it on the body map)."))
            if q.required_if and q.id not in self.errors:
                parent, expected = q.required_if
                parent_value = cleaned.get(parent, self.answers.get(parent)) if parent in self.fields else self.answers.get(parent)
                if parent_value == expected and is_blank(cleaned.get(q.id)):
                    self.add_error(q.id, gettext("Please answer this too."))
        return cleaned

    def valid_answers(self) -> dict[str, Any]:
        """Every field that validated (a failed submit still saves the rest), as stored values."""
        data = getattr(self, "cleaned_data", {})
        return {q.id: _stored(q, data[q.id]) for q in self.section.questions if q.id in data and q.id not in self.errors}

    def drawing_raw(self, qid: str) -> str:
        return str(self.data.get(qid, "")) if self.is_bound else str(self.initial.get(qid, ""))


class SignedNameForm(forms.Form):
    """A typed full name and a drawn signature (static/clients/signature.js)."""

    typed_name = forms.CharField(label=_("Your full name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    signature = forms.CharField(
        label=_("Your signature"), required=False, max_length=40_000, widget=forms.HiddenInput(attrs={"data-signature-output": ""})
    )

    def clean_typed_name(self) -> str:
        name = " ".join(self.cleaned_data["typed_name"].split())
        if len(name) < 3 or " " not in name:
            raise ValidationError(_("Type your full name: first name and last name."))
        return name

    def clean_signature(self) -> str:
        try:
            return clean_signature(self.cleaned_data.get("signature", ""))
        except SignatureError as exc:
            raise ValidationError(str(exc)) from None


class SignatureForm(SignedNameForm):
    """The intake's consent step: both documents."""

    agree_consent = forms.BooleanField(label=_("I have read the consent to neuromuscular therapy and I agree to it."))
    agree_privacy = forms.BooleanField(label=_("I have read the privacy notice."))


class ResignForm(SignedNameForm):
    """Signing new versions of documents signed before."""

    agree = forms.BooleanField(label=_("I have read the updated documents above and I agree to them."))


class DrawingForm(forms.Form):
    drawing = forms.CharField(label=_("Pain drawing"), required=False, widget=forms.HiddenInput(attrs={"data-bodymap-output": ""}))
    note = forms.CharField(label=_("Anything to add? (optional)"), max_length=300, required=False)

    def clean_drawing(self) -> dict[str, Any]:
        drawing = parse_drawing_field(self.cleaned_data.get("drawing", ""))
        if not drawing["marks"]:
            raise ValidationError(_("Mark at least one area where you feel pain (tap it on the body map)."))
        return drawing


class NoteForm(forms.Form):
    note = forms.CharField(label="Note", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class OptionalNoteForm(forms.Form):
    note = forms.CharField(label="Note (optional)", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class MedicalClearanceForm(forms.Form):
    """A clinician records that a physician cleared the client; ``flags`` are the red flags the page showed."""

    flags = forms.MultipleChoiceField(widget=forms.MultipleHiddenInput)
    note = forms.CharField(
        label="Who cleared the client, and when",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: “Dr Okafor (GP) examined her on 3 March, ECG normal; cleared for hands-on work.”",
        error_messages={"required": "Say who cleared the client and when."},
    )
    next = forms.ChoiceField(choices=[("summary", "summary"), ("review", "review")], required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["flags"].choices = [(f.id, f.question) for f in red_flag_questions()]  # type: ignore[attr-defined]
        self.fields["note"].widget.attrs["aria-describedby"] = "id_note_helptext"


class IntakeQuestionForm(forms.ModelForm):
    choices_text = forms.CharField(
        label="Choices (one per line, for a choice question)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    class Meta:
        model = IntakeQuestion
        fields = ["text", "kind", "help_text", "required", "position"]
        labels = {"text": "Question", "help_text": "Help text (optional)", "required": "The client must answer it"}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        options = [line.strip()[:120] for line in (cleaned.get("choices_text") or "").splitlines() if line.strip()]
        if cleaned.get("kind") == IntakeQuestion.Kind.CHOICE and len(options) < 2:
            self.add_error("choices_text", "A choice question needs at least two choices, one per line.")
        if len(options) > 30:
            self.add_error("choices_text", "Keep it to 30 choices or fewer.")
        cleaned["choices"] = list(dict.fromkeys(options)) if cleaned.get("kind") == IntakeQuestion.Kind.CHOICE else []
        return cleaned
