from __future__ import annotations

import re
from typing import Any

import qrcode
import qrcode.image.svg
from django.core.exceptions import ValidationError
from django.forms.forms import BaseForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe

from knotwork.atlas.bodymap import render_bodymap
from knotwork.care.models import Visit
from knotwork.care.services import VisitLocked


def locked_response(request: HttpRequest, visit: Visit, exc: VisitLocked) -> HttpResponse:
    """409: the note is signed. Says so plainly and points at the addendum form."""
    return render(request, "care/locked.html", {"visit": visit, "message": str(exc)}, status=409)


def qr_svg(url: str, *, label: str) -> SafeString:
    """The URL as a QR code in inline SVG (presentation attributes only; no script, no style)."""
    svg = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2).to_string(encoding="unicode")
    svg = re.sub(r'\swidth="[^"]*"\s+height="[^"]*"', ' class="qr"', svg, count=1)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
    svg = re.sub(r"(<svg[^>]*>)", r'\1<rect width="100%" height="100%" fill="#fff"/>', svg, count=1)
    return mark_safe(svg)  # noqa: S308  (generated here from a URL we built; no user text inside)


def display_map(values: dict[str, int], markers: list[str], *, id_prefix: str) -> SafeString:
    return mark_safe(  # noqa: S308  (render_bodymap escapes every piece of text itself)
        render_bodymap(values=values, markers=markers, id_prefix=id_prefix, compact=True, title="Today's trigger-point findings")
    )


def form_status(*forms: Any) -> int:
    return 400 if any(f is not None and f.is_bound and f.errors for f in forms) else 200


def add_errors(form: BaseForm, exc: ValidationError) -> None:
    """A service's ValidationError onto the form: per field where it names fields known to the form."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def figure(exercise: Any, *, size: int = 120) -> SafeString:
    from knotwork.care.figures import figure_svg

    return mark_safe(figure_svg(exercise.pose, exercise.focus, title=exercise.name, size=size))  # noqa: S308  (figure_svg escapes its title)
