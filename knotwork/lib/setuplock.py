"""One server at a time prepares the deployment (migrations, reference data, static files).

``knotwork run`` migrates, loads the atlas, seeds an empty demo and collects static files before
it serves. Two of them started together from one checkout used to race in ``collectstatic`` (one
deleted a file the other was copying) and, over one database, in ``migrate``. :func:`setup_lock`
serialises that step: an exclusive file lock in the var folder for processes sharing a checkout,
and a PostgreSQL advisory lock for app servers on different machines sharing a database. The
second process waits, then finds everything done and goes straight on.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection

ADVISORY_KEY = 0x4B4E4F54  # "KNOT": one fixed key for this one purpose


@contextlib.contextmanager
def setup_lock(path: Path | None = None) -> Iterator[None]:
    lock_file = path or Path(settings.VAR_DIR) / "setup.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            with _database_lock():
                yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _database_lock() -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield  # SQLite lives in the var folder: the file lock already covers it
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_KEY])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])
