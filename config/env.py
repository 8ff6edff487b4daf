"""Read settings from the environment, failing loudly with the variable's name on a bad value."""

from __future__ import annotations

import os
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_amounts(name: str, default: str) -> list[str]:
    """A comma-separated list of positive amounts (``25,50,100``); empty or unset gives ``default``."""
    raw = os.environ.get(name)
    items = [item.strip() for item in (raw if raw and raw.strip() else default).split(",") if item.strip()]
    for item in items:
        try:
            value = Decimal(item)
        except InvalidOperation:
            raise ImproperlyConfigured(f"{name} must be amounts such as 25 or 12.50, separated by commas, not {item!r}") from None
        if not value.is_finite() or value <= 0:
            raise ImproperlyConfigured(f"{name} must hold amounts above 0, not {item!r}")
    return items


def env_amount(name: str, default: str) -> str:
    """One positive amount (``10`` or ``12.50``)."""
    items = env_amounts(name, default)
    if len(items) != 1:
        raise ImproperlyConfigured(f"{name} must be one amount, not {len(items)}")
    return items[0]


def env_choice(name: str, default: str, choices: dict[str, str]) -> str:
    """Map a short name in the environment to a setting value (e.g. an email backend path)."""
    raw = env_str(name, default).lower()
    if raw not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(sorted(choices))}, not {raw!r}")
    return choices[raw]


def secret_key(var_dir: Path, *, debug: bool) -> str:
    """SECRET_KEY from the environment, or one generated once and kept under var/ for local use."""
    key = env_str("SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
        return key
    if not debug and env_bool("KNOTWORK_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("SECRET_KEY must be set in production (KNOTWORK_REQUIRE_SECRET_KEY is on)")
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # Write-then-rename so two processes starting at once never read half a key.
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(key)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path.read_text().strip()


def field_encryption_keys(var_dir: Path, *, debug: bool) -> list[str]:
    """Fernet keys for encrypted model fields: FIELD_ENCRYPTION_KEYS (comma separated, the first
    encrypts, all decrypt), or one key generated once and kept under var/ for local use."""
    import base64
    import binascii

    keys = env_list("FIELD_ENCRYPTION_KEYS", [])
    for i, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS key {i} is not a Fernet key (32 bytes, URL-safe base64; make one with `knotwork rotate-key --new`)"
            )
    if keys:
        return keys
    if not debug and env_bool("KNOTWORK_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be set in production (KNOTWORK_REQUIRE_SECRET_KEY is on)")
    path = var_dir / "field_encryption_key"
    if path.exists():
        return [path.read_text().strip()]
    var_dir.mkdir(parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(key)
    os.chmod(tmp, 0o600)
    # os.link refuses to overwrite: if another process won the race, keep its key, never ours.
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return [path.read_text().strip()]


def audit_keys(var_dir: Path, *, debug: bool) -> dict[str, str]:
    """HMAC keys for the audit chain, ``id -> secret`` with the signing key first: AUDIT_KEYS
    (``id:secret`` pairs, comma separated; the first signs new rows, all verify), or one key
    generated once under var/ for local use. The keys never go into the database, so whoever can
    only write to the database cannot rewrite the chain (docs/security.md, Audit)."""
    import re

    pairs = env_list("AUDIT_KEYS", [])
    keys: dict[str, str] = {}
    for i, pair in enumerate(pairs, start=1):
        key_id, _, secret = pair.partition(":")
        if not re.fullmatch(r"[a-z0-9]{1,16}", key_id) or len(secret) < 32 or key_id in keys:
            raise ImproperlyConfigured(
                f"AUDIT_KEYS entry {i} must be id:secret: a unique id of 1-16 lower-case letters or digits, a secret of 32+ characters"
            )
        keys[key_id] = secret
    if keys:
        return keys
    if not debug and env_bool("KNOTWORK_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("AUDIT_KEYS must be set in production (KNOTWORK_REQUIRE_SECRET_KEY is on)")
    path = var_dir / "audit_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(f"k1:{secrets.token_urlsafe(48)}")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    key_id, _, secret = path.read_text().strip().partition(":")
    return {key_id: secret}
