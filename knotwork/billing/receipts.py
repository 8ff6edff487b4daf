"""The invoice / receipt PDF: what an insurer asks for on one page.

Clinic legal name, address and tax number; each practitioner's name with the credentials the
directory has verified (licence or registration number); the client; the date and duration of
each treatment and its fee; what was paid, how, and the invoice number.

A US superbill (``superbill=True``) adds the tax id, place of service, NPIs, ICD-10 diagnoses and a
CPT code per line (knotwork.billing.superbill). Per-period statements build on the same pieces
(knotwork.billing.statements).

Built with knotwork.lib.pdf (fpdf2 with the embedded DejaVu Sans): amounts carry the ISO code
("GBP 60.00"), as they do everywhere else in Knotwork.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone

from knotwork.accounts.models import User
from knotwork.billing.models import BillingSettings, Invoice, InvoiceLine, InvoiceStatus, LineKind, Payment
from knotwork.billing.money import format_money
from knotwork.billing.selectors import invoice_money, invoices_paid_by, payment_refunded, payments_for_invoice, settings_for
from knotwork.billing.superbill import Claim, claim_for, place_of_service
from knotwork.clients.models import Client
from knotwork.directory.models import Credential
from knotwork.lib.pdf import Document


def practitioner_credentials(user: User, clinic_id: int, on: date) -> list[str]:
    """The therapist's credentials verified and valid on ``on``, as printed lines (licences first)."""
    found = Credential.objects.valid_on(on).filter(profile__user=user, profile__clinic_id=clinic_id).order_by("kind", "id")
    out = []
    for c in found:
        where = ", ".join(p for p in (c.issuer, c.jurisdiction) if p)
        out.append(f"{c.title}" + (f" ({where})" if where else "") + (f", no. {c.number}" if c.number else ""))
    return out


def _title(invoice: Invoice, paid: bool) -> str:
    if invoice.is_credit_note:
        return f"Credit note {invoice.number}"
    if invoice.status == InvoiceStatus.VOID:
        return f"Void invoice {invoice.number}"
    return f"{'Receipt' if paid else 'Invoice'} {invoice.number or '(draft)'}"


def _document(conf: BillingSettings, title: str) -> Document:
    return Document(title=title, subtitle=conf.display_name, footer=conf.footer.replace("\n", " ")[:180] or conf.display_name)


def _party_facts(conf: BillingSettings, client: Client, *, superbill: bool = False) -> list[tuple[str, str]]:
    return [
        ("Clinic", conf.display_name),
        ("Address", conf.display_address or "-"),
        ("Tax ID (EIN)" if superbill else "Tax number", conf.tax_number or "-"),
        *([("Place of service", place_of_service(conf.clinic))] if superbill else []),
        ("Client", client.full_name),
        *([("Client date of birth", f"{client.date_of_birth:%d %b %Y}")] if client.date_of_birth else []),
        *([("Client address", client.address)] if superbill and client.address else []),
    ]


def _practitioners(doc: Document, lines: Sequence[InvoiceLine], clinic_id: int, on: date | None, claim: Claim | None = None) -> None:
    """Each practitioner on the lines with the credentials verified and valid on ``on``, or, when
    ``on`` is None, on each treatment's own date (a licence renewed mid-period prints both numbers,
    each with its dates)."""
    therapists = {line.therapist_id: line.therapist for line in lines if line.therapist is not None}
    if not therapists:
        return
    doc.section("Practitioner" if len(therapists) == 1 else "Practitioners")
    rows = []
    for user in therapists.values():
        days = sorted({on or line.service_date or timezone.localdate() for line in lines if line.therapist_id == user.pk})
        held: dict[str, list[date]] = {}
        for day in days:
            held.setdefault("; ".join(practitioner_credentials(user, clinic_id, day)), []).append(day)
        npi = claim.npi.get(user.pk) if claim else None
        for creds, on_days in held.items():
            text = (f"NPI {npi}; " if npi else "") + (creds or "No verified credentials on file")
            if len(held) > 1:
                text += " (treatments on " + ", ".join(f"{d:%d %b %Y}" for d in on_days) + ")"
            rows.append((user.full_name or user.email, text))
    doc.facts(rows)


def _diagnoses(doc: Document, claim: Claim) -> None:
    doc.section("Diagnoses (ICD-10)")
    if not claim.diagnoses:
        doc.paragraph("No diagnosis codes are recorded on the episode of care.", muted=True)
        return
    doc.table(["", "ICD-10", "Description"], [list(d) for d in claim.diagnoses], widths=(10, 30, 134))


def _lines_table(doc: Document, lines: Sequence[InvoiceLine], cur: str, claim: Claim | None = None, *, title: str = "") -> None:
    doc.section(title or "Treatments and items")
    rows = []
    for line in lines:
        tax = f" (incl. {line.tax_percent.normalize():f}% tax {format_money(line.tax, cur)})" if line.tax else ""
        credited = " - credited" if getattr(line, "is_credited", False) else ""
        row = [
            f"{line.service_date:%d %b %Y}" if line.service_date else "-",
            line.description,
            *([claim.cpt(line), claim.pointers.get(line.pk) or "-"] if claim else []),
            f"{line.duration_minutes} min" if line.duration_minutes else "-",
            (line.therapist.full_name or line.therapist.email) if line.therapist else "-",
            str(line.quantity),
            format_money(line.total, cur) + tax + credited,
        ]
        rows.append(row)
    if claim:
        heads = ["Date", "Service", "CPT", "Dx", "Duration", "Practitioner", "Units", "Fee"]
        doc.table(heads, rows, widths=(22, 34, 19, 10, 19, 28, 12, 30))
    else:
        doc.table(["Date", "Description", "Duration", "Practitioner", "Qty", "Fee"], rows, widths=(24, 48, 20, 34, 10, 38))


