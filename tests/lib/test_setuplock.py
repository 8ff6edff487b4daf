"""Two `knotwork run` starting together prepare one after the other (knotwork/lib/setuplock.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

HOLD = """
import sys, time, django
django.setup()
from pathlib import Path

from django.db import connection
from knotwork.lib.setuplock import setup_lock
log = Path(sys.argv[2])
with setup_lock(Path(sys.argv[1])):
    with log.open("a") as f:
        f.write("enter\\n")
    time.sleep(0.4)
    with log.open("a") as f:
        f.write("leave\\n")
"""


def test_preparing_processes_take_turns(tmp_path: Path, db: None) -> None:
    lock, log = tmp_path / "setup.lock", tmp_path / "log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    db_settings = connection.settings_dict
    if connection.vendor == "postgresql":  # the children take the advisory lock in this test's database
        user, host, port = db_settings["USER"], db_settings["HOST"] or "127.0.0.1", db_settings["PORT"] or 5432
        password = f":{db_settings['PASSWORD']}" if db_settings["PASSWORD"] else ""
        env["DATABASE_URL"] = f"postgres://{user}{password}@{host}:{port}/{db_settings['NAME']}"
    procs = [
        subprocess.Popen([sys.executable, "-c", HOLD, str(lock), str(log)], cwd=ROOT, env=env)  # noqa: S603
        for _ in range(3)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    assert log.read_text().split() == ["enter", "leave"] * 3  # never two inside at once

