"""Reads for gift cards and packages: one object for a user, lists, what is left on each (from
their ledgers), the public balance lookup and its rate limit, and the liability report."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from knotwork.accounts.models import Capability, Clinic, Membership
from knotwork.accounts.permissions import membership_for, require
from knotwork.audit.models import Action
from knotwork.audit.services import audit_many, audit_record
from knotwork.billing.models import ClientPackage, GiftCard, GiftCardEntry, PackageEntry, PackageProduct, PrepaidStatus
from knotwork.billing.prepaid import code_digest
from knotwork.billing.selectors import MONEY, ZERO, cents
from knotwork.clients.models import Client


def _card_sum() -> Any:
    rows = GiftCardEntry.objects.filter(gift_card=OuterRef("pk")).order_by().values("gift_card").annotate(s=Sum("amount")).values("s")
    return Coalesce(Subquery(rows, output_field=MONEY), Value(ZERO), output_field=MONEY)


def _package_sum() -> Any:
    rows = PackageEntry.objects.filter(package=OuterRef("pk")).order_by().values("package").annotate(s=Sum("sessions")).values("s")
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0), output_field=IntegerField())


def with_card_balance(qs: QuerySet[GiftCard]) -> QuerySet[GiftCard]:
    """Annotate ``ledger_balance``: the sum of the card's entries (what is really on it)."""
    return qs.annotate(ledger_balance=_card_sum())


def with_sessions_remaining(qs: QuerySet[ClientPackage]) -> QuerySet[ClientPackage]:
    """Annotate ``remaining``: the sum of the package's entries (sessions still to use)."""
    return qs.annotate(remaining=_package_sum())


def card_balance(card: GiftCard) -> Decimal:
    return cents(GiftCardEntry.objects.filter(gift_card=card).aggregate(s=Sum("amount"))["s"] or ZERO)


def package_remaining(package: ClientPackage) -> int:
    return int(PackageEntry.objects.filter(package=package).aggregate(s=Sum("sessions"))["s"] or 0)


def today_at(clinic: Clinic) -> date:
    return timezone.localdate(timezone.now(), timezone=clinic.tz)


# --- One object for a user ----------------------------------------------------------------------


def get_gift_card_for_user(user: Any, card_id: int, *, write: bool = False, clinic_id: int | None = None) -> tuple[GiftCard, Membership]:
    """A gift card for owner and front desk of its clinic; another clinic's is a 404, a therapist a 403."""
    qs = with_card_balance(GiftCard.objects.select_related("clinic", "purchaser", "invoice_line__invoice").filter(pk=card_id))
    if clinic_id is not None:
        qs = qs.filter(clinic_id=clinic_id)
    card = qs.first()
    if card is None or card.purchaser.restricted_at is not None:
        raise Http404("No such gift card")
    membership = require(membership_for(user, card.clinic_id), Capability.TAKE_PAYMENTS)
    if not write:
        audit_record(action=Action.VIEW, obj=card, role=membership.role)
    return card, membership


def get_package_for_user(user: Any, package_id: int, *, write: bool = False) -> tuple[ClientPackage, Membership]:
    """A sold package for owner and front desk of its clinic; another clinic's is a 404, a therapist a 403."""
    qs = with_sessions_remaining(ClientPackage.objects.select_related("clinic", "client", "product", "invoice_line__invoice"))
    package = qs.filter(pk=package_id).first()
    if package is None or package.client.restricted_at is not None:
        raise Http404("No such package")
    membership = require(membership_for(user, package.clinic_id), Capability.TAKE_PAYMENTS)
    if not write:
        audit_record(action=Action.VIEW, obj=package, role=membership.role)
    return package, membership


# --- Lists ----------------------------------------------------------------------------------------


def gift_card_list(*, clinic: Clinic, search: str = "") -> QuerySet[GiftCard]:
    qs = GiftCard.objects.filter(clinic=clinic, purchaser__restricted_at__isnull=True).select_related("purchaser")
    for word in search.split()[:5]:
        qs = qs.filter(
            Q(recipient_name__icontains=word) | Q(recipient_email__icontains=word) | Q(purchaser__first_name__icontains=word)
            | Q(purchaser__last_name__icontains=word) | Q(last4=word.upper()[-4:])
        )  # fmt: skip
    return with_card_balance(qs).order_by("-created_at", "-id")


def package_list(*, clinic: Clinic, search: str = "") -> QuerySet[ClientPackage]:
    qs = ClientPackage.objects.filter(clinic=clinic, client__restricted_at__isnull=True).select_related("client")
    for word in search.split()[:5]:
        qs = qs.filter(Q(name__icontains=word) | Q(client__first_name__icontains=word) | Q(client__last_name__icontains=word))
    return with_sessions_remaining(qs).order_by("-created_at", "-id")


def products_of(clinic: Clinic, *, active_only: bool = False) -> QuerySet[PackageProduct]:
    qs = PackageProduct.objects.filter(clinic=clinic).prefetch_related("services")
    return qs.filter(is_active=True) if active_only else qs


def client_packages(client: Client) -> QuerySet[ClientPackage]:
    """The client's packages, newest first, with what is left on each."""
    return with_sessions_remaining(ClientPackage.objects.filter(client=client)).order_by("-created_at", "-id")


def _family_shareable(client: Client) -> Q:
    """Shareable packages bought by the other open members of the client's family (none without one)."""
    if client.household_id is None:
        return Q(pk__in=[])
    return Q(
        shareable=True, client__household_id=client.household_id, client__clinic_id=client.clinic_id, client__restricted_at__isnull=True
    ) & ~Q(client=client)


def _live(client: Client) -> QuerySet[ClientPackage]:
    day = today_at(client.clinic)
    return ClientPackage.objects.filter(clinic_id=client.clinic_id, status=PrepaidStatus.ACTIVE, sessions_left__gte=1).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=day)
    )


