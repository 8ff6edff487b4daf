"""Memberships: signing up, each period invoiced and charged off-session to a card saved on
localstripe (loopback, never a mock) exactly once however often the billing run goes, declines
made past due and retried a bounded number of times, credits granted only when paid and spent at
check-out like a package session, the member price, pausing and cancelling under the plan's rules,
the pages (owner, desk, therapist, another clinic, the client's portal), reports and verify."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from knotwork.audit.models import AuditEvent
from knotwork.billing import membership as members
from knotwork.billing import membership_billing as billing
from knotwork.billing import prepaid, selectors, services
from knotwork.billing.membership_models import (
    ClientMembership,
    MemberPricing,
    MembershipEntry,
    MembershipPeriod,
    MembershipPlan,
    MembershipStatus,
    PeriodStatus,
)
from knotwork.billing.models import CardIntent, InvoiceStatus, LineKind, PackageProduct, Payment, PaymentMethod
from knotwork.billing.services import BillingError
from knotwork.billing.verify import verify_money
from knotwork.lib.testing import make_user
from tests.billing.conftest import make_appointment
from tests.billing.test_card_on_file import save_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(money):
    """GBP 50.00 a month (VAT included), two NMT-session credits a month, 10 % off every service."""
    p = MembershipPlan.objects.create(
        clinic=money.clinic_a, name="Monthly NMT", price=Decimal("50.00"), currency="GBP", tax_rate=money.vat, credits_per_period=2,
        pricing=MemberPricing.PERCENT, pricing_value=Decimal("10"), max_pause_days=60,
    )  # fmt: skip
    p.credit_services.set([money.session])
    return p


@pytest.fixture
def portal(money):
    user = make_user("ada@mail.example", mfa=False)
    money.client_a.portal_user = user
    money.client_a.save(update_fields=["portal_user"])
    return user


def sign_up(world, plan, capture, *, pay_at_desk: bool = False) -> ClientMembership:
    with capture(execute=True):
        membership = members.membership_sign_up(client=world.client_a, plan=plan, actor=world.bob, pay_at_desk=pay_at_desk)
    membership.refresh_from_db()
    return membership


def run_on(membership: ClientMembership, day, capture, *, hour: int = 9) -> dict[str, int]:
    """The billing run as it would go at ``hour`` on the clinic's local ``day``."""
    now = datetime.combine(day, time(hour), tzinfo=membership.clinic.tz)
    with capture(execute=True):
        return billing.run(now)


def intents_at_peer(peer, customer_id: str) -> list[dict]:
    return [i for i in peer.call("GET", "/v1/payment_intents?limit=100")["data"] if i["customer"] == customer_id]


def visit_invoice(world, *, service=None):
    appointment = make_appointment(world.clinic_a, world.alice, world.client_a, service or world.session)
    return services.invoice_from_appointment(appointment=appointment, actor=world.bob)


