"""Forms for memberships: the owner's plan, the desk's sign-up, pause and cancellation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms

from knotwork.accounts.models import Clinic
from knotwork.billing import money
from knotwork.billing.forms import AmountField
from knotwork.billing.membership_models import ClientMembership, MemberPricing, MembershipPlan
from knotwork.billing.models import TaxRate
from knotwork.bookings.models import Service


class MembershipPlanForm(forms.ModelForm):
    price = AmountField(label="Price per period")

    class Meta:
        model = MembershipPlan
        fields = [
            "name", "price", "period_count", "period_unit", "tax_rate", "credits_per_period", "credit_services", "rollover",
            "pricing", "pricing_value", "priced_services", "minimum_periods", "max_pause_days",
        ]  # fmt: skip
        labels = {
            "period_count": "Billed every", "period_unit": "Period", "credits_per_period": "Session credits per period",
            "credit_services": "Services a credit pays for", "rollover": "Unused credits roll over to the next period",
            "pricing": "Member price", "pricing_value": "Percentage off, or the member price",
            "priced_services": "Services the member price applies to", "minimum_periods": "Minimum term (periods)",
            "max_pause_days": "Longest pause (days)",
        }  # fmt: skip
        widgets = {"credit_services": forms.CheckboxSelectMultiple, "priced_services": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, clinic: Clinic, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic, self.currency = clinic, currency
        self.fields["price"].currency = currency  # type: ignore[attr-defined]
        self.fields["price"].label = f"Price per period ({currency})"
        services = Service.objects.filter(clinic=clinic, is_active=True)
        self.fields["credit_services"].queryset = services  # type: ignore[attr-defined]
        self.fields["priced_services"].queryset = services  # type: ignore[attr-defined]
        self.fields["tax_rate"].queryset = TaxRate.objects.filter(clinic=clinic, is_active=True)  # type: ignore[attr-defined]
        self.fields["tax_rate"].empty_label = "No tax"  # type: ignore[attr-defined]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if MembershipPlan.objects.filter(clinic=self.clinic, name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("The clinic already offers a membership with that name.")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        pricing, value = data.get("pricing"), data.get("pricing_value") or Decimal("0")
        if pricing == MemberPricing.PERCENT and not Decimal("0") < value <= Decimal("100"):
            self.add_error("pricing_value", "Enter a percentage between 0 and 100.")
        elif pricing == MemberPricing.PRICE:
            try:
                data["pricing_value"] = money.parse_amount(str(value), self.currency, allow_zero=True)
            except money.MoneyError as exc:
                self.add_error("pricing_value", str(exc))
        elif pricing == MemberPricing.NONE:
            data["pricing_value"] = Decimal("0.00")
        if data.get("credits_per_period") and not data.get("credit_services"):
            self.add_error("credit_services", "Choose the services a credit pays for.")
        return data

    def save(self, commit: bool = True) -> MembershipPlan:
        plan = super().save(commit=False)
        plan.clinic, plan.currency = self.clinic, self.currency
        if commit:
            plan.save()
            self.save_m2m()
        return plan


class SignUpForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=MembershipPlan.objects.none(), label="Membership", empty_label=None)
    pay_at_desk = forms.BooleanField(
        required=False, label="The client pays the first period at the desk now",
        help_text="Otherwise the first period is charged to the card on file at once. Later periods always go to the card on file.",
    )  # fmt: skip

    def __init__(self, *args: Any, clinic: Clinic, has_card: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["plan"]
        field.queryset = MembershipPlan.objects.filter(clinic=clinic, is_active=True)  # type: ignore[attr-defined]
        field.label_from_instance = lambda p: f"{p.name} — {money.format_money(p.price, p.currency)} {p.period_words}"  # type: ignore[attr-defined]
        if not has_card:
            self.fields["pay_at_desk"].initial = True


class PauseForm(forms.Form):
    until = forms.DateField(
        label="Resume on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), help_text="Billing starts again on this day."
    )
    reason = forms.CharField(max_length=300, required=False, widget=forms.TextInput)


class CancelForm(forms.Form):
    WHEN = [("period_end", "At the end of the paid period"), ("now", "Now")]
    when = forms.ChoiceField(choices=WHEN, initial="period_end", widget=forms.RadioSelect, label="End the membership")
    reason = forms.CharField(
        max_length=300, required=False, widget=forms.TextInput, help_text="Kept with the membership and in the audit log."
    )
    override_minimum = forms.BooleanField(
        required=False,
        label="End it inside the minimum term (clinic owner only; give the reason)",
    )

    def __init__(self, *args: Any, membership: ClientMembership, today: date, owner: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not membership.in_minimum_term(today) or not owner:
            del self.fields["override_minimum"]
