"""Outgoing e-mail: one sender address, shown under the clinic's name when a clinic is speaking.

``DEFAULT_FROM_EMAIL`` holds the address every message leaves from (the one SPF and DKIM are set
up for); only the display name changes, so a client sees "Harbour Street Clinic" rather than the
server's name, and replies still reach a mailbox the operator controls.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import formataddr, parseaddr
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from knotwork.lib.urls import absolute_url

SITE_NAME = "Knotwork"


def sender_address() -> str:
    """The bare address part of ``DEFAULT_FROM_EMAIL``."""
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return address or settings.DEFAULT_FROM_EMAIL


def from_email(clinic: Any = None) -> str:
    """``"Clinic Name <address>"`` for a clinic, else ``DEFAULT_FROM_EMAIL`` as configured."""
    name = (getattr(clinic, "name", "") or "").strip()
    if not name:
        return settings.DEFAULT_FROM_EMAIL
    # formataddr quotes names with commas or dots; Django encodes non-ASCII names when sending.
    return formataddr((" ".join(name.split()), sender_address()))


def send_email(
    *,
    to: str | Sequence[str],
    subject: str,
    text: str,
    html: str = "",
    clinic: Any = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
) -> None:
    """One message: a text part, an optional HTML part and attachments, from the clinic's name.

    The subject is folded onto one line (a newline in a header is refused by Django anyway).
    """
    recipients = [to] if isinstance(to, str) else [r for r in to if r]
    if not recipients or not all(recipients):
        return
    message = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text, from_email=from_email(clinic), to=recipients)
    if html:
        message.attach_alternative(html, "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.send()


class _Site:
    """What allauth's templates read from a Site: the product's name and the public host."""

    name = SITE_NAME

    @property
    def domain(self) -> str:
        return absolute_url("/").split("://", 1)[-1].rstrip("/")


def _rehome(url: str) -> str:
    """The same path and query on ``SITE_URL`` instead of the host a request named."""
    parts = urlsplit(url)
    return absolute_url(urlunsplit(("", "", parts.path, parts.query, parts.fragment)))


class AccountAdapter(DefaultAccountAdapter):
    """allauth's e-mails (address confirmation, password reset) greet as Knotwork and link to
    ``SITE_URL``, not to whatever Host header the request carried, without installing the Sites
    framework for one string."""

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        super().send_mail(template_prefix, email, {**context, "current_site": _Site()})

    def get_email_confirmation_url(self, request: Any, emailconfirmation: Any) -> str:
        return _rehome(super().get_email_confirmation_url(request, emailconfirmation))

    def get_reset_password_from_key_url(self, key: str) -> str:
        return _rehome(super().get_reset_password_from_key_url(key))
