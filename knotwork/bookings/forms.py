from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms

from knotwork.accounts.models import Clinic
from knotwork.bookings.models import Service
from knotwork.bookings.selectors import clinic_therapists
from knotwork.clients.models import Client


class AboutYouForm(forms.Form):
    """The few details a new client gives when booking for the first time."""

    first_name = forms.CharField(max_length=80, widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(max_length=80, widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    phone = forms.CharField(
        max_length=40,
        required=False,
        help_text="For reminders and if the clinic needs to reach you.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )


class LocalTimeForm(forms.Form):
    """A date and a wall-clock time in the clinic's zone."""

    day = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    at = forms.TimeField(label="Start time", widget=forms.TimeInput(attrs={"type": "time", "step": 300}))

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["at"].help_text = f"{clinic.time_zone} time"

    def start(self) -> datetime:
        return datetime.combine(self.cleaned_data["day"], self.cleaned_data["at"], tzinfo=self.clinic.tz)


class StaffBookingForm(LocalTimeForm):
    client = forms.ModelChoiceField(queryset=Client.objects.none())
    therapist = forms.ModelChoiceField(queryset=Client.objects.none())
    service = forms.ModelChoiceField(queryset=Service.objects.none())
    field_order = ["client", "therapist", "service", "day", "at"]

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, clinic=clinic, **kwargs)
        self.fields["client"].queryset = Client.objects.for_clinic(clinic).active()  # type: ignore[attr-defined]
        self.fields["therapist"].queryset = clinic_therapists(clinic)  # type: ignore[attr-defined]
        self.fields["therapist"].label_from_instance = lambda u: u.display_name  # type: ignore[attr-defined]
        self.fields["service"].queryset = Service.objects.active().filter(clinic=clinic)  # type: ignore[attr-defined]
