"""localstripe on loopback: the Stripe API peer the online-payment tests talk to.

localstripe (a dev dependency) is a stateful fake of Stripe's HTTP API: form-encoded requests
with a secret key, payment intents confirmed with test cards (``pm_card_visa``), charges, refunds,
events, and webhooks signed the way Stripe signs them. :func:`start_peer` runs its aiohttp app in
a subprocess on a socket this process binds to 127.0.0.1 on a free port and hands down, so
nothing listens beyond loopback and there is no race for the port. Two changes from the
``localstripe`` command: it never binds all interfaces, and its state stays in memory (the
command writes every change to /tmp/localstripe.pickle, which runs side by side would share).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

SECRET_KEY = "sk_test_knotwork"


@dataclass
class StripePeer:
    url: str
    process: subprocess.Popen[bytes]

    def call(self, method: str, path: str, data: dict[str, Any] | None = None) -> Any:
        """A raw request to the peer with the secret key, as Stripe's dashboard or Stripe.js would make."""
        body = urllib.parse.urlencode(data or {}, doseq=True).encode() if method != "GET" else None
        request = urllib.request.Request(self.url + path, data=body, method=method)  # noqa: S310 — http:// to our loopback peer
        request.add_header("Authorization", f"Bearer {SECRET_KEY}")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 — as above
            text = response.read().decode()
        return json.loads(text) if text.strip() else None

    def confirm_with_test_card(self, intent_id: str, card: str = "pm_card_visa") -> dict[str, Any]:
        """What Stripe.js does in the browser: attach the card to the intent and confirm it.
        (localstripe takes the card on an update, then a confirm without parameters.)"""
        self.call("POST", f"/v1/payment_intents/{intent_id}", {"payment_method": card})
        return self.call("POST", f"/v1/payment_intents/{intent_id}/confirm")

    def events(self, type: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/v1/events?type={type}&limit=100")["data"]

    def flush(self) -> None:
        """Forget every object (localstripe's own reset route)."""
        self.call("DELETE", "/_config/data")

    def register_webhook(self, name: str, url: str, secret: str, events: list[str]) -> None:
        self.call("POST", f"/_config/webhooks/{name}", {"url": url, "secret": secret, "events[]": events})

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_peer(timeout: float = 15.0) -> StripePeer:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    log = tempfile.TemporaryFile()  # noqa: SIM115 — the child writes to it for as long as it runs
    process = subprocess.Popen(
        [sys.executable, __file__, str(sock.fileno())], pass_fds=[sock.fileno()], stdin=subprocess.DEVNULL, stdout=log, stderr=log
    )
    sock.close()
    peer = StripePeer(url=f"http://127.0.0.1:{port}", process=process)
    deadline = time.monotonic() + timeout
    while True:
        try:
            # The fake Stripe.js is served without a key: a cheap "are you up".
            with urllib.request.urlopen(peer.url + "/js.stripe.com/v3/", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return peer
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            peer.stop()
            log.seek(0)
            raise RuntimeError(f"localstripe did not start: {log.read().decode(errors='replace')[-2000:]}")
        time.sleep(0.05)


def _serve(fd: int) -> None:
    from aiohttp import web
    from localstripe import server
    from localstripe.resources import store

    store.dump_to_disk = lambda: None  # type: ignore[method-assign]  # memory only (see the module docstring)
    web.run_app(server.app, sock=socket.socket(fileno=fd), print=None, access_log=None)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
