from __future__ import annotations

import base64
import binascii
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from knotwork.pwa import push
from knotwork.pwa.models import PushPreferences


def _b64url_bytes(value: str, *, length: int, what: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise forms.ValidationError(f"The {what} is not valid base64url.") from None
    if len(raw) != length:
        raise forms.ValidationError(f"The {what} has the wrong length.")
    return value


class SubscriptionForm(forms.Form):
    endpoint = forms.CharField(max_length=1000)
    p256dh = forms.CharField(max_length=200)
    auth = forms.CharField(max_length=100)
    device = forms.CharField(max_length=120, required=False)

    def clean_endpoint(self) -> str:
        endpoint = self.cleaned_data["endpoint"].strip()
        if not push.endpoint_allowed(endpoint):
            raise forms.ValidationError("Notifications can only be delivered through a known push service over HTTPS.")
        return endpoint

    def clean_p256dh(self) -> str:
        # An uncompressed P-256 point: 65 bytes starting 0x04 (RFC 8291 section 3.1).
        value = _b64url_bytes(self.cleaned_data["p256dh"].strip(), length=65, what="browser key")
        if base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))[0] != 4:
            raise forms.ValidationError("The browser key is not an uncompressed P-256 point.")
        return value

    def clean_auth(self) -> str:
        return _b64url_bytes(self.cleaned_data["auth"].strip(), length=16, what="authentication secret")

    def clean_device(self) -> str:
        return "".join(ch for ch in self.cleaned_data.get("device", "") if ch.isprintable())[:120]


class PushPreferencesForm(forms.ModelForm):
    class Meta:
        model = PushPreferences
        fields = ["reminders", "checkins", "nudges", "nudge_at", "quiet_from", "quiet_until"]
        labels = {
            "reminders": _("Appointment reminders"),
            "checkins": _("After-visit check-ins"),
            "nudges": _("A daily nudge for my home exercises"),
            "nudge_at": _("Nudge me at"),
            "quiet_from": _("Quiet from"),
            "quiet_until": _("Quiet until"),
        }
        widgets = {
            "nudge_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_from": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "quiet_until": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        help_texts = {
            "quiet_from": _("No notifications from this time…"),
            "quiet_until": _("…until this time (your clinic's time zone). Set both the same for no quiet hours."),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        nudge, start, end = data.get("nudge_at"), data.get("quiet_from"), data.get("quiet_until")
        if data.get("nudges") and nudge and start and end and start != end:
            quiet = start <= nudge < end if start < end else (nudge >= start or nudge < end)
            if quiet:
                self.add_error("nudge_at", _("That time is inside your quiet hours, so the nudge would never come. Choose another time."))
        return data
