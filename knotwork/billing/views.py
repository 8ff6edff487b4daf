"""Money pages: billing settings (owner), the invoice list, one invoice with its actions, check-out
from an appointment, a client's account, refunds, the client's own invoices on the portal with
online card payment, and the card provider's webhook.

Every object comes through get_invoice_for_user / get_payment_for_user / get_client_for_user; a
refused money request (BillingError) comes back as a message or a form error, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from knotwork.accounts.models import Capability, Membership, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.billing import online, prepaid, prepaid_selectors, selectors, services, tips
from knotwork.billing.forms import (
    BillingSettingsForm,
    CheckoutPayForm,
    CreditNoteForm,
    LineForm,
    PaymentForm,
    RefundForm,
    TaxRateForm,
    TipForm,
    VoidForm,
)
from knotwork.billing.models import Invoice, InvoiceStatus, Payment, PaymentMethod, PrepaidStatus, TaxRate
from knotwork.billing.prepaid_selectors import lookup_throttled
from knotwork.billing.providers import BadSignature, ProviderError, get_provider, online_payments_configured
from knotwork.billing.receipts import payment_receipt_pdf, pdf_response, receipt_response
from knotwork.billing.services import BillingError
from knotwork.billing.stripejs import with_stripe_csp
from knotwork.bookings.selectors import get_appointment_for_user
from knotwork.clients.intake.selectors import get_own_client
from knotwork.clients.selectors import get_client_for_user
from knotwork.lib.views import paginate, staff_view

log = logging.getLogger(__name__)


def _user(request: HttpRequest) -> User:
    """The signed-in user (every view here is behind login_required)."""
    return cast(User, request.user)


def _apply_error(form: Any, exc: BillingError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


# --- Settings (owner) ----------------------------------------------------------------------------


@staff_view(Capability.MANAGE_CLINIC)
def billing_settings(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    conf = selectors.settings_for(membership.clinic)
    kind = request.POST.get("form") if request.method == "POST" else None
    form = BillingSettingsForm(request.POST if kind == "settings" else None, instance=conf, clinic=membership.clinic)
    rate_form = TaxRateForm(request.POST if kind == "tax_rate" else None, clinic=membership.clinic)
    if kind == "settings" and form.is_valid():
        form.save()
        audit_record(action=Action.UPDATE, obj=conf, clinic=membership.clinic, role=membership.role, detail={"fields": form.changed_data})
        messages.success(request, "Billing settings saved.")
        return redirect("billing_settings")
    if kind == "tax_rate" and rate_form.is_valid():
        rate = rate_form.save(commit=False)
        rate.clinic = membership.clinic
        rate.save()
        audit_record(action=Action.CREATE, obj=rate, clinic=membership.clinic, role=membership.role)
        messages.success(request, f"Tax rate “{rate.name}” added.")
        return redirect("billing_settings")
    rates = TaxRate.objects.filter(clinic=membership.clinic)
    liability = prepaid_selectors.prepaid_liability(membership.clinic)
    context = {"form": form, "rate_form": rate_form, "rates": rates, "conf": conf, "liability": liability}
    return render(request, "billing/settings.html", context)


@staff_view(Capability.MANAGE_CLINIC)
@require_POST
def tax_rate_toggle(request: HttpRequest, pk: int, *, membership: Membership) -> HttpResponse:
    rate = TaxRate.objects.filter(clinic=membership.clinic, pk=pk).first()
    if rate is None:
        raise Http404("No such tax rate")
    rate.is_active = not rate.is_active
    rate.save(update_fields=["is_active"])
    audit_record(action=Action.UPDATE, obj=rate, clinic=membership.clinic, role=membership.role, detail={"is_active": rate.is_active})
    messages.success(request, f"“{rate.name}” is {'in use' if rate.is_active else 'retired; lines already billed keep it'}.")
    return redirect("billing_settings")


# --- Lists ---------------------------------------------------------------------------------------


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def invoice_list(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    search, status = request.GET.get("q", "").strip()[:100], request.GET.get("status", "")
    page = paginate(request, selectors.invoice_list(membership=membership, search=search, status=status))
    audit_many(action=Action.LIST, objects=page.object_list, clinic=membership.clinic, role=membership.role)
    context = {"page": page, "search": search, "status": status, "statuses": InvoiceStatus.choices}
    return render(request, "billing/invoice_list.html", context)


@login_required
def client_account(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_client_for_user(_user(request), client_id, audit=False)
    if membership is None or not membership.can(Capability.TAKE_PAYMENTS):
        raise PermissionDenied("Client accounts are for the front desk and the clinic owner.")
    audit_record(action=Action.VIEW, obj=client, role=membership.role, detail={"billing": "account"})
    context = {
        "client": client,
        "accounts": selectors.client_accounts(client),
        "invoices": selectors.client_invoices(client),
        "payments": selectors.client_payments(client),
        "packages": prepaid_selectors.client_packages(client),
        "gift_cards": prepaid_selectors.client_gift_cards(client),
    }
    return render(request, "billing/account.html", context)


# --- One invoice -------------------------------------------------------------------------------


def _detail(request: HttpRequest, invoice: Invoice, membership: Membership | None, **forms: Any) -> HttpResponse:
    figures = selectors.invoice_money(invoice)
    writer = selectors.may_take_payments(membership)
    context = {
        "invoice": invoice,
        "lines": invoice.lines.select_related("therapist", "tax_rate", "credited_by__invoice").order_by("position", "id"),
        "figures": figures,
        "payments": selectors.payments_for_invoice(invoice),
        "credit_notes": invoice.credit_notes.order_by("id") if not invoice.is_credit_note else [],
        "may_write": writer,
        "store_credit": selectors.store_credit(invoice.client, invoice.currency) if writer else None,
    }
    if writer and invoice.is_draft:
        context["line_form"] = forms.get("line_form") or LineForm(clinic=invoice.clinic, currency=invoice.currency)
        context["issue_form"] = forms.get("issue_form") or CheckoutPayForm(currency=invoice.currency, client=invoice.client)
        context["tip_form"] = forms.get("tip_form") or TipForm(invoice=invoice)
        context["tip"] = tips.tip_options(invoice)
    if writer and invoice.status == InvoiceStatus.ISSUED and not invoice.is_credit_note and figures.balance > 0:
        context["pay_form"] = forms.get("pay_form") or PaymentForm(
            currency=invoice.currency, client=invoice.client, initial={"amount": figures.balance}
        )
    return render(request, "billing/invoice.html", context, status=400 if any(f.errors for f in forms.values()) else 200)


@login_required
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice, membership = selectors.get_invoice_for_user(_user(request), pk)
    if membership is None:
        return redirect("portal_invoices", invoice.client_id)
    return _detail(request, invoice, membership)


@login_required
@require_POST
def invoice_new(request: HttpRequest) -> HttpResponse:
    try:
        client_id = int(request.POST.get("client", ""))
    except ValueError:
        raise Http404("No such client") from None
    client, membership = get_client_for_user(_user(request), client_id, write=True)
    if membership is None or not membership.can(Capability.TAKE_PAYMENTS):
        raise PermissionDenied("Invoices are made by the front desk and the clinic owner.")
    invoice = services.invoice_create(clinic=client.clinic, client=client, actor=_user(request))
    return redirect("invoice_detail", invoice.pk)


@login_required
@require_POST
def appointment_checkout(request: HttpRequest, pk: int) -> HttpResponse:
    """Check-out from the day's appointment: its open invoice, or a new draft with its service."""
    appointment, membership = get_appointment_for_user(_user(request), pk, write=True)
    if membership is None or not membership.can(Capability.TAKE_PAYMENTS):
        raise PermissionDenied("Check-out is for the front desk and the clinic owner.")
    try:
        invoice = services.invoice_from_appointment(appointment=appointment, actor=_user(request))
    except BillingError as exc:
        messages.error(request, exc.message)
        return redirect("appointment_detail", pk)
    return redirect("invoice_detail", invoice.pk)