class BillingTests:
    def test_signing_up_charges_the_first_period_to_the_card_once_and_grants_its_credits(
        self, money, plan, stripe_on, django_capture_on_commit_callbacks
    ):
        card = save_card(stripe_on, money.client_a)
        m = sign_up(money, plan, django_capture_on_commit_callbacks)
        assert (m.status, m.credits_left, m.name, m.price) == (MembershipStatus.ACTIVE, 2, "Monthly NMT", Decimal("50.00"))
        (period,) = m.periods.all()
        assert period.status == PeriodStatus.PAID and period.start == m.started_on == m.current_period_start
        assert m.next_billing_on == m.current_period_end == period.end and period.end > period.start
        (line,) = period.invoice.lines.all()
        assert line.kind == LineKind.MEMBERSHIP and line.description.startswith("Monthly NMT membership, ")
        assert (line.total, line.tax) == (Decimal("50.00"), Decimal("8.33"))
        payment = Payment.objects.get()
        assert (payment.method, payment.amount) == (PaymentMethod.CARD_ONLINE, Decimal("50.00"))
        (remote,) = intents_at_peer(stripe_on, card.customer_id)
        assert (remote["id"], remote["amount"], remote["status"]) == (payment.intent_id, 5000, "succeeded")
        assert remote["metadata"]["knotwork_membership_period"] == str(period.pk)
        assert CardIntent.objects.get().idempotency_key == f"knotwork-membership-{period.invoice_id}-1-GBP-5000"
        # The task runs twice more: nothing more is charged.
        billing.charge_membership_period.call(period.pk)
        billing.charge_membership_period.call(period.pk)
        assert Payment.objects.count() == 1 and len(intents_at_peer(stripe_on, card.customer_id)) == 1
        events = list(
            AuditEvent.objects.filter(object_type="billing.clientmembership").order_by("id").values_list("detail__event", flat=True)
        )
        assert events[0] is None and "period_open" in events and "charge_sent" in events and "period_paid" in events
        assert verify_money().ok

    def test_the_run_bills_each_period_once_however_often_it_goes(self, money, plan, stripe_on, django_capture_on_commit_callbacks):
        card = save_card(stripe_on, money.client_a)
        m = sign_up(money, plan, django_capture_on_commit_callbacks)
        first_end = m.next_billing_on
        assert "billed" not in run_on(m, first_end - timedelta(days=1), django_capture_on_commit_callbacks)
        # One credit used, then the next period comes: the rest ends (no roll-over), two new ones are granted.
        invoice = visit_invoice(money)
        prepaid.invoice_settle(invoice=invoice, actor=money.bob, issue=True, membership=m)
        m.refresh_from_db()
        assert m.credits_left == 1
        assert run_on(m, first_end, django_capture_on_commit_callbacks)["billed"] == 1
        assert run_on(m, first_end, django_capture_on_commit_callbacks) == {}
        assert run_on(m, first_end, django_capture_on_commit_callbacks, hour=18) == {}
        assert billing.membership_advance(membership_id=m.pk, now=timezone.now() + timedelta(days=31)) == "nothing due"
        m.refresh_from_db()
        assert m.periods.count() == 2 and m.current_period_start == first_end and m.credits_left == 2
        assert all(p.status == PeriodStatus.PAID for p in m.periods.all())
        assert len(intents_at_peer(stripe_on, card.customer_id)) == 2
        assert Payment.objects.filter(method=PaymentMethod.CARD_ONLINE).count() == 2
        kinds = list(m.entries.values_list("kind", "credits"))
        assert kinds == [("grant", 2), ("use", -1), ("expire", -1), ("grant", 2)]
        assert members.credits_remaining(m) == 2 and verify_money().ok

    def test_a_decline_makes_it_past_due_retries_twice_more_then_waits_for_the_desk(
        self, money, plan, stripe_on, as_user, django_capture_on_commit_callbacks
    ):
        card = save_card(stripe_on, money.client_a, "pm_card_chargeCustomerFail")
        m = sign_up(money, plan, django_capture_on_commit_callbacks)
        (period,) = m.periods.all()
        assert (m.status, m.credits_left) == (MembershipStatus.PAST_DUE, 0)
        assert (period.status, period.attempts, period.problem) == (PeriodStatus.FAILED, 1, billing.DECLINED)
        assert period.next_attempt_at is not None and members.membership_todo(money.clinic_a) == [period]
        assert not members.usable_memberships(money.client_a).exists()
        assert members.member_discount(client=money.client_a, service=money.session, unit_price=Decimal("60.00"), currency="GBP") == 0
        page = as_user(money.bob).get(reverse("membership_list"))
        assert b"The card was declined." in page.content
        assert b"Memberships to do" in as_user(money.bob).get(reverse("fee_list")).content
        # Not yet time for the retry: nothing is sent. A day later: the second attempt.
        today = m.started_on
        assert "charges" not in run_on(m, today, django_capture_on_commit_callbacks, hour=23)
        period.refresh_from_db()
        assert period.attempts == 1
        run_on(m, today + timedelta(days=2), django_capture_on_commit_callbacks)
        period.refresh_from_db()
        assert period.attempts == 2 and period.next_attempt_at is not None
        run_on(m, today + timedelta(days=6), django_capture_on_commit_callbacks)
        period.refresh_from_db()
        assert period.attempts == 3 and period.next_attempt_at is None and period.status == PeriodStatus.FAILED
        # Bounded: later runs do not charge again, and a past-due membership opens no new period.
        run_on(m, today + timedelta(days=40), django_capture_on_commit_callbacks)
        assert len(intents_at_peer(stripe_on, card.customer_id)) == 3 and m.periods.count() == 1
        assert AuditEvent.objects.filter(object_type="billing.clientmembership", detail__event="charge_declined").count() == 3
        # The client saves a working card and the desk charges again: paid, active, credits granted.
        save_card(stripe_on, money.client_a)
        response = as_user(money.bob).post(reverse("membership_charge", args=[m.pk]))
        assert response.status_code == 302
        m.refresh_from_db()
        period.refresh_from_db()
        assert (m.status, m.credits_left, period.status) == (MembershipStatus.ACTIVE, 2, PeriodStatus.PAID)
        assert members.membership_todo(money.clinic_a) == [] and verify_money().ok

    def test_the_webhook_records_a_charge_whose_worker_died_and_the_next_run_charges_nothing_more(
        self, money, plan, stripe_on, django_capture_on_commit_callbacks
    ):
        from knotwork.billing.providers import get_provider
        from tests.billing.test_stripe import deliver, succeeded_event

        card = save_card(stripe_on, money.client_a)
        m = members.membership_sign_up(client=money.client_a, plan=plan, actor=money.bob)  # its charge task never ran
        period = m.periods.get()
        assert period.status == PeriodStatus.DUE
        # A worker commits its key, sends the charge, and dies before writing anything down.
        provider = get_provider()
        key = billing._prepare(period, provider)
        metadata = {"knotwork_invoice": str(period.invoice_id), "knotwork_membership_period": str(period.pk), "knotwork_clinic": "0"}
        remote = provider.charge_saved_card(
            customer_id=card.customer_id, payment_method_id=card.payment_method_id, amount=5000, currency="GBP", idempotency_key=key,
            metadata=metadata,
        )  # fmt: skip
        assert not CardIntent.objects.exists() and remote.status == "succeeded"
        outcome = deliver(succeeded_event(stripe_on, remote.id)).json()["outcome"]
        assert outcome.startswith("recorded payment")
        period.refresh_from_db()
        m.refresh_from_db()
        assert (period.status, period.intent_id, m.status, m.credits_left) == (PeriodStatus.PAID, remote.id, MembershipStatus.ACTIVE, 2)
        # The next run (the charge looked left under way) and the task itself charge nothing more.
        with django_capture_on_commit_callbacks(execute=True):
            billing.run(timezone.now() + timedelta(minutes=15))
        billing.charge_membership_period.call(period.pk)
        assert len(intents_at_peer(stripe_on, card.customer_id)) == 1 and Payment.objects.get().intent_id == remote.id
        assert CardIntent.objects.get().idempotency_key == key and verify_money().ok

    def test_a_retry_finds_a_working_card_by_itself(self, money, plan, stripe_on, django_capture_on_commit_callbacks):
        save_card(stripe_on, money.client_a, "pm_card_chargeCustomerFail")
        m = sign_up(money, plan, django_capture_on_commit_callbacks)
        save_card(stripe_on, money.client_a)
        run_on(m, m.started_on + timedelta(days=2), django_capture_on_commit_callbacks)
        m.refresh_from_db()
        assert (m.status, m.credits_left, m.periods.get().attempts) == (MembershipStatus.ACTIVE, 2, 1)

    def test_paying_at_the_desk_activates_it_and_no_card_is_refused_otherwise(self, money, plan, django_capture_on_commit_callbacks):
        with pytest.raises(BillingError, match="no card on file"):
            members.membership_sign_up(client=money.client_a, plan=plan, actor=money.bob)
        m = sign_up(money, plan, django_capture_on_commit_callbacks, pay_at_desk=True)
        (period,) = m.periods.all()
        assert (m.status, m.credits_left, period.status) == (MembershipStatus.PENDING, 0, PeriodStatus.AT_DESK)
        assert period.invoice.status == InvoiceStatus.ISSUED and members.membership_todo(money.clinic_a) == []
        with pytest.raises(BillingError, match="already has a membership"):
            members.membership_sign_up(client=money.client_a, plan=plan, actor=money.bob, pay_at_desk=True)
        prepaid.invoice_settle(invoice=period.invoice, actor=money.bob, method="cash", amount="50.00")
        m.refresh_from_db()
        assert (m.status, m.credits_left, m.periods.get().status) == (MembershipStatus.ACTIVE, 2, PeriodStatus.PAID)
        # The next period has no card to go to: past due, on the to-do list.
        run_on(m, m.next_billing_on, django_capture_on_commit_callbacks)
        m.refresh_from_db()
        assert m.status == MembershipStatus.PAST_DUE and m.credits_left == 0
        assert [p.status for p in members.membership_todo(money.clinic_a)] == [PeriodStatus.NO_CARD]

    def test_weekly_and_month_end_periods(self):
        from datetime import date

        assert billing.add_period(date(2026, 1, 31), count=1, unit="month", anchor_day=31) == date(2026, 2, 28)
        assert billing.add_period(date(2026, 2, 28), count=1, unit="month", anchor_day=31) == date(2026, 3, 31)
        assert billing.add_period(date(2026, 11, 15), count=3, unit="month", anchor_day=15) == date(2027, 2, 15)
        assert billing.add_period(date(2026, 12, 30), count=2, unit="week", anchor_day=30) == date(2027, 1, 13)

    def test_the_command_runs_the_billing_here_or_queues_it(self, money, plan, django_capture_on_commit_callbacks):
        import io

        from django.core.management import call_command

        out = io.StringIO()
        call_command("memberships", "bill", "--now", stdout=out)
        assert out.getvalue().strip() == "nothing due"
        out = io.StringIO()
        call_command("memberships", "bill", stdout=out)
        assert out.getvalue().startswith("membership billing run queued")


