"""Statements, superbills and receipts by e-mail (docs/money.md, "Receipts for insurers").

- ``clients/<id>/statement/`` (owner and front desk) and ``portal/<client>/statement/`` (the client,
  their own): a period's statement on screen, ``?format=pdf`` for the PDF, ``kind=superbill`` for
  the US superbill (the clinic's setting chooses the default);
- ``invoices/<id>/superbill.pdf`` (whoever may read the invoice, the client included) and
  ``payments/<id>/superbill.pdf`` (owner and front desk);
- ``payments/<id>/receipt/email/`` (POST, owner and front desk): send the receipt again;
- ``billing/settings/superbill/`` (owner): superbills on or off, the place of service.
"""

from __future__ import annotations

import logging
import smtplib
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Capability, Clinic, Membership, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.billing import receipt_email, selectors, statements
from knotwork.billing.receipts import payment_receipt_pdf, pdf_response, receipt_response
from knotwork.billing.report_views import PeriodForm
from knotwork.billing.reports.common import PRESETS
from knotwork.billing.superbill import wanted
from knotwork.clients.intake.selectors import get_own_client
from knotwork.clients.language import clinic_translation
from knotwork.clients.models import Client
from knotwork.clients.selectors import get_client_for_user
from knotwork.lib.claim_codes import normalise_place_of_service
from knotwork.lib.views import staff_view

log = logging.getLogger(__name__)
KINDS = [("statement", _("Statement")), ("superbill", _("US superbill"))]
# The period form's words as the client reads them (the money reports' form is staff-side English).
PRESET_WORDS = {"this_month": _("This month"), "last_month": _("Last month"), "this_year": _("This year")}


class StatementForm(PeriodForm):
    kind = forms.ChoiceField(label=_("Print as"), choices=KINDS, required=False)

    def __init__(self, *args: Any, clinic: Clinic, **kwargs: Any) -> None:
        super().__init__(*args, today=timezone.localdate(timezone=clinic.tz), **kwargs)
        self.fields["kind"].initial = "superbill" if clinic.us_superbill else "statement"
        preset = cast(forms.ChoiceField, self.fields["preset"])
        preset.label = _("Period")
        preset.choices = [("", _("Choose dates")), *((key, PRESET_WORDS.get(key, words)) for key, words in PRESETS.items())]
        self.fields["start"].label, self.fields["end"].label = _("From"), _("To")
        for name in ("start", "end"):  # a date input takes ISO dates whatever the language
            cast(forms.DateInput, self.fields[name].widget).format = "%Y-%m-%d"


class SuperbillSettingsForm(forms.ModelForm):
    class Meta:
        model = Clinic
        fields = ["us_superbill", "place_of_service"]
        labels = {"us_superbill": "Print receipts and statements as US superbills by default"}
        help_texts = {"place_of_service": "The two-digit CMS place-of-service code: 11 office, 12 home, 02 or 10 telehealth."}

    def clean_place_of_service(self) -> str:
        return normalise_place_of_service(self.cleaned_data.get("place_of_service") or "")


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _statement(request: HttpRequest, client: Client, role: str, *, portal: bool) -> HttpResponse:
    form = StatementForm(request.GET or None, clinic=client.clinic)
    if request.GET and not form.is_valid():
        return render(request, "billing/statement.html", {"form": form, "client": client, "portal": portal}, status=400)
    period = form.cleaned_data["period"] if request.GET else statements.statement_period(None, None, "", client=client)
    kind = form.cleaned_data.get("kind") if request.GET else ""
    superbill = wanted(client.clinic, {"superbill": "1", "statement": "0"}.get(kind or ""))
    pdf = request.GET.get("format") == "pdf"
    if pdf:
        # The PDF is the clinic's document for an insurer: its entries in the clinic's language.
        with clinic_translation():
            statement = statements.client_statement(client, period)
    else:
        statement = statements.client_statement(client, period)
    detail = {"billing": "statement", "from": period.first.isoformat(), "to": period.last.isoformat(), "superbill": superbill}
    audit_record(
        action=Action.EXPORT if pdf else Action.VIEW, obj=client, role=role, detail={**detail, **({"format": "pdf"} if pdf else {})}
    )
    if pdf:
        return pdf_response(
            statements.statement_pdf(statement, superbill=superbill), statements.statement_filename(statement, superbill=superbill)
        )
    query = request.GET.copy()
    query["format"], query["kind"] = "pdf", "superbill" if superbill else "statement"
    context = {
        "form": form,
        "client": client,
        "statement": statement,
        "portal": portal,
        "pdf_query": query.urlencode(),
        "superbill": superbill,
    }
    return render(request, "billing/statement.html", context)


@login_required
def client_statement(request: HttpRequest, client_id: int) -> HttpResponse:
    client, membership = get_client_for_user(_user(request), client_id, audit=False)
    if membership is None or not membership.can(Capability.TAKE_PAYMENTS):
        raise PermissionDenied("Statements are for the front desk and the clinic owner.")
    return _statement(request, client, membership.role, portal=False)


@login_required
def portal_statement(request: HttpRequest, client_id: int) -> HttpResponse:
    return _statement(request, get_own_client(_user(request), client_id), "client", portal=True)


@login_required
def invoice_superbill(request: HttpRequest, pk: int) -> HttpResponse:
    invoice, membership = selectors.get_invoice_for_user(_user(request), pk, audit=False)
    role = membership.role if membership else "client"
    audit_record(action=Action.EXPORT, obj=invoice, role=role, detail={"format": "pdf", "superbill": True})
    return receipt_response(invoice, superbill=True)


@login_required
def payment_superbill(request: HttpRequest, pk: int) -> HttpResponse:
    payment, membership = selectors.get_payment_for_user(_user(request), pk, audit=False)
    audit_record(action=Action.EXPORT, obj=payment, role=membership.role, detail={"format": "pdf", "superbill": True})
    return pdf_response(payment_receipt_pdf(payment, superbill=True), f"superbill-payment-{payment.pk}")


@login_required
@require_POST
def payment_receipt_email(request: HttpRequest, pk: int) -> HttpResponse:
    payment, membership = selectors.get_payment_for_user(_user(request), pk, write=True)
    try:
        outcome = receipt_email.payment_receipt_send(payment=payment, actor=_user(request), role=membership.role, again=True)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("receipt e-mail for payment %s failed: %s", payment.pk, exc)
        outcome = "failed"
    if outcome == receipt_email.SENT:
        messages.success(request, f"Receipt e-mailed to {payment.client.email}.")
    elif outcome == receipt_email.NO_ADDRESS:
        messages.error(request, "The client has no e-mail address on file. Add one to their details, or print the receipt.")
    else:
        messages.error(request, "The e-mail could not be sent. Try again later, or print the receipt.")
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect("client_account", payment.client_id)


@staff_view(Capability.MANAGE_CLINIC)
def superbill_settings(request: HttpRequest, *, membership: Membership) -> HttpResponse:
    form = SuperbillSettingsForm(request.POST or None, instance=membership.clinic)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit_record(action=Action.UPDATE, obj=membership.clinic, role=membership.role, detail={"fields": form.changed_data})
        messages.success(request, "Superbill settings saved.")
        return redirect("superbill_settings")
    return render(request, "billing/superbill_settings.html", {"form": form}, status=400 if form.errors else 200)
