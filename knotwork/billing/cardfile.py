"""Card on file: a client saves a card from the portal through the provider's set-up intent, and
Knotwork keeps the provider's ids, the brand, the last four digits and the expiry — never the
number (docs/money.md, "Card on file and fees").

The card is recorded when the provider confirms the set-up: by the signed ``setup_intent.succeeded``
webhook, or by the page the client returns to, which reads the set-up back from the provider with
the secret key. Both come to :func:`setup_record`, under the clinic's money lock, so the card is
kept once. One card per client; saving another replaces (and detaches) the old one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404

from knotwork.accounts.models import Capability, Membership
from knotwork.accounts.permissions import membership_for
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.billing.models import CardSetup, CardSetupStatus, Fee, FeeStatus, SavedCard, StripeCustomer
from knotwork.billing.providers import PaymentProvider, ProviderError, Setup, WebhookEvent, get_provider
from knotwork.billing.services import BillingError, _lock_clinic
from knotwork.clients.models import Client

log = logging.getLogger(__name__)

# Set-up statuses in which the client can still enter a card.
SETUP_OPEN = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})


def _metadata(client: Client) -> dict[str, str]:
    # Ids only: no names or e-mail addresses go to the provider.
    return {"knotwork_client": str(client.pk), "knotwork_clinic": str(client.clinic_id)}


def customer_for(*, client: Client, provider: PaymentProvider) -> str:
    """The client's customer at the provider, created the first time it is needed (one per client:
    the idempotency key names the client, and the row is unique on it)."""
    found = StripeCustomer.objects.filter(client=client).values_list("customer_id", flat=True).first()
    if found:
        return found
    customer_id = provider.create_customer(idempotency_key=f"knotwork-customer-{client.pk}", metadata=_metadata(client))
    try:
        with transaction.atomic():
            row = StripeCustomer.objects.create(clinic_id=client.clinic_id, client=client, provider=provider.name, customer_id=customer_id)
            audit_record(action=Action.CREATE, obj=row, clinic=client.clinic_id, detail={"client": client.pk})
    except IntegrityError:
        return StripeCustomer.objects.get(client=client).customer_id
    return customer_id


def setup_open(*, client: Client, provider: PaymentProvider) -> Setup:
    """The set-up intent the portal's card form confirms: the client's open one while it can still
    take a card, else a new one. Raises ProviderError when the provider cannot be reached."""
    customer_id = customer_for(client=client, provider=provider)
    for setup in CardSetup.objects.filter(client=client, status=CardSetupStatus.OPEN):
        remote = provider.retrieve_setup_intent(setup.setup_intent_id)
        if remote.status in SETUP_OPEN and remote.customer == customer_id:
            return remote
        if remote.status == "succeeded":
            setup_record(setup=setup, remote=remote, provider=provider)
        else:
            CardSetup.objects.filter(pk=setup.pk, status=CardSetupStatus.OPEN).update(status=CardSetupStatus.CANCELED)
    attempt = CardSetup.objects.filter(client=client).count()
    key = f"knotwork-setup-{client.pk}-{attempt}"
    remote = provider.create_setup_intent(customer_id=customer_id, idempotency_key=key, metadata=_metadata(client))
    with transaction.atomic():
        row, created = CardSetup.objects.get_or_create(
            setup_intent_id=remote.id,
            defaults={"clinic_id": client.clinic_id, "client": client, "provider": provider.name, "customer_id": customer_id},
        )
        if created:
            audit_record(action=Action.CREATE, obj=row, clinic=client.clinic_id, role="client", detail={"client": client.pk})
    return remote


@transaction.atomic
def setup_record(*, setup: CardSetup, remote: Setup, provider: PaymentProvider, role: str = "system") -> SavedCard | None:
    """Keep the card of a set-up the provider says succeeded as the client's saved card, once.
    None when the set-up has not succeeded (nothing to keep)."""
    if remote.status != "succeeded" or not remote.payment_method or remote.id != setup.setup_intent_id:
        return None
    _lock_clinic(setup.clinic_id)
    setup = CardSetup.objects.select_for_update().select_related("client").get(pk=setup.pk)
    existing = SavedCard.objects.filter(payment_method_id=remote.payment_method).first()
    if existing is not None:
        CardSetup.objects.filter(pk=setup.pk).update(status=CardSetupStatus.SUCCEEDED)
        return existing
    details = provider.retrieve_card(remote.payment_method)
    if not details.customer:  # Stripe attaches it to the set-up's customer; make sure of it
        details = provider.attach_card(payment_method_id=details.id, customer_id=setup.customer_id)
    if details.customer != setup.customer_id:
        raise BillingError("That card belongs to another customer at the card provider; it was not saved.")
    old = SavedCard.objects.filter(client_id=setup.client_id).first()
    if old is not None:
        _forget(old, actor=None, role=role, why="replaced", provider=provider)
    card = SavedCard.objects.create(
        clinic_id=setup.clinic_id, client_id=setup.client_id, provider=provider.name, customer_id=setup.customer_id,
        payment_method_id=details.id, brand=details.brand, last4=details.last4, exp_month=details.exp_month,
        exp_year=details.exp_year,
    )  # fmt: skip
    CardSetup.objects.filter(pk=setup.pk).update(status=CardSetupStatus.SUCCEEDED)
    audit_record(action=Action.CREATE, obj=card, clinic=setup.clinic_id, role=role, detail={"client": setup.client_id, "setup": setup.pk})
    # Fees that were waiting for a card can now be charged by the desk with one click.
    Fee.objects.filter(client_id=setup.client_id, status=FeeStatus.NO_CARD).update(status=FeeStatus.TO_CHARGE, problem="")
    return card


def setup_return(*, client: Client, setup_intent_id: str, provider: PaymentProvider) -> tuple[str, SavedCard | None]:
    """For the page the provider sends the client back to: the set-up's status read back from the
    provider (never taken from the browser), and the card when it succeeded. A set-up that is
    not this client's is "unknown", like one the provider has never heard of."""
    setup = CardSetup.objects.filter(client=client, setup_intent_id=setup_intent_id).first() if setup_intent_id else None
    if setup is None:
        return "unknown", None
    remote = provider.retrieve_setup_intent(setup.setup_intent_id)
    return remote.status, setup_record(setup=setup, remote=remote, provider=provider, role="client")


