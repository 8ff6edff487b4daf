"""Backups: `knotwork backup` taken while writes run, then `knotwork restore` into a fresh instance.

    .venv/bin/python benchmarks/backup_restore.py [--database sqlite|postgres]

A throwaway instance gets the demo data, a second process keeps creating clients while the
backup runs, and the backup is restored into a new, empty instance (same field-encryption key).
The restore verifies every table's row count and content hash and every media file against the
backup's manifest, and prints the restore time. Real data is never touched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")

WRITER = """
import time
from knotwork.accounts.models import Clinic
from knotwork.clients.models import Client
clinic = Clinic.objects.first()
end = time.time() + 8
n = 0
while time.time() < end:
    Client.objects.create(clinic=clinic, first_name="Busy", last_name=f"writer {n}", clinical_alerts="written during the backup")
    n += 1
print(n)
"""


def run(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stdout + out.stderr)
    return out.stdout


def instance(database: str, name: str, base: Path) -> dict[str, str]:
    var = base / name
    var.mkdir()
    env = {**os.environ, "KNOTWORK_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "error"}
    if database == "postgres":
        db = f"knotwork_bench_{name}"
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", db], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db], check=True)
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{var / 'knotwork.sqlite3'}"
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    opts = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="knotwork-backup-"))
    source = instance(opts.database, "source", base)
    run(source, "migrate", "-v0")
    run(source, "demo")
    writer = subprocess.Popen([PY, "manage.py", "shell", "-c", WRITER], cwd=ROOT, env=source, stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    started = time.monotonic()
    backup_dir = run(source, "backup", str(base / "backups")).strip().splitlines()[-1]
    backup_seconds = time.monotonic() - started
    written, _ = writer.communicate()
    target = instance(opts.database, "restored", base)
    shutil.copy(Path(source["KNOTWORK_VAR_DIR"]) / "field_encryption_key", Path(target["KNOTWORK_VAR_DIR"]) / "field_encryption_key")
    report = run(target, "restore", backup_dir)
    size = sum(p.stat().st_size for p in Path(backup_dir).iterdir())
    print(f"database: {opts.database}")
    print(f"clients written by a concurrent process during the run: {written.strip().splitlines()[-1]}")
    print(f"backup took {backup_seconds:.2f} s (command wall time), {size / 1e6:.1f} MB")
    print(report.strip())


if __name__ == "__main__":
    main()