class CheckoutTests:
    def test_a_credit_pays_a_covered_session_and_the_member_price_applies(self, money, plan, stripe_on, django_capture_on_commit_callbacks):
        save_card(stripe_on, money.client_a)
        m = sign_up(money, plan, django_capture_on_commit_callbacks)
        invoice = visit_invoice(money)
        (line,) = invoice.lines.all()
        assert (line.unit_price, line.discount, line.total) == (Decimal("60.00"), Decimal("6.00"), Decimal("54.00"))
        invoice, (payment,) = prepaid.invoice_settle(invoice=invoice, actor=money.bob, issue=True, membership=m)
        assert (payment.method, payment.amount) == (PaymentMethod.MEMBERSHIP, Decimal("54.00"))
        assert selectors.invoice_money(invoice).balance == 0
        m.refresh_from_db()
        assert m.credits_left == 1
        # The same line cannot be paid twice, by a credit or by a package.
        with pytest.raises(BillingError):
            members.credit_redeem(invoice=invoice, membership=m, actor=money.bob)
        product = PackageProduct.objects.create(clinic=money.clinic_a, name="Five", sessions=5, price=Decimal("200"), currency="GBP")
        product.services.set([money.session])
        assert members.covered_line(invoice, m) is None
        # Refunded: the credit comes back.
        services.payment_refund(payment=payment, actor=money.bob, amount=payment.amount, reason="Charged by mistake")
        m.refresh_from_db()
        assert m.credits_left == 2 and list(m.entries.values_list("kind", flat=True)) == ["grant", "use", "restore"]
        assert verify_money().ok

    def test_the_check_out_form_offers_the_credit(self, money, plan, stripe_on, as_user, django_capture_on_commit_callbacks):
        save_card(stripe_on, money.client_a)
        m = sign_up(money, plan, django_capture_on_commit_callbacks)
        invoice = visit_invoice(money)
        page = as_user(money.bob).get(reverse("invoice_detail", args=[invoice.pk]))
        assert b"Use a membership credit" in page.content and b"Monthly NMT \xe2\x80\x94 2 credits left" in page.content
        response = as_user(money.bob).post(reverse("invoice_issue", args=[invoice.pk]), {"membership": m.pk, "method": "cash"})
        assert response.status_code == 302
        assert Payment.objects.filter(method=PaymentMethod.MEMBERSHIP).count() == 1

    def test_credits_are_personal_and_need_an_active_membership(self, money, plan, django_capture_on_commit_callbacks):
        m = sign_up(money, plan, django_capture_on_commit_callbacks, pay_at_desk=True)
        invoice = services.invoice_issue(invoice=visit_invoice(money), actor=money.bob)
        with pytest.raises(BillingError, match="waiting for the first payment"):
            members.credit_redeem(invoice=invoice, membership=m, actor=money.bob)
        with pytest.raises(BillingError, match="membership-credit payment needs"):
            services.payment_record(
                clinic=money.clinic_a, client=money.client_a, actor=money.bob, method=PaymentMethod.MEMBERSHIP, amount="10.00",
                currency="GBP", invoices=[invoice],
            )  # fmt: skip


