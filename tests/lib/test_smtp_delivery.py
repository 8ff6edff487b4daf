"""E-mail over a real SMTP conversation: aiosmtpd listens on a loopback port, Django's SMTP backend
talks to it, and the tests read the MIME that arrived."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse
from django.utils import timezone

from knotwork.bookings.models import Appointment, Service
from knotwork.bookings.tasks import send_booking_confirmation
from knotwork.lib.testing import make_user
from knotwork.messaging import services as messaging
from tests.bookings.helpers import confirmed_appointment

pytestmark = pytest.mark.django_db

SITE = "https://clinic.example"
LINK = re.compile(r"https?://[^\s\"'<>)]+")


class Collector:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted"

    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        return [(to, email.message_from_bytes(raw, policy=email.policy.default)) for to, raw in self.received]  # type: ignore[misc]


@pytest.fixture
def smtp(settings):
    with socket.socket() as probe:  # aiosmtpd checks it is up by connecting, so it needs a real port number
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD, settings.EMAIL_USE_TLS = "", "", False
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = SITE
    settings.DEFAULT_FROM_EMAIL = "Knotwork <no-reply@clinic.example>"
    yield collector
    controller.stop()


@pytest.fixture
def booking(world):
    world.session60 = Service.objects.create(
        clinic=world.clinic_a, name="NMT session", duration_minutes=60, price=Decimal("65.00"), currency="GBP"
    )
    return world


def _appointment(world) -> Appointment:
    start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    return confirmed_appointment(world, start, confirmed_at=timezone.now())


def _text_of(message: EmailMessage) -> str:
    return "\n".join(part.get_content() for part in message.walk() if part.get_content_type() in ("text/plain", "text/html"))


def _assert_sent_as_the_clinic(message: EmailMessage, raw: bytes, clinic_name: str) -> None:
    (sender,) = message["From"].addresses
    assert sender.display_name == clinic_name and sender.addr_spec == "no-reply@clinic.example"
    links = LINK.findall(_text_of(message))
    assert links and all(link.startswith(f"{SITE}/") for link in links), links
    assert b"127.0.0.1" not in raw and "127.0.0.1" not in _text_of(message)


class SmtpDeliveryTests:
    def test_a_booking_confirmation_arrives_with_text_html_and_calendar_file(self, smtp, booking):
        booking.clinic_a.name = "Harbour Street Clinic, Bristol"  # a comma must survive the From header
        booking.clinic_a.save()
        appointment = _appointment(booking)
        send_booking_confirmation.enqueue(appointment.pk)
        received = {to[0]: (message, raw) for (to, message), (_, raw) in zip(smtp.messages(), smtp.received, strict=True)}
        assert set(received) == {booking.client_a.email, booking.alice.email}
        message, raw = received[booking.client_a.email]
        _assert_sent_as_the_clinic(message, raw, "Harbour Street Clinic, Bristol")
        assert message["Subject"].startswith("Booking confirmed")
        types = [part.get_content_type() for part in message.walk()]
        assert "text/plain" in types and "text/html" in types
        plain = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        link = f"{SITE}/appointments/{appointment.pk}/"
        assert link in plain and f'href="{link}"' in html
        assert "Harbour Street Clinic, Bristol" in plain
        (ics,) = [part for part in message.iter_attachments() if part.get_filename() == "appointment.ics"]
        assert ics.get_content_type() == "text/calendar"
        calendar = ics.get_content()
        calendar = calendar.decode() if isinstance(calendar, bytes) else calendar
        assert "BEGIN:VEVENT" in calendar and "127.0.0.1" not in calendar

    def test_html_escapes_what_the_clinic_typed(self, smtp, booking):
        booking.clinic_a.name = "Tom & Jo's <Clinic>"
        booking.clinic_a.save()
        send_booking_confirmation.enqueue(_appointment(booking).pk)
        (_, message), _ = smtp.messages()
        html = message.get_body(preferencelist=("html",)).get_content()
        assert "<Clinic>" not in html and "Tom &amp; Jo" in html

    def test_a_message_notification_names_the_clinic_and_links_to_site_url(self, smtp, world, django_capture_on_commit_callbacks):
        ada = make_user("ada@mail.example", mfa=False)
        world.client_a.portal_user = ada
        world.client_a.save()
        with django_capture_on_commit_callbacks(execute=True):
            thread = messaging.thread_start(
                client=world.client_a, user=ada, membership=None, subject="Parking", body="Where do I park?", kind="admin"
            )
        assert smtp.received
        for (_, message), (_, raw) in zip(smtp.messages(), smtp.received, strict=True):
            _assert_sent_as_the_clinic(message, raw, world.clinic_a.name)
            body = _text_of(message)
            assert f"{SITE}/messages/" in body or f"/{thread.pk}/" in body
            assert "Where do I park?" not in body and world.clinic_a.name in body

    def test_the_sign_up_confirmation_speaks_as_knotwork_and_links_to_site_url(self, smtp, client):
        response = client.post(
            reverse("account_signup"), {"email": "new@mail.example", "password1": "a-long-passphrase-1", "password2": "a-long-passphrase-1"}
        )
        assert response.status_code == 302
        ((to, message),) = smtp.messages()
        assert to == ["new@mail.example"] and message["Subject"].startswith("[Knotwork] ")
        body = _text_of(message)
        assert "Knotwork" in body and "testserver" not in body
        links = LINK.findall(body)
        assert any("/accounts/confirm-email/" in link for link in links) and all(link.startswith(f"{SITE}/") for link in links)
