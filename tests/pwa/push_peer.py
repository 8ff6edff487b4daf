"""A Web Push service on loopback for the tests: it takes RFC 8030 deliveries over real HTTP,
checks the VAPID authorisation (RFC 8292) and decrypts each payload (RFC 8291, aes128gcm) with
the subscription's private key, the way a browser would after its push service hands it over."""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    """A browser's side of one subscription: its key pair and authentication secret."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(self.key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))

    def subscription(self, endpoint: str) -> dict[str, Any]:
        return {"endpoint": endpoint, "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)}}


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    payload: dict[str, Any] | None
    vapid_claims: dict[str, Any] | None
    error: str = ""


class PushPeer:
    def __init__(self) -> None:
        self.devices: dict[str, Device] = {}
        self.deliveries: list[Delivery] = []
        self.status: dict[str, int] = {}
        self.vapid_public: str = ""
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                peer.deliveries.append(peer._receive(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status = peer.status.get(self.path, 201)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def new_device(self, name: str) -> tuple[Device, str]:
        device = Device()
        self.devices[f"/push/{name}"] = device
        return device, f"{self.base}/push/{name}"

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> Delivery:
        device = self.devices.get(path)
        if device is None:
            return Delivery(path, headers, None, None, "unknown subscription")
        try:
            claims = self._check_vapid(headers.get("authorization", ""))
        except Exception as exc:
            return Delivery(path, headers, None, None, f"vapid: {exc}")
        if headers.get("content-encoding") != "aes128gcm":
            return Delivery(path, headers, None, claims, "not aes128gcm")
        plain = http_ece.decrypt(body, private_key=device.key, auth_secret=device.auth, version="aes128gcm")
        return Delivery(path, headers, json.loads(plain), claims)

    def _check_vapid(self, authorization: str) -> dict[str, Any]:
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError("no vapid scheme")
        parts = dict(p.strip().split("=", 1) for p in params.split(","))
        token, key = parts["t"], parts["k"]
        if self.vapid_public and key != self.vapid_public:
            raise ValueError("signed with another key")
        head, claims, signature = token.split(".")
        raw = unb64url(signature)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
        public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        return json.loads(unb64url(claims))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
