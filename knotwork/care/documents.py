"""PDFs of the care app: the signed visit note and the client's aftercare sheet (house style)."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext

from knotwork.care.aftercare import Aftercare
from knotwork.care.figures import figure_svg
from knotwork.care.library import techniques
from knotwork.care.models import Visit
from knotwork.lib.pdf import Document


def _pdf_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _when(dt: object) -> str:
    return f"{timezone.localtime(dt):%d %b %Y %H:%M}" if dt else "-"  # type: ignore[arg-type]


def note_pdf(visit: Visit) -> HttpResponse:
    """``visit`` from ``visit_full``."""
    doc = Document(title=f"Visit note – {visit.client.full_name}", subtitle=f"{visit.clinic.name} – {_when(visit.started_at)}",
                   footer=f"Knotwork – visit {visit.pk} – {'signed' if visit.signed_at else 'DRAFT, not signed'}")  # fmt: skip
    doc.facts([
        ("Client", visit.client.full_name), ("Episode", visit.episode.complaint), ("Therapist", str(visit.therapist)),
        ("Status", f"Signed by {visit.signed_by} on {_when(visit.signed_at)}" if visit.signed_at else "Draft (not signed)"),
    ])  # fmt: skip
    if visit.carried_fields:
        doc.paragraph(f"Carried forward from visit {visit.carried_from_id}: {', '.join(visit.carried_fields)}.", muted=True)
    doc.section("Subjective")
    doc.paragraph(visit.subjective or "–")
    doc.section("Objective")
    doc.paragraph(visit.objective or "–")
    findings = list(visit.findings.all())
    if findings:
        doc.table(["Trigger point", "Side", "Status", "Signs", "Tender", "PPT kg/cm²"], [[
            f"{f.trigger_point.muscle.name} – {f.trigger_point.name}", f.side, f.status,
            ", ".join(n for n, v in (("taut band", f.taut_band), ("twitch", f.twitch_response), ("referral", f.referral_reproduced),
                                     ("familiar pain", f.familiar_pain), ("released", f.released)) if v) or "–",
            "–" if f.tenderness is None else f"{f.tenderness}/10", "–" if f.ppt_kg_cm2 is None else str(f.ppt_kg_cm2),
        ] for f in findings], widths=[52, 16, 18, 46, 16, 24])  # fmt: skip
    apps = list(visit.techniques.all())
    if apps:
        names = techniques()
        doc.section("Techniques")
        doc.table(["Technique", "Target", "Hold × reps", "Pressure", "Pain before / after", "Response"], [[
            names[t.technique].name if t.technique in names else t.technique,
            f"{t.muscle.name}{' – ' + t.trigger_point.name if t.trigger_point else ''} ({t.side})",
            f"{t.hold_s} s × {t.reps}", f"{t.pressure}/10",
            f"{'–' if t.pain_before is None else t.pain_before} / {'–' if t.pain_after is None else t.pain_after}",
            t.get_response_display() + (f"; {t.response_note}" if t.response_note else "")
            + ("; precautions acknowledged" if t.acknowledged_flags else ""),
        ] for t in apps], widths=[30, 42, 18, 20, 26, 38])  # fmt: skip
    doc.section("Assessment")
    doc.paragraph(visit.assessment or "–")
    doc.section("Plan")
    doc.paragraph(visit.plan or "–")
    for step in visit.next_steps:
        doc.paragraph(f"• {step}")
    addenda = list(visit.addenda.all())
    if addenda:
        doc.section("Addenda")
        for a in addenda:
            doc.facts([("By", str(a.author)), ("At", _when(a.created_at)), ("Why", a.reason)])
            doc.paragraph(a.text)
    return _pdf_response(doc.output(), f"visit-{visit.pk}.pdf")


def aftercare_pdf(sheet: Aftercare, *, visit_id: int) -> HttpResponse:
    """The aftercare sheet in the active language (the caller builds ``sheet`` and calls this in the client's)."""
    doc = Document(
        title=gettext("Your aftercare - %(date)s") % {"date": sheet.date_text},
        subtitle=sheet.clinic_name,
        footer=gettext("%(clinic)s - aftercare") % {"clinic": sheet.clinic_name},
    )
    doc.paragraph(
        gettext("Hello %(name)s, here is what we did today and how to look after yourself in the next few days.")
        % {"name": sheet.client_name}
    )
    doc.section(gettext("What we did"))
    for line in sheet.what_we_did:
        doc.paragraph(f"- {line}")
    doc.section(gettext("Soreness"))
    doc.paragraph(sheet.soreness)
    doc.section(gettext("Water"))
    doc.paragraph(sheet.hydration)
    doc.section(gettext("Heat or ice"))
    doc.paragraph(sheet.heat_ice)
    if sheet.program:
        doc.section(gettext("Your home program"))
        for entry in sheet.program:
            doc.paragraph(f"{entry.exercise.name} - {entry.dosage}")
            doc.svg(figure_svg(entry.exercise.pose, entry.exercise.focus), width=30)
            for n, step in enumerate(entry.exercise.steps, 1):
                doc.paragraph(f"{n}. {step}", size=9.5)
            if entry.exercise.cautions:
                doc.paragraph(f"{gettext('Take care:')} {' '.join(entry.exercise.cautions)}", size=9.5)
            if entry.item.note:
                doc.paragraph(gettext("Note: %(note)s") % {"note": entry.item.note}, muted=True, size=9.5)
    doc.section(gettext("When to call the clinic"))
    if sheet.clinic_phone:
        call = gettext("Call %(clinic)s on %(phone)s if you have:") % {"clinic": sheet.clinic_name, "phone": sheet.clinic_phone}
    else:
        call = gettext("Call %(clinic)s if you have:") % {"clinic": sheet.clinic_name}
    doc.paragraph(call)
    for line in sheet.call_us:
        doc.paragraph(f"- {line}")
    return _pdf_response(doc.output(), f"aftercare-{visit_id}.pdf")
