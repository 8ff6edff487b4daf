"""Demo money: the clinic's billing settings and VAT, and invoices for past visits — paid by card,
paid in part, unpaid, overpaid into store credit, and one corrected by a credit note — plus a
package product with one package sold and a session used, a gift card partly spent, and a monthly
membership the portal client pays for. Everything goes through the services, so `knotwork money
verify` is clean on the demo."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from knotwork.accounts.models import Clinic, Membership, Role
from knotwork.billing import prepaid, services, tips
from knotwork.billing.models import BillingSettings, GiftCard, Invoice, LineKind, PackageProduct, PaymentMethod, TaxRate
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
        if n % 6 == 0:
            tips.tip_add(invoice=invoice, actor=actor, percent=rng.choice(["10", "15", "20"]))  # paid in full, with a tip
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
    _prepaid(clinic, actor, visits)
    _membership(clinic, actor, vat, visits)


def _prepaid(clinic: Clinic, actor: Any, visits: list[Appointment]) -> None:
    """A package product, one sold with a session used, and a gift card partly spent."""
    if len(visits) < 3 or PackageProduct.objects.filter(clinic=clinic).exists():
        return
    service = visits[0].service
    product = PackageProduct.objects.create(
        clinic=clinic, name="Five NMT sessions", sessions=5, price=Decimal("250.00"), currency=visits[0].currency,
        validity_days=365, shareable=False,
    )  # fmt: skip
    product.services.set([service])
    buyer, giver = visits[0].client, visits[1].client
    assert buyer is not None and giver is not None  # the visits were chosen for having a client
    package = prepaid.package_sell(client=buyer, product=product, actor=actor)
    sale = services.invoice_issue(invoice=package.invoice_line.invoice, actor=actor)
    services.payment_record(
        clinic=clinic, client=buyer, actor=actor, method=PaymentMethod.CARD_TERMINAL, amount=sale.total, currency=sale.currency,
        invoices=[sale], reference="demo terminal 0107",
    )  # fmt: skip
    visit = services.invoice_create(clinic=clinic, client=buyer, actor=actor)
    services.invoice_line_add(
        invoice=visit, actor=actor, kind=LineKind.SERVICE, description=service.name, unit_price=visits[0].price, service=service,
        therapist=visits[0].therapist, service_date=visits[0].local_start.date(),
    )  # fmt: skip
    prepaid.invoice_settle(invoice=visit, actor=actor, issue=True, package=package)
    card, _ = prepaid.gift_card_sell(client=giver, actor=actor, amount="100.00", recipient_name="Sam Carter", message="Happy birthday!")
    # Handed over in person at the desk, so no delivery e-mail goes out from the demo.
    GiftCard.objects.filter(pk=card.pk).update(delivered_at=timezone.now())
    sale = services.invoice_issue(invoice=card.invoice_line.invoice, actor=actor)
    services.payment_record(
        clinic=clinic, client=giver, actor=actor, method=PaymentMethod.CASH, amount=sale.total, currency=sale.currency, invoices=[sale]
    )
    spend = services.invoice_create(clinic=clinic, client=giver, actor=actor)
    services.invoice_line_add(invoice=spend, actor=actor, kind=LineKind.PRODUCT, description="Massage oil, 250 ml", unit_price="18.00")
    code = prepaid.decrypt(card.code_encrypted)
    prepaid.invoice_settle(invoice=spend, actor=actor, issue=True, gift_card_code=code)


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


def _membership(clinic: Clinic, actor: Any, vat: TaxRate, visits: list[Appointment]) -> None:
    """A monthly membership plan, and the portal client (Tom Hughes) as a member who paid the first
    month at the desk, so the portal and the account page show one."""
    from knotwork.billing import membership
    from knotwork.billing.models import MembershipPlan

    tom = Client.objects.filter(clinic=clinic, first_name="Tom", last_name="Hughes").first()
    if not visits or tom is None or MembershipPlan.objects.filter(clinic=clinic).exists():
        return
    plan = MembershipPlan.objects.create(
        clinic=clinic, name="Monthly maintenance", price=Decimal("55.00"), currency=visits[0].currency, tax_rate=vat,
        credits_per_period=1, pricing="percent", pricing_value=Decimal("10.00"), minimum_periods=3, max_pause_days=60,
    )  # fmt: skip
    plan.credit_services.set([visits[0].service])
    member = membership.membership_sign_up(client=tom, plan=plan, actor=actor, pay_at_desk=True)
    first = member.periods.get().invoice
    services.payment_record(
        clinic=clinic, client=tom, actor=actor, method=PaymentMethod.CARD_TERMINAL, amount=first.total, currency=first.currency,
        invoices=[first], reference="demo terminal 0108",
    )  # fmt: skip
