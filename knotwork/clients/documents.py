"""Documents a client or clinic downloads: the signed consent as a PDF."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext

from knotwork.clients.consent import ConsentDocument, signature_svg
from knotwork.clients.language import language_name
from knotwork.clients.models import ConsentSignature
from knotwork.lib.pdf import Document


def consent_pdf(sig: ConsentSignature, *, language: str | None = None) -> bytes:
    """The exact text signed, then who signed, when, from where, in which language, and the text's SHA-256.

    ``language`` is the language of the PDF's own words (headings, labels); the client's copy is in
    the language they signed in, the clinic's in the clinic's (English). The text signed is always
    printed exactly as signed, and "Signed in" names its language and version.

    The signature block (drawing, facts, fingerprint) is kept on one page: a short overflow moves
    it whole rather than leaving a lone line on a page of its own.
    """
    with translation.override(language or settings.LANGUAGE_CODE):
        return _consent_pdf(sig)


def _consent_pdf(sig: ConsentSignature) -> bytes:
    clinic = sig.clinic
    version = gettext("version %(version)s") % {"version": sig.version}
    doc = Document(title=sig.title, subtitle=f"{clinic.name} – {version}", footer=f"{clinic.name} – {sig.title} v{sig.version}")
    for heading, body in ConsentDocument(id=sig.document, title=sig.title, version=sig.version, text=sig.text).paragraphs:
        if heading:
            doc.section(heading)
        doc.paragraph(body, size=9.5)
    signed_local = timezone.localtime(sig.signed_at, clinic.tz)
    signed_at = dateformat.format(signed_local, gettext("j M Y, H:i"))
    signed_in = gettext("%(language)s (version %(version)s)") % {"language": language_name(sig.language), "version": sig.version}
    facts = [
        (gettext("Signed by (typed name)"), sig.typed_name),
        (gettext("Client record"), gettext("%(name)s (no. %(number)s)") % {"name": sig.client.full_name, "number": sig.client_id}),
        (gettext("Signed at"), f"{signed_at} ({clinic.time_zone}); {sig.signed_at:%Y-%m-%dT%H:%M:%SZ} UTC"),
        (gettext("Signed in"), signed_in),
    ]
    # The technical evidence in smaller type: a 64-character fingerprint fits one line only so,
    # and a phone's user agent takes two lines rather than three.
    evidence = [
        (gettext("From IP address"), sig.ip or gettext("not recorded")),
        (gettext("Browser"), sig.user_agent or gettext("not recorded")),
        (gettext("SHA-256 of the text signed"), sig.text_sha256),
    ]
    note = gettext(
        "The SHA-256 fingerprint identifies the exact text above: any change to the text, however small, gives a different fingerprint."
    )
    drawing = signature_svg(sig.drawn_svg_path)
    block = doc.svg_height(drawing, width=50) + doc.facts_height(facts) + doc.facts_height(evidence, size=8)
    doc.section(gettext("Signature"), keep=block + doc.paragraph_height(note, size=7.5))
    doc.svg(drawing, width=50)
    doc.facts(facts)
    doc.facts(evidence, size=8)
    doc.paragraph(note, muted=True, size=7.5)
    return doc.output()


def consent_pdf_response(sig: ConsentSignature, *, language: str | None = None) -> HttpResponse:
    response = HttpResponse(consent_pdf(sig, language=language), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{sig.document}-v{sig.version}-{sig.signed_at:%Y%m%d}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
