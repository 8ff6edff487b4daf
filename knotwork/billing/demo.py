"""Demo money: the clinic's billing settings and VAT, and invoices for past visits — paid by card,
paid in part, unpaid, overpaid into store credit, and one corrected by a credit note. Everything
goes through the services, so `knotwork money verify` is clean on the demo."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from knotwork.accounts.models import Clinic, Membership, Role
from knotwork.billing import services
from knotwork.billing.models import BillingSettings, Invoice, LineKind, PaymentMethod, TaxRate
from knotwork.bookings.models import Appointment, AppointmentStatus
from knotwork.clients.models import Client


@transaction.atomic
def seed_demo(*, clinic: Clinic, rng: random.Random) -> None:
    vat, _ = TaxRate.objects.get_or_create(clinic=clinic, name="VAT standard", defaults={"rate": Decimal("20.00")})
    TaxRate.objects.get_or_create(clinic=clinic, name="Zero rated", defaults={"rate": Decimal("0.00")})
    BillingSettings.objects.get_or_create(
        clinic=clinic,
        defaults={
            "legal_name": "Harbour Street Neuromuscular Clinic Ltd",
            "address": "14 Harbour Street\nBristol BS1 4RN\nUnited Kingdom",
            "tax_number": "GB 123 4567 89",
            "currency": "GBP",
            "prices_include_tax": True,
            "default_tax_rate": vat,
            "footer": "Thank you. Bank transfer: Harbour Street NMT Ltd, sort code 00-00-00, account 00000000 (demo).",
        },
    )
    if Invoice.objects.filter(clinic=clinic).exists():
        return
    desk = Membership.objects.filter(clinic=clinic, role=Role.FRONT_DESK).select_related("user").first()
    if desk is None:
        return
    actor = desk.user
    past = list(
        Appointment.objects.filter(clinic=clinic, status=AppointmentStatus.COMPLETED, starts_at__lt=timezone.now(), client__isnull=False)
        .select_related("client", "service", "clinic")
        .order_by("client_id", "starts_at")
    )
    # One visit per client, the first twelve clients: enough to fill a page and try every state.
    visits: list[Appointment] = []
    for appointment in past:
        if len(visits) < 12 and all(v.client_id != appointment.client_id for v in visits):
            visits.append(appointment)
    for n, appointment in enumerate(visits):
        invoice = services.invoice_from_appointment(appointment=appointment, actor=actor)
        if n % 4 == 1:
            services.invoice_line_add(
                invoice=invoice, actor=actor, kind=LineKind.PRODUCT, description="Trigger-point ball", unit_price="8.50", tax_rate=vat
            )
        if n == len(visits) - 1 and n:
            continue  # left as a draft: the desk has not finished it
        invoice = services.invoice_issue(invoice=invoice, actor=actor)
        method = rng.choice([PaymentMethod.CARD_TERMINAL, PaymentMethod.CARD_TERMINAL, PaymentMethod.CASH])
        if n % 6 == 0:
            pay = invoice.total  # paid in full
        elif n % 6 == 2:
            pay = (invoice.total / 2).quantize(Decimal("0.01"))  # paid in part
        elif n % 6 == 4:
            pay = invoice.total + Decimal("20.00")  # rounded up: the rest kept as store credit
        elif n % 6 == 5:
            pay = invoice.total
            services.payment_record(
                clinic=clinic, client=invoice.client, actor=actor, method=method, amount=pay, currency=invoice.currency, invoices=[invoice]
            )
            services.credit_note_create(invoice=invoice, actor=actor, reason="Session cut short; charged in full by mistake")
            continue
        else:
            continue  # unpaid
        services.payment_record(
            clinic=clinic, client=invoice.client, actor=actor, method=method, amount=pay, currency=invoice.currency, invoices=[invoice]
        )
    _portal_client_invoice(clinic, actor, vat)


def _portal_client_invoice(clinic: Clinic, actor: Any, vat: TaxRate) -> None:
    """The demo's portal client (Tom Hughes, see accounts/demo.py) always has a receipt to download."""
    tom = Client.objects.filter(clinic=clinic, first_name="Tom", last_name="Hughes").first()
    if tom is None or Invoice.objects.filter(client=tom).exclude(status="draft").exists():
        return
    invoice = services.invoice_create(clinic=clinic, client=tom, actor=actor)
    services.invoice_line_add(
        invoice=invoice, actor=actor, kind=LineKind.PRODUCT, description="Home-care kit", unit_price="24.00", tax_rate=vat
    )
    invoice = services.invoice_issue(invoice=invoice, actor=actor)
    services.payment_record(
        clinic=clinic, client=tom, actor=actor, method=PaymentMethod.CARD_TERMINAL, amount=invoice.total, currency=invoice.currency,
        invoices=[invoice], reference="demo terminal 0042",
    )  # fmt: skip
