"""Billing memberships: each period an issued invoice for the fee, charged off-session to the card
on file by the task worker, exactly once; credits granted when the period is paid; declines on the
desk's to-do list with a bounded number of automatic retries (docs/money.md, "Memberships").

**The run.** ``knotwork memberships bill`` (and the reminder sweep, ``knotwork send_reminders``)
enqueues :func:`bill_memberships`, which looks at every membership whose next billing day has come
in its clinic's time zone and, one membership per transaction under the clinic's money lock:
ends it (cancel at period end), pauses it (a pause that starts now), resumes it (a pause that
ended), or opens its next period. A membership whose last period is unpaid is not billed again:
it stays past due until the period is paid, the desk cancels, or the client's card pays on a retry.
The run also re-sends the charges that are due a retry, and those a dead worker left under way.

**Exactly once.** A period is unique on (membership, start), so two runs at once (or one run twice)
open it once; the second finds it. Charging follows the fee's rules (fees.py): the idempotency
key is committed on the period before the provider is called, the call is made holding the
clinic's lock, a worker that dies after the provider charged leaves the key and the next run
sends the same key (the provider answers with the same payment), and the money is recorded by
``online.record_card_payment``, where ``Payment.intent_id`` is unique.

**Credits.** Granted by :func:`period_paid`, which ``prepaid.activate_paid`` calls for every invoice
paid in full — whether by the card on file, the portal or the desk — so an unpaid period grants
nothing. The credits of a period end when the next one opens unless the plan rolls them over.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Any, cast

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_tasks import task

from knotwork.accounts.models import User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.billing import offsession, services
from knotwork.billing.membership_models import (
    ClientMembership,
    MembershipEntry,
    MembershipEntryKind,
    MembershipPeriod,
    MembershipStatus,
    PeriodStatus,
    PeriodUnit,
)
from knotwork.billing.models import CardIntent, Invoice, InvoiceStatus, LineKind, SavedCard
from knotwork.billing.providers import Intent, PaymentProvider, get_provider
from knotwork.billing.selectors import invoice_money
from knotwork.billing.services import _lock_clinic, _role

# Automatic retries after a decline: one day after the first, three days after the second; then the
# desk decides (charge again by hand, take the money at the desk, or cancel).
RETRY_AFTER = (timedelta(days=1), timedelta(days=3))
MAX_ATTEMPTS = len(RETRY_AFTER) + 1
STALE_AFTER = timedelta(minutes=10)
UNREACHABLE_RETRY = timedelta(hours=1)

DECLINED = "The card was declined. Ask the client for another card, or take the payment at the desk."
NO_CARD = "No card is saved. Ask the client to save one from their portal, or take the payment at the desk."
UNREACHABLE = "The card service could not be reached, so it is not known whether the card was charged. It is tried again."
ACTION = "The client's bank wants the client to approve this charge. Ask them to pay the invoice from their portal."
NOT_SET_UP = "Online card payments are not set up, so the card cannot be charged. Take the payment at the desk."


# --- Periods ------------------------------------------------------------------------------------


def add_period(start: date, *, count: int, unit: str, anchor_day: int) -> date:
    """The day the period starting on ``start`` ends (the next one starts). Months keep the anchor
    day where the month has it: 31 Jan → 28 Feb → 31 Mar."""
    if unit == PeriodUnit.WEEK:
        return start + timedelta(weeks=count)
    index = start.year * 12 + start.month - 1 + count
    year, month = divmod(index, 12)
    return date(year, month + 1, min(anchor_day, calendar.monthrange(year, month + 1)[1]))


def period_end(membership: ClientMembership, start: date) -> date:
    return add_period(start, count=membership.period_count, unit=membership.period_unit, anchor_day=membership.anchor_day)


def local_today(membership: ClientMembership, now: datetime | None = None) -> date:
    return timezone.localdate(now or timezone.now(), timezone=membership.clinic.tz)


def _audit(membership: ClientMembership, actor: Any, event: str, **detail: Any) -> None:
    role = _role(actor, membership.clinic_id) if actor is not None else "system"
    audit_record(
        action=Action.UPDATE, obj=membership, clinic=membership.clinic_id, actor=actor, role=role, detail={"event": event, **detail}
    )


def lock_membership(membership_id: int) -> ClientMembership:
    return ClientMembership.objects.select_for_update(of=("self",)).select_related("clinic", "client", "tax_rate").get(pk=membership_id)


def expire_credits(membership: ClientMembership, actor: Any, note: str) -> None:
    """The credits left end (a new period, a pause, the end of the membership). Caller holds the row."""
    left = membership.credits_left
    if left <= 0:
        return
    ClientMembership.objects.filter(pk=membership.pk).update(credits_left=F("credits_left") - left)
    membership.credits_left = 0
    MembershipEntry.objects.create(
        clinic_id=membership.clinic_id, membership=membership, kind=MembershipEntryKind.EXPIRE, credits=-left, note=note[:200],
        created_by=actor,
    )  # fmt: skip


def open_period(membership: ClientMembership, start: date, actor: User | None, *, at_desk: bool = False) -> MembershipPeriod:
    """Invoice the period starting on ``start``, once: an issued invoice with one membership line,
    and the charge enqueued after the commit. Caller holds the clinic's lock and the membership row."""
    existing = MembershipPeriod.objects.filter(membership=membership, start=start).first()
    if existing is not None:
        return existing
    end = period_end(membership, start)
    system = cast(User, actor)
    invoice = services.invoice_create(clinic=membership.clinic, client=membership.client, actor=system)
    tax_rate = membership.tax_rate if membership.tax_rate is not None and membership.tax_rate.is_active else None
    last = end - timedelta(days=1)
    services.invoice_line_add(
        invoice=invoice, actor=system, kind=LineKind.MEMBERSHIP, unit_price=membership.price, tax_rate=tax_rate, service_date=start,
        description=f"{membership.name} membership, {start:%-d %b %Y} to {last:%-d %b %Y}",
    )  # fmt: skip
    invoice = services.invoice_issue(invoice=invoice, actor=system)
    has_card = SavedCard.objects.filter(client_id=membership.client_id).exists()
    status = PeriodStatus.AT_DESK if at_desk else PeriodStatus.DUE if has_card else PeriodStatus.NO_CARD
    period = MembershipPeriod.objects.create(
        clinic_id=membership.clinic_id, membership=membership, start=start, end=end, invoice=invoice, status=status,
        problem=NO_CARD if status == PeriodStatus.NO_CARD else "",
    )  # fmt: skip
    if not membership.rollover:
        expire_credits(membership, actor, "The period ended")
    membership.current_period_start, membership.current_period_end, membership.next_billing_on = start, end, end
    fields = ["current_period_start", "current_period_end", "next_billing_on", "updated_at"]
    if status == PeriodStatus.NO_CARD and membership.status == MembershipStatus.ACTIVE:
        membership.status = MembershipStatus.PAST_DUE
        fields.append("status")
    membership.save(update_fields=fields)
    _audit(membership, actor, "period_open", period=period.pk, start=start.isoformat(), invoice=invoice.pk, status=status)
    if status == PeriodStatus.DUE:
        period_id = period.pk
        transaction.on_commit(lambda: charge_membership_period.enqueue(period_id))
    return period


