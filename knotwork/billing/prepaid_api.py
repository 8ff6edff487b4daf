"""Gift cards and packages over the API (registered on the billing router; see api.py).

``GET /api/gift-cards/{code}/balance`` is public — whoever holds a code may read what is on it —
and answers only balance, currency and expiry. It is rate-limited per address (429 past the
limit) and a wrong code is a 404 reached by the same path as a right one: the code's HMAC is
computed and one indexed query made either way.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpRequest
from ninja import Field, Query, Schema, Status

from knotwork.accounts.models import Capability
from knotwork.accounts.permissions import require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many
from knotwork.billing import prepaid, prepaid_selectors
from knotwork.billing.api import AMOUNT_HELP, ERRORS, READ, WRITE, ErrorOut, _refusal, router
from knotwork.billing.models import GiftCard, PackageProduct
from knotwork.billing.selectors import cents
from knotwork.billing.services import BillingError
from knotwork.clients.selectors import get_client_for_user
from knotwork.lib import context
from knotwork.lib.api import PageParams, api_membership, error_body, page_of


class PackageProductOut(Schema):
    id: int
    name: str
    sessions: int
    price: str
    currency: str
    services: list[int]
    validity_days: int | None
    shareable: bool
    is_active: bool


class GiftCardOut(Schema):
    id: int
    last4: str
    status: str
    initial_value: str
    balance: str
    currency: str
    expires_on: date | None
    purchaser: int
    recipient_name: str
    invoice: int
    created_at: datetime


class GiftCardCreated(GiftCardOut):
    code: str = Field(..., description="The card's code. Shown in this response only; it is stored as a keyed hash")


class GiftCardPage(Schema):
    items: list[GiftCardOut]
    count: int
    page: int
    page_size: int


class GiftCardFilter(Schema):
    q: str = Field("", max_length=100, description="Recipient, buyer or the code's last four characters")


class GiftCardIn(Schema):
    model_config = {"extra": "forbid"}
    client: int = Field(..., ge=1, description="The client buying the card (the draft invoice is theirs)")
    amount: str = Field(..., max_length=20, description=AMOUNT_HELP)
    recipient_name: str = Field("", max_length=120)
    recipient_email: str = Field("", max_length=254, description="Where the code is e-mailed once the card is paid for")
    message: str = Field("", max_length=300)


class BalanceOut(Schema):
    balance: str
    currency: str
    expires_on: date | None


def _card_out(card: GiftCard, balance: Any) -> dict[str, Any]:
    return {
        "id": card.pk, "last4": card.last4, "status": card.status, "initial_value": str(card.initial_value),
        "balance": str(cents(balance)), "currency": card.currency, "expires_on": card.expires_on,
        "purchaser": card.purchaser_id, "recipient_name": card.recipient_name, "invoice": card.invoice_line.invoice_id,
        "created_at": card.created_at,
    }  # fmt: skip


@router.get(
    "/packages", response={200: list[PackageProductOut], **ERRORS}, url_name="package_product_list", summary="The clinic's package products"
)
def list_packages(request: HttpRequest):  # type: ignore[no-untyped-def]
    membership = api_membership(request, READ)
    products: list[PackageProduct] = list(prepaid_selectors.products_of(membership.clinic))
    return [
        {"id": p.pk, "name": p.name, "sessions": p.sessions, "price": str(p.price), "currency": p.currency,
         "services": [s.pk for s in p.services.all()], "validity_days": p.validity_days, "shareable": p.shareable,
         "is_active": p.is_active}
        for p in products
    ]  # fmt: skip


@router.get(
    "/gift-cards", response={200: GiftCardPage, **ERRORS}, url_name="gift_card_list", summary="The clinic's gift cards, newest first"
)
def list_gift_cards(request: HttpRequest, paging: Query[PageParams], filters: Query[GiftCardFilter]):  # type: ignore[no-untyped-def]
    membership = require(api_membership(request, READ), Capability.TAKE_PAYMENTS)
    qs = prepaid_selectors.gift_card_list(clinic=membership.clinic, search=filters.q).select_related("invoice_line")
    rows, counts = page_of(qs, paging)
    audit_many(action=Action.LIST, objects=rows, clinic=membership.clinic, role=membership.role)
    return {"items": [_card_out(c, c.ledger_balance) for c in rows], **counts}  # type: ignore[attr-defined]


@router.post(
    "/gift-cards",
    response={201: GiftCardCreated, **ERRORS},
    url_name="gift_card_create",
    summary="Sell a gift card: a draft invoice for the buyer; the card can be spent once it is paid",
)
def create_gift_card(request: HttpRequest, payload: GiftCardIn):  # type: ignore[no-untyped-def]
    membership = require(api_membership(request, WRITE), Capability.TAKE_PAYMENTS)
    client, _ = get_client_for_user(membership.user, payload.client, write=True, clinic_id=membership.clinic_id)
    if payload.recipient_email:
        try:
            validate_email(payload.recipient_email)
        except ValidationError:
            message = "Enter a valid e-mail address."
            return Status(400, error_body(400, message, {"recipient_email": message}, "validation_error"))
    try:
        card, code = prepaid.gift_card_sell(
            client=client, actor=membership.user, amount=payload.amount, recipient_name=payload.recipient_name,
            recipient_email=payload.recipient_email, message=payload.message,
        )  # fmt: skip
    except BillingError as exc:
        return _refusal(exc)
    return Status(201, {**_card_out(card, 0), "code": prepaid.format_code(code)})


@router.get(
    "/gift-cards/{code}/balance",
    response={200: BalanceOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut},
    auth=None,
    url_name="gift_card_balance",
    summary="What is left on a gift card (balance, currency, expiry — nothing else; 409 when cancelled); rate-limited",
)
def gift_card_balance(request: HttpRequest, code: str):  # type: ignore[no-untyped-def]
    address = context.current().ip or request.META.get("REMOTE_ADDR", "")
    if prepaid_selectors.lookup_throttled(f"ip:{address}"):
        return Status(429, error_body(429, "Too many gift card lookups. Wait a minute and try again."))
    found = prepaid_selectors.balance_by_code(code[:64])
    if found is None:
        return Status(404, error_body(404, "Not found."))
    if found.cancelled:
        return Status(409, error_body(409, "This gift card has been cancelled (its sale was credited or refunded).", code="cancelled"))
    return {"balance": str(found.balance), "currency": found.currency, "expires_on": found.expires_on}
