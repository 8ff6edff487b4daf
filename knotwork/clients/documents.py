"""Documents a client or clinic downloads: the signed consent as a PDF."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone

from knotwork.clients.consent import ConsentDocument, signature_svg
from knotwork.clients.models import ConsentSignature
from knotwork.lib.pdf import Document


def consent_pdf(sig: ConsentSignature) -> bytes:
    """The exact text signed, then who signed, when, from where, and the text's SHA-256.

    The signature block (drawing, facts, fingerprint) is kept on one page: a short overflow moves
    it whole rather than leaving a lone line on a page of its own.
    """
    clinic = sig.clinic
    doc = Document(title=sig.title, subtitle=f"{clinic.name} – version {sig.version}", footer=f"{clinic.name} – {sig.title} v{sig.version}")
    for heading, body in ConsentDocument(id=sig.document, title=sig.title, version=sig.version, text=sig.text).paragraphs:
        if heading:
            doc.section(heading)
        doc.paragraph(body, size=9.5)
    signed_local = timezone.localtime(sig.signed_at, clinic.tz)
    facts = [
        ("Signed by (typed name)", sig.typed_name),
        ("Client record", f"{sig.client.full_name} (no. {sig.client_id})"),
        ("Signed at", f"{signed_local:%d %b %Y, %H:%M} ({clinic.time_zone}); {sig.signed_at:%Y-%m-%dT%H:%M:%SZ} UTC"),
    ]
    # The technical evidence in smaller type: a 64-character fingerprint fits one line only so,
    # and a phone's user agent takes two lines rather than three.
    evidence = [
        ("From IP address", sig.ip or "not recorded"),
        ("Browser", sig.user_agent or "not recorded"),
        ("SHA-256 of the text signed", sig.text_sha256),
    ]
    note = "The SHA-256 fingerprint identifies the exact text above: any change to the text, however small, gives a different fingerprint."
    drawing = signature_svg(sig.drawn_svg_path)
    block = doc.svg_height(drawing, width=50) + doc.facts_height(facts) + doc.facts_height(evidence, size=8)
    doc.section("Signature", keep=block + doc.paragraph_height(note, size=7.5))
    doc.svg(drawing, width=50)
    doc.facts(facts)
    doc.facts(evidence, size=8)
    doc.paragraph(note, muted=True, size=7.5)
    return doc.output()


def consent_pdf_response(sig: ConsentSignature) -> HttpResponse:
    response = HttpResponse(consent_pdf(sig), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{sig.document}-v{sig.version}-{sig.signed_at:%Y%m%d}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