def period_paid(invoice: Invoice, actor: User | None) -> None:
    """``prepaid.activate_paid`` calls this for every invoice paid in full (under the clinic's lock):
    a membership period's invoice marks the period paid and, when it is the current period of a
    membership still running, makes the membership active and grants the period's credits."""
    period = MembershipPeriod.objects.select_for_update(of=("self",)).filter(invoice_id=invoice.pk).first()
    if period is None or period.status == PeriodStatus.PAID:
        return
    now = timezone.now()
    MembershipPeriod.objects.filter(pk=period.pk).update(
        status=PeriodStatus.PAID, paid_at=now, problem="", charge_key="", next_attempt_at=None, updated_at=now
    )
    membership = lock_membership(period.membership_id)
    current = membership.current_period_start == period.start
    running = membership.status in (MembershipStatus.PENDING, MembershipStatus.ACTIVE, MembershipStatus.PAST_DUE)
    granted = 0
    if current and running:
        if membership.status != MembershipStatus.ACTIVE:
            membership.status = MembershipStatus.ACTIVE
            membership.save(update_fields=["status", "updated_at"])
        granted = membership.credits_per_period
        if granted:
            ClientMembership.objects.filter(pk=membership.pk).update(credits_left=F("credits_left") + granted)
            MembershipEntry.objects.create(
                clinic_id=membership.clinic_id, membership=membership, period=period, kind=MembershipEntryKind.GRANT, credits=granted,
                created_by=actor, at=now,
            )  # fmt: skip
    _audit(membership, actor, "period_paid", period=period.pk, invoice=invoice.pk, credits=granted)


