"""Forms for setting bookings up. Every form validates fully before anything is saved, so a
rejected submit comes back with what was typed and a clear message per field."""

from __future__ import annotations

from typing import Any

from django import forms

from knotwork.accounts.models import Clinic, Membership
from knotwork.bookings.models import Availability, AvailabilityException, BookingPolicy, Room, Service
from knotwork.bookings.selectors import clinic_therapists
from knotwork.lib.claim_codes import normalise_cpt, normalise_modifier

# Active ISO 4217 currency codes: a three-letter pattern alone would accept "ABC".
ISO_4217 = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF
    CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF
    IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
    MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND
    VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()  # noqa: SIM905 (a list literal of 150 codes reads worse)
)


class ServiceForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = [
            "name",
            "kind",
            "mode",
            "description",
            "therapist",
            "duration_minutes",
            "buffer_before_minutes",
            "buffer_after_minutes",
            "price",
            "currency",
            "online_booking",
            "needs_room",
            "position",
            "payment_policy",
            "deposit_amount",
            "deposit_percent",
            "cpt_code",
            "cpt_modifier",
        ]
        labels = {
            "payment_policy": "When booked online, take",
            "deposit_amount": "Deposit (amount)",
            "deposit_percent": "Deposit (% of the price)",
            "duration_minutes": "Duration (minutes)",
            "buffer_before_minutes": "Buffer before (minutes)",
            "buffer_after_minutes": "Buffer after (minutes)",
            "online_booking": "Who may book online",
            "needs_room": "Needs a room",
            "position": "Order on the booking page",
        }
        help_texts = {
            "currency": "Three-letter ISO 4217 code, e.g. GBP, EUR, USD.",
            "cpt_code": "For US superbills only, e.g. 97140 manual therapy, 97124 massage, 97112 neuromuscular re-education.",
            "cpt_modifier": "Optional, e.g. GP or 59.",
        }

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        therapist = self.fields["therapist"]
        therapist.queryset = clinic_therapists(clinic)  # type: ignore[attr-defined]
        therapist.label_from_instance = lambda u: u.display_name  # type: ignore[attr-defined]
        therapist.empty_label = "Any therapist of the clinic"  # type: ignore[attr-defined]
        therapist.help_text = "Leave as any therapist for a clinic-wide service."
        self.fields["price"].widget.attrs.update({"min": "0", "step": "0.01", "inputmode": "decimal"})
        self.fields["currency"].widget.attrs.update({"maxlength": "3", "autocapitalize": "characters"})
        policy = self.fields["payment_policy"]
        policy.required = False  # a form without it keeps "nothing"
        policy.help_text = (
            "A deposit or prepayment is taken by card when the client books online (online card payments must be set up) "
            "and keeps their card for the clinic's cancellation and no-show fees."
        )
        self.fields["deposit_amount"].widget.attrs.update({"min": "0.01", "step": "0.01", "inputmode": "decimal"})

    def clean_currency(self) -> str:
        code = (self.cleaned_data.get("currency") or "").strip().upper()
        if code not in ISO_4217:
            raise forms.ValidationError(f"“{code}” is not a currency code we know. Use a three-letter ISO 4217 code such as GBP.")
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        policy = data.get("payment_policy") or Service.PaymentPolicy.NONE
        data["payment_policy"] = policy
        amount, percent = data.get("deposit_amount"), data.get("deposit_percent")
        if policy == Service.PaymentPolicy.DEPOSIT:
            if (amount is None) == (percent is None):
                self.add_error("deposit_amount", "Give the deposit either as an amount or as a percentage of the price, not both.")
            elif amount is not None and data.get("price") is not None and amount > data["price"]:
                self.add_error("deposit_amount", "A deposit cannot be more than the price. Choose prepayment to take the full price.")
        else:
            data["deposit_amount"] = data["deposit_percent"] = None
        if policy in (Service.PaymentPolicy.DEPOSIT, Service.PaymentPolicy.PREPAY) and data.get("price") == 0:
            self.add_error("payment_policy", "A free service has nothing to pay when booking.")
        if data.get("cpt_modifier") and not data.get("cpt_code"):
            self.add_error("cpt_modifier", "A modifier goes with a CPT code: give the code too, or leave both empty.")
        return data

    def clean_cpt_code(self) -> str:
        return normalise_cpt(self.cleaned_data.get("cpt_code") or "")

    def clean_cpt_modifier(self) -> str:
        return normalise_modifier(self.cleaned_data.get("cpt_modifier") or "")

    def clean_price(self) -> Any:
        price = self.cleaned_data.get("price")
        if price is not None and price < 0:
            raise forms.ValidationError("A price cannot be negative. Use 0 for a free service.")
        return price


