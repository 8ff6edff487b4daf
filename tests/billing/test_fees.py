"""Cancellation and no-show fees: the policy sentence, the fee invoiced from bookings, charged
off-session to a card saved on localstripe (loopback, never a mock), exactly once whoever sees the
success first, declines and missing cards on the desk's to-do list, the one-click charge, waiving,
and the receipt over a real SMTP conversation (aiosmtpd on loopback)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from knotwork.accounts.models import Membership, Role
from knotwork.audit.models import AuditEvent
from knotwork.billing import fees, selectors
from knotwork.billing.models import (
    CardIntent,
    ChargeMode,
    DocumentKind,
    Fee,
    FeeBasis,
    FeeKind,
    FeePolicy,
    FeeStatus,
    Invoice,
    LineKind,
    Payment,
    PaymentMethod,
)
from knotwork.billing.providers import get_provider
from knotwork.billing.verify import verify_money
from knotwork.bookings.models import Appointment, AppointmentStatus, BookingPolicy, Service
from knotwork.bookings.services import Actor, appointment_cancel, appointment_record_outcome
from knotwork.lib.testing import make_staff, make_user
from tests.billing.test_card_on_file import save_card
from tests.billing.test_stripe import deliver, succeeded_event
from tests.bookings.test_concurrency import _race

pytestmark = pytest.mark.django_db


@pytest.fixture
def diary(money):
    """Clinic A: a late cancellation costs GBP 30, a no-show half the price; its NMT session (GBP 60)
    asks for a card on file; fees are charged automatically; Ada has a portal login."""
    FeePolicy.objects.create(
        clinic=money.clinic_a, late_cancel_basis=FeeBasis.FIXED, late_cancel_value=Decimal("30"), no_show_basis=FeeBasis.PERCENT,
        no_show_value=Decimal("50"), charge_mode=ChargeMode.AUTOMATIC,
    )  # fmt: skip
    Service.objects.filter(pk=money.session.pk).update(payment_policy=Service.PaymentPolicy.CARD_ON_FILE)
    money.session.refresh_from_db()
    money.portal = make_user("ada@mail.example", mfa=False)
    money.client_a.portal_user = money.portal
    money.client_a.save(update_fields=["portal_user"])
    return money


def booked(world, *, hours_from_now: float, service=None) -> Appointment:
    service = service or world.session
    start = (timezone.now() + timedelta(hours=hours_from_now)).replace(second=0, microsecond=0)
    end = start + service.duration
    return Appointment.objects.create(
        clinic=world.clinic_a, therapist=world.alice, client=world.client_a, service=service, starts_at=start, ends_at=end,
        block_start=start, block_end=end, status=AppointmentStatus.CONFIRMED, price=service.price, currency=service.currency,
    )  # fmt: skip


def desk(world) -> Actor:
    return Actor(user=world.bob, membership=Membership.objects.get(user=world.bob, clinic=world.clinic_a))


def no_show(world, capture, hours: float = -2, **kwargs) -> Fee:
    appointment = booked(world, hours_from_now=hours, **kwargs)
    with capture(execute=True):
        appointment_record_outcome(appointment=appointment, status=AppointmentStatus.NO_SHOW, actor=desk(world))
    return Fee.objects.get(appointment=appointment)


def intents_at_peer(peer, customer_id: str) -> list[dict]:
    return [i for i in peer.call("GET", "/v1/payment_intents?limit=100")["data"] if i["customer"] == customer_id]


class PolicySentenceTests:
    def test_the_same_fee_for_both_reads_as_one_sentence(self, money):
        FeePolicy.objects.create(
            clinic=money.clinic_a, late_cancel_basis=FeeBasis.FIXED, late_cancel_value=Decimal("30"), no_show_basis=FeeBasis.FIXED,
            no_show_value=Decimal("30.00"),
        )  # fmt: skip
        assert fees.policy_sentence(money.clinic_a) == (
            "Cancelling less than 24 hours before, or missing the appointment, costs GBP 30.00, charged to the card you save."
        )

    def test_different_fees_a_percentage_and_a_window_of_one_hour(self, diary):
        BookingPolicy.objects.create(clinic=diary.clinic_a, cancel_notice_hours=1)
        assert fees.policy_sentence(diary.clinic_a) == (
            "Cancelling less than 1 hour before costs GBP 30.00, and missing the appointment costs 50 % of the price, "
            "charged to the card you save."
        )
        assert "50 % of the price (GBP 30.00)" in fees.policy_sentence(diary.clinic_a, diary.session)

    def test_one_fee_only_no_fee_and_a_service_that_asks_for_no_card(self, money):
        assert fees.policy_sentence(money.clinic_a) == ""
        policy = FeePolicy.objects.create(clinic=money.clinic_a, no_show_basis=FeeBasis.PERCENT, no_show_value=Decimal("12.5"))
        assert fees.policy_sentence(money.clinic_a) == "Missing the appointment costs 12.5 % of the price, charged to the card you save."
        assert fees.policy_sentence(money.clinic_a, money.session) == ""  # the service does not ask for a card
        policy.no_show_basis, policy.late_cancel_basis, policy.late_cancel_value = FeeBasis.NONE, FeeBasis.FIXED, Decimal("15")
        policy.save()
        assert fees.policy_sentence(money.clinic_a) == "Cancelling less than 24 hours before costs GBP 15.00, charged to the card you save."

    def test_the_booking_settings_and_the_fees_page_show_it_and_only_the_owner_changes_it(self, diary, as_user):
        page = as_user(diary.olivia).get(reverse("booking_settings"))
        assert page.status_code == 200 and b"Cancelling less than 24 hours before costs GBP 30.00" in page.content
        form = {
            "late_cancel_basis": "fixed",
            "late_cancel_value": "20",
            "no_show_basis": "percent",
            "no_show_value": "150",
            "charge_mode": "desk",
        }
        r = as_user(diary.olivia).post(reverse("fee_list"), form)
        assert r.status_code == 400 and b"A percentage is at most 100." in r.content
        assert as_user(diary.bob).post(reverse("fee_list"), form | {"no_show_value": "100"}).status_code == 403
        other = Service.objects.create(clinic=diary.clinic_a, name="Consultation", duration_minutes=30, price=Decimal("45.00"))
        foreign = diary.service_b.pk  # another clinic's service is not a choice
        assert (
            as_user(diary.olivia).post(reverse("fee_list"), form | {"no_show_value": "100", "card_services": [foreign]}).status_code == 400
        )
        assert (
            as_user(diary.olivia).post(reverse("fee_list"), form | {"no_show_value": "100", "card_services": [other.pk]}).status_code == 302
        )
        policy = FeePolicy.objects.get()
        assert (policy.late_cancel_value, policy.no_show_value, policy.charge_mode) == (Decimal("20.00"), Decimal("100.00"), "desk")
        asks = dict(Service.objects.filter(clinic=diary.clinic_a).values_list("name", "payment_policy"))
        assert asks == {"NMT session": "none", "Consultation": "card_on_file"}
        audit = AuditEvent.objects.get(object_type="billing.feepolicy", action="update")
        assert audit.detail == {"card_on_file": [other.pk], "no_card": [diary.session.pk]}
        page = as_user(diary.olivia).get(reverse("booking_settings"))
        assert page.content.count(b'<span class="badge">Card on file</span>') == 1
        assert as_user(diary.alice).get(reverse("fee_list")).status_code == 403


class AutomaticChargeTests:
    def test_a_no_show_is_invoiced_and_charged_off_session_once_with_a_receipt(
        self, diary, stripe_on, smtp, django_capture_on_commit_callbacks
    ):
        card = save_card(stripe_on, diary.client_a)
        fee = no_show(diary, django_capture_on_commit_callbacks)
        assert (fee.kind, fee.status, fee.amount, fee.currency) == (FeeKind.NO_SHOW, FeeStatus.PAID, Decimal("30.00"), "GBP")
        invoice = fee.invoice
        (line,) = invoice.lines.all()
        day = fee.appointment.local_start
        assert line.kind == LineKind.FEE and line.description == f"No-show fee: NMT session on {day.day} {day:%b %Y}"
        assert invoice.status == "issued" and invoice.total == Decimal("30.00") and selectors.invoice_money(invoice).balance == 0
        payment = Payment.objects.get()
        assert (payment.method, payment.amount, payment.client_id) == (PaymentMethod.CARD_ONLINE, Decimal("30.00"), diary.client_a.pk)
        (remote,) = intents_at_peer(stripe_on, card.customer_id)
        assert (remote["id"], remote["amount"], remote["payment_method"], remote["status"]) == (
            payment.intent_id,
            3000,
            card.payment_method_id,
            "succeeded",
        )
        assert remote["metadata"]["knotwork_fee"] == str(fee.pk)
        assert CardIntent.objects.get().idempotency_key == f"knotwork-fee-{invoice.pk}-1-GBP-3000"
        (receipt,) = smtp.texts()
        assert "GBP 30.00" in receipt and "Visa ending 4242" in receipt and invoice.number in receipt
        assert diary.client_a.email in receipt and "4242424242424242" not in receipt
        # Stripe's event arrives twice, and the task runs twice more: still one payment and one charge.
        event = succeeded_event(stripe_on, payment.intent_id)
        assert deliver(event).json()["outcome"].startswith("duplicate")
        assert deliver(event).json()["outcome"].startswith("duplicate")
        fees.charge_fee.call(fee.pk)
        fees.charge_fee.call(fee.pk)
        assert Payment.objects.count() == 1 and len(intents_at_peer(stripe_on, card.customer_id)) == 1
        assert len(smtp.received) == 1 and verify_money().ok
        events = list(AuditEvent.objects.filter(object_type="billing.fee").order_by("id").values_list("detail__event", flat=True))
        assert events == [None, "charge_sent"]  # created, then the charge sent

    def test_the_webhook_records_a_charge_whose_worker_died_and_the_retry_charges_nothing_more(
        self, diary, stripe_on, django_capture_on_commit_callbacks
    ):
        FeePolicy.objects.filter(clinic=diary.clinic_a).update(charge_mode=ChargeMode.DESK)
        card = save_card(stripe_on, diary.client_a)
        fee = no_show(diary, django_capture_on_commit_callbacks)
        assert fee.status == FeeStatus.TO_CHARGE and fee.needs_desk and not intents_at_peer(stripe_on, card.customer_id)
        # A worker commits its key, sends the charge, and dies before writing anything down.
        provider = get_provider()
        fee, key = fees._prepare(fee, provider)
        remote = provider.charge_saved_card(
            customer_id=card.customer_id, payment_method_id=card.payment_method_id, amount=3000, currency="GBP", idempotency_key=key,
            metadata={"knotwork_invoice": str(fee.invoice_id), "knotwork_fee": str(fee.pk), "knotwork_clinic": str(fee.clinic_id)},
        )  # fmt: skip
        assert not CardIntent.objects.exists()
        outcome = deliver(succeeded_event(stripe_on, remote.id)).json()["outcome"]
        assert outcome.startswith("recorded payment")
        fee.refresh_from_db()
        assert fee.status == FeeStatus.PAID and fee.intent_id == remote.id
        assert fees.fee_charge(fee=fee, actor=None).status == FeeStatus.PAID
        assert Payment.objects.count() == 1 and len(intents_at_peer(stripe_on, card.customer_id)) == 1
        assert CardIntent.objects.get().intent_id == remote.id and verify_money().ok

    def test_an_unreachable_stripe_keeps_the_key_so_the_retry_sends_the_same_one(
        self, diary, stripe_on, settings, django_capture_on_commit_callbacks
    ):
        card = save_card(stripe_on, diary.client_a)
        settings.STRIPE_API_BASE = "http://127.0.0.1:1"  # nothing listens on port 1
        fee = no_show(diary, django_capture_on_commit_callbacks)
        assert fee.status == FeeStatus.FAILED and fee.problem == fees.UNREACHABLE and fee.attempts == 0
        key = fee.charge_key
        assert key.startswith(f"knotwork-fee-{fee.invoice_id}-1-")
        settings.STRIPE_API_BASE = stripe_on.url
        http = HttpClient()
        http.force_login(diary.bob)
        assert http.post(reverse("fee_charge", args=[fee.pk])).status_code == 302
        fee.refresh_from_db()
        assert fee.status == FeeStatus.PAID and CardIntent.objects.get().idempotency_key == key
        assert len(intents_at_peer(stripe_on, card.customer_id)) == 1


class DeskTests:
    def test_a_declined_card_leaves_the_balance_and_a_to_do_and_mails_nothing(
        self, diary, stripe_on, smtp, as_user, django_capture_on_commit_callbacks
    ):
        save_card(stripe_on, diary.client_a, "pm_card_chargeCustomerFail")
        fee = no_show(diary, django_capture_on_commit_callbacks)
        assert (fee.status, fee.problem, fee.attempts, fee.charge_key) == (FeeStatus.FAILED, fees.DECLINED, 1, "")
        assert selectors.invoice_money(fee.invoice).balance == Decimal("30.00") and not Payment.objects.exists()
        assert fees.fee_todo(diary.clinic_a) == [fee] and smtp.received == []
        page = as_user(diary.bob).get(reverse("fee_list"))
        assert page.status_code == 200 and b"The card was declined." in page.content and b"Charge card" in page.content
        # The desk tries again: declined again, a second attempt with a new key.
        assert as_user(diary.bob).post(reverse("fee_charge", args=[fee.pk]), follow=True).status_code == 200
        fee.refresh_from_db()
        assert fee.attempts == 2 and fee.status == FeeStatus.FAILED and not Payment.objects.exists()
        assert AuditEvent.objects.filter(object_type="billing.fee", detail__event="charge_declined").count() == 2

    def test_no_card_is_a_to_do_until_the_client_saves_one_and_the_desk_charges_it(
        self, diary, stripe_on, as_user, django_capture_on_commit_callbacks
    ):
        fee = no_show(diary, django_capture_on_commit_callbacks)
        assert (fee.status, fee.problem) == (FeeStatus.NO_CARD, fees.NO_CARD) and not CardIntent.objects.exists()
        page = as_user(diary.bob).get(reverse("fee_list"))
        assert b"No card is saved." in page.content and reverse("fee_charge", args=[fee.pk]).encode() not in page.content
        assert fees.fee_charge(fee=fee, actor=diary.bob).status == FeeStatus.NO_CARD
        save_card(stripe_on, diary.client_a)
        fee.refresh_from_db()
        assert fee.status == FeeStatus.TO_CHARGE
        r = as_user(diary.bob).post(reverse("fee_charge", args=[fee.pk]), follow=True)
        assert b"Charged GBP 30.00 to the saved card." in r.content
        fee.refresh_from_db()
        assert fee.status == FeeStatus.PAID and fees.fee_todo(diary.clinic_a) == []
        audit = AuditEvent.objects.get(object_type="billing.fee", detail__event="charge_sent")
        assert (audit.actor_id, audit.role) == (diary.bob.pk, Role.FRONT_DESK)

    def test_a_fee_paid_in_cash_at_the_desk_leaves_the_to_do_list(self, diary, django_capture_on_commit_callbacks):
        from knotwork.billing import services

        fee = no_show(diary, django_capture_on_commit_callbacks)
        assert fees.fee_todo(diary.clinic_a) == [fee]
        services.payment_record(
            clinic=diary.clinic_a,
            client=diary.client_a,
            actor=diary.bob,
            method="cash",
            amount="30",
            currency="GBP",
            invoices=[fee.invoice],
        )
        assert fees.fee_todo(diary.clinic_a) == []
        assert fees.fee_charge(fee=fee, actor=diary.bob).status == FeeStatus.PAID

    def test_a_queued_charge_left_behind_by_a_dead_worker_reaches_the_to_do_list(self, diary, django_capture_on_commit_callbacks):
        fee = no_show(diary, django_capture_on_commit_callbacks)
        Fee.objects.filter(pk=fee.pk).update(status=FeeStatus.QUEUED, problem="")  # as if the charge task never ran
        assert fees.fee_todo(diary.clinic_a) == []  # a fresh queue is the worker's
        Fee.objects.filter(pk=fee.pk).update(updated_at=timezone.now() - timedelta(minutes=11))
        assert [f.pk for f in fees.fee_todo(diary.clinic_a)] == [fee.pk]

    def test_the_fees_page_costs_the_same_queries_for_one_fee_or_many(self, diary, as_user, django_capture_on_commit_callbacks):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        no_show(diary, django_capture_on_commit_callbacks)
        http = as_user(diary.bob)
        http.get(reverse("fee_list"))  # warm the session and the clinic's rows
        with CaptureQueriesContext(connection) as one:
            assert http.get(reverse("fee_list")).status_code == 200
        for hours in (-5, -8, -11, -14):
            no_show(diary, django_capture_on_commit_callbacks, hours=hours)
        with CaptureQueriesContext(connection) as five:
            page = http.get(reverse("fee_list"))
        assert page.content.count(b"No card is saved.") == 5 and len(five) == len(one)

    def test_waiving_credits_the_invoice_with_the_reason(self, diary, stripe_on, as_user, django_capture_on_commit_callbacks):
        fee = no_show(diary, django_capture_on_commit_callbacks)
        url = reverse("fee_waive", args=[fee.pk])
        assert as_user(diary.bob).get(url).status_code == 200
        assert AuditEvent.objects.filter(object_type="billing.fee", action="view", actor_id=diary.bob.pk).count() == 1
        r = as_user(diary.bob).post(url, {"reason": "  "})
        assert r.status_code == 400 and Fee.objects.get().status == FeeStatus.NO_CARD
        assert as_user(diary.bob).post(url, {"reason": "Car broke down on the way"}).status_code == 302
        fee.refresh_from_db()
        assert (fee.status, fee.waive_reason, fee.waived_by_id) == (FeeStatus.WAIVED, "Car broke down on the way", diary.bob.pk)
        note = Invoice.objects.get(kind=DocumentKind.CREDIT_NOTE)
        assert note.credit_for_id == fee.invoice_id and note.note == "Fee waived: Car broke down on the way"
        assert selectors.invoice_money(fee.invoice).balance == 0 and verify_money().ok
        audit = AuditEvent.objects.get(object_type="billing.fee", detail__event="waive")
        assert audit.detail["reason"] == "Car broke down on the way" and audit.actor_id == diary.bob.pk
        assert fees.fee_charge(fee=fee, actor=diary.bob).status == FeeStatus.WAIVED and not CardIntent.objects.exists()
        assert as_user(diary.bob).post(url, {"reason": "again"}).status_code == 400  # already waived

    def test_a_paid_fee_is_refunded_not_waived(self, diary, stripe_on, as_user, django_capture_on_commit_callbacks):
        save_card(stripe_on, diary.client_a)
        fee = no_show(diary, django_capture_on_commit_callbacks)
        r = as_user(diary.bob).post(reverse("fee_waive", args=[fee.pk]), {"reason": "Goodwill"})
        assert r.status_code == 400 and b"Refund the payment" in r.content
        assert Fee.objects.get().status == FeeStatus.PAID


class BookingHookTests:
    def test_a_late_cancellation_by_the_client_costs_the_fixed_fee(self, diary, stripe_on, django_capture_on_commit_callbacks):
        save_card(stripe_on, diary.client_a)
        late = booked(diary, hours_from_now=3)
        early = booked(diary, hours_from_now=72)
        with django_capture_on_commit_callbacks(execute=True):
            appointment_cancel(appointment=late, actor=Actor(user=diary.portal))
            appointment_cancel(appointment=early, actor=Actor(user=diary.portal))
        fee = Fee.objects.get()
        assert (fee.appointment_id, fee.kind, fee.amount, fee.status) == (late.pk, FeeKind.LATE_CANCEL, Decimal("30.00"), FeeStatus.PAID)
        assert fee.invoice.lines.get().description.startswith("Late cancellation fee: NMT session on ")

    def test_no_fee_for_a_service_that_asks_for_no_card_or_when_the_policy_charges_nothing(self, diary, django_capture_on_commit_callbacks):
        plain = Service.objects.create(clinic=diary.clinic_a, name="Chat", duration_minutes=30, price=Decimal("40.00"))
        no_show_plain = booked(diary, hours_from_now=-2, service=plain)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            appointment_record_outcome(appointment=no_show_plain, status=AppointmentStatus.NO_SHOW, actor=desk(diary))
        assert callbacks == [] and not Fee.objects.exists() and not Invoice.objects.exists()
        FeePolicy.objects.filter(clinic=diary.clinic_a).update(no_show_basis=FeeBasis.NONE)
        missed = booked(diary, hours_from_now=-4)
        with django_capture_on_commit_callbacks(execute=True):
            appointment_record_outcome(appointment=missed, status=AppointmentStatus.NO_SHOW, actor=desk(diary))
        assert not Fee.objects.exists() and not Invoice.objects.exists()

    def test_the_fee_task_is_idempotent(self, diary, django_capture_on_commit_callbacks):
        fee = no_show(diary, django_capture_on_commit_callbacks)
        assert fees.invoice_fee.call(fee.appointment_id) == FeeStatus.NO_CARD
        assert Fee.objects.count() == 1 and Invoice.objects.count() == 1


class IsolationTests:
    def test_another_clinic_gets_404_a_therapist_403_and_a_client_404(self, diary, as_user, django_capture_on_commit_callbacks):
        fee = no_show(diary, django_capture_on_commit_callbacks)
        dora = make_staff("dora@b.example", diary.clinic_b, Role.FRONT_DESK)
        for url in (reverse("fee_charge", args=[fee.pk]), reverse("fee_waive", args=[fee.pk])):
            assert as_user(dora).post(url, {"reason": "x"}).status_code == 404
            assert as_user(diary.portal).post(url, {"reason": "x"}).status_code == 404
            assert as_user(diary.alice).post(url, {"reason": "x"}).status_code == 403
        assert as_user(dora).get(reverse("fee_waive", args=[fee.pk])).status_code == 404
        page = as_user(dora).get(reverse("fee_list"))
        assert page.status_code == 200 and diary.client_a.full_name.encode() not in page.content
        assert as_user(diary.bob).post(reverse("fee_charge", args=[999999])).status_code == 404
        assert Fee.objects.get().status == FeeStatus.NO_CARD


@pytest.mark.django_db(transaction=True)
class ConcurrentChargeTests:
    def test_four_desks_and_two_webhook_deliveries_at_once_charge_and_record_exactly_once(self, diary, stripe_on):
        FeePolicy.objects.filter(clinic=diary.clinic_a).update(charge_mode=ChargeMode.DESK)
        card = save_card(stripe_on, diary.client_a)
        appointment = booked(diary, hours_from_now=-2)
        appointment_record_outcome(appointment=appointment, status=AppointmentStatus.NO_SHOW, actor=desk(diary))
        fees.invoice_fee.call(appointment.pk)  # what the committed hook enqueues
        fee = Fee.objects.get()
        assert fee.status == FeeStatus.TO_CHARGE

        def charge(i: int) -> str:
            return fees.fee_charge(fee=Fee.objects.get(pk=fee.pk), actor=diary.bob).status

        assert set(_race(charge, 4)) == {FeeStatus.PAID}
        (remote,) = intents_at_peer(stripe_on, card.customer_id)
        event = succeeded_event(stripe_on, remote["id"])
        outcomes = _race(lambda i: deliver(event if i else event | {"id": event["id"] + "_again"}).json()["outcome"], 2)
        assert all(o.startswith("duplicate") for o in outcomes)
        assert Payment.objects.count() == 1 and CardIntent.objects.count() == 1 and verify_money().ok
