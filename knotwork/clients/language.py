"""Which language to speak to a client in: the portal's pages, and the e-mails, SMS and PDFs sent
to them from background tasks, where there is no request to take it from (docs/i18n.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import dateformat, translation
from django.utils.translation import gettext


def supported(code: str | None) -> str | None:
    """``code`` reduced to one of ``settings.LANGUAGES`` ("es-MX" -> "es"), or None."""
    if not code:
        return None
    base = code.lower().replace("_", "-").split("-")[0]
    return base if base in {c for c, _ in settings.LANGUAGES} else None


def active_language() -> str:
    """The language of the current request (or ``LANGUAGE_CODE`` outside one), as a supported code."""
    return supported(translation.get_language()) or settings.LANGUAGE_CODE


def client_language(client: Any) -> str:
    """The language to write to ``client`` in.

    In order: the language their portal login chose; else the language of their latest intake
    or consent signature; else the site's default (English).
    """
    user = getattr(client, "portal_user", None)
    chosen = supported(getattr(user, "language", "")) if user is not None else None
    if chosen:
        return chosen
    if getattr(client, "pk", None):
        from knotwork.clients.models import ConsentSignature, IntakeSubmission

        intakes = IntakeSubmission.objects.filter(client=client).exclude(status="draft").order_by("-submitted_at")
        recorded = (
            intakes.values_list("language", flat=True).first()
            or ConsentSignature.objects.filter(client=client).order_by("-signed_at").values_list("language", flat=True).first()
        )
        if supported(recorded):
            return str(supported(recorded))
    return settings.LANGUAGE_CODE


def language_name(code: str) -> str:
    """A language named in itself ("Español", "Français"), as the chooser names it."""
    return str(dict(settings.LANGUAGES).get(code, code))


@contextmanager
def client_translation(client: Any) -> Iterator[str]:
    """Render what is inside in ``client``'s language (see :func:`client_language`): e-mails, texts, PDFs."""
    language = client_language(client) if client is not None else settings.LANGUAGE_CODE
    with translation.override(language):
        yield language


def short_when(value: datetime) -> str:
    """A local time for a subject line or a text message, in the active language's usage
    ("Sat 5 Dec, 09:00", "sábado 5 de diciembre, 09:00", "samedi 5 décembre, 09:00")."""
    return dateformat.format(value, gettext("D j M, H:i"))


def clinic_translation() -> translation.override:
    """Render what is inside in the clinic's working language (``LANGUAGE_CODE``, English): what staff
    are sent. Explicit, because a task may run inside a client's request, in the client's language."""
    return translation.override(settings.LANGUAGE_CODE)