@pytest.mark.django_db(transaction=True)
class RaceTests:
    def test_the_same_credit_redeemed_twice_at_once_lets_exactly_one_through(self, money, plan, django_capture_on_commit_callbacks):
        from tests.bookings.test_concurrency import _race

        plan.credits_per_period = 1
        plan.save()
        m = members.membership_sign_up(client=money.client_a, plan=plan, actor=money.bob, pay_at_desk=True)
        period = m.periods.get()
        prepaid.invoice_settle(invoice=period.invoice, actor=money.bob, method="cash", amount="50.00")
        invoices = [services.invoice_issue(invoice=visit_invoice(money), actor=money.bob) for _ in range(6)]

        def redeem(i: int) -> str:
            try:
                prepaid.invoice_settle(invoice=invoices[i], actor=money.bob, membership=m)
            except BillingError:
                return "refused"
            return "used"

        results = _race(redeem, len(invoices))
        assert results.count("used") == 1 and results.count("refused") == len(invoices) - 1
        m.refresh_from_db()
        assert m.credits_left == 0 and members.credits_remaining(m) == 0
        assert Payment.objects.filter(method=PaymentMethod.MEMBERSHIP).count() == 1 and verify_money().ok

    def test_four_billing_runs_at_once_open_and_charge_the_period_once(self, money, plan, stripe_on):
        from tests.bookings.test_concurrency import _race

        card = save_card(stripe_on, money.client_a)
        m = members.membership_sign_up(client=money.client_a, plan=plan, actor=money.bob)
        assert m.periods.get().status == PeriodStatus.PAID  # committed, so the charge ran at once
        m.refresh_from_db()
        now = datetime.combine(m.next_billing_on, time(9), tzinfo=money.clinic_a.tz)
        _race(lambda i: billing.run(now), 4)
        m.refresh_from_db()
        assert m.periods.count() == 2 and all(p.status == PeriodStatus.PAID for p in m.periods.all())
        assert len(intents_at_peer(stripe_on, card.customer_id)) == 2 and Payment.objects.count() == 2 and verify_money().ok


