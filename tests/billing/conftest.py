from __future__ import annotations

import email
import email.policy
import socket
from datetime import timedelta
from decimal import Decimal

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from knotwork.billing import services
from knotwork.billing.models import BillingSettings, TaxRate
from knotwork.bookings.models import Appointment, AppointmentStatus, Service


def make_appointment(clinic, therapist, client, service, *, days_ago: int = 1) -> Appointment:
    start = (timezone.now() - timedelta(days=days_ago)).replace(second=0, microsecond=0)
    end = start + service.duration
    return Appointment.objects.create(
        clinic=clinic,
        therapist=therapist,
        client=client,
        service=service,
        starts_at=start,
        ends_at=end,
        block_start=start,
        block_end=end,
        status=AppointmentStatus.COMPLETED,
        price=service.price,
        currency=service.currency,
    )


@pytest.fixture
def money(world):
    """Clinic A bills in GBP with 20% VAT included in prices; alice gave client_a a 60-minute session."""
    a = world.clinic_a
    world.vat = TaxRate.objects.create(clinic=a, name="VAT standard", rate=Decimal("20.00"))
    BillingSettings.objects.create(
        clinic=a, legal_name="Clinic A Ltd", address="1 High Street, Bristol", tax_number="GB123456789", default_tax_rate=world.vat
    )
    world.session = Service.objects.create(clinic=a, name="NMT session", duration_minutes=60, price=Decimal("60.00"), currency="GBP")
    world.appointment = make_appointment(a, world.alice, world.client_a, world.session)
    world.service_b = Service.objects.create(clinic=world.clinic_b, name="Session B", duration_minutes=60, price=Decimal("50.00"))
    world.appointment_b = make_appointment(world.clinic_b, world.charlie, world.client_b, world.service_b)
    return world


def issued_invoice(world, *, price: str = "60.00", actor=None):
    """A draft for client_a with one line at ``price`` (tax included), issued."""
    actor = actor or world.bob
    invoice = services.invoice_create(clinic=world.clinic_a, client=world.client_a, actor=actor)
    services.invoice_line_add(invoice=invoice, actor=actor, description="Treatment", unit_price=price, tax_rate=world.vat)
    return services.invoice_issue(invoice=invoice, actor=actor)


@pytest.fixture(scope="session")
def stripe_peer():
    """localstripe on a free loopback port for the whole session (tests/billing/stripe_peer.py)."""
    from tests.billing.stripe_peer import start_peer

    peer = start_peer()
    yield peer
    peer.stop()


@pytest.fixture
def stripe_on(settings, stripe_peer):
    """Online payments configured, with the Stripe library pointed at the loopback peer (emptied first)."""
    from tests.billing.stripe_peer import SECRET_KEY

    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_knotwork"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_knotwork_tests"
    settings.STRIPE_API_BASE = stripe_peer.url
    stripe_peer.flush()
    return stripe_peer


class Collector:
    """An aiosmtpd handler keeping every message it is sent."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append(envelope.original_content or envelope.content)
        return "250 Message accepted"

    def texts(self) -> list[str]:
        messages = [email.message_from_bytes(raw, policy=email.policy.default) for raw in self.received]
        return [f"{m['To']}\n{m['Subject']}\n{m.get_body(('plain',)).get_content()}" for m in messages]  # type: ignore[union-attr]


@pytest.fixture
def smtp(settings):
    """aiosmtpd on a loopback port, Django's SMTP backend pointed at it; yields the Collector."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = "https://clinic.example"
    yield collector
    controller.stop()
