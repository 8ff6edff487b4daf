"""Memberships at the desk: signing a client up, the member price at check-out, spending a session
credit like a package session, pausing and cancelling under the plan's rules, and the reads the
pages need (docs/money.md, "Memberships"). Billing each period is membership_billing.py.

Every write runs in one transaction under the clinic's money lock (``services._lock_clinic``),
re-reads the membership under ``select_for_update`` and writes an audit event.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from knotwork.accounts.models import Capability, Clinic, Membership, User
from knotwork.accounts.permissions import membership_for
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.billing import money
from knotwork.billing.membership_billing import (
    add_period,
    end_membership,
    local_today,
    lock_membership,
    open_period,
)
from knotwork.billing.membership_models import (
    LIVE_STATUSES,
    PERIOD_TODO,
    ClientMembership,
    MemberPricing,
    MembershipEntry,
    MembershipEntryKind,
    MembershipPeriod,
    MembershipPlan,
    MembershipStatus,
    PeriodStatus,
)
from knotwork.billing.models import Invoice, InvoiceLine, InvoiceStatus, LineKind, Payment, PaymentMethod, SavedCard
from knotwork.billing.selectors import settings_for
from knotwork.billing.services import BillingError, InvoiceLocked, _lock_clinic, _role
from knotwork.clients.models import Client

ZERO = Decimal("0.00")


class MembershipError(BillingError):
    """A membership request that the plan's rules or the membership's state refuse."""


# --- Signing up -------------------------------------------------------------------------------------


def _copy_terms(plan: MembershipPlan) -> dict[str, Any]:
    names = (
        "name", "price", "currency", "tax_rate_id", "period_count", "period_unit", "credits_per_period", "pricing", "pricing_value",
        "rollover", "minimum_periods", "max_pause_days",
    )  # fmt: skip
    return {name: getattr(plan, name) for name in names}


@transaction.atomic
def membership_sign_up(*, client: Client, plan: MembershipPlan, actor: User, pay_at_desk: bool = False) -> ClientMembership:
    """The client joins ``plan`` from today (the clinic's date). The first period is invoiced at once
    and charged to the card on file, or — ``pay_at_desk`` — left for the desk to take now. Credits
    and member prices start when that first invoice is paid."""
    if plan.clinic_id != client.clinic_id:
        raise MembershipError("That plan belongs to another clinic.", field="plan")
    if not plan.is_active:
        raise MembershipError("That plan is no longer offered.", field="plan")
    _lock_clinic(client.clinic_id)
    conf = settings_for(client.clinic)
    if plan.currency != conf.currency:
        raise MembershipError(f"That plan is priced in {plan.currency} but the clinic invoices in {conf.currency}.", field="plan")
    if not pay_at_desk and not SavedCard.objects.filter(client=client).exists():
        raise MembershipError(
            "The client has no card on file. Ask them to save one from their portal, or take the first payment at the desk.",
            field="pay_at_desk",
        )
    if ClientMembership.objects.filter(client=client, status__in=LIVE_STATUSES).exists():
        raise MembershipError("The client already has a membership. Cancel it before signing up to another.", field="plan")
    today = timezone.localdate(timezone.now(), timezone=client.clinic.tz)
    membership = ClientMembership(
        clinic_id=client.clinic_id, plan=plan, client=client, started_on=today, anchor_day=today.day, created_by=actor, **_copy_terms(plan)
    )
    if plan.minimum_periods:
        membership.minimum_term_ends_on = add_period(
            today, count=plan.period_count * plan.minimum_periods, unit=plan.period_unit, anchor_day=today.day
        )
    try:
        with transaction.atomic():
            membership.save()
    except IntegrityError:
        raise MembershipError("The client already has a membership.", field="plan") from None
    membership.credit_services.set(plan.credit_services.all())
    membership.priced_services.set(plan.priced_services.all())
    audit_record(
        action=Action.CREATE, obj=membership, actor=actor, role=_role(actor, client.clinic_id),
        detail={"plan": plan.pk, "price": str(plan.price), "pay_at_desk": pay_at_desk},
    )  # fmt: skip
    membership = lock_membership(membership.pk)
    open_period(membership, today, actor, at_desk=pay_at_desk)
    membership.refresh_from_db()
    return membership


# --- Member prices ------------------------------------------------------------------------------------


def active_membership(client: Client | None) -> ClientMembership | None:
    """The client's membership whose benefits apply now: active (its current period paid)."""
    if client is None:
        return None
    return ClientMembership.objects.filter(client=client, status=MembershipStatus.ACTIVE).first()


def member_discount(*, client: Client | None, service: Any, unit_price: Decimal, currency: str) -> Decimal:
    """What an active member gets off ``unit_price`` for ``service``: a percentage (rounded half up)
    or down to the member price, never below zero; 0 for anyone else. Check-out puts it on the
    service line as its discount, so the invoice shows the price and the member's reduction."""
    membership = active_membership(client)
    if membership is None or service is None or membership.pricing == MemberPricing.NONE or membership.currency != currency:
        return ZERO
    priced = set(membership.priced_services.values_list("pk", flat=True))
    if priced and service.pk not in priced:
        return ZERO
    if membership.pricing == MemberPricing.PERCENT:
        return min(money.percent_of(unit_price, membership.pricing_value, currency), unit_price)
    return max(unit_price - money.quantize(membership.pricing_value, currency), ZERO)


# --- Session credits ------------------------------------------------------------------------------------


def credits_used_on(invoice: Invoice) -> dict[int, int]:
    """Credits spent on each line of the invoice, net of any given back."""
    rows = (
        MembershipEntry.objects.filter(invoice_line__invoice=invoice, kind__in=[MembershipEntryKind.USE, MembershipEntryKind.RESTORE])
        .values("invoice_line")
        .annotate(s=Sum("credits"))
        .order_by()
    )
    return {r["invoice_line"]: -int(r["s"] or 0) for r in rows}


def covered_line(invoice: Invoice, membership: ClientMembership) -> InvoiceLine | None:
    """The first service line the membership's credits cover that a package or credit has not paid yet."""
    covered = set(membership.credit_services.values_list("pk", flat=True))
    member_used = credits_used_on(invoice)
    lines = invoice.lines.filter(kind=LineKind.SERVICE, service__isnull=False).annotate(used=Sum("package_entries__sessions"))
    for line in lines.order_by("position", "id"):
        if line.service_id in covered and -(line.used or 0) + member_used.get(line.pk, 0) < line.quantity:
            return line
    return None


def credit_check(membership: ClientMembership, *, invoice: Invoice, client: Client) -> tuple[ClientMembership, InvoiceLine]:
    """Re-read the membership under lock and refuse a credit it cannot give (payment_record calls this)."""
    membership = ClientMembership.objects.select_for_update(of=("self",)).get(pk=membership.pk)
    if membership.clinic_id != invoice.clinic_id or membership.client_id != client.pk:
        raise MembershipError("Only the member can use their membership's credits.", field="membership")
    if membership.status != MembershipStatus.ACTIVE:
        raise MembershipError(
            f"This membership is {membership.get_status_display().lower()}: its credits cannot be used.", field="membership"
        )
    if membership.currency != invoice.currency:
        raise MembershipError(
            f"This membership is billed in {membership.currency}; the invoice is in {invoice.currency}.", field="membership"
        )
    if membership.credits_left < 1:
        raise MembershipError("This membership has no session credits left this period.", field="membership")
    line = covered_line(invoice, membership)
    if line is None:
        raise MembershipError(
            "The membership's credits do not cover any service on this invoice (or it is already paid by a credit or package).",
            field="membership",
        )
    return membership, line


def credit_spend(membership: ClientMembership, line: InvoiceLine, payment: Payment, actor: User | None) -> None:
    # The conditional UPDATE is the last word: of two desks that both saw a credit left, only one
    # finds it still there when its UPDATE runs.
    taken = ClientMembership.objects.filter(pk=membership.pk, credits_left__gte=1).update(credits_left=F("credits_left") - 1)
    if not taken:
        raise MembershipError("This membership has no credits left: the last one was used at the same moment.", field="membership")
    period = membership.periods.filter(start__in=[membership.current_period_start]).first()
    MembershipEntry.objects.create(
        clinic_id=membership.clinic_id, membership=membership, period=period, kind=MembershipEntryKind.USE, credits=-1, payment=payment,
        invoice_line=line, created_by=actor,
    )  # fmt: skip


def credit_restore(payment: Payment, value: Decimal, actor: User | None) -> None:
    """A membership-credit payment refunded: refunded whole, and the credit goes back to the membership."""
    if value != payment.amount:
        raise BillingError(f"A membership credit is given back whole: refund {money.format_money(payment.amount, payment.currency)}.",
                           field="amount")  # fmt: skip
    entry = MembershipEntry.objects.filter(payment=payment, kind=MembershipEntryKind.USE).first()
    if entry is None:
        raise BillingError("This membership payment names no membership.")
    ClientMembership.objects.select_for_update().filter(pk=entry.membership_id).first()
    ClientMembership.objects.filter(pk=entry.membership_id).update(credits_left=F("credits_left") + 1)
    MembershipEntry.objects.create(
        clinic_id=payment.clinic_id, membership_id=entry.membership_id, period_id=entry.period_id, kind=MembershipEntryKind.RESTORE,
        credits=1, payment=payment, invoice_line_id=entry.invoice_line_id, created_by=actor,
    )  # fmt: skip


@transaction.atomic
def credit_redeem(*, invoice: Invoice, membership: ClientMembership, actor: User | None) -> Payment:
    """One session of a covered service on the invoice, paid by a membership credit."""
    from knotwork.billing.prepaid import package_amount
    from knotwork.billing.services import payment_record

    _lock_clinic(invoice.clinic_id)
    locked = Invoice.objects.select_related("clinic", "client").get(pk=invoice.pk)
    _, line = credit_check(membership, invoice=locked, client=locked.client)
    value = package_amount(locked, line)
    if value <= 0:
        raise MembershipError("Nothing is owed on this invoice.", field="membership")
    return payment_record(
        clinic=locked.clinic, client=locked.client, actor=actor, method=PaymentMethod.MEMBERSHIP, amount=value, currency=locked.currency,
        invoices=[locked], member=membership,
    )  # fmt: skip


# --- Pausing and cancelling ---------------------------------------------------------------------------


def _locked_for_change(membership: ClientMembership) -> ClientMembership:
    _lock_clinic(membership.clinic_id)
    return lock_membership(membership.pk)


@transaction.atomic
def membership_pause(*, membership: ClientMembership, actor: User, until: date, reason: str = "") -> ClientMembership:
    """Pause from the end of the period already paid for until ``until`` (at most the plan's
    longest pause): no billing and no credits meanwhile; billing resumes by itself on ``until``."""
    membership = _locked_for_change(membership)
    if membership.status != MembershipStatus.ACTIVE:
        raise MembershipError("Only an active membership (its current period paid) can be paused.")
    if membership.cancel_at_period_end:
        raise MembershipError("This membership ends at the end of the period; there is nothing to pause.")
    if membership.max_pause_days == 0:
        raise MembershipError("This plan does not allow pauses.", field="until")
    start = membership.next_billing_on
    if start is None:
        raise MembershipError("This membership has no next period to pause.")
    if until <= start:
        raise MembershipError(f"The pause starts on {start:%-d %b %Y}, when the paid period ends; choose a later day.", field="until")
    if (until - start).days > membership.max_pause_days:
        last = start + timedelta(days=membership.max_pause_days)
        raise MembershipError(f"A pause can last at most {membership.max_pause_days} days: until {last:%-d %b %Y}.", field="until")
    membership.paused_from, membership.paused_until, membership.pause_reason = start, until, reason.strip()[:300]
    membership.save(update_fields=["paused_from", "paused_until", "pause_reason", "updated_at"])
    audit_record(
        action=Action.UPDATE, obj=membership, actor=actor, role=_role(actor, membership.clinic_id),
        detail={"event": "pause", "from": start.isoformat(), "until": until.isoformat(), "reason": membership.pause_reason},
    )  # fmt: skip
    return membership


@transaction.atomic
def membership_resume(*, membership: ClientMembership, actor: User) -> ClientMembership:
    """Call off a pause: one not yet begun is dropped; one under way ends today, which opens and
    bills a new period at once."""
    membership = _locked_for_change(membership)
    if membership.paused_from is None:
        raise MembershipError("This membership is not paused.")
    role = _role(actor, membership.clinic_id)
    if membership.status != MembershipStatus.PAUSED:
        membership.paused_from = membership.paused_until = None
        membership.pause_reason = ""
        membership.save(update_fields=["paused_from", "paused_until", "pause_reason", "updated_at"])
        audit_record(action=Action.UPDATE, obj=membership, actor=actor, role=role, detail={"event": "pause_dropped"})
        return membership
    today = local_today(membership)
    membership.status, membership.paused_from, membership.paused_until, membership.pause_reason = MembershipStatus.ACTIVE, None, None, ""
    membership.anchor_day = today.day
    membership.save(update_fields=["status", "paused_from", "paused_until", "pause_reason", "anchor_day", "updated_at"])
    audit_record(action=Action.UPDATE, obj=membership, actor=actor, role=role, detail={"event": "resume", "on": today.isoformat()})
    open_period(membership, today, actor)
    membership.refresh_from_db()
    return membership


@transaction.atomic
def membership_cancel(
    *, membership: ClientMembership, actor: User, at_period_end: bool, reason: str = "", override_minimum: bool = False
) -> ClientMembership:
    """Cancel now or at the end of the paid period. Inside the minimum term it is refused unless
    the clinic owner overrides it, with a reason. Cancelling now ends the credits, and voids the
    current period's invoice when nothing has been paid on it (a past-due or first period)."""
    from knotwork.billing.selectors import invoice_money
    from knotwork.billing.services import invoice_void

    reason = (reason or "").strip()
    membership = _locked_for_change(membership)
    if not membership.is_live:
        raise InvoiceLocked("This membership has already ended.")
    today = local_today(membership)
    ends = (membership.next_billing_on or today) if at_period_end else today
    owner = actor is not None and (m := membership_for(actor, membership.clinic_id)) is not None and m.can(Capability.MANAGE_CLINIC)
    if membership.minimum_term_ends_on is not None and ends < membership.minimum_term_ends_on:
        if not override_minimum:
            raise MembershipError(
                f"The minimum term runs until {membership.minimum_term_ends_on:%-d %b %Y}. Only the clinic owner can end it sooner.",
                field="override_minimum",
            )
        if not owner:
            raise PermissionDenied("Only the clinic owner can end a membership inside its minimum term.")
        if not reason:
            raise MembershipError("Give the reason for ending the membership inside its minimum term.", field="reason")
    role = _role(actor, membership.clinic_id)
    membership.cancel_reason, membership.cancelled_by, membership.cancelled_at = reason[:300], actor, timezone.now()
    detail = {"event": "cancel", "at_period_end": at_period_end, "ends_on": ends.isoformat(), "reason": reason[:300],
              "minimum_overridden": bool(override_minimum and membership.in_minimum_term(ends))}  # fmt: skip
    if at_period_end and membership.status == MembershipStatus.ACTIVE and ends > today:
        # Ends when the paid period does; a pause that would have begun then is dropped.
        membership.cancel_at_period_end, membership.paused_from, membership.paused_until = True, None, None
        fields = ["cancel_reason", "cancelled_by", "cancelled_at", "cancel_at_period_end", "paused_from", "paused_until", "updated_at"]
        membership.save(update_fields=fields)
        audit_record(action=Action.UPDATE, obj=membership, actor=actor, role=role, detail=detail)
        return membership
    membership.save(update_fields=["cancel_reason", "cancelled_by", "cancelled_at", "updated_at"])
    audit_record(action=Action.UPDATE, obj=membership, actor=actor, role=role, detail=detail)
    period = membership.periods.filter(start__in=[membership.current_period_start]).select_related("invoice").first()
    unpaid = period is not None and period.status != PeriodStatus.PAID and period.invoice.status == InvoiceStatus.ISSUED
    # A charge that may be under way (a key or an intent on it) is left alone: its money is recorded when it comes.
    if period is not None and unpaid and invoice_money(period.invoice).paid <= 0 and not (period.intent_id or period.charge_key):
        invoice_void(invoice=period.invoice, actor=actor, reason="The membership was cancelled before this period was paid.")
        MembershipPeriod.objects.filter(pk=period.pk).update(status=PeriodStatus.VOID, charge_key="", next_attempt_at=None)
    membership.paused_from = membership.paused_until = None
    membership.save(update_fields=["paused_from", "paused_until", "updated_at"])
    end_membership(membership, actor, on=today)
    return membership


@transaction.atomic
def membership_keep(*, membership: ClientMembership, actor: User) -> ClientMembership:
    """Undo a cancellation at the period's end before the period ends."""
    membership = _locked_for_change(membership)
    if not membership.cancel_at_period_end or not membership.is_live:
        raise MembershipError("This membership is not set to end.")
    membership.cancel_at_period_end, membership.cancel_reason, membership.cancelled_at, membership.cancelled_by = False, "", None, None
    membership.save(update_fields=["cancel_at_period_end", "cancel_reason", "cancelled_at", "cancelled_by", "updated_at"])
    audit_record(action=Action.UPDATE, obj=membership, actor=actor, role=_role(actor, membership.clinic_id), detail={"event": "keep"})
    return membership


@transaction.atomic
def plan_toggle(*, plan: MembershipPlan, membership: Membership) -> MembershipPlan:
    plan.is_active = not plan.is_active
    plan.save(update_fields=["is_active"])
    audit_record(action=Action.UPDATE, obj=plan, clinic=membership.clinic, role=membership.role, detail={"is_active": plan.is_active})
    return plan


# --- Reads ----------------------------------------------------------------------------------------------


def get_membership_for_user(user: Any, membership_id: int, *, write: bool = False) -> tuple[ClientMembership, Membership]:
    """A client's membership for its clinic's owner and front desk; another clinic's (or none) is a
    404, a therapist gets a 403. A read is audited; a write audits itself."""
    found = ClientMembership.objects.select_related("clinic", "client", "plan").filter(pk=membership_id).first()
    staff = membership_for(user, found.clinic_id) if found is not None else None
    if found is None or staff is None or found.client.restricted_at is not None:
        raise Http404("No such membership")
    if not staff.can(Capability.TAKE_PAYMENTS):
        raise PermissionDenied("Memberships are for the front desk and the clinic owner.")
    if not write:
        audit_record(action=Action.VIEW, obj=found, clinic=found.clinic_id, role=staff.role)
    return found, staff


def client_memberships(client: Client) -> QuerySet[ClientMembership]:
    return ClientMembership.objects.filter(client=client).select_related("plan").order_by("-created_at", "-id")


def usable_memberships(client: Client) -> QuerySet[ClientMembership]:
    """The memberships the desk may offer at this client's check-out: their own, active, with a credit left."""
    return ClientMembership.objects.filter(client=client, status=MembershipStatus.ACTIVE, credits_left__gte=1)


def plans_of(clinic: Clinic) -> QuerySet[MembershipPlan]:
    return MembershipPlan.objects.filter(clinic=clinic).prefetch_related("credit_services", "priced_services").select_related("tax_rate")


def membership_list(clinic: Clinic, *, status: str = "") -> QuerySet[ClientMembership]:
    qs = ClientMembership.objects.filter(clinic=clinic, client__restricted_at__isnull=True).select_related("client")
    return qs.filter(status=status) if status else qs.order_by("client__last_name", "client__first_name", "-id")


def membership_todo(clinic: Clinic) -> list[MembershipPeriod]:
    """Periods the desk has to act on — a decline after the retries or between them, no card, a
    charge left under way — oldest first; one whose invoice no longer owes anything leaves the list."""
    from django.db.models import Q

    from knotwork.billing.membership_billing import STALE_AFTER

    stale = Q(status__in=(PeriodStatus.DUE, PeriodStatus.CHARGING), updated_at__lt=timezone.now() - STALE_AFTER)
    qs = MembershipPeriod.objects.filter(Q(status__in=PERIOD_TODO) | stale, clinic=clinic, invoice__status=InvoiceStatus.ISSUED)
    qs = qs.select_related("membership__client", "invoice").order_by("created_at", "id")
    return list(qs[:200])


def entries_of(membership: ClientMembership) -> QuerySet[MembershipEntry]:
    return membership.entries.select_related("payment", "invoice_line__invoice", "period").order_by("at", "id")


def credits_remaining(membership: ClientMembership) -> int:
    return int(MembershipEntry.objects.filter(membership=membership).aggregate(s=Sum("credits"))["s"] or 0)