class PauseAndCancelTests:
    def test_a_pause_stops_billing_and_credits_and_resumes_by_itself(
        self, money, plan, stripe_on, as_user, django_capture_on_commit_callbacks
    ):
        card = save_card(stripe_on, money.client_a)
        m = sign_up(money, plan, django_capture_on_commit_callbacks)
        start = m.next_billing_on
        with pytest.raises(BillingError, match="at most 60 days"):
            members.membership_pause(membership=m, actor=money.bob, until=start + timedelta(days=61))
        page = as_user(money.bob).get(reverse("membership_pause", args=[m.pk]))
        assert page.status_code == 200 and b"Pause this membership?" in page.content
        until = start + timedelta(days=30)
        response = as_user(money.bob).post(reverse("membership_pause", args=[m.pk]), {"until": until.isoformat(), "reason": "Travelling"})
        assert response.status_code == 302
        m.refresh_from_db()
        assert (m.paused_from, m.paused_until, m.status) == (start, until, MembershipStatus.ACTIVE)
        run_on(m, start, django_capture_on_commit_callbacks)
        m.refresh_from_db()
        assert (m.status, m.credits_left, m.periods.count()) == (MembershipStatus.PAUSED, 0, 1)
        run_on(m, start + timedelta(days=10), django_capture_on_commit_callbacks)
        assert m.periods.count() == 1 and len(intents_at_peer(stripe_on, card.customer_id)) == 1
        run_on(m, until, django_capture_on_commit_callbacks)
        m.refresh_from_db()
        assert (m.status, m.credits_left, m.current_period_start, m.paused_from) == (MembershipStatus.ACTIVE, 2, until, None)
        assert m.periods.count() == 2 and len(intents_at_peer(stripe_on, card.customer_id)) == 2
        events = set(
            AuditEvent.objects.filter(object_type="billing.clientmembership").order_by("id").values_list("detail__event", flat=True)
        )
        assert {"pause", "pause_start", "resume"} <= events and verify_money().ok

    def test_resuming_early_bills_a_new_period_today(self, money, plan, stripe_on, django_capture_on_commit_callbacks):
        save_card(stripe_on, money.client_a)
        m = sign_up(money, plan, django_capture_on_commit_callbacks)
        # Move the first period 40 days into the past, so its pause is under way today.
        today, back = m.started_on, timedelta(days=40)
        MembershipPeriod.objects.filter(membership=m).update(start=today - back, end=m.next_billing_on - back)
        ClientMembership.objects.filter(pk=m.pk).update(
            started_on=today - back, current_period_start=today - back, current_period_end=m.next_billing_on - back,
            next_billing_on=m.next_billing_on - back,
        )  # fmt: skip
        m.refresh_from_db()
        members.membership_pause(membership=m, actor=money.bob, until=today + timedelta(days=5))
        run_on(m, m.next_billing_on, django_capture_on_commit_callbacks)
        m.refresh_from_db()
        assert m.status == MembershipStatus.PAUSED and m.periods.count() == 1
        with django_capture_on_commit_callbacks(execute=True):
            members.membership_resume(membership=m, actor=money.bob)
        m.refresh_from_db()
        assert m.status == MembershipStatus.ACTIVE and m.periods.count() == 2 and m.credits_left == 2
        assert m.current_period_start == today and m.paused_until is None

    def test_the_minimum_term_binds_the_desk_and_the_owner_overrides_it_with_a_reason(
        self, money, plan, stripe_on, as_user, django_capture_on_commit_callbacks
    ):
        plan.minimum_periods = 3
        plan.save()
        save_card(stripe_on, money.client_a)
        m = sign_up(money, plan, django_capture_on_commit_callbacks)
        assert m.minimum_term_ends_on is not None and m.minimum_term_ends_on > m.next_billing_on
        desk = as_user(money.bob)
        page = desk.get(reverse("membership_cancel", args=[m.pk]))
        assert page.status_code == 200 and b"override_minimum" not in page.content
        response = desk.post(reverse("membership_cancel", args=[m.pk]), {"when": "period_end"})
        assert response.status_code == 400 and b"Only the clinic owner can end it sooner" in response.content
        owner = as_user(money.olivia)
        response = owner.post(reverse("membership_cancel", args=[m.pk]), {"when": "period_end", "override_minimum": "on"})
        assert response.status_code == 400 and b"Give the reason" in response.content
        response = owner.post(
            reverse("membership_cancel", args=[m.pk]), {"when": "period_end", "override_minimum": "on", "reason": "Moved away"}
        )
        assert response.status_code == 302
        m.refresh_from_db()
        assert m.cancel_at_period_end and m.status == MembershipStatus.ACTIVE and m.cancel_reason == "Moved away"
        event = AuditEvent.objects.filter(object_type="billing.clientmembership", detail__event="cancel").get()
        assert event.detail["minimum_overridden"] is True and event.detail["reason"] == "Moved away"
        # The period ends: no charge, the membership and its credits end.
        run_on(m, m.next_billing_on, django_capture_on_commit_callbacks)
        m.refresh_from_db()
        assert (m.status, m.credits_left, m.periods.count()) == (MembershipStatus.CANCELLED, 0, 1)
        assert m.ended_on is not None and verify_money().ok

    def test_cancelling_now_a_past_due_membership_voids_its_unpaid_invoice(
        self, money, plan, stripe_on, django_capture_on_commit_callbacks
    ):
        save_card(stripe_on, money.client_a, "pm_card_chargeCustomerFail")
        m = sign_up(money, plan, django_capture_on_commit_callbacks)
        m = members.membership_cancel(membership=m, actor=money.bob, at_period_end=False, reason="Card keeps failing")
        period = m.periods.get()
        assert m.status == MembershipStatus.CANCELLED and period.status == PeriodStatus.VOID
        assert period.invoice.status == InvoiceStatus.VOID and members.membership_todo(money.clinic_a) == []
        with pytest.raises(BillingError):
            members.membership_cancel(membership=m, actor=money.bob, at_period_end=False)
        assert verify_money().ok

    def test_a_cancellation_at_period_end_can_be_taken_back(self, money, plan, stripe_on, as_user, django_capture_on_commit_callbacks):
        save_card(stripe_on, money.client_a)
        m = sign_up(money, plan, django_capture_on_commit_callbacks)
        members.membership_cancel(membership=m, actor=money.bob, at_period_end=True)
        assert as_user(money.bob).post(reverse("membership_keep", args=[m.pk])).status_code == 302
        run_on(m, m.next_billing_on, django_capture_on_commit_callbacks)
        m.refresh_from_db()
        assert m.status == MembershipStatus.ACTIVE and not m.cancel_at_period_end and m.periods.count() == 2


