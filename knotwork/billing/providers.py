"""Online card payments behind a small interface, and its Stripe implementation.

Knotwork never sees a card number: the browser hands the card to the provider's own script
(Stripe.js, loaded from js.stripe.com) and Knotwork only deals in payment intents, refunds and
signed webhook events — and, for a card on file, customers, set-up intents and the saved card's
brand, last four digits and expiry. Nothing here imports a Knotwork model, so another provider is
one more class with these methods.

Amounts cross this boundary as integers in the provider's minor unit, converted from ``Decimal``
by :func:`stripe_minor_units` (money is never a float).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings

# Stripe's own list of currencies it takes in whole units (docs.stripe.com/currencies). It is not
# ISO 4217's: ISK is whole krónur in ISO but Stripe still wants it times 100, and MGA is the other
# way round.
STRIPE_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
# How old a signed webhook may be (Stripe's own default): an older one is a replay.
TOLERANCE_SECONDS = 300


class ProviderError(Exception):
    """The provider could not be reached or refused the request; ``str()`` is safe to show staff."""


class BadSignature(ProviderError):
    """A webhook whose signature does not verify (or that is not a well-formed event)."""


class CardDeclined(ProviderError):
    """The card was refused for an off-session charge. ``intent_id`` is the payment intent the
    provider opened for it, when the provider says (Stripe does; a test peer may not)."""

    def __init__(self, message: str, *, intent_id: str = "", code: str = "") -> None:
        super().__init__(message)
        self.intent_id = intent_id
        self.code = code


def stripe_minor_units(amount: Decimal, currency: str) -> int:
    """``amount`` (major units) as the integer Stripe expects: pence for GBP, yen for JPY."""
    if not isinstance(amount, Decimal):
        raise TypeError("money must be a Decimal, never a float")
    scaled = amount if currency.upper() in STRIPE_ZERO_DECIMAL else amount * 100
    if scaled != scaled.to_integral_value():
        raise ProviderError(f"{currency} {amount} cannot be charged: the provider takes {currency} in whole units.")
    return int(scaled)


def from_stripe_minor_units(value: int, currency: str) -> Decimal:
    """The inverse of :func:`stripe_minor_units`, with the two places Knotwork stores."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProviderError("The provider sent an amount that is not a whole number of minor units.")
    major = Decimal(value) if currency.upper() in STRIPE_ZERO_DECIMAL else Decimal(value) / 100
    return major.quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Intent:
    id: str
    client_secret: str
    status: str  # requires_payment_method, requires_confirmation, requires_action, processing, succeeded, canceled …
    amount: int  # minor units
    currency: str  # upper case ISO 4217


@dataclass(frozen=True)
class Refund:
    id: str
    status: str
    amount: int


@dataclass(frozen=True)
class Setup:
    """A set-up intent: how a client saves a card for later charges without paying now."""

    id: str
    client_secret: str
    status: str  # requires_payment_method, requires_confirmation, requires_action, processing, succeeded, canceled
    customer: str
    payment_method: str


@dataclass(frozen=True)
class CardDetails:
    """What may be kept of a saved card: the provider's ids, brand, last four digits and expiry."""

    id: str
    customer: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class WebhookEvent:
    """A verified event: its id (the idempotency key), its type and its object as plain data."""

    id: str
    type: str
    object: dict[str, Any]


