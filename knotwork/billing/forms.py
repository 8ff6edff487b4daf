"""Billing forms. Amounts are parsed by knotwork.billing.money, so a page refuses exactly what the
API refuses, with the same sentence."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from knotwork.accounts.models import Clinic, User
from knotwork.billing import money
from knotwork.billing.models import (
    BillingSettings,
    ClientMembership,
    ClientPackage,
    InvoiceLine,
    LineKind,
    PackageProduct,
    PaymentMethod,
    TaxRate,
)
from knotwork.bookings.models import Service
from knotwork.bookings.setup_forms import ISO_4217
from knotwork.clients.models import Client


class AmountField(forms.CharField):
    """A money amount typed as text: parsed exactly (never through float) and quantised."""

    def __init__(self, *args: Any, allow_zero: bool = False, **kwargs: Any) -> None:
        self.allow_zero = allow_zero
        self.currency = "GBP"
        kwargs.setdefault("max_length", 20)
        super().__init__(*args, **kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})

    def clean(self, value: Any) -> Decimal | None:  # type: ignore[override]
        value = super().clean(value)
        if value in ("", None):
            return None
        try:
            return money.parse_amount(value, self.currency, allow_zero=self.allow_zero)
        except money.MoneyError as exc:
            raise forms.ValidationError(str(exc)) from None


class BillingSettingsForm(forms.ModelForm):
    class Meta:
        model = BillingSettings
        fields = [
            "legal_name",
            "address",
            "tax_number",
            "currency",
            "prices_include_tax",
            "default_tax_rate",
            "invoice_prefix",
            "credit_note_prefix",
            "payment_terms_days",
            "footer",
            "gift_card_validity_days",
        ]
        labels = {
            "prices_include_tax": "Prices include tax",
            "payment_terms_days": "Payment terms (days)",
            "default_tax_rate": "Tax rate for services at check-out",
            "gift_card_validity_days": "Gift cards valid for (days)",
        }
        widgets = {"address": forms.Textarea(attrs={"rows": 3}), "footer": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"currency": "Three-letter ISO 4217 code, e.g. GBP, EUR, USD. New invoices use it; issued ones keep theirs."}

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["default_tax_rate"]
        field.queryset = TaxRate.objects.filter(clinic=clinic, is_active=True)  # type: ignore[attr-defined]
        field.empty_label = "No tax"  # type: ignore[attr-defined]

    def clean_currency(self) -> str:
        code = (self.cleaned_data.get("currency") or "").strip().upper()
        if code not in ISO_4217:
            raise forms.ValidationError("Use an ISO 4217 currency code such as GBP, EUR or USD.")
        try:
            return money.check_currency(code)
        except money.MoneyError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("invoice_prefix") is not None and data.get("invoice_prefix") == data.get("credit_note_prefix"):
            self.add_error("credit_note_prefix", "Credit notes need a prefix of their own, so their numbers never look like invoices'.")
        return data


class TaxRateForm(forms.ModelForm):
    class Meta:
        model = TaxRate
        fields = ["name", "rate"]
        labels = {"rate": "Rate (%)"}

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.fields["rate"].widget.attrs.update({"min": "0", "max": "100", "step": "0.01", "inputmode": "decimal"})

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if TaxRate.objects.filter(clinic=self.clinic, name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("The clinic already has a tax rate with that name.")
        return name


class LineForm(forms.Form):
    # A tip has its own step at check-out (TipForm): it needs a therapist and no tax.
    kind = forms.ChoiceField(choices=[c for c in LineKind.choices if c[0] != LineKind.TIP], initial=LineKind.PRODUCT)
    description = forms.CharField(max_length=200)
    quantity = forms.IntegerField(min_value=1, max_value=money.MAX_QUANTITY, initial=1)
    unit_price = AmountField(label="Unit price", allow_zero=True)
    discount = AmountField(label="Discount (amount)", required=False, allow_zero=True)
    tax_rate = forms.ModelChoiceField(queryset=TaxRate.objects.none(), required=False, empty_label="No tax")

    def __init__(self, *args: Any, clinic: Clinic, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tax_rate"].queryset = TaxRate.objects.filter(clinic=clinic, is_active=True)  # type: ignore[attr-defined]
        for name in ("unit_price", "discount"):
            self.fields[name].currency = currency  # type: ignore[attr-defined]


class TipForm(forms.Form):
    """The check-out's tip step: who it is for, then a preset percentage (the button pressed) or
    another amount. Parsed by knotwork.billing.tips, so the page and the API refuse alike."""

    therapist = forms.ModelChoiceField(queryset=User.objects.none(), label="Tip for", empty_label=None)
    # Sent by the percentage button pressed (the template draws them; the field itself is not drawn).
    percent = forms.CharField(required=False, max_length=8)
    amount = forms.CharField(
        required=False, max_length=20, label="Other tip", help_text="An amount typed here is used instead of a percentage.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )  # fmt: skip

    def __init__(self, *args: Any, invoice: Any, **kwargs: Any) -> None:
        from knotwork.billing.tips import tip_staff

        kwargs.setdefault("auto_id", "id_tip_%s")  # the issue form on the same page has its own "amount"
        super().__init__(*args, **kwargs)
        staff = tip_staff(invoice.clinic_id)
        field = self.fields["therapist"]
        field.queryset = User.objects.filter(pk__in=[u.pk for u in staff])  # type: ignore[attr-defined]
        field.choices = [(u.pk, u.display_name) for u in staff]  # type: ignore[attr-defined]
        appointment = invoice.appointment
        if appointment is not None and appointment.therapist_id in {u.pk for u in staff}:
            field.initial = appointment.therapist_id
        self.fields["amount"].label = f"Other tip ({invoice.currency})"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["amount"] = (data.get("amount") or "").strip()
        if data["amount"]:
            data["percent"] = ""  # Enter in the amount box presses the first button, a percentage
        elif not data.get("percent"):
            self.add_error("amount", "Press a percentage or enter an amount.")
        return data


# Online card payments are recorded by the provider's confirmation, never entered at the desk; gift
# cards and package sessions have fields of their own (a code, a package) on the pay forms.
DESK_METHODS = [
    c for c in PaymentMethod.choices
    if c[0] not in (PaymentMethod.CARD_ONLINE, PaymentMethod.GIFT_CARD, PaymentMethod.PACKAGE, PaymentMethod.MEMBERSHIP)
]  # fmt: skip


class PaymentForm(forms.Form):
    """Pay at the desk: a package session and/or a gift card, then money for the rest. Every part
    is optional but one; all of it is taken in one transaction or none of it."""

    membership = forms.ModelChoiceField(
        queryset=ClientMembership.objects.none(), required=False, label="Use a membership credit", empty_label="No membership credit",
        help_text="Pays one session of a service the membership's credits cover.",
    )  # fmt: skip
    package = forms.ModelChoiceField(
        queryset=ClientPackage.objects.none(), required=False, label="Use a package session", empty_label="No package",
        help_text="Pays one session of a service the package covers.",
    )  # fmt: skip
    gift_card_code = forms.CharField(
        max_length=40, required=False, label="Gift card code", help_text="The 16 characters on the card; spaces and dashes are ignored.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )  # fmt: skip
    gift_card_amount = AmountField(
        required=False, label="Amount from the gift card", help_text="Leave empty to use as much as the card holds, up to what is owed."
    )
    method = forms.ChoiceField(
        choices=DESK_METHODS, initial=PaymentMethod.CARD_TERMINAL, label="Payment method",
        help_text="With a package session or gift card above, how the rest is paid.",
    )  # fmt: skip
    amount = AmountField(required=False)
    reference = forms.CharField(max_length=100, required=False, help_text="Terminal receipt, cheque or transfer reference.")
    needs_something = True

    def __init__(self, *args: Any, currency: str, client: Client | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("amount", "gift_card_amount"):
            self.fields[name].currency = currency  # type: ignore[attr-defined]
        self.fields["amount"].label = f"Amount ({currency})"
        self.fields["gift_card_amount"].label = f"Amount from the gift card ({currency})"
        if client is not None:
            from knotwork.billing.prepaid_selectors import package_choice_label, usable_packages

            field = self.fields["package"]
            field.queryset = usable_packages(client)  # type: ignore[attr-defined]
            field.label_from_instance = lambda p: package_choice_label(p, client)  # type: ignore[attr-defined]
        if not self.fields["package"].queryset.exists():  # type: ignore[attr-defined]
            del self.fields["package"]
        if client is not None:
            from knotwork.billing.membership import usable_memberships

            self.fields["membership"].queryset = usable_memberships(client)  # type: ignore[attr-defined]
            field = self.fields["membership"]
            field.label_from_instance = lambda m: f"{m.name} — {m.credits_left} credit{'s' if m.credits_left != 1 else ''} left"  # type: ignore[attr-defined]
        if not self.fields["membership"].queryset.exists():  # type: ignore[attr-defined]
            del self.fields["membership"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        code = (data.get("gift_card_code") or "").strip()
        if data.get("gift_card_amount") is not None and not code:
            self.add_error("gift_card_code", "Enter the gift card's code to take an amount from it.")
        something = data.get("package") or data.get("membership") or code
        if self.needs_something and not something and data.get("amount") is None and "amount" not in self.errors:
            self.add_error("amount", "Enter the amount received, a gift card code or a package session.")
        return data


class CheckoutPayForm(PaymentForm):
    """Issue and take payment in one step; an empty amount issues without a payment."""

    needs_something = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"].help_text = "Leave empty to issue the invoice without taking a payment now."


class RefundForm(forms.Form):
    amount = AmountField()
    reason = forms.CharField(max_length=300, required=False, widget=forms.TextInput)

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"].currency = currency  # type: ignore[attr-defined]
        self.fields["amount"].label = f"Amount to refund ({currency})"


class VoidForm(forms.Form):
    reason = forms.CharField(max_length=300, help_text="Kept with the invoice and shown on it. The number stays used.")


class CreditNoteForm(forms.Form):
    lines = forms.ModelMultipleChoiceField(queryset=InvoiceLine.objects.none(), widget=forms.CheckboxSelectMultiple)
    reason = forms.CharField(max_length=300, help_text="Printed on the credit note.")

    def __init__(self, *args: Any, invoice: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["lines"]
        field.queryset = invoice.lines.filter(credited_by__isnull=True)  # type: ignore[attr-defined]
        field.label_from_instance = lambda line: f"{line.description} — {money.format_money(line.total, invoice.currency)}"  # type: ignore[attr-defined]


class GiftCardSellForm(forms.Form):
    amount = AmountField(label="Value")
    recipient_name = forms.CharField(max_length=120, required=False, label="Recipient's name")
    recipient_email = forms.EmailField(
        required=False, label="Recipient's e-mail", help_text="The code is e-mailed here once the card is paid for (else to the buyer)."
    )
    message = forms.CharField(max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["amount"].currency = currency  # type: ignore[attr-defined]
        self.fields["amount"].label = f"Value ({currency})"


class GiftCardLookupForm(forms.Form):
    code = forms.CharField(
        max_length=40, label="Gift card code", widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"})
    )


class PackageSellForm(forms.Form):
    product = forms.ModelChoiceField(queryset=PackageProduct.objects.none(), label="Package", empty_label=None)

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = PackageProduct.objects.filter(clinic=clinic, is_active=True)  # type: ignore[attr-defined]
        field = self.fields["product"]
        field.label_from_instance = lambda p: f"{p.name} — {p.sessions} sessions, {money.format_money(p.price, p.currency)}"  # type: ignore[attr-defined]


class PackageProductForm(forms.ModelForm):
    price = AmountField(label="Price")

    class Meta:
        model = PackageProduct
        fields = ["name", "sessions", "price", "tax_rate", "services", "validity_days", "shareable"]
        labels = {"sessions": "Number of sessions", "validity_days": "Valid for (days)", "shareable": "Shareable within the family"}
        widgets = {"services": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, clinic: Clinic, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clinic, self.currency = clinic, currency
        self.fields["price"].currency = currency  # type: ignore[attr-defined]
        self.fields["price"].label = f"Price ({currency})"
        self.fields["services"].queryset = Service.objects.filter(clinic=clinic, is_active=True)  # type: ignore[attr-defined]
        self.fields["tax_rate"].queryset = TaxRate.objects.filter(clinic=clinic, is_active=True)  # type: ignore[attr-defined]
        self.fields["tax_rate"].empty_label = "No tax"  # type: ignore[attr-defined]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if PackageProduct.objects.filter(clinic=self.clinic, name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("The clinic already sells a package with that name.")
        return name

    def save(self, commit: bool = True) -> PackageProduct:
        product = super().save(commit=False)
        product.clinic, product.currency = self.clinic, self.currency
        if commit:
            product.save()
            self.save_m2m()
        return product