@login_required
@require_POST
def invoice_line_add(request: HttpRequest, pk: int) -> HttpResponse:
    invoice, membership = selectors.get_invoice_for_user(_user(request), pk, write=True)
    form = LineForm(request.POST, clinic=invoice.clinic, currency=invoice.currency)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.invoice_line_add(
                invoice=invoice, actor=_user(request), kind=data["kind"], description=data["description"],
                quantity=data["quantity"], unit_price=data["unit_price"], discount=data["discount"] or "0", tax_rate=data["tax_rate"],
            )  # fmt: skip
            return redirect("invoice_detail", pk)
        except BillingError as exc:
            _apply_error(form, exc)
    return _detail(request, invoice, membership, line_form=form)


@login_required
@require_POST
def invoice_tip_add(request: HttpRequest, pk: int) -> HttpResponse:
    """The check-out's tip step: a preset percentage of the services or another amount, for a therapist."""
    invoice, membership = selectors.get_invoice_for_user(_user(request), pk, write=True)
    form = TipForm(request.POST, invoice=invoice)
    if form.is_valid():
        data = form.cleaned_data
        try:
            line = tips.tip_add(
                invoice=invoice, actor=_user(request), therapist=data["therapist"], amount=data["amount"] or None,
                percent=data["percent"] or None,
            )  # fmt: skip
            messages.success(request, f"{line.description}: {invoice.currency} {line.total} added.")
            return redirect("invoice_detail", pk)
        except services.InvoiceLocked as exc:  # issued meanwhile: the page no longer has a tip step
            messages.error(request, exc.message)
            return redirect("invoice_detail", pk)
        except BillingError as exc:  # a refused percentage has no box of its own: it goes on top
            form.add_error(exc.field if exc.field in ("therapist", "amount") else None, exc.message)
    return _detail(request, invoice, membership, tip_form=form)


