"""Desk pages for gift cards and packages: lists with search and paging, one card or package with
its history, selling either to a client, the owner's package products, and the lookup by code.

Owner and front desk only (take_payments); objects come through get_gift_card_for_user /
get_package_for_user / get_client_for_user, so another clinic's are a 404.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Membership, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.billing import prepaid, prepaid_selectors, selectors
from knotwork.billing.forms import GiftCardLookupForm, GiftCardSellForm, PackageProductForm, PackageSellForm
from knotwork.billing.models import GiftCard, PackageProduct
from knotwork.billing.services import BillingError
from knotwork.clients.selectors import get_client_for_user
from knotwork.lib.views import paginate, staff_view


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _desk_client(request: HttpRequest, client_id: int) -> Any:
    client, membership = get_client_for_user(_user(request), client_id, write=request.method == "POST")
    if membership is None or not membership.can(Capability.TAKE_PAYMENTS):
        raise PermissionDenied("Selling is for the front desk and the clinic owner.")
    return client


# --- Gift cards --------------------------------------------------------------------------------


@staff_view(Capability.TAKE_PAYMENTS)
def gift_card_list(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    """The clinic's gift cards (search: recipient, buyer, last four characters), and the lookup by code."""
    lookup = GiftCardLookupForm(request.POST or None)
    if request.method == "POST" and lookup.is_valid():
        found = _lookup(request, lookup, membership)
        if found is not None:
            return redirect("gift_card_detail", found.pk)
    search = request.GET.get("q", "").strip()[:100]
    page = paginate(request, prepaid_selectors.gift_card_list(clinic=membership.clinic, search=search))
    audit_many(action=Action.LIST, objects=page.object_list, clinic=membership.clinic, role=membership.role)
    context = {"page": page, "search": search, "lookup": lookup}
    return render(request, "billing/gift_card_list.html", context, status=400 if lookup.errors else 200)


def _lookup(request: HttpRequest, form: GiftCardLookupForm, membership: Membership) -> GiftCard | None:
    if prepaid_selectors.lookup_throttled(f"user:{request.user.pk}"):
        form.add_error("code", "Too many codes tried in a minute. Wait a moment and try again.")
        return None
    try:
        return prepaid.gift_card_for_code(form.cleaned_data["code"], membership.clinic_id)
    except BillingError as exc:
        form.add_error("code", exc.message)
        return None


@login_required
def gift_card_detail(request: HttpRequest, pk: int) -> HttpResponse:
    card, _ = prepaid_selectors.get_gift_card_for_user(_user(request), pk)
    entries = card.entries.select_related("payment").order_by("at", "id")
    return render(request, "billing/gift_card.html", {"card": card, "entries": entries})


@login_required
def gift_card_sell(request: HttpRequest, client_id: int) -> HttpResponse:
    """Sell a gift card to the client: a draft invoice with its line. The code is shown on the
    page that answers the sale, once; it is e-mailed when the invoice is paid."""
    client = _desk_client(request, client_id)
    conf = selectors.settings_for(client.clinic)
    form = GiftCardSellForm(request.POST or None, currency=conf.currency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            card, code = prepaid.gift_card_sell(
                client=client, actor=_user(request), amount=data["amount"], recipient_name=data["recipient_name"],
                recipient_email=data["recipient_email"], message=data["message"],
            )  # fmt: skip
        except BillingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            context = {"card": card, "code": prepaid.format_code(code), "invoice": card.invoice_line.invoice}
            response = render(request, "billing/gift_card_sold.html", context)
            response["Cache-Control"] = "no-store"  # the page shows the code
            return response
    return render(request, "billing/gift_card_sell.html", {"client": client, "form": form}, status=400 if form.errors else 200)


# --- Packages ----------------------------------------------------------------------------------


@staff_view(Capability.TAKE_PAYMENTS)
def package_list(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    """Sold packages (search: package or client name) and the products; the owner adds products here."""
    owner = membership.can(Capability.MANAGE_CLINIC)
    conf = selectors.settings_for(membership.clinic)
    form = PackageProductForm(request.POST or None, clinic=membership.clinic, currency=conf.currency) if owner else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied("Only the clinic owner defines packages.")
        if form.is_valid():
            product = form.save()
            audit_record(action=Action.CREATE, obj=product, clinic=membership.clinic, role=membership.role)
            messages.success(request, f"Package “{product.name}” added.")
            return redirect("package_list")
    search = request.GET.get("q", "").strip()[:100]
    page = paginate(request, prepaid_selectors.package_list(clinic=membership.clinic, search=search))
    audit_many(action=Action.LIST, objects=page.object_list, clinic=membership.clinic, role=membership.role)
    context = {"page": page, "search": search, "products": prepaid_selectors.products_of(membership.clinic), "form": form}
    return render(request, "billing/package_list.html", context, status=400 if form is not None and form.errors else 200)


@staff_view(Capability.MANAGE_CLINIC)
@require_POST
def package_product_toggle(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    product = PackageProduct.objects.filter(clinic=membership.clinic, pk=pk).first()
    if product is None:
        raise Http404("No such package")
    product.is_active = not product.is_active
    product.save(update_fields=["is_active"])
    audit_record(action=Action.UPDATE, obj=product, clinic=membership.clinic, role=membership.role, detail={"is_active": product.is_active})
    messages.success(
        request, f"“{product.name}” is {'on sale' if product.is_active else 'no longer sold; packages already sold still work'}."
    )
    return redirect("package_list")


@login_required
def package_detail(request: HttpRequest, pk: int) -> HttpResponse:
    package, _ = prepaid_selectors.get_package_for_user(_user(request), pk)
    entries = package.entries.select_related("payment", "invoice_line__invoice").order_by("at", "id")
    context = {"package": package, "entries": entries, "services": package.services.all()}
    return render(request, "billing/package.html", context)


@login_required
def package_sell(request: HttpRequest, client_id: int) -> HttpResponse:
    client = _desk_client(request, client_id)
    form = PackageSellForm(request.POST or None, clinic=client.clinic)
    if request.method == "POST" and form.is_valid():
        try:
            package = prepaid.package_sell(client=client, product=form.cleaned_data["product"], actor=_user(request))
        except BillingError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"{package.name} added to a draft invoice. Its sessions can be used once the invoice is paid.")
            return redirect("invoice_detail", package.invoice_line.invoice_id)
    context = {"client": client, "form": form}
    return render(request, "billing/package_sell.html", context, status=400 if form.errors else 200)