class PageTests:
    def test_the_owner_sets_up_plans_and_the_desk_may_not(self, money, as_user):
        data = {
            "name": "Fortnightly", "price": "30.00", "period_count": "2", "period_unit": "week", "tax_rate": "", "credits_per_period": "1",
            "credit_services": [money.session.pk], "pricing": "price", "pricing_value": "45.00", "minimum_periods": "0",
            "max_pause_days": "30",
        }  # fmt: skip
        assert as_user(money.bob).get(reverse("membership_plans")).status_code == 403
        owner = as_user(money.olivia)
        assert owner.get(reverse("membership_plans")).status_code == 200
        assert owner.post(reverse("membership_plans"), {**data, "credit_services": []}).status_code == 400
        assert owner.post(reverse("membership_plans"), data).status_code == 302
        plan = MembershipPlan.objects.get(name="Fortnightly")
        assert (plan.price, plan.period_words, plan.pricing_value, plan.currency) == (
            Decimal("30.00"),
            "every 2 weeks",
            Decimal("45.00"),
            "GBP",
        )
        assert owner.post(reverse("membership_plans"), data).status_code == 400  # the name is taken
        assert owner.post(reverse("membership_plan_toggle", args=[plan.pk])).status_code == 302
        plan.refresh_from_db()
        assert not plan.is_active
        assert AuditEvent.objects.filter(object_type="billing.membershipplan").count() == 2

    def test_the_desk_signs_up_from_the_account_page_and_sees_it(self, money, plan, as_user, django_capture_on_commit_callbacks):
        desk = as_user(money.bob)
        account = desk.get(reverse("client_account", args=[money.client_a.pk]))
        assert b"Sign up to a membership" in account.content
        page = desk.get(reverse("membership_sign_up", args=[money.client_a.pk]))
        assert page.status_code == 200 and b"has no card on file" in page.content
        assert desk.post(reverse("membership_sign_up", args=[money.client_a.pk]), {"plan": plan.pk}).status_code == 400
        with django_capture_on_commit_callbacks(execute=True):
            response = desk.post(reverse("membership_sign_up", args=[money.client_a.pk]), {"plan": plan.pk, "pay_at_desk": "on"})
        m = ClientMembership.objects.get()
        assert response.status_code == 302 and response["Location"] == reverse("invoice_detail", args=[m.periods.get().invoice_id])
        account = desk.get(reverse("client_account", args=[money.client_a.pk]))
        assert b"Monthly NMT" in account.content and b"Waiting for the first payment" in account.content
        detail = desk.get(reverse("membership_detail", args=[m.pk]))
        assert detail.status_code == 200 and b"Cancel membership" in detail.content
        listing = desk.get(reverse("membership_list"))
        assert listing.status_code == 200 and b"Ada Lovelace" in listing.content

    def test_another_clinic_gets_404_a_therapist_403_and_clients_404(
        self, money, plan, portal, as_user, django_capture_on_commit_callbacks
    ):
        m = sign_up(money, plan, django_capture_on_commit_callbacks, pay_at_desk=True)
        urls = [
            reverse(name, args=[m.pk])
            for name in (
                "membership_detail",
                "membership_pause",
                "membership_cancel",
                "membership_charge",
                "membership_resume",
                "membership_keep",
            )
        ]
        for url in urls:
            assert as_user(money.charlie).post(url).status_code == 404, url
            assert as_user(money.charlie).get(url).status_code in (404, 405), url
            assert as_user(money.alice).post(url).status_code == 403, url
            assert as_user(portal).get(url).status_code in (404, 405), url
        assert as_user(money.charlie).get(reverse("membership_sign_up", args=[money.client_a.pk])).status_code == 404
        assert as_user(money.charlie).post(reverse("membership_plan_toggle", args=[plan.pk])).status_code == 403  # a therapist
        assert ClientMembership.objects.get().status == MembershipStatus.PENDING
        assert as_user(money.charlie).get(reverse("membership_list")).status_code == 403
        assert as_user(money.alice).get(reverse("membership_list")).status_code == 403

    def test_the_client_sees_their_membership_and_no_one_elses(
        self, money, plan, portal, stripe_on, as_user, django_capture_on_commit_callbacks
    ):
        save_card(stripe_on, money.client_a)
        m = sign_up(money, plan, django_capture_on_commit_callbacks)
        page = as_user(portal).get(reverse("portal_invoices", args=[money.client_a.pk]))
        html = page.content.decode()
        assert page.status_code == 200 and "Your membership: Monthly NMT" in html
        assert f"{m.next_billing_on:%-d %b %Y}" in html and "Session credits left" in html
        other = make_user("blaise@mail.example", mfa=False)
        money.client_b.portal_user = other
        money.client_b.save(update_fields=["portal_user"])
        assert as_user(other).get(reverse("portal_invoices", args=[money.client_a.pk])).status_code == 404
        own = as_user(other).get(reverse("portal_invoices", args=[money.client_b.pk]))
        assert own.status_code == 200 and b"Monthly NMT" not in own.content


