"""The online booking's payment step for services that take a deposit or prepayment
(knotwork/billing/deposits.py; docs/money.md, "Deposits and prepayment").

The booking's confirm page (knotwork/bookings/views.py) keeps the hold and issues the invoice,
then sends the client here. The step is tied to the browser's session and to the signed-in
client the hold was kept for; anyone else is sent back to the start."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from knotwork.billing import cardfile, deposits, fees
from knotwork.billing.models import Invoice
from knotwork.billing.providers import ProviderError, get_provider
from knotwork.billing.services import BillingError
from knotwork.billing.stripejs import with_stripe_csp

log = logging.getLogger(__name__)

SESSION_KEY = "knotwork_deposit"


def remember(request: HttpRequest, invoice: Invoice) -> None:
    request.session[SESSION_KEY] = {"invoice": invoice.pk}


def _invoice(request: HttpRequest) -> Invoice | None:
    """The invoice of this session's booking, if it belongs to the signed-in person."""
    data = request.session.get(SESSION_KEY)
    invoice_id = data.get("invoice") if isinstance(data, dict) else None
    if not isinstance(invoice_id, int):
        return None
    rows = Invoice.objects.select_related("client", "clinic", "appointment", "appointment__service", "appointment__therapist")
    invoice = rows.filter(pk=invoice_id, client__portal_user_id=request.user.pk).first()
    return invoice if invoice is not None and invoice.appointment is not None else None


def _finish(request: HttpRequest, outcome: deposits.Outcome) -> HttpResponse | None:
    """Where an outcome leads, or None to show the payment page again with its message."""
    if outcome.state == "booked" and outcome.appointment is not None:
        request.session.pop(SESSION_KEY, None)
        messages.success(request, "Your deposit is paid and your appointment is booked. A confirmation is on its way by e-mail.")
        return redirect("appointment_detail", outcome.appointment.pk)
    if outcome.state in ("refunded", "gone"):
        request.session.pop(SESSION_KEY, None)
        messages.error(request, outcome.message or "This booking is no longer available. Please choose a time again.")
        return redirect("home")
    return None


def _gone(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    messages.warning(request, "There is no booking waiting for payment. Please choose a time.")
    return redirect("home")


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
@with_stripe_csp
def book_deposit(request: HttpRequest) -> HttpResponse:
    """Pay what booking takes at once: with the saved card (one button), or a new card saved first."""
    invoice = _invoice(request)
    provider = get_provider()
    if invoice is None or provider is None:
        return _gone(request)
    problem = ""
    if request.method == "POST":
        outcome = deposits.deposit_charge(invoice=invoice, provider=provider)
        done = _finish(request, outcome)
        if done is not None:
            return done
        problem = outcome.message
    elif deposits.still_due(invoice) <= 0:  # paid already (the webhook came first, or a second tab)
        done = _finish(request, deposits.settle(invoice))
        if done is not None:
            return done
    appointment = invoice.appointment
    assert appointment is not None  # _invoice checked it
    client = invoice.client
    card = cardfile.saved_card(client)
    context: dict[str, Any] = {
        "invoice": invoice, "appointment": appointment, "client": client, "card": card, "problem": problem,
        "due": deposits.still_due(invoice), "price": appointment.price, "setup": None,
        "prepay": appointment.service.payment_policy == appointment.service.PaymentPolicy.PREPAY,
        "sentence": fees.policy_sentence(appointment.clinic, appointment.service),
        "hold_until": appointment.hold_expires_at,
    }  # fmt: skip
    if card is None or request.GET.get("new") == "1":
        try:
            context["setup"] = cardfile.setup_open(client=client, provider=provider)
        except ProviderError as exc:
            log.warning("card set-up for a deposit (invoice %s) unavailable: %s", invoice.pk, exc)
            context["problem"] = problem or "Card payments cannot be reached just now. Please try again in a minute."
        context["publishable_key"] = provider.publishable_key
        context["return_url"] = request.build_absolute_uri(reverse("book_deposit_card"))
    return render(request, "billing/deposit.html", context, status=400 if problem else 200)


@login_required
@require_safe
@never_cache
def book_deposit_card(request: HttpRequest) -> HttpResponse:
    """Where the card form returns: keep the card Stripe says was saved, then charge the deposit."""
    invoice = _invoice(request)
    provider = get_provider()
    if invoice is None or provider is None:
        return _gone(request)
    setup_id = request.GET.get("setup_intent", "")[:255]
    try:
        card = cardfile.setup_return(client=invoice.client, setup_intent_id=setup_id, provider=provider)[1]
    except (ProviderError, BillingError) as exc:
        log.warning("card set-up status for a deposit (invoice %s) unavailable: %s", invoice.pk, exc)
        card = None
    if card is None:
        messages.error(request, "The card was not saved. Please try again, or use another card.")
        return redirect("book_deposit")
    outcome = deposits.deposit_charge(invoice=invoice, provider=provider)
    done = _finish(request, outcome)
    if done is not None:
        return done
    messages.error(request, outcome.message)
    return redirect("book_deposit")
