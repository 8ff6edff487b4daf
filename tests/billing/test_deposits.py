"""Deposits and prepayment when booking online (knotwork/billing/deposits.py), against localstripe
on loopback: the hold is kept while the client pays, the deposit is a part payment of the visit's
invoice, the booking is made only once the money is in, a declined card books nothing, a time taken
meanwhile is refunded, and an abandoned payment leaves no invoice owing."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from knotwork.billing import deposits
from knotwork.billing.models import FeePolicy, Invoice, InvoiceStatus, Payment, PaymentMethod, SavedCard
from knotwork.billing.providers import get_provider
from knotwork.billing.selectors import invoice_money
from knotwork.billing.verify import verify_money
from knotwork.bookings import services as bookings
from knotwork.bookings.models import Appointment, AppointmentStatus, Availability, BookingPolicy, Service
from knotwork.bookings.setup_forms import ServiceForm
from knotwork.lib.testing import make_user
from tests.billing.test_card_on_file import confirm_setup, save_card

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def clinic(money):
    """Clinic A takes bookings Monday to Friday 09:00-17:00; a 60-minute session at 80.00 asks a 25 % deposit."""
    BookingPolicy.objects.create(clinic=money.clinic_a, min_notice_minutes=60, horizon_days=90)
    for weekday in range(5):
        Availability.objects.create(clinic=money.clinic_a, therapist=money.alice, weekday=weekday, start_time=time(9), end_time=time(17))
    money.deposit_service = Service.objects.create(
        clinic=money.clinic_a, name="NMT session (deposit)", duration_minutes=60, price=D("80.00"), currency="GBP",
        payment_policy=Service.PaymentPolicy.DEPOSIT, deposit_percent=25,
    )  # fmt: skip
    day = timezone.localdate() + timedelta(days=3)
    while day.weekday() != 1:
        day += timedelta(days=1)
    money.start = datetime.combine(day, time(10), tzinfo=money.clinic_a.tz)
    return money


@pytest.fixture
def ada(clinic):
    user = make_user("ada@mail.example", mfa=False)
    clinic.client_a.portal_user = user
    clinic.client_a.save(update_fields=["portal_user"])
    return user


def hold_for(world, user, http):
    """What the slot page's "Book" button does: a hold in the browser's session."""
    url = reverse("book_hold", args=[world.clinic_a.slug, world.alice.pk, world.deposit_service.pk])
    response = http.post(url, {"start": world.start.isoformat()})
    assert response.status_code == 302 and response["Location"] == reverse("book_confirm"), response.content
    return Appointment.objects.get(status=AppointmentStatus.HELD)


class AmountTests:
    @pytest.mark.parametrize(
        ("policy", "amount", "percent", "price", "due"),
        [
            ("deposit", None, 25, "80.00", "20.00"),
            ("deposit", None, 33, "65.00", "21.45"),
            ("deposit", None, 15, "65.50", "9.83"),  # 9.825 rounds half up
            ("deposit", "30.00", None, "80.00", "30.00"),
            ("deposit", "30.00", None, "20.00", "20.00"),  # never more than the price
            ("prepay", None, None, "80.00", "80.00"),
            ("card_on_file", None, None, "80.00", "0.00"),
            ("none", None, None, "80.00", "0.00"),
            ("deposit", None, 25, "0.00", "0.00"),
        ],
    )
    def test_what_booking_takes_at_once(self, policy, amount, percent, price, due):
        service = Service(payment_policy=policy, deposit_amount=amount and D(amount), deposit_percent=percent, price=D(price))
        assert service.paid_when_booking() == D(due)

    def test_the_service_form_asks_for_an_amount_or_a_share_and_never_more_than_the_price(self, clinic):
        base = {"name": "S", "kind": "session", "mode": "in_person", "duration_minutes": 60, "buffer_before_minutes": 0,
                "buffer_after_minutes": 0, "price": "80.00", "currency": "GBP", "online_booking": "anyone", "position": 0}  # fmt: skip

        def form(**extra):
            return ServiceForm({**base, **extra}, instance=Service(clinic=clinic.clinic_a), clinic=clinic.clinic_a)

        assert not form(payment_policy="deposit").is_valid()
        assert not form(payment_policy="deposit", deposit_amount="10", deposit_percent="10").is_valid()
        assert "more than the price" in str(form(payment_policy="deposit", deposit_amount="90").errors)
        assert "free service" in str(form(payment_policy="prepay", price="0").errors)
        ok = form(payment_policy="deposit", deposit_percent="20")
        assert ok.is_valid(), ok.errors
        cleared = form(payment_policy="card_on_file", deposit_amount="10")
        assert cleared.is_valid() and cleared.cleaned_data["deposit_amount"] is None
        plain = form()
        assert plain.is_valid() and plain.cleaned_data["payment_policy"] == "none"  # a form without the field keeps "nothing"


class FlowTests:
    def test_a_new_card_pays_the_deposit_and_only_then_is_the_time_booked(self, clinic, ada, client, stripe_on):
        FeePolicy.objects.create(clinic=clinic.clinic_a, no_show_basis="fixed", no_show_value=D("30.00"))
        client.force_login(ada)
        hold = hold_for(clinic, ada, client)
        page = client.get(reverse("book_confirm")).content.decode()
        assert "Deposit when booking" in page and "20.00 GBP" in page and "the rest (60.00 GBP) at your visit" in page
        assert "I agree to the cancellation policy" in page and "Missing the appointment costs GBP 30.00" in page

        refused = client.post(reverse("book_confirm"))
        assert refused.status_code == 400 and "agree to the cancellation policy" in refused.content.decode()
        step = client.post(reverse("book_confirm"), {"agree": "on"})
        assert step.status_code == 302 and step["Location"] == reverse("book_deposit")
        hold.refresh_from_db()
        invoice = Invoice.objects.get(appointment=hold)
        assert hold.status == AppointmentStatus.HELD and hold.client_id == clinic.client_a.pk
        assert hold.hold_expires_at >= timezone.now() + timedelta(minutes=deposits.HOLD_MINUTES - 1)
        assert invoice.status == InvoiceStatus.ISSUED and invoice.total == D("80.00")

        pay = client.get(reverse("book_deposit"))
        assert pay.status_code == 200 and 'id="card-setup"' in pay.content.decode()
        assert "https://js.stripe.com" in pay["Content-Security-Policy"]  # Stripe.js is admitted on this page
        setup_id = pay.content.decode().split('data-setup-id="')[1].split('"')[0]
        confirm_setup(stripe_on, setup_id)  # what Stripe.js does with the card typed in
        done = client.get(reverse("book_deposit_card"), {"setup_intent": setup_id})
        hold.refresh_from_db()
        assert done.status_code == 302 and done["Location"] == reverse("appointment_detail", args=[hold.pk])
        assert hold.status == AppointmentStatus.CONFIRMED and hold.client_id == clinic.client_a.pk
        [payment] = Payment.objects.all()
        assert (payment.method, payment.amount) == (PaymentMethod.CARD_ONLINE, D("20.00"))
        assert invoice_money(invoice).balance == D("60.00")
        assert SavedCard.objects.filter(client=clinic.client_a).exists()  # kept for the fee policy the client agreed to
        assert verify_money().findings == []
        # Checking out later uses the same invoice: the desk takes the rest.
        from knotwork.billing.services import invoice_from_appointment

        assert invoice_from_appointment(appointment=hold, actor=clinic.bob).pk == invoice.pk

    def test_a_saved_card_pays_with_one_button_and_a_second_press_charges_nothing_more(self, clinic, ada, client, stripe_on):
        save_card(stripe_on, clinic.client_a)
        client.force_login(ada)
        hold = hold_for(clinic, ada, client)
        client.post(reverse("book_confirm"), {"agree": "on"})
        page = client.get(reverse("book_deposit")).content.decode()
        assert "Pay with your saved card" in page and "Pay 20.00 GBP" in page
        first = client.post(reverse("book_deposit"))
        assert first.status_code == 302
        again = deposits.deposit_charge(invoice=Invoice.objects.get(appointment=hold), provider=get_provider())
        assert again.state == "booked" and Payment.objects.count() == 1
        assert Appointment.objects.get(pk=hold.pk).status == AppointmentStatus.CONFIRMED

    def test_a_declined_card_books_nothing_and_says_so(self, clinic, ada, client, stripe_on):
        save_card(stripe_on, clinic.client_a, "pm_card_chargeCustomerFail")
        client.force_login(ada)
        hold = hold_for(clinic, ada, client)
        client.post(reverse("book_confirm"), {"agree": "on"})
        response = client.post(reverse("book_deposit"))
        assert response.status_code == 400 and "declined" in response.content.decode()
        hold.refresh_from_db()
        assert hold.status == AppointmentStatus.HELD and not Payment.objects.exists()

    def test_a_time_taken_while_paying_is_refunded_and_the_invoice_voided(self, clinic, ada, client, stripe_on):
        save_card(stripe_on, clinic.client_a)
        client.force_login(ada)
        hold = hold_for(clinic, ada, client)
        client.post(reverse("book_confirm"), {"agree": "on"})
        # The hold lapses and someone else books the same time before the client presses Pay.
        Appointment.objects.filter(pk=hold.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
        bookings.holds_expire()
        bookings.appointment_book(
            clinic=clinic.clinic_a, therapist=clinic.alice, service=clinic.deposit_service, start=clinic.start,
            client=_other_client(clinic), actor=bookings.Actor(user=clinic.bob, membership=_membership(clinic.bob, clinic.clinic_a)),
        )  # fmt: skip
        response = client.post(reverse("book_deposit"))
        assert response.status_code == 302 and response["Location"] == reverse("home")
        invoice = Invoice.objects.get(appointment=hold)
        assert invoice.status == InvoiceStatus.VOID
        [payment] = Payment.objects.all()
        assert invoice_money(invoice).paid == 0 and payment.amount == D("20.00")
        refund = stripe_on.call("GET", "/v1/refunds")["data"]
        assert [r["amount"] for r in refund] == [2000]
        assert verify_money().findings == []

    def test_an_abandoned_payment_leaves_no_invoice_owing(self, clinic, ada, client, stripe_on):
        client.force_login(ada)
        hold = hold_for(clinic, ada, client)
        client.post(reverse("book_confirm"), {"agree": "on"})
        invoice = Invoice.objects.get(appointment=hold)
        assert deposits.void_unpaid() == 0  # still being paid
        Appointment.objects.filter(pk=hold.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=5))
        bookings.holds_expire()
        assert deposits.void_unpaid() == 0  # a slow bank may still answer
        assert deposits.void_unpaid(now=timezone.now() + deposits.VOID_AFTER) == 1
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.VOID and invoice.void_reason == deposits.LAPSED_REASON
        # Coming back to the payment page afterwards books nothing and charges nothing.
        save_card(stripe_on, clinic.client_a)
        late = client.post(reverse("book_deposit"))
        assert late.status_code == 302 and late["Location"] == reverse("home")
        assert not Payment.objects.exists() and Appointment.objects.get(pk=hold.pk).status == AppointmentStatus.EXPIRED
        assert verify_money().findings == []

    def test_the_payment_step_belongs_to_the_person_who_kept_the_hold(self, clinic, ada, client, stripe_on):
        client.force_login(ada)
        hold = hold_for(clinic, ada, client)
        client.post(reverse("book_confirm"), {"agree": "on"})
        # Someone else's session pointing at that booking's invoice gets nothing from it.
        client.force_login(make_user("eve@mail.example", mfa=False))
        session = client.session
        session[deposits_session_key()] = {"invoice": Invoice.objects.get().pk}
        session.save()
        for response in (client.get(reverse("book_deposit")), client.post(reverse("book_deposit"))):
            assert response.status_code == 302 and response["Location"] == reverse("home")
        assert not Payment.objects.exists() and Appointment.objects.get(pk=hold.pk).status == AppointmentStatus.HELD

    def test_without_online_payments_the_booking_is_made_as_before(self, clinic, ada, client, settings):
        settings.STRIPE_SECRET_KEY = ""
        client.force_login(ada)
        hold = hold_for(clinic, ada, client)
        assert "Deposit when booking" not in client.get(reverse("book_confirm")).content.decode()
        response = client.post(reverse("book_confirm"))
        assert response.status_code == 302
        assert Appointment.objects.get(pk=hold.pk).status == AppointmentStatus.CONFIRMED and not Invoice.objects.exists()

    def test_the_api_refuses_a_clients_own_booking_of_a_deposit_service_it_cannot_take_payment_for(self, clinic, ada, as_user, stripe_on):
        api = as_user(ada)
        body = {"therapist": clinic.alice.pk, "service": clinic.deposit_service.pk, "start": clinic.start.isoformat()}
        hold = api.post("/api/bookings/holds", body, content_type="application/json")
        assert hold.status_code == 201
        done = api.post("/api/bookings", {"hold": hold.json()["id"], "hold_token": hold.json()["token"]}, content_type="application/json")
        assert done.status_code == 422 and "booking page" in done.content.decode()
        assert Appointment.objects.get(pk=hold.json()["id"]).status == AppointmentStatus.HELD

    def test_a_deposit_service_keeps_the_card_so_its_missed_visits_cost_the_fee(self, clinic):
        from knotwork.billing import fees

        FeePolicy.objects.create(clinic=clinic.clinic_a, no_show_basis="fixed", no_show_value=D("30.00"))
        appointment = Appointment(
            clinic=clinic.clinic_a, client=clinic.client_a, service=clinic.deposit_service, status=AppointmentStatus.NO_SHOW
        )
        assert fees.fee_due(appointment)
        assert "Missing the appointment costs" in fees.policy_sentence(clinic.clinic_a, clinic.deposit_service)


def deposits_session_key() -> str:
    from knotwork.billing.deposit_views import SESSION_KEY

    return SESSION_KEY


def _membership(user, clinic):
    from knotwork.accounts.models import Membership

    return Membership.objects.select_related("clinic", "user").get(user=user, clinic=clinic)


def _other_client(world):
    from knotwork.lib.testing import make_client

    return make_client(world.clinic_a, first_name="Bea", last_name="Other")