# --- Charging -------------------------------------------------------------------------------------


_set = offsession.set_status


def _past_due(period: MembershipPeriod) -> None:
    ClientMembership.objects.filter(
        pk=period.membership_id, status__in=[MembershipStatus.ACTIVE, MembershipStatus.PENDING], current_period_start=period.start
    ).update(status=MembershipStatus.PAST_DUE, updated_at=timezone.now())


def _declined(period: MembershipPeriod, problem: str, **fields: Any) -> MembershipPeriod:
    """A charge the provider answered and refused: counted, retried later while attempts remain."""
    attempts = period.attempts + 1
    retry = timezone.now() + RETRY_AFTER[attempts - 1] if attempts < MAX_ATTEMPTS else None
    _past_due(period)
    return _set(period, PeriodStatus.FAILED, problem, attempts=attempts, charge_key="", next_attempt_at=retry, **fields)


def _locked_period(period_id: int) -> MembershipPeriod:
    return (
        MembershipPeriod.objects.select_for_update(of=("self",))
        .select_related("invoice", "membership__client", "membership__clinic")
        .get(pk=period_id)
    )


def _settled(period: MembershipPeriod) -> bool:
    return period.status in (PeriodStatus.PAID, PeriodStatus.VOID)


def _prepare(period: MembershipPeriod, provider: PaymentProvider) -> str:
    """Commit the key of the charge about to be sent (unless one is in flight), so a worker that
    dies during the call resends the same key. '' when there is nothing to charge."""
    with transaction.atomic():
        _lock_clinic(period.clinic_id)
        period = _locked_period(period.pk)
        if _settled(period) or period.intent_id or period.charge_key:
            return period.charge_key
        owed = invoice_money(period.invoice).balance
        if owed <= 0 or period.invoice.status != InvoiceStatus.ISSUED:
            return ""
        minor = provider.to_minor_units(owed, period.invoice.currency)
        key = offsession.charge_key("membership", period.invoice_id, period.attempts + 1, period.invoice.currency, minor)
        MembershipPeriod.objects.filter(pk=period.pk).update(charge_key=key)
        return key


