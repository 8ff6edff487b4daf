"""Card on file and the fees it pays: a clinic's cancellation / no-show fee policy, the provider's
customer of a client, the card a client saved (never its number), the set-up intents the portal
opened, and one fee per missed appointment (docs/money.md, "Card on file and fees").

Imported at the end of ``models.py``, like the gift cards and packages, so the app registers them.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from knotwork.accounts.models import Clinic
from knotwork.billing.fields import CURRENCY_OK, currency_code, money_field


class FeeBasis(models.TextChoices):
    NONE = "none", "No fee"
    FIXED = "fixed", "A fixed amount"
    PERCENT = "percent", "A percentage of the price"


class ChargeMode(models.TextChoices):
    AUTOMATIC = "automatic", "Charge the saved card automatically"
    DESK = "desk", "The front desk charges it with one click"


class FeePolicy(models.Model):
    """What a late cancellation and a no-show cost at a clinic. The window is the booking policy's
    ``cancel_notice_hours``. A clinic without a row charges nothing."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="fee_policy")
    late_cancel_basis = models.CharField(max_length=8, choices=FeeBasis.choices, default=FeeBasis.NONE)
    late_cancel_value = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)],
        help_text="An amount in the clinic's currency, or a percentage (0–100) of the service's price.",
    )  # fmt: skip
    no_show_basis = models.CharField(max_length=8, choices=FeeBasis.choices, default=FeeBasis.NONE)
    no_show_value = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)],
        help_text="An amount in the clinic's currency, or a percentage (0–100) of the service's price.",
    )  # fmt: skip
    charge_mode = models.CharField(max_length=10, choices=ChargeMode.choices, default=ChargeMode.DESK)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "fee policies"
        constraints = [
            models.CheckConstraint(condition=Q(late_cancel_value__gte=0, no_show_value__gte=0), name="billing_fee_value_not_negative"),
            models.CheckConstraint(
                condition=(~Q(late_cancel_basis="percent") | Q(late_cancel_value__lte=100))
                & (~Q(no_show_basis="percent") | Q(no_show_value__lte=100)),
                name="billing_fee_percent_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        return f"Fee policy of {self.clinic}"

    @classmethod
    def for_clinic(cls, clinic: Clinic | int) -> FeePolicy:
        clinic_id: int = clinic.pk if isinstance(clinic, Clinic) else clinic
        return cls.objects.filter(clinic_id=clinic_id).first() or cls(clinic_id=clinic_id)


class StripeCustomer(models.Model):
    """The provider's customer object of one client, created the first time they save a card."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.OneToOneField("clients.Client", on_delete=models.PROTECT, related_name="stripe_customer")
    provider = models.CharField(max_length=20, default="stripe")
    customer_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.customer_id


class SavedCard(models.Model):
    """The card a client saved for later charges: the provider's ids and what a person needs to
    recognise it. One per client; saving another replaces it."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.OneToOneField("clients.Client", on_delete=models.PROTECT, related_name="saved_card")
    provider = models.CharField(max_length=20, default="stripe")
    customer_id = models.CharField(max_length=255)
    payment_method_id = models.CharField(max_length=255, unique=True)
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(12)])
    exp_year = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(exp_month__gte=1, exp_month__lte=12), name="billing_saved_card_month")]

    def __str__(self) -> str:
        return f"{self.brand_label} ending {self.last4}"

    @property
    def brand_label(self) -> str:
        return {"amex": "American Express", "mastercard": "Mastercard", "visa": "Visa"}.get(self.brand, self.brand.title() or "Card")

    def expired(self, today: object = None) -> bool:
        day = today or timezone.localdate()
        return (self.exp_year, self.exp_month) < (day.year, day.month)  # type: ignore[attr-defined]


class CardSetupStatus(models.TextChoices):
    OPEN = "open", "Waiting for the card"
    SUCCEEDED = "succeeded", "Card saved"
    CANCELED = "canceled", "Cancelled"


class CardSetup(models.Model):
    """A set-up intent the portal opened so a client could save a card; matched to its client
    when the provider confirms it. The client secret is not stored."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="card_setups")
    provider = models.CharField(max_length=20, default="stripe")
    setup_intent_id = models.CharField(max_length=255, unique=True)
    customer_id = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=CardSetupStatus.choices, default=CardSetupStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.setup_intent_id} ({self.status})"


class FeeKind(models.TextChoices):
    LATE_CANCEL = "late_cancel", "Late cancellation fee"
    NO_SHOW = "no_show", "No-show fee"


class FeeStatus(models.TextChoices):
    QUEUED = "queued", "Being charged to the saved card"
    TO_CHARGE = "to_charge", "Ready to charge"
    CHARGING = "charging", "Card payment under way"
    FAILED = "failed", "Card charge failed"
    NO_CARD = "no_card", "No card saved"
    PAID = "paid", "Paid"
    WAIVED = "waived", "Waived"


# The statuses the front desk has to act on: its to-do list.
FEE_TODO = (FeeStatus.TO_CHARGE, FeeStatus.FAILED, FeeStatus.NO_CARD)


class Fee(models.Model):
    """The fee for one missed appointment: its issued invoice and how charging it went.

    ``attempts`` counts charges the provider answered; ``charge_key`` is the idempotency key of the
    attempt in flight, so a worker that dies mid-charge resends the same key (and the provider
    answers with the same payment) instead of charging twice.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="fees")
    appointment = models.OneToOneField("bookings.Appointment", on_delete=models.PROTECT, related_name="fee")
    invoice = models.OneToOneField("billing.Invoice", on_delete=models.PROTECT, related_name="fee")
    kind = models.CharField(max_length=12, choices=FeeKind.choices)
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[currency_code])
    status = models.CharField(max_length=10, choices=FeeStatus.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    charge_key = models.CharField(max_length=200, blank=True)
    intent_id = models.CharField(max_length=255, blank=True)
    problem = models.CharField(max_length=300, blank=True, help_text="What the desk should know; never card details.")
    waived_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    waived_at = models.DateTimeField(null=True, blank=True)
    waive_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_fee_positive"),
            models.CheckConstraint(condition=CURRENCY_OK, name="billing_fee_currency_iso"),
            models.CheckConstraint(condition=~Q(status="waived") | ~Q(waive_reason=""), name="billing_fee_waiver_has_reason"),
        ]
        indexes = [models.Index(fields=["clinic", "status"], name="billing_fee_clinic_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.currency} {self.amount} ({self.status})"

    @property
    def needs_desk(self) -> bool:
        return self.status in FEE_TODO