@login_required
@require_POST
def invoice_line_remove(request: HttpRequest, pk: int, line_id: int) -> HttpResponse:
    invoice, _ = selectors.get_invoice_for_user(_user(request), pk, write=True)
    line = invoice.lines.filter(pk=line_id).first()
    if line is None:
        raise Http404("No such line")
    try:
        services.invoice_line_remove(line=line, actor=_user(request))
    except BillingError as exc:
        messages.error(request, exc.message)
    return redirect("invoice_detail", pk)


@login_required
@require_POST
def invoice_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """Issue the draft, and take a payment for it in the same step when an amount is given."""
    invoice, membership = selectors.get_invoice_for_user(_user(request), pk, write=True)
    form = CheckoutPayForm(request.POST, currency=invoice.currency, client=invoice.client)
    if form.is_valid() and _gift_card_code_allowed(request, form):
        try:
            issued, payments = prepaid.invoice_settle(invoice=invoice, actor=_user(request), issue=True, **_settle_args(form))
            messages.success(request, f"{issued.number} issued" + (" and the payment recorded." if payments else "."))
            return redirect("invoice_detail", pk)
        except BillingError as exc:
            _apply_error(form, exc)
    return _detail(request, invoice, membership, issue_form=form)


def _settle_args(form: Any) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "package": data.get("package"), "membership": data.get("membership"),
        "gift_card_code": data.get("gift_card_code", ""), "gift_card_amount": data.get("gift_card_amount"),
        "method": data["method"], "amount": data["amount"], "reference": data["reference"],
    }  # fmt: skip


def _gift_card_code_allowed(request: HttpRequest, form: Any) -> bool:
    """Codes typed at check-out count against the same per-user limit as the desk's lookups."""
    if form.cleaned_data.get("gift_card_code", "").strip() and lookup_throttled(f"user:{request.user.pk}"):
        form.add_error("gift_card_code", "Too many gift card codes tried in a minute. Wait a moment and try again.")
        return False
    return True


@login_required
@require_POST
def invoice_pay(request: HttpRequest, pk: int) -> HttpResponse:
    invoice, membership = selectors.get_invoice_for_user(_user(request), pk, write=True)
    form = PaymentForm(request.POST, currency=invoice.currency, client=invoice.client)
    if form.is_valid() and _gift_card_code_allowed(request, form):
        try:
            prepaid.invoice_settle(invoice=invoice, actor=_user(request), **_settle_args(form))
            messages.success(request, "Payment recorded.")
            return redirect("invoice_detail", pk)
        except BillingError as exc:
            _apply_error(form, exc)
    return _detail(request, invoice, membership, pay_form=form)


