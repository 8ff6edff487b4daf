from __future__ import annotations

from typing import Any

from django import forms

from knotwork.clients.models import Client
from knotwork.messaging.attachments import MAX_BYTES, MAX_FILES
from knotwork.messaging.services import MAX_BODY


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png,image/webp,image/heic"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


ATTACH_HELP = f"Optional. Up to {MAX_FILES} files: PDF or photos (JPEG, PNG, WebP, HEIC), {MAX_BYTES // (1024 * 1024)} MB each."


class ReplyForm(forms.Form):
    body = forms.CharField(label="Message", max_length=MAX_BODY, required=False, widget=forms.Textarea(attrs={"rows": 4}))
    files = MultipleFileField(label="Attach files", required=False, help_text=ATTACH_HELP)  # type: ignore[assignment]


class NewThreadForm(ReplyForm):
    subject = forms.CharField(max_length=120, help_text="A few words, e.g. “Question before my first visit”.")
    field_order = ["client", "subject", "body", "files"]

    def __init__(self, *args: Any, clients: Any = None, by_clinic: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if clients is not None:
            field = ClinicClientChoice if by_clinic else forms.ModelChoiceField
            self.fields["client"] = field(queryset=clients, label="Clinic" if by_clinic else "Client")
            self.order_fields(self.field_order)


class ClinicClientChoice(forms.ModelChoiceField):
    """A client's own records, shown by clinic: the person picks whom to write to."""

    def label_from_instance(self, obj: Client) -> str:
        return obj.clinic.name
