"""Shared by the money reports: which payment methods are takings, periods, amounts and names."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from knotwork.accounts.models import Clinic
from knotwork.billing import money
from knotwork.billing.models import (
    BillingSettings,
    LineKind,
    PaymentMethod,
    default_currency,
)
from knotwork.billing.selectors import cents
from knotwork.bookings.reports import Period, ReportError, report_period

# Money that came in now, and value paid for earlier (docs/money.md: gift-card and package
# payments are not takings; store credit was taken when it was created).

MONEY_METHODS = (
    PaymentMethod.CASH,
    PaymentMethod.CARD_TERMINAL,
    PaymentMethod.CARD_ONLINE,
    PaymentMethod.BANK_TRANSFER,
    PaymentMethod.CHEQUE,
    PaymentMethod.OTHER,
)
PREPAID_METHODS = (PaymentMethod.GIFT_CARD, PaymentMethod.PACKAGE, PaymentMethod.MEMBERSHIP, PaymentMethod.STORE_CREDIT)
# Lines that sell prepaid value: a liability until it is used, not revenue.
PREPAID_LINES = (LineKind.GIFT_CARD, LineKind.PACKAGE)
PRESETS = {"this_month": "This month", "last_month": "Last month", "this_year": "This year"}
BUCKETS = ("Current", "1–30 days", "31–60 days", "61–90 days", "Over 90 days")
RESTRICTED = "Restricted record"  # a client whose record was erased: money kept, name gone

# --- Periods and amounts -------------------------------------------------------------------------


def money_period(first: date | None, last: date | None, preset: str, *, today: date) -> Period:
    """The period asked for: a preset, or from/to dates (bookings' rules: at most two years), or
    this month by default. Raises ReportError."""
    if preset == "this_month" or (not preset and first is None and last is None):
        return Period(today.replace(day=1), today)
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end)
    if preset == "this_year":
        return Period(today.replace(month=1, day=1), today)
    if preset:
        raise ReportError("Choose this month, last month or this year.", "preset")
    return report_period(first, last, today=today)


def amount_text(value: Decimal, currency: str) -> Decimal:
    """An amount with exactly the currency's minor digits, for CSV: ``str()`` of it is ``12.50``,
    ``-60.00`` or, in JPY, ``1200`` (never ``-0.00``)."""
    return cents(value).quantize(money.exponent(currency)) + 0


def clinic_currency(clinic: Clinic) -> str:
    found = BillingSettings.objects.filter(clinic=clinic).values_list("currency", flat=True).first()
    return found or default_currency()


def _name(first: str | None, last: str | None, restricted: Any) -> str:
    return RESTRICTED if restricted is not None else f"{first or ''} {last or ''}".strip()


def _person(full_name: str | None, email: str | None) -> str:
    return full_name or (email or "").split("@")[0]


def _local(at: datetime, clinic: Clinic) -> datetime:
    return timezone.localtime(at, clinic.tz)


class AfterCredits:
    """Net and tax after credit notes, for a figure that keeps both sides (``net``, ``tax``,
    ``credited_net``, ``credited_tax``)."""

    net: Decimal
    tax: Decimal
    credited_net: Decimal
    credited_tax: Decimal

    @property
    def net_after(self) -> Decimal:
        return self.net - self.credited_net

    @property
    def tax_after(self) -> Decimal:
        return self.tax - self.credited_tax