class ReportTests:
    def test_sales_show_membership_fees_and_credits_are_prepaid_value_used(
        self, money, plan, stripe_on, as_user, django_capture_on_commit_callbacks
    ):
        save_card(stripe_on, money.client_a)
        m = sign_up(money, plan, django_capture_on_commit_callbacks)
        prepaid.invoice_settle(invoice=visit_invoice(money), actor=money.bob, issue=True, membership=m)
        sales = as_user(money.olivia).get(reverse("money_report_sales"))
        assert sales.status_code == 200 and b"Membership fee" in sales.content and b"Membership credit" in sales.content
        day = as_user(money.olivia).get(reverse("money_report_day"))
        assert day.status_code == 200 and b"Membership credit" in day.content

    def test_verify_catches_a_tampered_credit_count(self, money, plan, django_capture_on_commit_callbacks):
        m = sign_up(money, plan, django_capture_on_commit_callbacks, pay_at_desk=True)
        prepaid.invoice_settle(invoice=m.periods.get().invoice, actor=money.bob, method="cash", amount="50.00")
        assert verify_money().ok
        ClientMembership.objects.filter(pk=m.pk).update(credits_left=5)
        report = verify_money()
        assert not report.ok and any("credits left" in str(f) for f in report.findings or [])
        assert MembershipEntry.objects.filter(membership=m).count() == 1
        assert MembershipPeriod.objects.count() == 1


class DemoTests:
    def test_the_demo_has_a_plan_and_a_paying_member_and_verifies_clean(self):
        from knotwork.accounts.demo import DEMO_CLIENT_LOGIN, demo_seed

        demo_seed()
        (m,) = ClientMembership.objects.all()
        assert (m.name, m.status, m.credits_left, m.client.portal_user.email) == ("Monthly maintenance", "active", 1, DEMO_CLIENT_LOGIN)
        assert verify_money().ok
        demo_seed()
        assert ClientMembership.objects.count() == 1 and MembershipPlan.objects.count() == 1
