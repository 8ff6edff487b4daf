"""``Idempotency-Key`` for POSTs that create or change bookings.

The first answer (success or refusal) is stored with a fingerprint of the request, in the same
transaction as the booking itself. A retry with the same key and the same request gets that
answer again and changes nothing; the same key with a different request is a 422. Keys belong
to one user: another user's key never reveals anything. Records are kept for 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from knotwork.accounts.models import Clinic
from knotwork.bookings.models import IdempotencyRecord
from knotwork.lib.api import error_body

Result = tuple[int, dict[str, Any]]


class _AlreadyStored(Exception):
    pass


def fingerprint(method: str, path: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method}|{path}|{canonical}".encode()).hexdigest()


def _replay(record: IdempotencyRecord, fp: str) -> Result:
    if record.fingerprint != fp:
        return 422, error_body(422, "This Idempotency-Key was already used for a different request.", code="idempotency_key_reused")
    return record.status_code, record.response


def run_idempotent(
    *, user: Any, clinic: Clinic | None, key: str | None, method: str, path: str, payload: dict[str, Any], run: Callable[[], Result]
) -> Result:
    if key is None:
        return run()
    if not (1 <= len(key) <= 255) or not key.isprintable():
        return 400, error_body(
            400, "Idempotency-Key must be 1–255 printable characters.", {"Idempotency-Key": "invalid"}, "validation_error"
        )
    fp = fingerprint(method, path, payload)
    existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
    if existing is not None:
        return _replay(existing, fp)
    try:
        with transaction.atomic():
            status, body = run()
            try:
                with transaction.atomic():
                    IdempotencyRecord.objects.create(user=user, clinic=clinic, key=key, fingerprint=fp, status_code=status, response=body)
            except IntegrityError:
                # The same key finished first in a concurrent request: undo this one entirely.
                raise _AlreadyStored from None
    except _AlreadyStored:
        return _replay(IdempotencyRecord.objects.get(user=user, key=key), fp)
    return status, body
