from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from knotwork.accounts.models import Clinic
from knotwork.bookings.models import Service
from knotwork.bookings.selectors import clinic_therapists
from knotwork.bookings.services import MAX_YEAR, MIN_YEAR
from knotwork.clients.forms import clean_phone
from knotwork.clients.models import Client


class AboutYouForm(forms.Form):
    """The few details a new client gives when booking for the first time."""

    first_name = forms.CharField(label=_("First name"), max_length=80, widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(label=_("Last name"), max_length=80, widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    phone = forms.CharField(
        label=_("Phone"),
        max_length=40,
        required=False,
        help_text=_("For reminders and if the clinic needs to reach you."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )


class LocalTimeForm(forms.Form):
    """A date and a wall-clock time in the clinic's zone."""

    day = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    at = forms.TimeField(label="Start time", widget=forms.TimeInput(attrs={"type": "time", "step": 300}))

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["at"].help_text = f"{clinic.time_zone} time"

    def clean_day(self) -> date:
        day: date = self.cleaned_data["day"]
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise forms.ValidationError("Enter a date in a year between %(min)s and %(max)s.", params={"min": MIN_YEAR, "max": MAX_YEAR})
        return day

    def start(self) -> datetime:
        return datetime.combine(self.cleaned_data["day"], self.cleaned_data["at"], tzinfo=self.clinic.tz)


class StaffBookingForm(LocalTimeForm):
    """The desk's booking form. The client is chosen from a search (never a list of everyone), and a
    time outside the therapist's working hours needs the override ticked and a reason."""

    client = forms.ModelChoiceField(
        queryset=Client.objects.none(),
        widget=forms.HiddenInput,
        error_messages={"required": "Find the client and choose them.", "invalid_choice": "Find the client and choose them."},
    )
    therapist = forms.ModelChoiceField(queryset=Client.objects.none())
    service = forms.ModelChoiceField(queryset=Service.objects.none())
    outside_hours = forms.BooleanField(label="Book outside the therapist's working hours", required=False)
    outside_hours_reason = forms.CharField(
        label="Reason for booking outside working hours",
        required=False,
        max_length=200,
        help_text="Kept in the audit log with the booking.",
    )
    field_order = ["client", "therapist", "service", "day", "at", "outside_hours", "outside_hours_reason"]

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, clinic=clinic, **kwargs)
        clients = Client.objects.for_clinic(clinic).active().filter(restricted_at__isnull=True)
        self.fields["client"].queryset = clients  # type: ignore[attr-defined]
        self.fields["therapist"].queryset = clinic_therapists(clinic)  # type: ignore[attr-defined]
        self.fields["therapist"].label_from_instance = lambda u: u.display_name  # type: ignore[attr-defined]
        self.fields["service"].queryset = Service.objects.active().filter(clinic=clinic)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["outside_hours_reason"] = " ".join(str(data.get("outside_hours_reason", "")).split())
        if data.get("outside_hours") and not data["outside_hours_reason"]:
            self.add_error("outside_hours_reason", "Say why this booking is outside the working hours.")
        return data

    def override_reason(self) -> str:
        """The reason, when the override is ticked: what lets the service book outside the hours."""
        return self.cleaned_data["outside_hours_reason"] if self.cleaned_data.get("outside_hours") else ""


class DeskClientForm(forms.Form):
    """The desk's "new client" form beside the booking form: a name, a way to reach the person
    (e-mail, phone or both) and, if known, the date of birth. Rendered with the prefix ``new``."""

    first_name = forms.CharField(label="First name", max_length=80, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    last_name = forms.CharField(label="Last name", max_length=80, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    email = forms.EmailField(label="E-mail", required=False, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    phone = forms.CharField(
        label="Phone", max_length=40, required=False, widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})
    )
    date_of_birth = forms.DateField(
        label="Date of birth", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data.get("phone", ""))

    def clean_date_of_birth(self) -> date | None:
        born: date | None = self.cleaned_data.get("date_of_birth")
        if born is not None and (born.year < MIN_YEAR or born > timezone.localdate()):
            raise forms.ValidationError("Enter a date of birth in the past, after %(min)s.", params={"min": MIN_YEAR})
        return born

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("first_name", "last_name"):
            if name in data:
                data[name] = " ".join(data[name].split())
        if not data.get("email") and not data.get("phone") and "email" not in self.errors and "phone" not in self.errors:
            self.add_error("email", "Give an e-mail address or a phone number (or both), so the clinic can reach the client.")
        return data


class RepeatForm(forms.Form):
    """The desk's "Repeat" option: every N weeks, ending on a date or after a number of appointments."""

    repeat = forms.BooleanField(label="Repeat this appointment", required=False)
    interval_weeks = forms.IntegerField(
        label="Every how many weeks",
        min_value=1,
        max_value=12,
        initial=1,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    ends = forms.ChoiceField(
        label="Ends",
        choices=[("count", "After a number of appointments"), ("until", "On a date")],
        initial="count",
        required=False,
        widget=forms.RadioSelect,
    )
    count = forms.IntegerField(label="Number of appointments", min_value=1, max_value=52, initial=6, required=False)
    until = forms.DateField(label="Last date", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("repeat"):
            return data
        if not data.get("interval_weeks"):
            self.add_error("interval_weeks", "Say how many weeks apart (1 to 12).")
        if data.get("ends") == "until":
            if not data.get("until"):
                self.add_error("until", "Give the last date, or end after a number of appointments.")
            elif not MIN_YEAR <= data["until"].year <= MAX_YEAR:
                self.add_error("until", f"Enter a date in a year between {MIN_YEAR} and {MAX_YEAR}.")
            data["count"] = None
        else:
            if not data.get("count"):
                self.add_error("count", "Give the number of appointments (1 to 52), or a last date.")
            data["until"], data["ends"] = None, "count"
        return data
