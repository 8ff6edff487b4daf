from __future__ import annotations

from django import forms

from knotwork.clients.models import Client
from knotwork.clients.services import CLINICAL_FIELDS, DEMOGRAPHIC_FIELDS


class ClientForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = [*DEMOGRAPHIC_FIELDS, *CLINICAL_FIELDS]
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}),
            "clinical_alerts": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"clinical_alerts": "Allergies (including to oils and lotions) and precautions every therapist must see."}

    def __init__(self, *args: object, clinical: bool, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if not clinical:
            del self.fields["clinical_alerts"]
        for name in ("first_name", "last_name"):
            self.fields[name].widget.attrs["autocomplete"] = "off"


class PortalInviteForm(forms.Form):
    email = forms.EmailField(label="Client's email address")
