from __future__ import annotations

from django import forms

from knotwork.accounts.models import ApiToken, Role


class StaffInviteForm(forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.THERAPIST)


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="What will use this token, e.g. “Reporting script”.")
    scopes = forms.MultipleChoiceField(choices=ApiToken.Scope.choices, widget=forms.CheckboxSelectMultiple)
    expires_in_days = forms.TypedChoiceField(
        label="Expires",
        coerce=int,
        choices=[(30, "In 30 days"), (90, "In 90 days"), (365, "In a year"), (0, "Never")],
        initial=90,
    )
