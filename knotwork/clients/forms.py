from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from knotwork.clients.models import Client
from knotwork.clients.services import CLINICAL_FIELDS, DEMOGRAPHIC_FIELDS, OWN_FIELDS

PHONE_CHARS = re.compile(r"^\+?[0-9 ()./-]+$")


def clean_phone(value: str) -> str:
    """A phone number as people type them (spaces, brackets, dashes, a leading +): 6 to 15 digits."""
    value = " ".join(value.split())
    if not value:
        return ""
    digits = sum(c.isdigit() for c in value)
    if not PHONE_CHARS.match(value) or not 6 <= digits <= 15:
        raise forms.ValidationError(_("Enter a phone number of 6 to 15 digits, for example +44 7700 900123."))
    return value


class ClientForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = [*DEMOGRAPHIC_FIELDS, *CLINICAL_FIELDS]
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
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


class OwnDetailsForm(forms.ModelForm):
    """The details a client keeps up to date themselves on the portal."""

    class Meta:
        model = Client
        fields = list(OWN_FIELDS)
        labels = {
            "phone": _("Mobile or phone number"),
            "address": _("Postal address"),
            "emergency_contact_name": _("Emergency contact's name"),
            "emergency_contact_phone": _("Emergency contact's phone number"),
            "reminders_by_email": _("Remind me of appointments by e-mail"),
            "reminders_by_sms": _("Remind me of appointments by text message"),
        }
        help_texts = {
            "emergency_contact_name": _("Someone the clinic may call if you are taken ill during a visit."),
            "reminders_by_sms": _("Needs a mobile number. Only if the clinic sends text reminders."),
        }
        widgets = {"address": forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"})}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for name in ("phone", "emergency_contact_phone"):
            self.fields[name].widget.input_type = "tel"  # type: ignore[attr-defined]
        self.fields["phone"].widget.attrs["autocomplete"] = "tel"
        self.fields["emergency_contact_name"].widget.attrs["autocomplete"] = "off"

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data.get("phone", ""))

    def clean_emergency_contact_phone(self) -> str:
        return clean_phone(self.cleaned_data.get("emergency_contact_phone", ""))

    def clean_address(self) -> str:
        # One line, as the clinic's own form keeps it: a line break would be lost there on the next edit.
        address = ", ".join(line.strip().strip(",") for line in self.cleaned_data.get("address", "").splitlines() if line.strip())
        limit = Client._meta.get_field("address").max_length or 250
        if len(address) > limit:
            raise forms.ValidationError(gettext("Keep the address to %(limit)d characters.") % {"limit": limit})
        return address

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        name, phone = data.get("emergency_contact_name", ""), data.get("emergency_contact_phone", "")
        if name and not phone and "emergency_contact_phone" not in self.errors:
            self.add_error("emergency_contact_phone", gettext("Add a phone number for your emergency contact."))
        if phone and not name and "emergency_contact_name" not in self.errors:
            self.add_error("emergency_contact_name", gettext("Add your emergency contact's name."))
        if data.get("reminders_by_sms") and not data.get("phone") and "phone" not in self.errors:
            self.add_error("reminders_by_sms", gettext("Add a mobile number above to get text reminders."))
        return data
