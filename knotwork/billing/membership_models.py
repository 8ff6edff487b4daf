"""Memberships: a clinic's plans (a fee every period, with included session credits and member
prices) and a client's membership of one, billed period by period to the card on file
(docs/money.md, "Memberships").

A client's membership copies its plan's terms when the client signs up, as a sold package copies
its product, so changing or withdrawing a plan never changes what a member agreed to. Each billed
period is a ``MembershipPeriod`` row, unique on (membership, start): however often or however
concurrently the billing run reaches a period, it is invoiced once and charged under one
idempotency key. Credits live in an append-only ledger (``MembershipEntry``) and are cached on the
membership (``credits_left``, never below zero), spent with a conditional UPDATE, and re-derived by
``knotwork money verify``.

Imported at the end of ``models.py``, like the gift cards and packages, so the app registers them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import ngettext

from knotwork.accounts.models import Clinic
from knotwork.billing.fields import CURRENCY_OK, currency_code, money_field
from knotwork.billing.models import InvoiceLine, Payment, TaxRate
from knotwork.lib.appendonly import AppendOnlyError, AppendOnlyQuerySet, refuse_change


class PeriodUnit(models.TextChoices):
    MONTH = "month", "Months"
    WEEK = "week", "Weeks"


class MemberPricing(models.TextChoices):
    NONE = "none", "No member price"
    PERCENT = "percent", "A percentage off the price"
    PRICE = "price", "A fixed member price"


class PlanTerms(models.Model):
    """The terms a plan offers and a membership keeps: the fee, its period, the credits and the
    member price. Abstract: both rows carry the same columns."""

    name = models.CharField(max_length=120)
    price = money_field(validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, validators=[currency_code])
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    period_count = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(52)], help_text="Billed every this many months or weeks."
    )
    period_unit = models.CharField(max_length=5, choices=PeriodUnit.choices, default=PeriodUnit.MONTH)
    credits_per_period = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)], help_text="Sessions included in each paid period."
    )
    credit_services = models.ManyToManyField("bookings.Service", related_name="+", blank=True, help_text="The services a credit pays for.")
    pricing = models.CharField(max_length=8, choices=MemberPricing.choices, default=MemberPricing.NONE)
    pricing_value = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)],
        help_text="A percentage (0–100) off, or the member price in the clinic's currency.",
    )  # fmt: skip
    priced_services = models.ManyToManyField(
        "bookings.Service", related_name="+", blank=True, help_text="The services the member price applies to; none chosen: every service."
    )
    rollover = models.BooleanField(default=False, help_text="Unused credits carry over to the next period while the membership lasts.")
    minimum_periods = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(60)], help_text="The minimum term, in periods; 0: cancel any time."
    )
    max_pause_days = models.PositiveSmallIntegerField(
        default=90, validators=[MaxValueValidator(365)], help_text="The longest pause allowed, in days; 0: no pauses."
    )

    class Meta:
        abstract = True

    @property
    def period_words(self) -> str:
        """The period in words ("every month", "every 2 weeks"), in the active language."""
        n = self.period_count
        if self.period_unit == PeriodUnit.MONTH:
            return ngettext("every month", "every %(n)s months", n) % {"n": n}
        return ngettext("every week", "every %(n)s weeks", n) % {"n": n}


class MembershipPlan(PlanTerms):
    """A membership a clinic offers. Withdrawing it stops sign-ups; members keep their terms."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_active", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="billing_membership_plan_name_unique"),
            models.CheckConstraint(condition=Q(price__gt=0), name="billing_membership_plan_price_positive"),
            models.CheckConstraint(condition=Q(period_count__gte=1, period_count__lte=52), name="billing_membership_plan_period"),
            models.CheckConstraint(
                condition=Q(pricing_value__gte=0) & (~Q(pricing="percent") | Q(pricing_value__lte=100)),
                name="billing_membership_plan_pricing_range",
            ),
            models.CheckConstraint(condition=CURRENCY_OK, name="billing_membership_plan_currency_iso"),
        ]

    def __str__(self) -> str:
        return self.name


class MembershipStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the first payment"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Payment overdue"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"


# A client holds at most one membership in these states.
LIVE_STATUSES = (MembershipStatus.PENDING, MembershipStatus.ACTIVE, MembershipStatus.PAST_DUE, MembershipStatus.PAUSED)


