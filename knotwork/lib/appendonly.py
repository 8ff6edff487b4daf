"""Rows the application only ever adds: the audit log and the money ledger.

A correction is a new row, never an edit, so both the row (``save`` of an existing row,
``delete``) and the queryset (``update``, ``delete``) refuse. The database owner can still change
anything; the audit chain's hashes and ``knotwork money verify`` are what notice that.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models


class AppendOnlyError(Exception):
    """An append-only row was about to be changed or removed through the application."""


class AppendOnlyQuerySet(models.QuerySet[Any]):
    noun: ClassVar[str] = "rows"

    def update(self, **kwargs: object) -> int:
        raise AppendOnlyError(f"{self.noun} cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.noun} cannot be deleted")


def refuse_change(row: models.Model, noun: str) -> None:
    """Call first in ``save()``: a row already stored may not be written again."""
    if not row._state.adding:
        raise AppendOnlyError(f"{noun} cannot be changed; add a correcting entry")