def setup_succeeded_event(
    *, event: WebhookEvent, provider: PaymentProvider, claim: Callable[..., bool], outcome: Callable[..., str]
) -> str:
    """``setup_intent.succeeded``: keep the card once (the event id is claimed like any other)."""
    obj = event.object
    raw_id = obj.get("id")
    setup_id = raw_id if isinstance(raw_id, str) else ""
    setup = CardSetup.objects.filter(setup_intent_id=setup_id).first() if setup_id else None
    if setup is None:
        return "ignored: not a card set-up Knotwork opened"

    def ref(value: Any) -> str:
        return value if isinstance(value, str) else str((value or {}).get("id", "")) if isinstance(value, dict) else ""

    remote = Setup(
        id=setup_id, client_secret="", status=str(obj.get("status") or "succeeded"), customer=ref(obj.get("customer")),
        payment_method=ref(obj.get("payment_method")),
    )  # fmt: skip
    try:
        with transaction.atomic():
            _lock_clinic(setup.clinic_id)
            if not claim(event, provider):
                return "duplicate: already processed"
            card = setup_record(setup=setup, remote=remote, provider=provider)
            return outcome(event, provider, f"saved card {card.pk}" if card else "nothing to save: the set-up has no card")
    except ProviderError:
        # The card's details could not be fetched. The event is left unclaimed (rolled back with
        # the rest), so a redelivery, the client's return page or their next visit saves it.
        log.warning("card of set-up %s not saved yet: the provider could not be reached", setup_id)
        return "not saved yet: the card service could not be reached"


# --- Removing -----------------------------------------------------------------------------------


def _forget(card: SavedCard, *, actor: Any, role: str, why: str, provider: PaymentProvider | None) -> None:
    """Delete the row now and detach the card at the provider after the commit (best effort: a
    detached or unknown card is what we want anyway)."""
    payment_method = card.payment_method_id
    audit_record(
        action=Action.DELETE, obj=card, clinic=card.clinic_id, actor=actor, role=role, detail={"client": card.client_id, "why": why}
    )
    SavedCard.objects.filter(pk=card.pk).delete()

    def detach() -> None:
        if provider is None:
            return
        try:
            provider.detach_card(payment_method)
        except ProviderError:
            log.warning("could not detach the removed card %s at the provider", payment_method)

    transaction.on_commit(detach)


@transaction.atomic
def card_remove(*, card: SavedCard, actor: Any, role: str) -> None:
    """The client (or the desk) removes the saved card: gone here at once, detached at the provider."""
    _lock_clinic(card.clinic_id)
    card = SavedCard.objects.select_for_update().filter(pk=card.pk).first()  # type: ignore[assignment]
    if card is None:
        return
    _forget(card, actor=actor, role=role, why="removed", provider=get_provider())


# --- Reads ----------------------------------------------------------------------------------------


def saved_card(client: Client) -> SavedCard | None:
    return SavedCard.objects.filter(client=client).first()


def get_card_client_for_staff(user: Any, client_id: int) -> tuple[Client, Membership]:
    """A client whose card the desk may see and remove: their clinic's owner or front desk. Another
    clinic's client (or none) is a 404; a therapist a 403."""
    from django.core.exceptions import PermissionDenied

    client = Client.objects.select_related("clinic").filter(pk=client_id, restricted_at__isnull=True).first()
    membership = membership_for(user, client.clinic_id) if client is not None else None
    if client is None or membership is None:
        raise Http404("No such client")
    if not membership.can(Capability.TAKE_PAYMENTS):
        raise PermissionDenied("Saved cards are for the front desk and the clinic owner.")
    return client, membership