class ClientMembership(PlanTerms):
    """A client's membership: the plan's terms copied at sign-up, where it stands, and what is left
    of this period's credits (a cache of the entries' sum)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(MembershipPlan, on_delete=models.PROTECT, related_name="members")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="memberships")
    status = models.CharField(max_length=9, choices=MembershipStatus.choices, default=MembershipStatus.PENDING)
    started_on = models.DateField()
    # Monthly periods keep the day of the month they started on (31 Jan → 28 Feb → 31 Mar).
    anchor_day = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(31)])
    current_period_start = models.DateField(null=True, blank=True)
    current_period_end = models.DateField(null=True, blank=True, help_text="The day the next period starts.")
    next_billing_on = models.DateField(null=True, blank=True)
    minimum_term_ends_on = models.DateField(null=True, blank=True)
    # A cache of the entries' sum (see the module docstring); the entries are the truth.
    credits_left = models.PositiveSmallIntegerField(default=0)
    cancel_at_period_end = models.BooleanField(default=False)
    cancel_reason = models.CharField(max_length=300, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    ended_on = models.DateField(null=True, blank=True)
    paused_from = models.DateField(null=True, blank=True)
    paused_until = models.DateField(null=True, blank=True)
    pause_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client"], condition=Q(status__in=["pending", "active", "past_due", "paused"]), name="billing_one_live_membership"
            ),
            models.CheckConstraint(
                condition=Q(paused_from__isnull=True, paused_until__isnull=True)
                | Q(paused_from__isnull=False, paused_until__isnull=False, paused_until__gt=models.F("paused_from")),
                name="billing_membership_pause_range",
            ),
            models.CheckConstraint(condition=~Q(status="cancelled") | Q(ended_on__isnull=False), name="billing_membership_cancelled_ended"),
            models.CheckConstraint(condition=CURRENCY_OK, name="billing_client_membership_currency_iso"),
        ]
        indexes = [
            models.Index(fields=["clinic", "status"], name="billing_membership_status_idx"),
            models.Index(fields=["status", "next_billing_on"], name="billing_membership_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} — {self.client}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def current_period_last_day(self) -> date | None:
        from datetime import timedelta

        return self.current_period_end - timedelta(days=1) if self.current_period_end else None

    @property
    def pause_scheduled(self) -> bool:
        return self.paused_from is not None and self.status != MembershipStatus.PAUSED

    def in_minimum_term(self, day: date) -> bool:
        return self.minimum_term_ends_on is not None and day < self.minimum_term_ends_on


class PeriodStatus(models.TextChoices):
    DUE = "due", "Being charged to the saved card"
    AT_DESK = "at_desk", "To be paid at the desk"
    CHARGING = "charging", "Card payment under way"
    FAILED = "failed", "Card charge failed"
    NO_CARD = "no_card", "No card saved"
    PAID = "paid", "Paid"
    VOID = "void", "Cancelled unpaid"


# Periods the front desk has to act on: its to-do list.
PERIOD_TODO = (PeriodStatus.FAILED, PeriodStatus.NO_CARD)


class MembershipPeriod(models.Model):
    """One billed period of a membership: its issued invoice and how charging it went.

    Unique on (membership, start), so a period is invoiced once however often the billing run
    reaches it. ``attempts`` counts charges the provider answered; ``charge_key`` is the
    idempotency key of the attempt in flight (see fees.py: the same rules keep it charged once)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(ClientMembership, on_delete=models.PROTECT, related_name="periods")
    start = models.DateField()
    end = models.DateField(help_text="The day the next period starts.")
    invoice = models.OneToOneField("billing.Invoice", on_delete=models.PROTECT, related_name="membership_period")
    status = models.CharField(max_length=8, choices=PeriodStatus.choices, default=PeriodStatus.DUE)
    attempts = models.PositiveSmallIntegerField(default=0)
    charge_key = models.CharField(max_length=200, blank=True)
    intent_id = models.CharField(max_length=255, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    problem = models.CharField(max_length=300, blank=True, help_text="What the desk should know; never card details.")
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["membership", "start"], name="billing_membership_period_once"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="billing_membership_period_range"),
        ]
        indexes = [models.Index(fields=["clinic", "status"], name="billing_mperiod_status_idx")]

    def __str__(self) -> str:
        return f"{self.membership.name} {self.start:%d %b %Y} ({self.status})"

    @property
    def last_day(self) -> date:
        from datetime import timedelta

        return self.end - timedelta(days=1)


class MembershipEntryKind(models.TextChoices):
    GRANT = "grant", "Credits granted (period paid)"
    USE = "use", "Credit used"
    RESTORE = "restore", "Credit given back"
    EXPIRE = "expire", "Credits ended"


class MembershipEntryQuerySet(AppendOnlyQuerySet):
    noun = "membership entries"


class MembershipEntry(models.Model):
    """One signed movement of a membership's session credits: positive adds credits."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(ClientMembership, on_delete=models.PROTECT, related_name="entries")
    period = models.ForeignKey(MembershipPeriod, on_delete=models.PROTECT, null=True, blank=True, related_name="entries")
    kind = models.CharField(max_length=8, choices=MembershipEntryKind.choices)
    credits = models.SmallIntegerField()
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="membership_entries")
    invoice_line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, null=True, blank=True, related_name="membership_entries")
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    objects = MembershipEntryQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "membership entries"
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="grant") & Q(credits__gt=0))
                | Q(kind="use", credits=-1)
                | Q(kind="restore", credits=1)
                | (Q(kind="expire") & Q(credits__lt=0)),
                name="billing_membership_entry_sign",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["use", "restore"]) | Q(payment__isnull=False), name="billing_membership_entry_names_payment"
            ),
            models.UniqueConstraint(fields=["period"], condition=Q(kind="grant"), name="billing_membership_granted_once"),
            models.UniqueConstraint(
                fields=["payment", "kind"], condition=Q(kind__in=["use", "restore"]), name="billing_membership_entry_once_per_payment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.credits:+d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        refuse_change(self, "membership entries")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("membership entries cannot be deleted")