class PaymentProvider(Protocol):
    name: str
    publishable_key: str

    def to_minor_units(self, amount: Decimal, currency: str) -> int: ...

    def from_minor_units(self, value: int, currency: str) -> Decimal: ...

    def create_payment_intent(self, *, amount: int, currency: str, idempotency_key: str, metadata: dict[str, str]) -> Intent: ...

    def retrieve_payment_intent(self, intent_id: str) -> Intent: ...

    def cancel_payment_intent(self, intent_id: str) -> Intent: ...

    def refund(self, *, intent_id: str, amount: int, idempotency_key: str, metadata: dict[str, str]) -> Refund: ...

    def parse_webhook(self, payload: bytes, signature_header: str) -> WebhookEvent: ...

    # Card on file (docs/money.md, "Card on file and fees").
    def create_customer(self, *, idempotency_key: str, metadata: dict[str, str]) -> str: ...

    def create_setup_intent(self, *, customer_id: str, idempotency_key: str, metadata: dict[str, str]) -> Setup: ...

    def retrieve_setup_intent(self, setup_id: str) -> Setup: ...

    def retrieve_card(self, payment_method_id: str) -> CardDetails: ...

    def attach_card(self, *, payment_method_id: str, customer_id: str) -> CardDetails: ...

    def detach_card(self, payment_method_id: str) -> None: ...

    def charge_saved_card(
        self, *, customer_id: str, payment_method_id: str, amount: int, currency: str, idempotency_key: str, metadata: dict[str, str]
    ) -> Intent: ...