def _claim(lines: Sequence[InvoiceLine], client: Client, clinic_id: int, superbill: bool) -> Claim | None:
    return claim_for(lines, client, clinic_id) if superbill else None


def receipt_pdf(invoice: Invoice, *, superbill: bool = False) -> bytes:
    """One invoice (or credit note) with its lines, totals and the payments towards it."""
    conf = settings_for(invoice.clinic)
    cur = invoice.currency
    figures = invoice_money(invoice)
    paid_in_full = not invoice.is_credit_note and invoice.status == InvoiceStatus.ISSUED and figures.balance <= 0
    title = _title(invoice, paid_in_full)
    doc = _document(conf, f"Superbill - {title}" if superbill else title)
    issued = timezone.localtime(invoice.issued_at, invoice.clinic.tz) if invoice.issued_at else None
    doc.facts(
        [
            *_party_facts(conf, invoice.client, superbill=superbill),
            ("Number", invoice.number or "Draft - not yet issued"),
            ("Issued", f"{issued:%d %b %Y}" if issued else "-"),
            *([("Credits invoice", invoice.credit_for.number)] if invoice.credit_for else []),
            *([("Reason", invoice.note)] if invoice.note else []),
            *([("Voided", invoice.void_reason)] if invoice.status == InvoiceStatus.VOID else []),
        ]
    )
    lines = list(invoice.lines.select_related("therapist", "service", "invoice").order_by("position", "id"))
    # A tip is not a charge for treatment: a superbill claims only the treatment lines and says
    # how much of the total was tips.
    tips = [line for line in lines if line.kind == LineKind.TIP] if superbill else []
    lines = [line for line in lines if line not in tips]
    claim = _claim(lines, invoice.client, invoice.clinic_id, superbill)
    _practitioners(doc, lines, invoice.clinic_id, issued.date() if issued else timezone.localdate(), claim)
    if claim:
        _diagnoses(doc, claim)
    _lines_table(doc, lines, cur, claim)
    totals = [("Subtotal", format_money(invoice.subtotal, cur)), ("Tax", format_money(invoice.tax_total, cur))]
    totals += [("Total", format_money(invoice.total, cur))]
    if tips:
        totals += [("Of which tips (not claimable)", format_money(sum((t.total for t in tips), Decimal("0.00")), cur))]
    if not invoice.is_credit_note:
        totals += [("Paid", format_money(figures.paid, cur))]
        if figures.credited:
            totals += [("Credited", format_money(figures.credited, cur))]
        if invoice.status == InvoiceStatus.ISSUED:
            totals += [("Balance due", format_money(max(figures.balance, Decimal("0.00")), cur))]
    doc.facts(totals)
    payments = payments_for_invoice(invoice)
    if payments:
        doc.section("Payments")
        doc.table(
            ["Date", "Method", "Reference", "Amount"],
            [
                [f"{timezone.localtime(p['payment'].at, invoice.clinic.tz):%d %b %Y}", p["payment"].get_method_display(),
                 p["payment"].reference or "-", format_money(p["applied"], cur)]
                for p in payments
            ],
        )  # fmt: skip
    return doc.output()


def payment_receipt_pdf(payment: Payment, *, superbill: bool = False) -> bytes:
    """One payment: how and when it was paid, and the invoices (with their treatments) it paid."""
    conf = settings_for(payment.clinic)
    cur = payment.currency
    doc = _document(conf, "Superbill - payment receipt" if superbill else "Payment receipt")
    paid = invoices_paid_by(payment)
    refunded = payment_refunded(payment)
    kept = payment.amount - sum((applied for _, applied in paid), Decimal("0.00")) - refunded
    at = timezone.localtime(payment.at, payment.clinic.tz)
    doc.facts(
        [
            *_party_facts(conf, payment.client, superbill=superbill),
            ("Received", f"{at:%d %b %Y %H:%M}"),
            ("Method", payment.get_method_display() + (f" ({payment.reference})" if payment.reference else "")),
            ("Amount paid", format_money(payment.amount, cur)),
            *([("Refunded", format_money(refunded, cur))] if refunded else []),
            *([("Kept as store credit", format_money(kept, cur))] if kept > 0 else []),
        ]
    )
    if paid:
        doc.section("Paid towards")
        doc.table(
            ["Invoice", "Issued", "Total", "Paid by this payment"],
            [[i.number, f"{timezone.localtime(i.issued_at, i.clinic.tz):%d %b %Y}" if i.issued_at else "-",
              format_money(i.total, cur), format_money(applied, cur)] for i, applied in paid],
        )  # fmt: skip
        lines = list(
            InvoiceLine.objects.filter(invoice__in=[i for i, _ in paid])
            .select_related("therapist", "service", "invoice")
            .order_by("invoice_id", "position", "id")
        )
        if superbill:  # tips are not claimable treatment (see receipt_pdf)
            lines = [line for line in lines if line.kind != LineKind.TIP]
        claim = _claim(lines, payment.client, payment.clinic_id, superbill)
        _practitioners(doc, lines, payment.clinic_id, at.date(), claim)
        if claim:
            _diagnoses(doc, claim)
        _lines_table(doc, lines, cur, claim)
    return doc.output()


def receipt_response(invoice: Invoice, *, superbill: bool = False) -> HttpResponse:
    name = invoice.number or f"draft-{invoice.pk}"
    return pdf_response(receipt_pdf(invoice, superbill=superbill), f"superbill-{name}" if superbill else name)


def pdf_response(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
