"""Online backups and restores of the database and the uploaded files.

A backup is one directory:

- ``database.sqlite3`` (SQLite's online backup API: a consistent copy taken while the server
  keeps writing) or ``database.pgdump`` (``pg_dump -Fc`` inside an exported snapshot);
- ``media.tar`` with every uploaded file;
- ``manifest.json``: when, which engine, per-table row counts and content hashes computed on the
  very snapshot that was saved, the SHA-256 of every media file, and a fingerprint of the field
  encryption key (the key itself is never in a backup: keep it with your secrets).

``restore`` loads a backup into an empty database (or, with ``force``, replaces one), unpacks the
media, recomputes the manifest on the restored data and reports any table or file that differs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

FORMAT = 1


class BackupError(Exception):
    pass


@dataclass
class RestoreReport:
    seconds: float
    tables: int
    rows: int
    media_files: int
    mismatches: list[str] = field(default_factory=list)


def _key_fingerprint() -> str:
    return hashlib.sha256(settings.FIELD_ENCRYPTION_KEYS[0].encode()).hexdigest()[:16]


def _is_sqlite() -> bool:
    return connection.vendor == "sqlite"


def _pg_env() -> tuple[list[str], dict[str, str]]:
    db = settings.DATABASES["default"]
    args = ["-h", str(db.get("HOST") or "127.0.0.1"), "-p", str(db.get("PORT") or 5432), "-U", str(db.get("USER") or "postgres")]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _normalise(value: Any) -> Any:
    if isinstance(value, memoryview | bytes):
        return hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value) if value is not None else None


def _table_digest(cursor: Any, table: str, quote: Any) -> tuple[int, str]:
    cursor.execute(f"SELECT * FROM {quote(table)} ORDER BY 1")  # noqa: S608 (table names come from the database catalogue)
    digest = hashlib.sha256()
    count = 0
    for row in cursor.fetchall():
        digest.update(json.dumps([_normalise(v) for v in row]).encode())
        count += 1
    return count, digest.hexdigest()


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
    return [r[0] for r in rows]


def sqlite_manifest(path: Path) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cursor = conn.cursor()
        out = {}
        for table in _sqlite_tables(conn):
            count, digest = _table_digest(cursor, table, lambda t: '"' + t.replace('"', '""') + '"')
            out[table] = {"rows": count, "sha256": digest}
        return out
    finally:
        conn.close()


def _pg_manifest(cursor: Any) -> dict[str, dict[str, Any]]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    out = {}
    for (table,) in cursor.fetchall():
        count, digest = _table_digest(cursor, table, lambda t: '"' + t.replace('"', '""') + '"')
        out[table] = {"rows": count, "sha256": digest}
    return out


def media_manifest(root: Path) -> dict[str, str]:
    if not root.exists():
        return {}
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _write_media(root: Path, dest: Path, files: Iterable[str]) -> None:
    with tarfile.open(dest, "w") as tar:
        for name in files:
            tar.add(root / name, arcname=name, recursive=False)


def backup(dest_root: Path) -> Path:
    """Take an online backup into a new directory under ``dest_root``; returns that directory."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    dest = Path(dest_root) / f"knotwork-backup-{stamp}"
    dest.mkdir(parents=True)
    started = time.monotonic()
    # Media first: a file uploaded after this point has no row in the database copy either,
    # while the reverse order could leave rows pointing at files missing from the archive.
    media_root = Path(settings.MEDIA_ROOT)
    media = media_manifest(media_root)
    _write_media(media_root, dest / "media.tar", media)
    if _is_sqlite():
        target = dest / "database.sqlite3"
        connection.ensure_connection()
        raw = connection.connection
        out = sqlite3.connect(target)
        try:
            raw.backup(out, pages=1024, sleep=0.005)  # in steps, so writers are never blocked for long
        finally:
            out.close()
        tables = sqlite_manifest(target)
        engine = "sqlite"
    else:
        target = dest / "database.pgdump"
        tables = _pg_backup(target)
        engine = "postgresql"
    manifest = {
        "format": FORMAT,
        "engine": engine,
        "created_at": datetime.now(UTC).isoformat(),
        "seconds": round(time.monotonic() - started, 3),
        "field_key_fingerprint": _key_fingerprint(),
        "tables": tables,
        "media": media,
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return dest


def _pg_backup(target: Path) -> dict[str, dict[str, Any]]:
    """pg_dump and the manifest read the same snapshot, so the hashes describe exactly the dump."""
    db = settings.DATABASES["default"]
    args, env = _pg_env()
    with _pg_connect() as conn:
        import psycopg

        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        snapshot = row[0]
        argv = ["pg_dump", *args, "-Fc", "--no-owner", f"--snapshot={snapshot}", "-f", str(target), db["NAME"]]
        # A fixed argv without a shell; pg_dump is found on PATH like the other PostgreSQL client tools.
        result = subprocess.run(  # noqa: S603
            argv,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
        with conn.cursor() as cursor:
            manifest = _pg_manifest(cursor)
    return manifest


def _pg_connect() -> Any:
    """A plain psycopg connection, so backup and restore read values through the same adapters."""
    import psycopg

    db = settings.DATABASES["default"]
    conninfo: dict[str, Any] = {"host": db.get("HOST") or "127.0.0.1", "port": db.get("PORT") or 5432, "user": db.get("USER") or "postgres"}
    if db.get("PASSWORD"):
        conninfo["password"] = db["PASSWORD"]
    return psycopg.connect(dbname=db["NAME"], **conninfo)


def _database_is_empty() -> bool:
    return not [t for t in connection.introspection.table_names() if not t.startswith("sqlite_")]


def restore(source: Path, *, force: bool = False) -> RestoreReport:
    """Load a backup into this instance's database and media directory, then verify it."""
    source = Path(source)
    manifest_path = source / "manifest.json"
    if not manifest_path.exists():
        raise BackupError(f"{source} is not a Knotwork backup (no manifest.json)")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    engine = "sqlite" if _is_sqlite() else "postgresql"
    if manifest["engine"] != engine:
        raise BackupError(f"this backup is of a {manifest['engine']} database; this instance uses {engine}")
    if not force and not _database_is_empty():
        raise BackupError("the database is not empty: restore into a fresh instance, or pass --force to replace it")
    started = time.monotonic()
    if engine == "sqlite":
        _sqlite_restore(source / "database.sqlite3")
    else:
        _pg_restore(source / "database.pgdump")
    media_root = Path(settings.MEDIA_ROOT)
    _media_restore(source / "media.tar", media_root)
    seconds = time.monotonic() - started

    if engine == "sqlite":
        tables = sqlite_manifest(Path(settings.DATABASES["default"]["NAME"]))
    else:
        with _pg_connect() as conn, conn.cursor() as cursor:
            tables = _pg_manifest(cursor)
    mismatches = [f"table {t}" for t in sorted(set(manifest["tables"]) | set(tables)) if manifest["tables"].get(t) != tables.get(t)]
    media = media_manifest(media_root)
    mismatches += [f"media {name}" for name, digest in manifest["media"].items() if media.get(name) != digest]
    if manifest.get("field_key_fingerprint") != _key_fingerprint():
        mismatches.append("field encryption key: the first key differs from the one in use at backup time (keep the old key listed)")
    return RestoreReport(
        seconds=seconds,
        tables=len(tables),
        rows=sum(t["rows"] for t in tables.values()),
        media_files=len(manifest["media"]),
        mismatches=mismatches,
    )


def _sqlite_restore(path: Path) -> None:
    connection.close()
    target = Path(settings.DATABASES["default"]["NAME"])
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # page-for-page copy, also replacing WAL content safely
    finally:
        src.close()
        dst.close()


def _pg_restore(path: Path) -> None:
    db = settings.DATABASES["default"]
    args, env = _pg_env()
    connection.close()
    argv = ["pg_restore", *args, "--clean", "--if-exists", "--no-owner", "--single-transaction", "-d", db["NAME"], str(path)]
    result = subprocess.run(  # noqa: S603 (a fixed argv without a shell)
        argv,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[:2000]}")


def _media_restore(archive: Path, root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        # The "data" filter refuses absolute paths, links out of the tree and device files.
        tar.extractall(root, filter="data")


def describe(report: RestoreReport) -> str:
    buf = io.StringIO()
    buf.write(f"restored {report.tables} tables, {report.rows} rows, {report.media_files} media files in {report.seconds:.2f} s\n")
    if report.mismatches:
        buf.write("MISMATCH: " + "; ".join(report.mismatches) + "\n")
    else:
        buf.write("verified: every table's row count and content hash and every media file match the backup\n")
    return buf.getvalue()


def remove(path: Path) -> None:
    shutil.rmtree(path)
