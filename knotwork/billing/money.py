"""Money arithmetic: parsing, quantising and line totals. Pure Python, no Django imports.

Amounts are :class:`~decimal.Decimal` in the currency's major unit (pounds, not pence) and are
stored with two decimal places (docs/money.md says why). Every rounding goes through
:func:`quantize`, half-up, to the currency's minor unit: one rule, in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import formats

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
# The largest amount one line, payment or refund may carry. Far above any clinic's bill, far below
# what the columns (12 digits, 2 places) hold once summed, so totals can never overflow them.
MAX_AMOUNT = Decimal("1000000.00")
MAX_QUANTITY = 1000
MAX_TAX_PERCENT = Decimal("100.00")

# ISO 4217 currencies whose minor unit is not the usual hundredth. Three-decimal currencies
# (BHD, KWD, …) are refused: the columns keep two places.
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"})
THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class MoneyError(ValueError):
    """An amount or currency that cannot be used; ``str()`` is a sentence for the person entering it."""


def check_currency(code: str) -> str:
    if not isinstance(code, str) or not _CURRENCY.match(code):
        raise MoneyError("Use a three-letter ISO 4217 currency code such as GBP.")
    if code in THREE_DECIMAL:
        raise MoneyError(f"{code} has three decimal places, which Knotwork does not support yet.")
    return code


def exponent(currency: str) -> Decimal:
    return Decimal(1) if currency in ZERO_DECIMAL else Decimal("0.01")


def quantize(value: Decimal, currency: str = "GBP") -> Decimal:
    """``value`` rounded half-up to the currency's minor unit (always shown with two places)."""
    if not isinstance(value, Decimal):
        raise TypeError("money must be a Decimal, never a float")
    return value.quantize(exponent(currency), rounding=ROUND_HALF_UP).quantize(Decimal("0.01"))


def parse_amount(raw: object, currency: str = "GBP", *, allow_zero: bool = False, maximum: Decimal = MAX_AMOUNT) -> Decimal:
    """A positive amount from user input (str, int or Decimal; never float), quantised.

    Refuses floats, non-numbers, NaN/infinity, negatives, zero (unless ``allow_zero``), more
    precision than the currency has, and anything above ``maximum``.
    """
    if isinstance(raw, float | bool):
        raise MoneyError('Amounts must be exact: send them as text such as "12.50".')
    try:
        value = Decimal(str(raw).strip()) if not isinstance(raw, Decimal) else raw
    except (InvalidOperation, ValueError):
        raise MoneyError("Enter an amount such as 12.50.") from None
    if not value.is_finite():
        raise MoneyError("Enter an amount such as 12.50.")
    if value < 0:
        raise MoneyError("The amount cannot be negative.")
    if value == 0 and not allow_zero:
        raise MoneyError("The amount must be more than zero.")
    if value > maximum:
        raise MoneyError(f"The amount cannot be more than {maximum:,}.")
    if value != value.quantize(exponent(currency), rounding=ROUND_HALF_UP):
        places = "no decimal places" if currency in ZERO_DECIMAL else "at most two decimal places"
        raise MoneyError(f"{currency} amounts have {places}.")
    return quantize(value, currency)


def percent_of(amount: Decimal, percent: Decimal, currency: str = "GBP") -> Decimal:
    return quantize(amount * percent / HUNDRED, currency)


@dataclass(frozen=True)
class LineTotals:
    net: Decimal  # after discount, before tax
    tax: Decimal
    total: Decimal  # what the client pays for the line


def line_totals(
    *, quantity: int, unit_price: Decimal, discount: Decimal, tax_percent: Decimal, prices_include_tax: bool, currency: str
) -> LineTotals:
    """One invoice line: ``quantity × unit_price − discount``, then tax.

    Tax-inclusive prices carry their tax inside: the tax is the part of the total above
    ``total / (1 + rate)``. Tax-exclusive prices get the tax added. Each line is rounded on its
    own (tax per line, as the issue asks), so the invoice's totals are plain sums of its lines.
    """
    if quantity < 1 or quantity > MAX_QUANTITY:
        raise MoneyError(f"The quantity must be between 1 and {MAX_QUANTITY}.")
    if tax_percent < 0 or tax_percent > MAX_TAX_PERCENT:
        raise MoneyError("A tax rate is a percentage between 0 and 100.")
    gross = quantize(unit_price * quantity, currency)
    if discount < 0:
        raise MoneyError("A discount cannot be negative.")
    if discount > gross:
        raise MoneyError("The discount cannot be more than the line's price.")
    after = gross - quantize(discount, currency)
    if prices_include_tax:
        net = quantize(after * HUNDRED / (HUNDRED + tax_percent), currency)
        return LineTotals(net=net, tax=after - net, total=after)
    tax = percent_of(after, tax_percent, currency)
    return LineTotals(net=after, tax=tax, total=after + tax)


def format_money(amount: Decimal, currency: str, *, localized: bool = False) -> str:
    """``GBP 1,234.50``: the code, not a symbol, so every currency prints in every font.
    ``localized`` writes the number as the active language does (``GBP 1.234,50`` in Spanish,
    ``GBP 1 234,50`` in French), for text sent to a client in their language."""
    places = 0 if currency in ZERO_DECIMAL else 2
    if localized:
        return f"{currency} {formats.number_format(amount, decimal_pos=places, use_l10n=True, force_grouping=True)}"
    return f"{currency} {amount:,.{places}f}"