@login_required
def invoice_void(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation page with the reason, then the void."""
    invoice, _ = selectors.get_invoice_for_user(_user(request), pk, write=True)
    form = VoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invoice_void(invoice=invoice, actor=_user(request), reason=form.cleaned_data["reason"])
            messages.success(request, f"{invoice.number} is void.")
            return redirect("invoice_detail", pk)
        except BillingError as exc:
            _apply_error(form, exc)
    return render(request, "billing/void.html", {"invoice": invoice, "form": form}, status=400 if form.errors else 200)


@login_required
def invoice_credit(request: HttpRequest, pk: int) -> HttpResponse:
    invoice, _ = selectors.get_invoice_for_user(_user(request), pk, write=True)
    form = CreditNoteForm(request.POST or None, invoice=invoice)
    if request.method == "POST" and form.is_valid():
        try:
            note = services.credit_note_create(
                invoice=invoice, actor=_user(request), line_ids=[line.pk for line in form.cleaned_data["lines"]],
                reason=form.cleaned_data["reason"],
            )  # fmt: skip
            messages.success(request, f"Credit note {note.number} issued.")
            return redirect("invoice_detail", note.pk)
        except BillingError as exc:
            _apply_error(form, exc)
    return render(request, "billing/credit.html", {"invoice": invoice, "form": form}, status=400 if form.errors else 200)


@login_required
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    invoice, membership = selectors.get_invoice_for_user(_user(request), pk, audit=False)
    audit_record(action=Action.EXPORT, obj=invoice, role=membership.role if membership else "client", detail={"format": "pdf"})
    return receipt_response(invoice)


@login_required
def payment_refund(request: HttpRequest, pk: int) -> HttpResponse:
    payment, _ = selectors.get_payment_for_user(_user(request), pk, write=True)
    refundable = selectors.payment_refundable(payment)
    form = RefundForm(request.POST or None, currency=payment.currency, initial={"amount": refundable})
    if request.method == "POST" and form.is_valid():
        try:
            online.refund_payment(
                payment=payment, actor=_user(request), amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"]
            )
            messages.success(request, "Refund recorded.")
            return redirect("client_account", payment.client_id)
        except BillingError as exc:
            _apply_error(form, exc)
    context = {
        "payment": payment, "form": form, "refundable": refundable, "refunded": selectors.payment_refunded(payment),
        "online": payment.method == PaymentMethod.CARD_ONLINE,
    }  # fmt: skip
    return render(request, "billing/refund.html", context, status=400 if form.errors else 200)


@login_required
def payment_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    payment, membership = selectors.get_payment_for_user(_user(request), pk, audit=False)
    audit_record(action=Action.EXPORT, obj=payment, role=membership.role, detail={"format": "pdf"})
    return pdf_response(payment_receipt_pdf(payment), f"payment-{payment.pk}")


# --- The client's own invoices (portal) --------------------------------------------------------


@login_required
def portal_invoices(request: HttpRequest, client_id: int) -> HttpResponse:
    client = get_own_client(_user(request), client_id)
    invoices = list(selectors.client_invoices(client, issued_only=True))
    audit_many(action=Action.LIST, objects=invoices, clinic=client.clinic, role="client")
    context = {
        "client": client, "invoices": invoices, "accounts": selectors.client_accounts(client),
        "online_payments": online_payments_configured(),
        "packages": prepaid_selectors.client_packages(client).filter(status=PrepaidStatus.ACTIVE),
        "shared_packages": prepaid_selectors.portal_family_packages(client),
    }  # fmt: skip
    return render(request, "billing/portal_invoices.html", context)


@login_required
def portal_invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice, membership = selectors.get_invoice_for_user(_user(request), invoice_id, audit=False)
    if membership is not None:
        raise Http404("No such invoice")  # the portal is the client's own; staff use invoice_pdf
    audit_record(action=Action.EXPORT, obj=invoice, role="client", detail={"format": "pdf", "portal": True})
    return receipt_response(invoice)


def _portal_invoice(request: HttpRequest, invoice_id: int) -> Invoice:
    """The signed-in client's own issued invoice; staff and anyone else get a 404 here."""
    invoice, membership = selectors.get_invoice_for_user(_user(request), invoice_id)
    if membership is not None:
        raise Http404("No such invoice")
    return invoice


@login_required
@require_safe
@never_cache  # the page carries the intent's client secret
@with_stripe_csp
def portal_invoice_pay(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Pay what an invoice still owes by card: Stripe's own form, loaded from js.stripe.com, takes
    the card; Knotwork only opens (or reuses) the payment intent for the balance."""
    invoice = _portal_invoice(request, invoice_id)
    return card_pay_page(request, "billing/portal_pay.html", {"invoice": invoice}, return_to="portal_invoice_pay_return", what="invoice")


def card_pay_page(request: HttpRequest, template: str, context: dict[str, Any], *, return_to: str, what: str) -> HttpResponse:
    """The page where Stripe's own form takes a card for what ``context["invoice"]`` still owes:
    the payment intent opened (or reused), Stripe.js sent back to the ``return_to`` view; a 503
    when the provider cannot be reached."""
    invoice = context["invoice"]
    provider = get_provider()
    context.update(configured=provider is not None, checkout=None)
    if provider is not None:
        try:
            context["checkout"] = online.checkout_open(invoice=invoice, provider=provider)
        except ProviderError as exc:
            log.warning("card checkout for %s %s unavailable: %s", what, invoice.pk, exc)
        context["publishable_key"] = provider.publishable_key
        context["return_url"] = request.build_absolute_uri(reverse(return_to, args=[invoice.pk]))
    unavailable = provider is not None and context["checkout"] is None
    return render(request, template, context, status=503 if unavailable else 200)


@login_required
@require_safe
@never_cache
def portal_invoice_pay_return(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """Where Stripe.js sends the client after confirming: the intent's status, read back from the
    provider. Nothing is recorded here; the signed webhook records the payment."""
    invoice = _portal_invoice(request, invoice_id)
    context = card_pay_returned(request, invoice, online.checkout_status, what="invoice")
    return render(request, "billing/portal_pay_return.html", context)


def card_pay_returned(
    request: HttpRequest,
    invoice: Invoice,
    status_of: Callable[..., tuple[str, Payment | None] | None],
    *,
    what: str,
    errors: tuple[type[Exception], ...] = (ProviderError,),
) -> dict[str, Any]:
    """The context of the page Stripe.js returns to: ``status_of`` reads the status of the
    ``payment_intent`` it names back from the provider ("unknown" when that fails with one of
    ``errors``). An intent that is not the invoice's is a 404."""
    provider = get_provider()
    context: dict[str, Any] = {"invoice": invoice, "configured": provider is not None, "status": "", "payment": None}
    if provider is not None:
        try:
            found = status_of(invoice=invoice, intent_id=request.GET.get("payment_intent", "")[:255], provider=provider)
        except errors as exc:
            log.warning("card payment status for %s %s unavailable: %s", what, invoice.pk, exc)
            found = ("unknown", None)
        if found is None:
            raise Http404("No such payment")
        context["status"], context["payment"] = found
    return context


@csrf_exempt  # Stripe cannot send a CSRF token; the signature authenticates the request instead
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events: verified with the webhook secret (400 and nothing recorded when the
    signature does not verify), then acted on once (see online.webhook_process)."""
    provider = get_provider()
    if provider is None:  # nothing listens here until the keys are set: a plain 404, never a server error
        return HttpResponse("Online payments are not set up.", status=404, content_type="text/plain")
    try:
        event = provider.parse_webhook(request.body, request.headers.get("Stripe-Signature", ""))
    except BadSignature:
        return HttpResponse("The signature does not verify.", status=400, content_type="text/plain")
    return JsonResponse({"received": True, "outcome": online.webhook_process(event=event, provider=provider)})
