"""Documents a client or clinic downloads: the signed consent as a PDF."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone

from knotwork.clients.consent import ConsentDocument, signature_svg
from knotwork.clients.models import ConsentSignature
from knotwork.lib.pdf import Document


def consent_pdf(sig: ConsentSignature) -> bytes:
    """The exact text signed, then who signed, when, from where, and the text's SHA-256."""
    clinic = sig.clinic
    doc = Document(title=sig.title, subtitle=f"{clinic.name} - version {sig.version}", footer=f"{clinic.name} - {sig.title} v{sig.version}")
    for heading, body in ConsentDocument(id=sig.document, title=sig.title, version=sig.version, text=sig.text).paragraphs:
        if heading:
            doc.section(heading)
        doc.paragraph(body)
    doc.section("Signature")
    doc.svg(signature_svg(sig.drawn_svg_path), width=70)
    signed_local = timezone.localtime(sig.signed_at, clinic.tz)
    doc.facts(
        [
            ("Signed by (typed name)", sig.typed_name),
            ("Client record", f"{sig.client.full_name} (no. {sig.client_id})"),
            ("Signed at", f"{signed_local:%d %B %Y, %H:%M} ({clinic.time_zone}); {sig.signed_at:%Y-%m-%dT%H:%M:%SZ} UTC"),
            ("From IP address", sig.ip or "not recorded"),
            ("Browser", sig.user_agent or "not recorded"),
            ("SHA-256 of the text signed", sig.text_sha256),
        ]
    )
    doc.paragraph(
        "The SHA-256 fingerprint identifies the exact text above: any change to the text, however small, gives a different fingerprint.",
        muted=True,
        size=8.5,
    )
    return doc.output()


def consent_pdf_response(sig: ConsentSignature) -> HttpResponse:
    response = HttpResponse(consent_pdf(sig), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{sig.document}-v{sig.version}-{sig.signed_at:%Y%m%d}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
