from django import forms

from knotwork.audit.models import Action


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=100, label="Person (email contains)")
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *Action.choices])
    object_type = forms.CharField(required=False, max_length=60, label="Record type", help_text="e.g. clients.client")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), label="From")
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), label="To")

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data
