"""Start Knotwork's own processes on loopback, wait for them, stop or kill them, and make throwaway
PostgreSQL databases: shared by benchmarks/crash_safety.py, benchmarks/multi_server.py and
tests/scale/."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PYTHON = Path(sys.executable)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def knotwork_command(*args: str) -> list[str]:
    """The `knotwork` console command beside this interpreter (as installed by pip), with ``args``."""
    script = PYTHON.parent / "knotwork"
    return [str(script), *args] if script.exists() else [str(PYTHON), "-m", "knotwork.cli", *args]


def manage(env: Mapping[str, str], *args: str, stdin: str | None = None, timeout: float = 300) -> str:
    """Run a management command to completion and return what it printed; raise with its errors."""
    out = subprocess.run(  # noqa: S603  (our own interpreter and command)
        [str(PYTHON), "manage.py", *args], cwd=ROOT, env=dict(env), input=stdin, capture_output=True, text=True, timeout=timeout
    )
    if out.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed ({out.returncode}):\n{out.stderr[-4000:]}")
    return out.stdout


def last_json_line(text: str) -> Any:
    """The JSON document a `manage.py shell -c` script printed last (Django may print before it)."""
    return json.loads(text.strip().splitlines()[-1])


class Process:
    """One long-running process in a session (process group) of its own, so that a kill also takes
    the children it started (`knotwork run` starts granian, which starts its workers)."""

    def __init__(self, name: str, command: list[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.popen = subprocess.Popen(  # noqa: S603  (our own commands)
                command, cwd=ROOT, env=dict(env), start_new_session=True, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group: no handler runs, nothing is flushed, as when a machine dies."""
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def terminate(self) -> None:
        """SIGTERM to the process itself, as `docker stop` or systemd send it (`knotwork run` passes
        it on to granian)."""
        if self.alive:
            with suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 15) -> None:
        """:meth:`terminate`, then SIGKILL to the group if anything is left after ``timeout`` seconds."""
        self.terminate()
        with suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=timeout)
        self.kill()  # also reaps any child left behind in the group

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def probe(port: int, path: str = "/healthz", timeout: float = 1.0) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as resp:  # noqa: S310  (loopback)
        return int(resp.status)


def wait_healthy(port: int, *, process: Process | None = None, timeout: float = 120, path: str = "/healthz") -> None:
    """Wait until ``path`` answers 200; fail early, with the log's end, if the process exits."""
    deadline = time.monotonic() + timeout
    while True:
        with suppress(OSError):
            if probe(port, path) == 200:
                return
        if process is not None and not process.alive:
            raise RuntimeError(f"{process.name} exited ({process.popen.returncode}) before answering:\n{process.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing answered {path} on port {port} within {timeout:.0f} s:\n{process.tail() if process else ''}")
        time.sleep(0.1)


def post_json(
    port: int, path: str, body: bytes, token: str, extra: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, dict[str, Any]]:
    """POST a JSON body with an API token; the status and the decoded answer (``{}`` on an error without one)."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(extra or {})}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310  (loopback)
            return int(resp.status), json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}


# --- throwaway PostgreSQL databases ----------------------------------------------------------


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def with_database(url: str, name: str) -> str:
    """The same server and credentials as ``url``, another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def _maintenance(url: str) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        yield conn


def drop_database(url: str) -> None:
    from psycopg import sql

    with _maintenance(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database_name(url))))


def create_database(url: str, *, template: str | None = None, attempts: int = 20) -> None:
    """Create the database of ``url`` afresh, as a copy of ``template`` when given (a file copy,
    far faster than migrating). PostgreSQL refuses to copy a database others are connected to; that
    is retried for a few seconds, then the error is raised."""
    from psycopg import errors, sql

    drop_database(url)
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database_name(url)))
    if template:
        statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
    with _maintenance(url) as conn:
        for attempt in range(attempts):
            try:
                conn.execute(statement)
                return
            except errors.ObjectInUse:
                if attempt == attempts - 1:
                    holders = conn.execute(
                        "SELECT pid, application_name, state, left(query, 80) FROM pg_stat_activity WHERE datname = %s", (template,)
                    ).fetchall()
                    raise RuntimeError(f"cannot copy {template}: other sessions are connected to it: {holders}") from None
                time.sleep(0.25)
