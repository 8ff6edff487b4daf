"""Pages for the card on file and the fees: the client's saved card on the portal (save, replace,
remove), the desk removing a client's card, and the fees page — the clinic's fee policy (owner),
the desk's to-do list, one-click charge and waiving (docs/money.md, "Card on file and fees")."""

from __future__ import annotations

import logging
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from knotwork.accounts.models import Capability, Membership, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.billing import cardfile, fees, money
from knotwork.billing.models import Fee, FeeBasis, FeePolicy, FeeStatus
from knotwork.billing.providers import ProviderError, get_provider
from knotwork.billing.selectors import settings_for
from knotwork.billing.services import BillingError
from knotwork.billing.stripejs import with_stripe_csp
from knotwork.bookings.models import Service
from knotwork.clients.intake.selectors import get_own_client
from knotwork.lib.views import paginate, staff_view

log = logging.getLogger(__name__)


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


class FeePolicyForm(forms.ModelForm):
    class Meta:
        model = FeePolicy
        fields = ["late_cancel_basis", "late_cancel_value", "no_show_basis", "no_show_value", "charge_mode"]
        labels = {
            "late_cancel_basis": "Late cancellation fee",
            "late_cancel_value": "Late cancellation: amount or percentage",
            "no_show_basis": "No-show fee",
            "no_show_value": "No-show: amount or percentage",
            "charge_mode": "How fees are charged",
        }

    card_services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Services that ask for a saved card",
        help_text="Only these services cost a fee when missed; their clients are asked to save a card.",
    )

    def __init__(self, *args: Any, currency: str, clinic: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        services = Service.objects.filter(clinic=clinic, is_active=True, payment_policy__in=fees.CARD_CHOICES).order_by("position", "name")
        field = cast(forms.ModelMultipleChoiceField, self.fields["card_services"])
        field.queryset = services
        if not self.is_bound:
            self.initial["card_services"] = [s.pk for s in services if s.payment_policy == Service.PaymentPolicy.CARD_ON_FILE]
        for name in ("late_cancel_value", "no_show_value"):
            self.fields[name].widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
            self.fields[name].help_text = f"In {currency} for a fixed amount, or 0–100 for a percentage of the service's price."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for prefix in ("late_cancel", "no_show"):
            basis, value = data.get(f"{prefix}_basis"), data.get(f"{prefix}_value")
            if basis is None or value is None:
                continue
            field = f"{prefix}_value"
            if basis == FeeBasis.NONE:
                data[field] = value = money.quantize(value * 0, self.currency)
            elif value <= 0:
                self.add_error(field, "Give the fee, or choose “No fee”.")
            elif basis == FeeBasis.PERCENT and value > 100:
                self.add_error(field, "A percentage is at most 100.")
            elif basis == FeeBasis.FIXED and value != money.quantize(value, self.currency):
                self.add_error(field, f"{self.currency} takes at most {0 if money.exponent(self.currency) == 1 else 2} decimal places.")
        return data


class WaiveForm(forms.Form):
    reason = forms.CharField(label="Why is the fee waived?", max_length=300, widget=forms.Textarea(attrs={"rows": 3}))


# --- The client's card (portal) --------------------------------------------------------------------


@login_required
@require_safe
@never_cache  # the page carries the set-up intent's client secret
@with_stripe_csp
def portal_card(request: HttpRequest, client_id: int) -> HttpResponse:
    """The client's saved card, and Stripe's card form to save (or replace) one."""
    client = get_own_client(_user(request), client_id)
    provider = get_provider()
    card = cardfile.saved_card(client)
    context: dict[str, Any] = {"client": client, "card": card, "configured": provider is not None, "setup": None}
    context["sentence"] = fees.policy_sentence(client.clinic)
    wants_form = card is None or request.GET.get("replace") == "1"
    if provider is not None and wants_form:
        try:
            context["setup"] = cardfile.setup_open(client=client, provider=provider)
        except ProviderError as exc:
            log.warning("card set-up for client %s unavailable: %s", client.pk, exc)
        context["publishable_key"] = provider.publishable_key
        context["return_url"] = request.build_absolute_uri(reverse("portal_card_return", args=[client.pk]))
    unavailable = provider is not None and wants_form and context["setup"] is None
    return render(request, "billing/portal_card.html", context, status=503 if unavailable else 200)


@login_required
@require_safe
@never_cache
def portal_card_return(request: HttpRequest, client_id: int) -> HttpResponse:
    """Where the card form sends the client after Stripe confirmed the set-up: the status is read
    back from Stripe (never taken from the browser) and the card kept if it succeeded."""
    client = get_own_client(_user(request), client_id)
    provider = get_provider()
    if provider is None:
        return redirect("portal_card", client.pk)  # which says that saving a card is not set up
    try:
        status, card = cardfile.setup_return(client=client, setup_intent_id=request.GET.get("setup_intent", "")[:255], provider=provider)
    except (ProviderError, BillingError) as exc:
        log.warning("card set-up status for client %s unavailable: %s", client.pk, exc)
        status, card = "unknown", None
    if card is not None:
        messages.success(request, f"Your {card} is saved.")
    elif status == "processing":
        messages.info(request, "Your card is being checked by your bank. It appears here once they confirm.")
    else:
        messages.error(request, "The card was not saved. Please try again, or use another card.")
    return redirect("portal_card", client.pk)


@login_required
@require_POST
def portal_card_remove(request: HttpRequest, client_id: int) -> HttpResponse:
    client = get_own_client(_user(request), client_id)
    card = cardfile.saved_card(client)
    if card is not None:
        cardfile.card_remove(card=card, actor=_user(request), role="client")
    messages.success(request, "Your card is removed." if card else "No card is saved.")
    return redirect("portal_card", client.pk)


@login_required
@require_POST
def client_card_remove(request: HttpRequest, client_id: int) -> HttpResponse:
    """The desk removes a client's saved card (at the client's request, say)."""
    client, membership = cardfile.get_card_client_for_staff(_user(request), client_id)
    card = cardfile.saved_card(client)
    if card is not None:
        cardfile.card_remove(card=card, actor=_user(request), role=membership.role)
    messages.success(request, f"{client.full_name}'s saved card is removed." if card else f"{client.full_name} has no saved card.")
    return redirect("client_account", client.pk)


# --- Fees (the desk; the policy by the owner) ------------------------------------------------------


@staff_view(Capability.TAKE_PAYMENTS)
def fee_list(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    clinic = membership.clinic
    owner = membership.can(Capability.MANAGE_CLINIC)
    policy = FeePolicy.for_clinic(clinic)
    if request.method == "POST" and not owner:
        raise PermissionDenied("The fee policy is set by the clinic owner.")
    data = request.POST if request.method == "POST" else None
    form = FeePolicyForm(data, instance=policy, currency=settings_for(clinic).currency, clinic=clinic)
    if request.method == "POST" and form.is_valid():
        fees.policy_save(policy=form.save(commit=False), card_services=list(form.cleaned_data["card_services"]), membership=membership)
        messages.success(request, "Fee policy saved.")
        return redirect("fee_list")
    todo = fees.fee_todo(clinic)
    page = paginate(
        request, Fee.objects.filter(clinic=clinic).select_related("client", "invoice", "appointment__service", "appointment__clinic")
    )
    audit_many(action=Action.LIST, objects=[*todo, *page.object_list], clinic=clinic, role=membership.role)
    context = {
        "form": form, "owner": owner, "sentence": fees.policy_sentence(clinic), "todo": todo, "page": page,
        "configured": get_provider() is not None,
    }  # fmt: skip
    return render(request, "billing/fees.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def fee_charge(request: HttpRequest, pk: int) -> HttpResponse:
    """The desk's one click: charge the fee to the client's saved card now."""
    fee, _ = fees.get_fee_for_user(_user(request), pk, write=True)
    fee = fees.fee_charge(fee=fee, actor=_user(request))
    if fee.status == FeeStatus.PAID:
        messages.success(request, f"Charged {money.format_money(fee.amount, fee.currency)} to the saved card.")
    elif fee.status == FeeStatus.CHARGING:
        messages.info(request, "The card payment is under way; it is recorded as soon as the bank confirms.")
    else:
        messages.error(request, fee.problem or "The card was not charged.")
    return redirect("fee_list")


@login_required
def fee_waive(request: HttpRequest, pk: int) -> HttpResponse:
    fee, _ = fees.get_fee_for_user(_user(request), pk, write=request.method == "POST")
    form = WaiveForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            fees.fee_waive(fee=fee, actor=_user(request), reason=form.cleaned_data["reason"])
        except BillingError as exc:
            form.add_error("reason" if exc.field == "reason" else None, exc.message)
        else:
            messages.success(request, "Fee waived; a credit note cancels its invoice.")
            return redirect("fee_list")
    return render(request, "billing/fee_waive.html", {"fee": fee, "form": form}, status=400 if form.errors else 200)
