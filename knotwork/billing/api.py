"""Invoices and payments over the API, through the same services and access rules as the pages.

Staff only in this slice (owner and front desk write; a therapist reads the invoices of their own
appointments). Token scopes: ``clients:read`` to read, ``clients:write`` to change. Amounts travel
as strings ("12.50"), never as JSON numbers, so nothing passes through a float. A bad amount is a
400 naming the field; a refusal the services make (refund above what was paid, a currency that
does not match, an invoice that is not issued) is a 422; an invoice issued meanwhile is a 409.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Header, Query, Router, Schema, Status

from knotwork.accounts.models import ApiToken, Capability
from knotwork.accounts.permissions import require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.billing import money, online, selectors, services, tips
from knotwork.billing.models import Invoice, LineKind, Payment, TaxRate
from knotwork.billing.receipts import receipt_pdf
from knotwork.billing.services import BillingError, InvalidAmount
from knotwork.bookings.idempotency import run_idempotent
from knotwork.bookings.models import Appointment
from knotwork.clients.selectors import get_client_for_user
from knotwork.lib.api import PageParams, api_membership, error_body, page_of

router = Router(tags=["billing"])

READ, WRITE = ApiToken.Scope.CLIENTS_READ, ApiToken.Scope.CLIENTS_WRITE
AMOUNT = r"^\d{1,9}(\.\d{1,2})?$"
AMOUNT_HELP = 'A decimal string such as "60.00" (never a JSON number)'


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(Schema):
    error: ErrorDetail


ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class LineIn(Schema):
    """One line. A ``tip`` names its ``therapist`` (default: the appointment's) and gives either
    ``unit_price`` (the amount) or ``percent`` (of the services and add-ons on the invoice); it
    takes no description, tax rate, discount or quantity, and all tips together come to at most
    the services' total."""

    model_config = {"extra": "forbid"}
    kind: Literal["service", "addon", "product", "package", "gift_card", "other", "tip"] = "other"
    description: str = Field("", max_length=200, description="Required except for a tip (printed as “Tip for <therapist>”)")
    quantity: int = Field(1, ge=1, le=money.MAX_QUANTITY)
    unit_price: str | None = Field(None, max_length=20, description=AMOUNT_HELP + "; required except for a tip given as a percent")
    discount: str = Field("0", max_length=20, description=AMOUNT_HELP)
    tax_rate: int | None = Field(None, ge=1, description="A tax rate of the clinic (id)")
    therapist: int | None = Field(None, ge=1, description="A tip: the staff member (user id) it is for")
    percent: str | None = Field(None, max_length=8, description='A tip: a percentage of the services as text, e.g. "15"')


class TipIn(Schema):
    model_config = {"extra": "forbid"}
    therapist: int | None = Field(None, ge=1, description="The staff member (user id) the tip is for; default the appointment's")
    amount: str | None = Field(None, max_length=20, description=AMOUNT_HELP + "; or give percent")
    percent: str | None = Field(None, max_length=8, description='A percentage of the services and add-ons as text, e.g. "15"')


class InvoiceIn(Schema):
    model_config = {"extra": "forbid"}
    client: int | None = Field(None, ge=1, description="The client to invoice (or give an appointment)")
    appointment: int | None = Field(None, ge=1, description="Check-out: start from this appointment's service")
    lines: list[LineIn] = Field(default_factory=list, max_length=50)
    issue: bool = Field(False, description="Issue at once (numbers the invoice; it can no longer change)")


class LineOut(Schema):
    id: int
    kind: str
    description: str
    quantity: int
    unit_price: str
    discount: str
    tax_percent: str
    net: str
    tax: str
    total: str
    service_date: date | None
    duration_minutes: int | None
    therapist: int | None


class InvoiceOut(Schema):
    id: int
    number: str
    kind: str
    status: str
    client: int
    appointment: int | None
    credit_for: int | None
    currency: str
    prices_include_tax: bool
    subtotal: str
    tax_total: str
    total: str
    paid: str
    balance: str
    issued_at: datetime | None
    due_on: date | None
    void_reason: str
    lines: list[LineOut]


class InvoiceSummary(Schema):
    id: int
    number: str
    kind: str
    status: str
    client: int
    currency: str
    total: str
    balance: str
    issued_at: datetime | None


class InvoicePage(Schema):
    items: list[InvoiceSummary]
    count: int
    page: int
    page_size: int


class InvoiceFilter(Schema):
    status: Literal["draft", "issued", "void"] | None = None
    q: str = Field("", max_length=100, description="Number or client name")


class PaymentIn(Schema):
    model_config = {"extra": "forbid"}
    client: int = Field(..., ge=1)
    method: Literal["cash", "card_terminal", "bank_transfer", "cheque", "store_credit", "other"]
    amount: str = Field(..., max_length=20, description=AMOUNT_HELP)
    currency: str = Field(..., min_length=3, max_length=3, description="ISO 4217; must match the invoices'")
    invoices: list[int] = Field(default_factory=list, max_length=20, description="Paid in this order; the rest becomes store credit")
    reference: str = Field("", max_length=100)


class RefundIn(Schema):
    model_config = {"extra": "forbid"}
    amount: str = Field(..., max_length=20, description=AMOUNT_HELP)
    reason: str = Field("", max_length=300)


class PaymentOut(Schema):
    id: int
    client: int
    method: str
    amount: str
    currency: str
    reference: str
    at: datetime
    refunded: str
    refundable: str


class PaymentPage(Schema):
    items: list[PaymentOut]
    count: int
    page: int
    page_size: int


class PaymentFilter(Schema):
    client: int | None = Field(None, ge=1)


def _refusal(exc: BillingError) -> Status[dict[str, Any]]:
    return Status(exc.status, error_body(exc.status, exc.message, {exc.field: exc.message} if exc.field else {}, exc.code))


def _amount(raw: str, currency: str, field: str, *, allow_zero: bool = False) -> Any:
    try:
        return money.parse_amount(raw, currency, allow_zero=allow_zero)
    except money.MoneyError as exc:
        raise InvalidAmount(str(exc), field=field) from None


def invoice_out(invoice: Invoice) -> dict[str, Any]:
    figures = selectors.invoice_money(invoice)
    return {
        "id": invoice.pk,
        "number": invoice.number,
        "kind": invoice.kind,
        "status": invoice.status,
        "client": invoice.client_id,
        "appointment": invoice.appointment_id,
        "credit_for": invoice.credit_for_id,
        "currency": invoice.currency,
        "prices_include_tax": invoice.prices_include_tax,
        "subtotal": str(invoice.subtotal),
        "tax_total": str(invoice.tax_total),
        "total": str(invoice.total),
        "paid": str(figures.paid),
        "balance": str(figures.balance),
        "issued_at": invoice.issued_at,
        "due_on": invoice.due_on,
        "void_reason": invoice.void_reason,
        "lines": [
            {
                "id": line.pk, "kind": line.kind, "description": line.description, "quantity": line.quantity,
                "unit_price": str(line.unit_price), "discount": str(line.discount), "tax_percent": str(line.tax_percent),
                "net": str(line.net), "tax": str(line.tax), "total": str(line.total), "service_date": line.service_date,
                "duration_minutes": line.duration_minutes, "therapist": line.therapist_id,
            }
            for line in invoice.lines.order_by("position", "id")
        ],
    }  # fmt: skip


def payment_out(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.pk,
        "client": payment.client_id,
        "method": payment.method,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "reference": payment.reference,
        "at": payment.at,
        "refunded": str(selectors.payment_refunded(payment)),
        "refundable": str(selectors.payment_refundable(payment)),
    }


@router.get("/invoices", response={200: InvoicePage, **ERRORS}, url_name="invoice_list", summary="The clinic's invoices, newest first")
def list_invoices(request: HttpRequest, paging: Query[PageParams], filters: Query[InvoiceFilter]):  # type: ignore[no-untyped-def]
    membership = api_membership(request, READ)
    rows, counts = page_of(selectors.invoice_list(membership=membership, search=filters.q, status=filters.status or ""), paging)
    audit_many(action=Action.LIST, objects=rows, clinic=membership.clinic, role=membership.role)
    items = [
        {"id": i.pk, "number": i.number, "kind": i.kind, "status": i.status, "client": i.client_id, "currency": i.currency,
         "total": str(i.total), "balance": str(selectors.cents(i.balance)), "issued_at": i.issued_at}
        for i in rows
    ]  # fmt: skip
    return {"items": items, **counts}


@router.post(
    "/invoices",
    response={201: InvoiceOut, **ERRORS},
    url_name="invoice_create",
    summary="Create an invoice by hand or from an appointment (check-out), optionally issuing it",
)
def create_invoice(request: HttpRequest, payload: InvoiceIn):  # type: ignore[no-untyped-def]
    membership = require(api_membership(request, WRITE), Capability.TAKE_PAYMENTS)
    try:
        invoice = _create(membership, payload)
    except BillingError as exc:
        return _refusal(exc)
    return Status(201, invoice_out(invoice))


def _create(membership: Any, payload: InvoiceIn) -> Invoice:
    """Everything in one transaction: a refused line leaves no draft behind."""
    actor = membership.user
    rates = {r.pk: r for r in TaxRate.objects.filter(clinic=membership.clinic, is_active=True)}
    with transaction.atomic():
        if payload.appointment is not None:
            appointment = get_object_or_404(Appointment, pk=payload.appointment, clinic=membership.clinic, client__isnull=False)
            if payload.client is not None and payload.client != appointment.client_id:
                raise BillingError("The appointment is for another client.", field="client")
            invoice = services.invoice_from_appointment(appointment=appointment, actor=actor)
        elif payload.client is not None:
            client, _ = get_client_for_user(actor, payload.client, write=True, clinic_id=membership.clinic_id)
            invoice = services.invoice_create(clinic=membership.clinic, client=client, actor=actor)
        else:
            raise BillingError("Give the client to invoice, or the appointment to check out.", field="client")
        for n, line in enumerate(payload.lines):
            if line.kind == LineKind.TIP:
                _add_tip(invoice, actor, line, prefix=f"lines.{n}.")
                continue
            if line.tax_rate is not None and line.tax_rate not in rates:
                raise BillingError("No such tax rate in this clinic.", field=f"lines.{n}.tax_rate")
            if line.unit_price is None or not line.description.strip():
                missing = "unit_price" if line.unit_price is None else "description"
                raise InvalidAmount(f"Give the line's {missing.replace('_', ' ')}.", field=f"lines.{n}.{missing}")
            services.invoice_line_add(
                invoice=invoice, actor=actor, kind=line.kind, description=line.description, quantity=line.quantity,
                unit_price=_amount(line.unit_price, invoice.currency, f"lines.{n}.unit_price", allow_zero=True),
                discount=_amount(line.discount, invoice.currency, f"lines.{n}.discount", allow_zero=True),
                tax_rate=rates.get(line.tax_rate or 0),
            )  # fmt: skip
        if payload.issue:
            invoice = services.invoice_issue(invoice=invoice, actor=actor)
    invoice.refresh_from_db()
    return invoice


def _add_tip(invoice: Invoice, actor: Any, tip: LineIn | TipIn, *, prefix: str = "") -> None:
    """A tip through knotwork.billing.tips; a refusal names the field under ``prefix``."""
    if isinstance(tip, LineIn):
        extras = {"tax_rate": tip.tax_rate is not None, "discount": tip.discount not in ("0", ""), "quantity": tip.quantity != 1}
        for name, given in extras.items():
            if given:
                raise BillingError("A tip has no tax rate, discount or quantity: give only its amount or percent.", field=prefix + name)
        amount, field = tip.unit_price, "unit_price"
    else:
        amount, field = tip.amount, "amount"
    therapist = None
    if tip.therapist is not None:
        therapist = next((u for u in tips.tip_staff(invoice.clinic_id) if u.pk == tip.therapist), None)
        if therapist is None:
            raise BillingError("A tip can only be for a member of this clinic's staff.", field=prefix + "therapist")
    try:
        tips.tip_add(invoice=invoice, actor=actor, therapist=therapist, amount=amount, percent=tip.percent)
    except BillingError as exc:
        exc.field = prefix + (field if exc.field == "amount" else exc.field)
        raise


@router.post(
    "/invoices/{invoice_id}/tips",
    response={201: InvoiceOut, **ERRORS},
    url_name="invoice_tip_add",
    summary="Add a tip to a draft at check-out (an amount, or a percent of the services); an issued invoice is a 409",
)
def add_tip(request: HttpRequest, invoice_id: int, payload: TipIn):  # type: ignore[no-untyped-def]
    membership = api_membership(request, WRITE)
    # The invoice first: another clinic's (or a draft a therapist cannot see) is a 404, not a 403.
    invoice, _ = selectors.get_invoice_for_user(membership.user, invoice_id, write=True, clinic_id=membership.clinic_id)
    require(membership, Capability.TAKE_PAYMENTS)
    try:
        _add_tip(invoice, membership.user, payload)
    except BillingError as exc:
        return _refusal(exc)
    invoice.refresh_from_db()
    return Status(201, invoice_out(invoice))


@router.get(
    "/invoices/{invoice_id}", response={200: InvoiceOut, **ERRORS}, url_name="invoice_get", summary="One invoice with its lines and balance"
)
def get_invoice(request: HttpRequest, invoice_id: int):  # type: ignore[no-untyped-def]
    membership = api_membership(request, READ)
    invoice, _ = selectors.get_invoice_for_user(membership.user, invoice_id, clinic_id=membership.clinic_id)
    return Status(200, invoice_out(invoice))


@router.get(
    "/invoices/{invoice_id}/pdf",
    response={**ERRORS},
    url_name="invoice_get_pdf",
    summary="The invoice / receipt as a PDF (what insurers ask for)",
    openapi_extra={"responses": {200: {"description": "PDF document", "content": {"application/pdf": {}}}}},
)
def get_invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponse:
    membership = api_membership(request, READ)
    invoice, _ = selectors.get_invoice_for_user(membership.user, invoice_id, audit=False, clinic_id=membership.clinic_id)
    audit_record(action=Action.EXPORT, obj=invoice, role=membership.role, detail={"format": "pdf", "api": True})
    response = HttpResponse(receipt_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number or f"draft-{invoice.pk}"}.pdf"'
    return response


@router.get("/payments", response={200: PaymentPage, **ERRORS}, url_name="payment_list", summary="Payments received, newest first")
def list_payments(request: HttpRequest, paging: Query[PageParams], filters: Query[PaymentFilter]):  # type: ignore[no-untyped-def]
    membership = require(api_membership(request, READ), Capability.TAKE_PAYMENTS)
    qs = Payment.objects.filter(clinic=membership.clinic, client__restricted_at__isnull=True).order_by("-at", "-id")
    if filters.client is not None:
        qs = qs.filter(client_id=filters.client)
    rows, counts = page_of(qs, paging)
    audit_many(action=Action.LIST, objects=rows, clinic=membership.clinic, role=membership.role)
    return {"items": [payment_out(p) for p in rows], **counts}


@router.post(
    "/payments",
    response={201: PaymentOut, **ERRORS},
    url_name="payment_create",
    summary="Record a payment; applied to the invoices in order, the rest kept as store credit",
)
def create_payment(request: HttpRequest, payload: PaymentIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):  # type: ignore[no-untyped-def]
    """With an ``Idempotency-Key``, a retry of a request whose answer was lost gets the first answer
    again and records nothing new (knotwork/bookings/idempotency.py)."""
    membership = require(api_membership(request, WRITE), Capability.TAKE_PAYMENTS)
    client, _ = get_client_for_user(membership.user, payload.client, write=True, clinic_id=membership.clinic_id)

    def refusal(exc: BillingError) -> tuple[int, dict[str, Any]]:
        return exc.status, error_body(exc.status, exc.message, {exc.field: exc.message} if exc.field else {}, exc.code)

    def run() -> tuple[int, dict[str, Any]]:
        invoices = list(Invoice.objects.filter(clinic=membership.clinic, client=client, pk__in=payload.invoices))
        if len(invoices) != len(set(payload.invoices)):
            return refusal(BillingError("Some of those invoices are not this client's.", field="invoices"))
        invoices.sort(key=lambda i: payload.invoices.index(i.pk))
        try:
            currency = money.check_currency(payload.currency)
        except money.MoneyError as exc:
            return refusal(InvalidAmount(str(exc), field="currency"))
        try:
            amount = _amount(payload.amount, currency, "amount")
            payment = services.payment_record(
                clinic=membership.clinic, client=client, actor=membership.user, method=payload.method, amount=amount,
                currency=currency, invoices=invoices, reference=payload.reference,
            )  # fmt: skip
        except BillingError as exc:
            return refusal(exc)
        return 201, {**payment_out(payment), "at": payment.at.isoformat()}

    status, body = run_idempotent(
        user=membership.user, clinic=membership.clinic, key=idempotency_key, method="POST", path=request.path,
        payload=payload.dict(), run=run,
    )  # fmt: skip
    return Status(status, body)


@router.post(
    "/payments/{payment_id}/refund",
    response={200: PaymentOut, **ERRORS},
    url_name="payment_refund",
    summary="Refund part or all of a payment (never more than is left of it)",
)
def refund_payment(request: HttpRequest, payment_id: int, payload: RefundIn):  # type: ignore[no-untyped-def]
    membership = api_membership(request, WRITE)
    payment, _ = selectors.get_payment_for_user(membership.user, payment_id, write=True, clinic_id=membership.clinic_id)
    try:
        online.refund_payment(
            payment=payment, actor=membership.user, amount=_amount(payload.amount, payment.currency, "amount"), reason=payload.reason
        )
    except BillingError as exc:
        return _refusal(exc)
    return Status(200, payment_out(payment))


# Gift cards and packages add their operations to this router.
from knotwork.billing import prepaid_api  # noqa: E402, F401