def usable_packages(client: Client) -> QuerySet[ClientPackage]:
    """Packages the desk may offer at this client's check-out: active, unexpired, not used up, and
    either their own or a shareable one bought by someone in their family. Their own come first."""
    own_first = Case(When(client_id=client.pk, then=Value(0)), default=Value(1), output_field=IntegerField())
    return (
        _live(client).filter(Q(client=client) | _family_shareable(client)).select_related("client")
        .order_by(own_first, "expires_on", "id")
    )  # fmt: skip


def package_choice_label(package: ClientPackage, client: Client) -> str:
    """How check-out names a package for ``client``: a family member's says whose it is."""
    whose = "" if package.client_id == client.pk else f" (bought by {package.client.full_name}, shared with the family)"
    until = f", until {package.expires_on:%d %b %Y}" if package.expires_on else ""
    return f"{package.name}{whose} — {package.sessions_left} of {package.sessions_total} left{until}"


def family_packages(client: Client) -> QuerySet[ClientPackage]:
    """Shareable packages of the client's family that the client may use now (the portal's "shared
    by" list), with ``remaining`` from the ledger; the buyer comes with each."""
    return with_sessions_remaining(_live(client).filter(_family_shareable(client)).select_related("client")).order_by("expires_on", "id")


def client_gift_cards(client: Client) -> QuerySet[GiftCard]:
    return with_card_balance(GiftCard.objects.filter(purchaser=client)).order_by("-created_at", "-id")


# --- The balance lookup by code ------------------------------------------------------------------


@dataclass(frozen=True)
class CardBalance:
    balance: Decimal
    currency: str
    expires_on: date | None
    cancelled: bool = False


def balance_by_code(code: str) -> CardBalance | None:
    """Balance, currency and expiry of the active (or cancelled) card with that code, and nothing
    else. The digest is computed and one indexed query made whatever was typed, so a wrong code
    takes the same path as a right one."""
    live = (PrepaidStatus.ACTIVE, PrepaidStatus.CANCELLED)
    row = (
        with_card_balance(GiftCard.objects.filter(code_digest=code_digest(code), status__in=live))
        .values("ledger_balance", "currency", "expires_on", "status")  # type: ignore[misc]  # an annotation the plugin cannot see
        .first()
    )
    if row is None:
        return None
    return CardBalance(
        balance=cents(row["ledger_balance"]),
        currency=row["currency"],
        expires_on=row["expires_on"],
        cancelled=row["status"] == PrepaidStatus.CANCELLED,
    )


def lookup_throttled(who: str) -> bool:
    """True once ``who`` (an address or a user) has asked for more than the allowed number of
    gift-card codes in the last minute. Counted in the shared cache, so it holds across processes."""
    limit = int(getattr(settings, "GIFT_CARD_LOOKUPS_PER_MINUTE", 10))
    key = f"billing:gift-card-lookup:{who}"
    cache.add(key, 0, timeout=60)
    try:
        return int(cache.incr(key)) > limit
    except ValueError:  # the counter expired between add and incr
        return False


# --- The liability report -------------------------------------------------------------------------


@dataclass
class Liability:
    """Prepaid value the clinic still owes in services, per currency."""

    currency: str
    gift_cards: Decimal = ZERO  # unspent on active, unexpired cards
    gift_card_count: int = 0
    expired_gift_cards: Decimal = ZERO  # left on expired cards (no longer owed, unless policy says so)
    package_sessions: int = 0  # unused sessions of active, unexpired packages
    packages: Decimal = ZERO  # those sessions at what each was paid for
    package_count: int = 0
    expired_package_sessions: int = 0
    cancelled_gift_cards: int = 0  # cancelled because their sale was credited or refunded: owed nothing
    cancelled_packages: int = 0

    @property
    def total(self) -> Decimal:
        return self.gift_cards + self.packages


def prepaid_liability(clinic: Clinic) -> list[Liability]:
    day = today_at(clinic)
    out: dict[str, Liability] = defaultdict(lambda: Liability(currency=""))
    live = (PrepaidStatus.ACTIVE, PrepaidStatus.CANCELLED)
    cards = with_card_balance(GiftCard.objects.filter(clinic=clinic, status__in=live)).values_list(  # type: ignore[misc]
        "currency", "expires_on", "ledger_balance", "status"
    )
    for currency, expires_on, balance, status in cards:
        row = out[currency]
        row.currency = currency
        if status == PrepaidStatus.CANCELLED:
            row.cancelled_gift_cards += 1
        elif expires_on is not None and day > expires_on:
            row.expired_gift_cards += cents(balance)
        elif balance > 0:
            row.gift_cards += cents(balance)
            row.gift_card_count += 1
    packages = with_sessions_remaining(ClientPackage.objects.filter(clinic=clinic, status__in=live))
    for package in packages.only("currency", "expires_on", "price", "sessions_total", "status"):
        row = out[package.currency]
        row.currency = package.currency
        left = int(package.remaining)  # type: ignore[attr-defined]
        if package.status == PrepaidStatus.CANCELLED:
            row.cancelled_packages += 1
        elif package.expired_on(day):
            row.expired_package_sessions += left
        elif left > 0:
            row.package_sessions += left
            row.packages += package.session_value * left
            row.package_count += 1
    return [out[c] for c in sorted(out)]


def portal_family_packages(client: Client) -> list[ClientPackage]:
    """:func:`family_packages` for the client's own portal page; another client's package is money
    data, so showing it is audited as a list read by the client."""
    packages = list(family_packages(client))
    if packages:
        audit_many(action=Action.LIST, objects=packages, clinic=client.clinic, role="client")
    return packages
