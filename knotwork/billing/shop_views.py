"""Buying online (knotwork/billing/shop.py; docs/money.md, "Buying online"): the public gift card
page, the portal's shop, the card payment step of an order and the page Stripe.js returns to, and
the desk's re-send of a gift card's e-mail.

An order's pages are tied to the browser that placed it (its session remembers the order) or to
the buyer's own portal login; anyone else gets a 404, as for an id that does not exist."""

from __future__ import annotations

import logging
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from knotwork.accounts.models import Clinic, User
from knotwork.billing import prepaid_selectors, shop
from knotwork.billing.providers import ProviderError, get_provider
from knotwork.billing.services import BillingError
from knotwork.billing.shop_forms import GiftCardBuyForm, PackageBuyForm
from knotwork.billing.stripejs import with_stripe_csp
from knotwork.billing.views import card_pay_page, card_pay_returned
from knotwork.bookings.selectors import portal_client_at
from knotwork.clients.intake.selectors import get_own_client
from knotwork.lib import context as request_context

log = logging.getLogger(__name__)

SESSION_KEY = "knotwork_shop_orders"
REMEMBERED = 10


def _user(request: HttpRequest) -> User | None:
    return cast(User, request.user) if request.user.is_authenticated else None


def _remember(request: HttpRequest, invoice_id: int) -> None:
    kept = [i for i in request.session.get(SESSION_KEY, []) if isinstance(i, int) and i != invoice_id]
    request.session[SESSION_KEY] = [*kept[-(REMEMBERED - 1) :], invoice_id]


def _order(request: HttpRequest, invoice_id: int) -> Any:
    remembered = [i for i in request.session.get(SESSION_KEY, []) if isinstance(i, int)]
    invoice = shop.order_for(invoice_id, session_orders=remembered, user=request.user)
    if invoice is None:
        raise Http404("No such order")
    return invoice


def _who(request: HttpRequest) -> str:
    user = _user(request)
    return f"user:{user.pk}" if user is not None else f"ip:{request_context.current().ip or request.META.get('REMOTE_ADDR', '')}"


def _too_many(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    context["problem"] = _("Too many orders from this connection. Please wait an hour, or contact the clinic.")
    return render(request, template, context, status=429)


@require_http_methods(["GET", "POST"])
def gift_card_buy(request: HttpRequest, slug: str) -> HttpResponse:
    """Public: buy a gift card of the clinic, for someone, paid by card online."""
    clinic = get_object_or_404(Clinic, slug=slug)
    user = _user(request)
    client = portal_client_at(clinic, user) if user is not None else None
    offer = shop.gift_card_offer(clinic)
    form = GiftCardBuyForm(request.POST or None, offer=offer, ask_name=client is None, ask_email=user is None)
    context: dict[str, Any] = {"clinic": clinic, "form": form, "offer": offer, "client": client, "configured": get_provider() is not None}
    if not context["configured"]:
        return render(request, "billing/shop_gift_card.html", context, status=404)
    if request.method == "POST" and form.is_valid():
        # Counted once the form is complete, so typing mistakes do not use up the allowance.
        if shop.orders_throttled(_who(request)):
            return _too_many(request, "billing/shop_gift_card.html", context)
        data = form.cleaned_data
        try:
            invoice, _card = shop.gift_card_order(
                clinic=clinic, user=user, amount=data["value"], recipient_name=data["recipient_name"],
                recipient_email=data["recipient_email"], message=data["message"], first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""), email=data.get("email", ""),
            )  # fmt: skip
        except BillingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            _remember(request, invoice.pk)
            return redirect("shop_order_pay", invoice.pk)
    return render(request, "billing/shop_gift_card.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def portal_shop(request: HttpRequest, client_id: int) -> HttpResponse:
    """The client's own shop: the clinic's packages on sale, and a gift card."""
    client = get_own_client(request.user, client_id)
    products = shop.packages_on_sale(client.clinic)
    form = PackageBuyForm(request.POST or None, products=products)
    context: dict[str, Any] = {"client": client, "products": products, "configured": get_provider() is not None}
    if request.method == "POST" and context["configured"]:
        if shop.orders_throttled(_who(request)):
            return _too_many(request, "billing/shop_portal.html", context)
        if not form.is_valid():
            raise Http404("No such package")  # another clinic's, withdrawn, or made up
        try:
            invoice, _package = shop.package_order(client=client, product=form.cleaned_data["product"], user=cast(User, request.user))
        except BillingError as exc:
            context["problem"] = exc.message
            return render(request, "billing/shop_portal.html", context, status=400)
        _remember(request, invoice.pk)
        return redirect("shop_order_pay", invoice.pk)
    return render(request, "billing/shop_portal.html", context)


@require_safe
@never_cache  # the page carries the intent's client secret
@with_stripe_csp
def order_pay(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Pay an order by card: Stripe's own form takes the card; Knotwork opens (or reuses) the intent."""
    invoice = _order(request, invoice_id)
    context: dict[str, Any] = {"invoice": invoice, "contents": shop.order_contents(invoice)}
    return card_pay_page(request, "billing/shop_pay.html", context, return_to="shop_order_done", what="order")


@require_safe
@never_cache
def order_done(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Where Stripe.js sends the buyer: the status read back from Stripe; a success is recorded
    here if the webhook has not recorded it yet (once, whichever is first)."""
    invoice = _order(request, invoice_id)
    context = card_pay_returned(request, invoice, shop.order_status, what="order", errors=(ProviderError, BillingError))
    invoice.refresh_from_db()
    context["contents"] = shop.order_contents(invoice)
    return render(request, "billing/shop_done.html", context)


@login_required
@require_POST
def gift_card_resend(request: HttpRequest, pk: int) -> HttpResponse:
    """The desk sends a paid card's code again, to where it went the first time."""
    card, membership = prepaid_selectors.get_gift_card_for_user(request.user, pk, write=True)
    try:
        to = shop.gift_card_resend(card=card, membership=membership)
    except shop.Throttled as exc:
        entries = card.entries.select_related("payment").order_by("at", "id")
        return render(request, "billing/gift_card.html", {"card": card, "entries": entries, "problem": exc.message}, status=429)
    except BillingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The gift card's code was e-mailed again to {to}.")
    return redirect("gift_card_detail", card.pk)
