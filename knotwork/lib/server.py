"""How `knotwork run` (and the benchmarks) start the production server."""

from __future__ import annotations

import sys
from pathlib import Path

HEADER_TIMEOUT_MS = 10_000
"""A connection that has not sent its whole request head in this time is closed."""
CONCURRENCY_PER_WORKER = 256
"""Requests one worker holds at once (most of them waiting for their body); more wait in the backlog."""


def server_command(bind: str, workers: int) -> list[str]:
    """The production server: granian in front of Django's ASGI handler.

    granian reads request heads in Rust, and Django's ASGI handler reads the whole body before a
    view runs, so a client that sends slowly holds a little memory, never a worker: health probes
    and other requests keep being answered (tests/security/test_slow_clients.py). Views still run
    one at a time per worker process, as with sync workers.
    """
    host, _, port = bind.rpartition(":")
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asginl",  # ASGI without lifespan events, which Django does not send
        "--host",
        host,
        "--port",
        port,
        "--workers",
        str(workers),
        "--http1-header-read-timeout",
        str(HEADER_TIMEOUT_MS),
        "--backpressure",
        str(CONCURRENCY_PER_WORKER),
        "--no-ws",
        "--access-log",
        "--log-config",
        str(Path(__file__).resolve().parent / "granian_logging.json"),
        "config.asgi:application",
    ]
