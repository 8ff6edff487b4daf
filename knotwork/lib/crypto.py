"""Clinical text encrypted at rest: model fields that store Fernet tokens instead of plain text.

Keys come from ``settings.FIELD_ENCRYPTION_KEYS`` (the environment's FIELD_ENCRYPTION_KEYS, or a
key kept under var/ for local use). The first key encrypts; every key decrypts, so a new key can
be put first, `knotwork rotate-key` run, and the old key dropped afterwards.

A stored value is ``enc1:`` + a Fernet token (AES-128-CBC + HMAC-SHA256, random IV), so the same
text never encrypts twice to the same bytes. Consequences the rest of the code must respect:

- the database cannot search, filter, order or index on these columns (an ``exact`` lookup
  against a non-empty value never matches). The one exception: the empty string is stored as
  the empty string, so "has any alert" (``exclude(field="")``) still works;
- a value without the ``enc1:`` prefix is read as plain text: rows written before encryption was
  switched on stay readable until the migration (or `rotate-key`) re-saves them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models

PREFIX = "enc1:"


@lru_cache(maxsize=1)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: clinical text cannot be encrypted")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def _reset(**kwargs: Any) -> None:
    if kwargs.get("setting") == "FIELD_ENCRYPTION_KEYS":
        _fernet.cache_clear()


setting_changed.connect(_reset)


def new_key() -> str:
    return Fernet.generate_key().decode()


def encrypt(text: str) -> str:
    if text == "":
        return ""
    return PREFIX + fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before encryption: read as is, re-encrypted on the next save
    try:
        return fernet().decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken:
        # Never fall back to showing ciphertext as if it were a note: a missing key is an outage.
        raise ImproperlyConfigured("A stored value cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS") from None


def is_encrypted(stored: str | None) -> bool:
    return not stored or stored.startswith(PREFIX)


class EncryptedTextField(models.TextField):
    """A TextField whose column holds ciphertext. Reads and writes through the ORM are plain text."""

    description = "Text encrypted at rest"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return value if value is None else decrypt(value)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)
        if value is None or hasattr(value, "as_sql"):
            return value
        return encrypt(str(value))


class EncryptedJSONField(models.JSONField):
    """A JSONField stored as encrypted JSON text (a text column: no JSON lookups in the database)."""

    description = "JSON encrypted at rest"

    def db_type(self, connection: Any) -> str:
        return connection.data_types["TextField"]

    def db_check(self, connection: Any) -> None:
        return None  # SQLite's JSON_VALID check cannot see through the ciphertext

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):  # a jsonb row not yet converted (never after the migration)
            return value
        return json.loads(decrypt(value), cls=self.decoder)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or hasattr(value, "as_sql"):
            return value
        return encrypt(json.dumps(value, cls=self.encoder))

    def get_transform(self, name: str) -> Any:
        # Key and index lookups would run on ciphertext and silently match nothing.
        return models.Field.get_transform(self, name)


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[str]]]:
    """Every concrete model with encrypted fields, and those fields' names."""
    from django.apps import apps

    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField | EncryptedJSONField)]
        if names:
            yield model, names


def reencrypt_model(model: type[models.Model], names: list[str], *, batch: int = 500) -> int:
    """Re-save the named fields of every row with the current first key; returns the rows written.

    ``update()`` writes only those columns and leaves ``auto_now`` timestamps alone, so a rotation
    is not mistaken for an edit."""
    from django.db import transaction

    written = 0
    manager = model._base_manager
    last_pk: Any = None
    while True:
        qs = manager.order_by("pk")
        if last_pk is not None:
            qs = qs.filter(pk__gt=last_pk)
        rows = list(qs.values_list("pk", *names)[:batch])
        if not rows:
            return written
        with transaction.atomic():
            for pk, *values in rows:
                manager.filter(pk=pk).update(**dict(zip(names, values, strict=True)))
        written += len(rows)
        last_pk = rows[-1][0]


def encrypt_existing_rows(app_label: str, fields: dict[str, list[str]]) -> Any:
    """A RunPython step for a migration that switched fields to encryption: re-save existing rows
    (plain text is read as is, then written encrypted). Reversing leaves rows readable, since the
    reverse AlterField turns the column back into plain text only after decrypting it."""

    def forward(apps: Any, schema_editor: Any) -> None:
        for model_name, names in fields.items():
            reencrypt_model(apps.get_model(app_label, model_name), names)

    return forward


def decrypt_existing_rows(app_label: str, fields: dict[str, list[str]]) -> Any:
    """The reverse of :func:`encrypt_existing_rows`: write every value back as plain text."""

    def backward(apps: Any, schema_editor: Any) -> None:
        from django.db import connection

        for model_name, names in fields.items():
            model = apps.get_model(app_label, model_name)
            table = connection.ops.quote_name(model._meta.db_table)
            for pk, *values in model._base_manager.values_list("pk", *names):
                plain = [v if isinstance(v, str) else json.dumps(v) for v in values]
                sets = ", ".join(f"{connection.ops.quote_name(model._meta.get_field(n).column)} = %s" for n in names)
                with connection.cursor() as cursor:
                    cursor.execute(f"UPDATE {table} SET {sets} WHERE id = %s", [*plain, pk])  # noqa: S608 (names come from the model)

    return backward
