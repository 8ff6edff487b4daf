"""Slow clients cannot take the site down (knotwork/lib/server.py).

The production server is started exactly as `knotwork run` starts it, with two workers. Four
times as many sockets as workers send their request head one line every two seconds, as many
more send a declared body one byte a second, and a health probe must still be answered within a
second, every second. With the sync workers used before, no probe was answered.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from knotwork.lib.server import server_command

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
SLOW = 4 * WORKERS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _probe(port: int, timeout: float = 1.0) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as resp:  # noqa: S310 (loopback)
        return int(resp.status)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    var = tmp_path_factory.mktemp("slow-var")
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "KNOTWORK_VAR_DIR": str(var),
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DEBUG": "0",
    }
    env.pop("DATABASE_URL", None)  # /healthz never touches the database
    log = (var / "server.log").open("w")
    proc = subprocess.Popen(server_command(f"127.0.0.1:{port}", WORKERS), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _probe(port) == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"the server did not start:\n{(var / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class _SlowSockets:
    """Sockets that trickle a request: ``head`` lines every two seconds, or a body a byte a second."""

    def __init__(self, port: int, count: int, *, body: bool) -> None:
        self.socks: list[socket.socket] = []
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port))
            if body:
                s.sendall(b"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n")
            else:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            self.socks.append(s)
        self.body = body
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._drip, daemon=True)
        self.thread.start()

    def _drip(self) -> None:
        n = 0
        while not self.stop.wait(1.0 if self.body else 2.0):
            n += 1
            for s in self.socks:
                with contextlib.suppress(OSError):  # the server may close a connection it has waited on long enough
                    s.sendall(b"a" if self.body else f"X-Slow-{n}: a\r\n".encode())

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=3)
        for s in self.socks:
            s.close()


@pytest.mark.parametrize("body", [False, True], ids=["slow-head", "slow-body"])
def test_health_probe_answers_every_second_under_slow_clients(server: int, body: bool) -> None:
    slow = _SlowSockets(server, SLOW, body=body)
    try:
        time.sleep(0.5)  # the server has accepted them and is waiting on every one
        answered = []
        for _ in range(6):
            started = time.monotonic()
            try:
                answered.append(_probe(server))
            except OSError as exc:
                answered.append(repr(exc))  # type: ignore[arg-type]
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    finally:
        slow.close()
    assert answered == [200] * 6


def _raw(port: int, head: bytes, chunks: Iterator[bytes] | None = None) -> tuple[int, bytes]:
    """Send ``head`` (and ``chunks``, as long as the server reads), return the status and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        for chunk in chunks or ():
            try:
                s.sendall(chunk)
            except OSError:
                break  # the server answered and closed: the rest is never read
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
            part = s.recv(65536)
            if not part:
                break
            data += part
    status = int(data.split(b" ", 2)[1])
    return status, data.partition(b"\r\n\r\n")[2]


def _length(data: bytes) -> int:
    for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def test_declared_oversized_body_is_refused_before_it_is_read(server: int) -> None:
    # 1 GB declared, nothing sent: the answer comes at once, in the API's error shape.
    head = b"POST /api/clients HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n"
    status, body = _raw(server, head)
    assert status == 413
    assert b'"too_large"' in body


def test_undeclared_oversized_body_is_cut_off_at_the_limit(server: int) -> None:
    # A chunked body with no declared length: counted as it arrives, refused once past 32 MB.
    head = b"POST /intake/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    block = b"x" * (1 << 20)
    chunk = f"{len(block):x}\r\n".encode() + block + b"\r\n"
    status, body = _raw(server, head, iter([chunk] * 40 + [b"0\r\n\r\n"]))
    assert status == 413
    assert body.startswith(b"The request is larger than this server accepts (32 MB).")