def period_charge(*, period: MembershipPeriod, actor: User | None, provider: PaymentProvider | None = None) -> MembershipPeriod:
    """Charge what the period's invoice still owes to the client's saved card, off-session. Safe to
    run twice, at once, or again after a crash (see the module docstring)."""
    provider = provider or get_provider()
    if provider is None:
        with transaction.atomic():
            _lock_clinic(period.clinic_id)
            period = _locked_period(period.pk)
            if _settled(period) or invoice_money(period.invoice).balance <= 0:
                return period
            _past_due(period)
            return _set(period, PeriodStatus.FAILED, NOT_SET_UP, next_attempt_at=None)
    key = _prepare(period, provider)
    with transaction.atomic():
        _lock_clinic(period.clinic_id)
        period = _locked_period(period.pk)
        if _settled(period):
            return period
        invoice = period.invoice
        if period.intent_id:  # a charge was sent: ask how it went rather than charge again
            found = offsession.read_back(provider, period.intent_id)
            if found is None:
                return _set(period, PeriodStatus.FAILED, UNREACHABLE, next_attempt_at=timezone.now() + UNREACHABLE_RETRY)
            return _settle(period, *found, provider, actor)
        owed = invoice_money(invoice).balance
        if owed <= 0 or invoice.status != InvoiceStatus.ISSUED:
            return period  # paid at the desk (period_paid marked it) or credited meanwhile: nothing to charge
        charge = offsession.charge_saved_card(
            provider=provider, invoice=invoice, client_id=period.membership.client_id, clinic_id=period.clinic_id, owed=owed,
            currency=invoice.currency, kind="membership", attempt=period.attempts + 1, key=key,
            metadata={"knotwork_membership_period": str(period.pk)},
        )  # fmt: skip
        if charge.outcome == "no_card":
            _past_due(period)
            return _set(period, PeriodStatus.NO_CARD, NO_CARD, charge_key="", next_attempt_at=None)
        if charge.outcome == "declined":
            _audit(period.membership, actor, "charge_declined", period=period.pk, code=charge.code)
            return _declined(period, DECLINED)
        if charge.outcome == "unreachable" or charge.card_intent is None or charge.remote is None:
            # Not known whether the request got through: keep the key, so the retry cannot charge twice.
            _past_due(period)
            return _set(period, PeriodStatus.FAILED, UNREACHABLE, next_attempt_at=timezone.now() + UNREACHABLE_RETRY)
        period.intent_id = charge.remote.id
        period.save(update_fields=["intent_id", "updated_at"])
        _audit(period.membership, actor, "charge_sent", period=period.pk, intent=charge.remote.id)
        return _settle(period, charge.card_intent, charge.remote, provider, actor)


def _settle(period: MembershipPeriod, card_intent: CardIntent, remote: Intent, provider: PaymentProvider, actor: Any) -> MembershipPeriod:
    """Act on the provider's status of the period's intent (inside the caller's locked transaction)."""
    outcome = offsession.settle(card_intent, remote, provider, what="membership")
    if outcome == offsession.PAID:
        period.refresh_from_db()
        return period  # period_paid (through payment_record) marked it paid
    if outcome == offsession.PENDING:
        return _set(period, PeriodStatus.CHARGING, "")  # the webhook records it when the bank answers
    _audit(period.membership, actor, "charge_failed", period=period.pk, provider_status=remote.status)
    return _declined(period, ACTION if remote.status == "requires_action" else DECLINED, intent_id="")


def adopt_intent(*, intent_id: str, metadata: object, provider: PaymentProvider) -> CardIntent | None:
    """The webhook's fallback for a period's charge whose worker died after the provider took the
    money and before it wrote the intent down: the intent names the period and its invoice."""
    meta = metadata if isinstance(metadata, dict) else {}
    period_id, invoice_id = str(meta.get("knotwork_membership_period", "")), str(meta.get("knotwork_invoice", ""))
    if not (period_id.isdigit() and invoice_id.isdigit()):
        return None
    period = MembershipPeriod.objects.select_related("membership").filter(pk=int(period_id), invoice_id=int(invoice_id)).first()
    if period is None:
        return None
    _lock_clinic(period.clinic_id)
    remote = provider.retrieve_payment_intent(intent_id)
    card_intent = offsession.record_intent(
        remote, provider=provider, clinic_id=period.clinic_id, client_id=period.membership.client_id, invoice_id=period.invoice_id,
        key=(period.charge_key or f"adopted-{intent_id}")[:200],
    )  # fmt: skip
    MembershipPeriod.objects.filter(pk=period.pk, intent_id="").update(intent_id=intent_id)
    return card_intent


# --- The run ----------------------------------------------------------------------------------------