class StripeProvider:
    """Stripe through the official library, one ``StripeClient`` per provider (no module globals)."""

    name = "stripe"

    def __init__(self, *, secret_key: str, publishable_key: str, webhook_secret: str, api_base: str = "") -> None:
        import stripe

        self._stripe = stripe
        self.publishable_key = publishable_key
        self._webhook_secret = webhook_secret
        # No automatic retries: a page waits on these calls, and the idempotency keys make a
        # retry by the next page load safe anyway.
        self._client = stripe.StripeClient(secret_key, base_addresses={"api": api_base} if api_base else None, max_network_retries=0)

    def to_minor_units(self, amount: Decimal, currency: str) -> int:
        return stripe_minor_units(amount, currency)

    def from_minor_units(self, value: int, currency: str) -> Decimal:
        return from_stripe_minor_units(value, currency)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except self._stripe.StripeError as exc:
            message = getattr(exc, "user_message", None) or "The card payment service refused the request."
            raise ProviderError(str(message)) from exc

    @staticmethod
    def _intent(obj: Any) -> Intent:
        return Intent(
            id=obj.id,
            client_secret=obj.client_secret or "",
            status=obj.status,
            amount=int(obj.amount),
            currency=str(obj.currency).upper(),
        )

    def create_payment_intent(self, *, amount: int, currency: str, idempotency_key: str, metadata: dict[str, str]) -> Intent:
        params = {"amount": amount, "currency": currency.lower(), "payment_method_types": ["card"], "metadata": metadata}
        obj = self._call(self._client.v1.payment_intents.create, params=params, options={"idempotency_key": idempotency_key})
        return self._intent(obj)

    def retrieve_payment_intent(self, intent_id: str) -> Intent:
        return self._intent(self._call(self._client.v1.payment_intents.retrieve, intent_id))

    def cancel_payment_intent(self, intent_id: str) -> Intent:
        return self._intent(self._call(self._client.v1.payment_intents.cancel, intent_id))

    def refund(self, *, intent_id: str, amount: int, idempotency_key: str, metadata: dict[str, str]) -> Refund:
        params = {"payment_intent": intent_id, "amount": amount, "metadata": metadata}
        obj = self._call(self._client.v1.refunds.create, params=params, options={"idempotency_key": idempotency_key})
        return Refund(id=obj.id, status=obj.status or "", amount=int(obj.amount))

    # --- Card on file ---------------------------------------------------------------------------

    @staticmethod
    def _setup(obj: Any) -> Setup:
        def ref(value: Any) -> str:
            return value if isinstance(value, str) else str(getattr(value, "id", "") or "")

        return Setup(
            id=obj.id,
            client_secret=obj.client_secret or "",
            status=obj.status,
            customer=ref(obj.customer),
            payment_method=ref(obj.payment_method),
        )

    @staticmethod
    def _card(obj: Any) -> CardDetails:
        card = obj.card
        if card is None:
            raise ProviderError("The saved payment method is not a card.")
        customer = obj.customer if isinstance(obj.customer, str) or obj.customer is None else obj.customer.id
        return CardDetails(
            id=obj.id, customer=customer or "", brand=str(card.brand or "")[:20], last4=str(card.last4 or "")[:4],
            exp_month=int(card.exp_month), exp_year=int(card.exp_year),
        )  # fmt: skip

    def create_customer(self, *, idempotency_key: str, metadata: dict[str, str]) -> str:
        obj = self._call(self._client.v1.customers.create, params={"metadata": metadata}, options={"idempotency_key": idempotency_key})
        return str(obj.id)

    def create_setup_intent(self, *, customer_id: str, idempotency_key: str, metadata: dict[str, str]) -> Setup:
        params = {"customer": customer_id, "usage": "off_session", "payment_method_types": ["card"], "metadata": metadata}
        obj = self._call(self._client.v1.setup_intents.create, params=params, options={"idempotency_key": idempotency_key})
        return self._setup(obj)

    def retrieve_setup_intent(self, setup_id: str) -> Setup:
        return self._setup(self._call(self._client.v1.setup_intents.retrieve, setup_id))

    def retrieve_card(self, payment_method_id: str) -> CardDetails:
        return self._card(self._call(self._client.v1.payment_methods.retrieve, payment_method_id))

    def attach_card(self, *, payment_method_id: str, customer_id: str) -> CardDetails:
        obj = self._call(self._client.v1.payment_methods.attach, payment_method_id, params={"customer": customer_id})
        return self._card(obj)

    def detach_card(self, payment_method_id: str) -> None:
        self._call(self._client.v1.payment_methods.detach, payment_method_id)

    def charge_saved_card(
        self, *, customer_id: str, payment_method_id: str, amount: int, currency: str, idempotency_key: str, metadata: dict[str, str]
    ) -> Intent:
        """An off-session charge of the saved card, confirmed at once. A refusal by the card is
        :class:`CardDeclined` (with the intent the provider opened, when it says which)."""
        params: Any = {
            "amount": amount, "currency": currency.lower(), "customer": customer_id, "payment_method": payment_method_id,
            "payment_method_types": ["card"], "confirm": True, "off_session": True, "metadata": metadata,
        }  # fmt: skip
        try:
            obj = self._client.v1.payment_intents.create(params=params, options={"idempotency_key": idempotency_key})
        except self._stripe.CardError as exc:
            intent = getattr(getattr(exc, "error", None), "payment_intent", None)
            intent_id = intent if isinstance(intent, str) else str(getattr(intent, "id", "") or "")
            raise CardDeclined("The card was declined.", intent_id=intent_id, code=str(exc.code or "")) from exc
        except self._stripe.StripeError as exc:
            raise ProviderError(str(getattr(exc, "user_message", None) or "The card payment service refused the request.")) from exc
        return self._intent(obj)

    def parse_webhook(self, payload: bytes, signature_header: str) -> WebhookEvent:
        """Verify the ``Stripe-Signature`` header (HMAC-SHA256 of ``"<t>.<payload>"`` under the
        webhook secret, within Stripe's five-minute tolerance) and return the event."""
        try:
            self._stripe.WebhookSignature.verify_header(payload, signature_header, self._webhook_secret, TOLERANCE_SECONDS)
            data = json.loads(payload)
        except (self._stripe.SignatureVerificationError, ValueError) as exc:  # ValueError: not UTF-8, not JSON
            raise BadSignature("The webhook signature does not verify.") from exc
        obj = (data.get("data") or {}).get("object") if isinstance(data, dict) else None
        if not isinstance(obj, dict) or not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
            raise BadSignature("The webhook is not a well-formed event.")
        return WebhookEvent(id=data["id"], type=data["type"], object=obj)


def online_payments_configured() -> bool:
    """All three keys are set. Without the webhook secret no payment could ever be recorded, so
    the card form is not offered either."""
    return all((settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY, settings.STRIPE_WEBHOOK_SECRET))


def get_provider() -> StripeProvider | None:
    """The configured provider, or None when online payments are not set up (any key missing)."""
    if not online_payments_configured():
        return None
    return StripeProvider(
        secret_key=settings.STRIPE_SECRET_KEY,
        publishable_key=settings.STRIPE_PUBLISHABLE_KEY,
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        api_base=settings.STRIPE_API_BASE,
    )
