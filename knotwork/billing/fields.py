"""Money columns and checks every priced billing row shares (see models.py's docstring)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

currency_code = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code such as GBP.")
CURRENCY_OK = Q(currency__regex=r"^[A-Z]{3}$")


HALF_CENT = Decimal("0.005")


def sum_is(total: Any, parts: Any) -> Q:
    """``total == parts`` for two-place amounts, robust to SQLite's binary floats (see the docstring)."""
    return Q(**{f"{total.name}__gt": parts - HALF_CENT}) & Q(**{f"{total.name}__lt": parts + HALF_CENT})


def money_field(**extra: Any) -> models.DecimalField:
    # 12 digits: ten million times the largest single amount still fits a clinic's sums.
    return models.DecimalField(max_digits=12, decimal_places=2, **extra)