@transaction.atomic
def membership_advance(*, membership_id: int, now: datetime | None = None) -> str:
    """Bring one membership up to date with the calendar: end, pause, resume or bill it, at most one
    step per call. Safe to run twice or at once: the row is re-read under the clinic's lock."""
    membership = ClientMembership.objects.select_related("clinic").get(pk=membership_id)
    _lock_clinic(membership.clinic_id)
    membership = lock_membership(membership_id)
    today = local_today(membership, now)
    status = membership.status
    if status == MembershipStatus.PAUSED:
        if membership.paused_until is None or membership.paused_until > today:
            return "paused"
        resume_on = membership.paused_until
        membership.status, membership.paused_from, membership.paused_until, membership.pause_reason = (
            MembershipStatus.ACTIVE,
            None,
            None,
            "",
        )
        membership.anchor_day = resume_on.day
        membership.save(update_fields=["status", "paused_from", "paused_until", "pause_reason", "anchor_day", "updated_at"])
        _audit(membership, None, "resume", on=resume_on.isoformat())
        open_period(membership, resume_on, None)
        return "resumed"
    if status != MembershipStatus.ACTIVE or membership.next_billing_on is None or membership.next_billing_on > today:
        return "nothing due"
    if membership.cancel_at_period_end:
        end_membership(membership, None, on=membership.next_billing_on)
        return "ended"
    if membership.paused_from is not None and membership.paused_from <= today:
        membership.status = MembershipStatus.PAUSED
        membership.save(update_fields=["status", "updated_at"])
        if not membership.rollover:
            expire_credits(membership, None, "Paused")
        _audit(membership, None, "pause_start", until=membership.paused_until.isoformat() if membership.paused_until else None)
        return "paused"
    open_period(membership, membership.next_billing_on, None)
    return "billed"


def end_membership(membership: ClientMembership, actor: Any, *, on: date) -> None:
    """The membership ends on ``on``: its credits end with it. Caller holds the row and the lock."""
    expire_credits(membership, actor, "The membership ended")
    membership.status, membership.ended_on, membership.next_billing_on = MembershipStatus.CANCELLED, on, None
    membership.cancelled_at = membership.cancelled_at or timezone.now()
    membership.save(update_fields=["status", "ended_on", "next_billing_on", "cancelled_at", "updated_at"])
    _audit(membership, actor, "end", on=on.isoformat())


def due_memberships(now: datetime | None = None) -> list[int]:
    """Memberships whose next step may have come (a day of slack for the clinics' time zones;
    membership_advance decides in the clinic's own)."""
    horizon = (now or timezone.now()).date() + timedelta(days=1)
    due = Q(status=MembershipStatus.ACTIVE, next_billing_on__lte=horizon) | Q(status=MembershipStatus.PAUSED, paused_until__lte=horizon)
    return list(ClientMembership.objects.filter(due).order_by("pk").values_list("pk", flat=True))


def charges_due(now: datetime | None = None) -> list[int]:
    """Periods whose charge should be (re)sent now: a retry whose time has come, or a charge a
    dead worker left queued or under way."""
    now = now or timezone.now()
    retry = Q(status=PeriodStatus.FAILED, next_attempt_at__lte=now)
    stale = Q(status__in=(PeriodStatus.DUE, PeriodStatus.CHARGING), updated_at__lt=now - STALE_AFTER)
    return list(MembershipPeriod.objects.filter(retry | stale).order_by("pk").values_list("pk", flat=True))


def run(now: datetime | None = None, *, charge_now: bool = False) -> dict[str, int]:
    """The billing run: every membership brought up to date, then the charges that are due. With
    ``charge_now`` the charges are made in this process; otherwise they are enqueued for the worker."""
    counts: dict[str, int] = {}
    for membership_id in due_memberships(now):
        outcome = membership_advance(membership_id=membership_id, now=now)
        counts[outcome] = counts.get(outcome, 0) + 1
    for period_id in charges_due(now):
        if charge_now:
            charge_membership_period.call(period_id)
        else:
            charge_membership_period.enqueue(period_id)
        counts["charges"] = counts.get("charges", 0) + 1
    return counts


# --- Tasks ------------------------------------------------------------------------------------------


@task()
def bill_memberships() -> dict[str, int]:
    """The periodic billing run (see the module docstring)."""
    return run()


@task()
def charge_membership_period(period_id: int) -> str:
    """Charge a period's fee to the saved card. Safe to retry: see period_charge."""
    period = MembershipPeriod.objects.filter(pk=period_id).first()
    if period is None:
        return "gone"
    return period_charge(period=period, actor=None).status
