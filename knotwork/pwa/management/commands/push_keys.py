from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management.base import BaseCommand


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_vapid_pair() -> tuple[str, str]:
    """A fresh P-256 key pair for VAPID: (private key as 32 raw bytes, public key as the
    uncompressed point browsers take as applicationServerKey), both base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64url(private), _b64url(public)


class Command(BaseCommand):
    help = "Print a new VAPID key pair for Web Push, as environment lines. Keep the private key secret."

    def handle(self, *args: Any, **options: Any) -> None:
        private, public = new_vapid_pair()
        self.stdout.write(
            f"WEB_PUSH_VAPID_PUBLIC_KEY={public}\nWEB_PUSH_VAPID_PRIVATE_KEY={private}\nWEB_PUSH_SUBJECT=mailto:you@your-clinic.example"
        )
