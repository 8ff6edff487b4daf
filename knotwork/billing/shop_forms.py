"""The forms of buying online (knotwork/billing/shop.py): a gift card, and a package from the portal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from knotwork.billing.client_text import money_text
from knotwork.billing.forms import AmountField
from knotwork.billing.models import PackageProduct
from knotwork.billing.shop import GiftCardOffer

OTHER = "other"


class GiftCardBuyForm(forms.Form):
    """Amount (a suggested value or another within the clinic's range), the recipient, a message,
    and — for a visitor who is not signed in, or has no record at the clinic yet — the buyer."""

    amount = forms.ChoiceField(label=_("Amount"), widget=forms.RadioSelect)
    other_amount = AmountField(label=_("Another amount"), required=False)
    recipient_name = forms.CharField(label=_("Recipient's name"), max_length=120)
    recipient_email = forms.EmailField(
        label=_("Recipient's e-mail"), help_text=_("The gift card's code is e-mailed here as soon as the payment goes through.")
    )
    message = forms.CharField(
        label=_("Message (optional)"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 3, "maxlength": 300})
    )
    first_name = forms.CharField(label=_("Your first name"), max_length=80)
    last_name = forms.CharField(label=_("Your last name"), max_length=80)
    email = forms.EmailField(label=_("Your e-mail"), help_text=_("Your receipt is e-mailed here."))

    def __init__(self, *args: Any, offer: GiftCardOffer, ask_name: bool, ask_email: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offer = offer
        choices = [(str(a), money_text(a, offer.currency)) for a in offer.amounts]
        self.fields["amount"].choices = [*choices, (OTHER, _("Another amount"))]  # type: ignore[attr-defined]
        if choices and not self.is_bound:
            self.initial.setdefault("amount", choices[min(1, len(choices) - 1)][0])
        other = self.fields["other_amount"]
        other.currency = offer.currency  # type: ignore[attr-defined]
        other.label = _("Another amount (%(currency)s)") % {"currency": offer.currency}
        other.help_text = _("From %(low)s to %(high)s.") % {
            "low": money_text(offer.minimum, offer.currency),
            "high": money_text(offer.maximum, offer.currency),
        }
        for name, field in self.fields.items():
            if name in ("first_name", "last_name"):
                field.widget.attrs["autocomplete"] = "given-name" if name == "first_name" else "family-name"
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["recipient_email"].widget.attrs["autocomplete"] = "off"
        if not ask_name:
            del self.fields["first_name"], self.fields["last_name"]
        if not ask_email:
            del self.fields["email"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = data.get("amount")
        if chosen is None:
            return data
        if chosen == OTHER:
            value = data.get("other_amount")
            if value is None:
                if "other_amount" not in self.errors:
                    self.add_error("other_amount", _("Type the amount."))
                return data
            field = "other_amount"
        else:
            value = Decimal(chosen)
            field = "amount"
        problem = self.offer.refuse(value)
        if problem:
            self.add_error(field, problem)
        data["value"] = value
        return data


class PackageBuyForm(forms.Form):
    product = forms.ModelChoiceField(queryset=PackageProduct.objects.none(), widget=forms.HiddenInput)

    def __init__(self, *args: Any, products: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products  # type: ignore[attr-defined]