class RoomForm(forms.ModelForm):
    class Meta:
        model = Room
        fields = ["name"]
        labels = {"name": "Room name"}

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic

    def clean_name(self) -> str:
        name = (self.cleaned_data.get("name") or "").strip()
        if Room.objects.filter(clinic=self.clinic, name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("The clinic already has a room with this name.")
        return name


class PolicyForm(forms.ModelForm):
    reminder_offsets_hours = forms.CharField(
        label="Reminders (hours before)",
        required=False,
        help_text="Comma-separated whole hours, e.g. 24, 2. Leave empty for no reminders.",
    )

    class Meta:
        model = BookingPolicy
        fields = [
            "cancel_notice_hours",
            "min_notice_minutes",
            "horizon_days",
            "hold_minutes",
            "slot_step_minutes",
            "reminder_offsets_hours",
            "sms_reminders",
            "max_pending_per_client",
        ]
        labels = {
            "cancel_notice_hours": "Cancellation notice (hours)",
            "min_notice_minutes": "Minimum notice for online booking (minutes)",
            "horizon_days": "Booking horizon (days ahead)",
            "hold_minutes": "Hold a chosen time for (minutes)",
            "slot_step_minutes": "Offer a start time every (minutes)",
            "sms_reminders": "Also send reminders by text message",
            "max_pending_per_client": "Upcoming bookings allowed per client",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["reminder_offsets_hours"] = ", ".join(str(h) for h in self.instance.reminder_offsets)

    def clean_reminder_offsets_hours(self) -> list[int]:
        raw = [part.strip() for part in (self.cleaned_data.get("reminder_offsets_hours") or "").split(",") if part.strip()]
        if not all(part.isdigit() and 0 < int(part) <= 24 * 14 for part in raw):
            raise forms.ValidationError("Use whole hours between 1 and 336, separated by commas.")
        if len(raw) > 5:
            raise forms.ValidationError("At most five reminders.")
        return sorted({int(part) for part in raw}, reverse=True)


def _time_widget() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")


class AvailabilityForm(forms.ModelForm):
    class Meta:
        model = Availability
        fields = ["weekday", "start_time", "end_time"]
        labels = {"start_time": "From", "end_time": "Until"}
        widgets = {"start_time": _time_widget(), "end_time": _time_widget()}

    def __init__(self, *args: Any, target: Membership, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "block")
        super().__init__(*args, **kwargs)
        self.target = target
        self.fields["start_time"].help_text = f"{target.clinic.time_zone} time"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end, weekday = data.get("start_time"), data.get("end_time"), data.get("weekday")
        if start is None or end is None or weekday is None:
            return data
        if end <= start:
            self.add_error("end_time", "The end must be after the start.")
            return data
        clash = Availability.objects.filter(
            clinic=self.target.clinic, therapist=self.target.user, weekday=weekday, start_time__lt=end, end_time__gt=start
        ).first()
        if clash is not None:
            self.add_error(None, f"This overlaps the working hours already set for {clash}. Change or remove those first.")
        return data


class ExceptionForm(forms.ModelForm):
    class Meta:
        model = AvailabilityException
        fields = ["day", "kind", "start_time", "end_time"]
        labels = {"day": "Date", "kind": "What changes", "start_time": "From", "end_time": "Until"}
        widgets = {
            "day": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "start_time": _time_widget(),
            "end_time": _time_widget(),
        }
        help_texts = {"start_time": "Leave both times empty for a whole day off."}

    def __init__(self, *args: Any, target: Membership, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "exception")
        super().__init__(*args, **kwargs)
        self.target = target

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end, kind = data.get("start_time"), data.get("end_time"), data.get("kind")
        if self.errors:
            return data
        if (start is None) != (end is None):
            self.add_error("end_time" if start else "start_time", "Give both times, or neither for a whole day off.")
        elif start is None and kind == AvailabilityException.Kind.EXTRA:
            self.add_error("start_time", "Extra hours need a start and an end time.")
        elif start is not None and end is not None and end <= start:
            self.add_error("end_time", "The end must be after the start.")
        return data
