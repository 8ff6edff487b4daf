"""Prepaid value: gift cards and session packages (docs/money.md, "Gift cards" and "Packages").

Both are sold on an invoice line (kind gift card / package) and become usable when that invoice
is paid. What is left on them is derived from their own append-only ledgers (``GiftCardEntry``,
``PackageEntry``). Each row also caches what is left (``balance`` / ``sessions_left``) under a
CHECK constraint: redemption lowers the cache with a conditional UPDATE, so two desks spending the
same value at once cannot both succeed, and the database refuses an overdrawn card even for code
that skips the services. ``knotwork money verify`` re-derives the cache from the ledger.

A card or package whose sale is credited or refunded before it is used is cancelled: a ``cancel``
entry takes its ledger to zero and its status says so (``prepaid.prepaid_cancel``).

Imported at the end of ``models.py`` so Django registers these models with the billing app.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from knotwork.accounts.models import Clinic
from knotwork.billing.fields import CURRENCY_OK, HALF_CENT, currency_code, money_field
from knotwork.billing.models import InvoiceLine, Payment, TaxRate
from knotwork.lib.appendonly import AppendOnlyError, AppendOnlyQuerySet, refuse_change


class PrepaidStatus(models.TextChoices):
    PENDING = "pending", "Waiting for payment"
    ACTIVE = "active", "Active"
    CANCELLED = "cancelled", "Cancelled"


class GiftCard(models.Model):
    """A gift card of one clinic. The code itself is never stored in the clear: ``code_digest`` is
    an HMAC of it (looked up through a unique index), ``code_encrypted`` a Fernet token kept only
    so the delivery e-mail can be sent when the card is paid for, and ``last4`` what pages show."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    code_digest = models.CharField(max_length=64, unique=True, editable=False)
    code_encrypted = models.TextField(editable=False)
    last4 = models.CharField(max_length=4, editable=False)
    initial_value = money_field(validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, validators=[currency_code])
    # A cache of the ledger's sum (see the module docstring); the ledger is the truth.
    balance = money_field(default=Decimal("0.00"))
    status = models.CharField(max_length=10, choices=PrepaidStatus.choices, default=PrepaidStatus.PENDING)
    expires_on = models.DateField(null=True, blank=True, help_text="Empty: the card does not expire.")
    purchaser = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="gift_cards_bought")
    recipient_name = models.CharField(max_length=120, blank=True)
    recipient_email = models.EmailField(blank=True)
    message = models.CharField(max_length=300, blank=True)
    invoice_line = models.OneToOneField(InvoiceLine, on_delete=models.PROTECT, related_name="gift_card")
    activated_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(initial_value__gt=0), name="billing_gift_card_value_positive"),
            models.CheckConstraint(
                condition=Q(balance__gt=-HALF_CENT) & Q(balance__lt=F("initial_value") + HALF_CENT), name="billing_gift_card_balance_range"
            ),
            models.CheckConstraint(condition=~Q(status="pending") | Q(balance=0), name="billing_gift_card_pending_is_empty"),
            models.CheckConstraint(condition=~Q(status="cancelled") | Q(balance=0), name="billing_gift_card_cancelled_is_empty"),
            models.CheckConstraint(condition=CURRENCY_OK, name="billing_gift_card_currency_iso"),
        ]
        indexes = [models.Index(fields=["clinic", "-created_at"], name="billing_gift_card_clinic_idx")]

    def __str__(self) -> str:
        return f"Gift card ····{self.last4}"

    @property
    def masked_code(self) -> str:
        return f"····-····-····-{self.last4}"

    def expired_on(self, day: date) -> bool:
        return self.expires_on is not None and day > self.expires_on


class GiftCardEntryKind(models.TextChoices):
    LOAD = "load", "Loaded (paid for)"
    REDEMPTION = "redemption", "Spent"
    REFUND = "refund", "Given back to the card"
    CANCEL = "cancel", "Cancelled (sale credited or refunded)"


class GiftCardEntryQuerySet(AppendOnlyQuerySet):
    noun = "gift card entries"


class GiftCardEntry(models.Model):
    """One signed movement of a gift card's value: positive adds to what is on the card."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    gift_card = models.ForeignKey(GiftCard, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=GiftCardEntryKind.choices)
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[currency_code])
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="gift_card_entries")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    objects = GiftCardEntryQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "gift card entries"
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind__in=["load", "refund"]) & Q(amount__gt=0)) | (Q(kind__in=["redemption", "cancel"]) & Q(amount__lt=0)),
                name="billing_gift_card_entry_sign",
            ),
            # Redemptions and refunds name their payment; a cancellation names none (the credit
            # note or refund that caused it is in its audit event).
            models.CheckConstraint(
                condition=Q(kind="load") | (Q(kind="cancel") & Q(payment__isnull=True)) | (~Q(kind="cancel") & Q(payment__isnull=False)),
                name="billing_gift_card_entry_names_payment",
            ),
            models.UniqueConstraint(fields=["gift_card"], condition=Q(kind="load"), name="billing_gift_card_loaded_once"),
            models.UniqueConstraint(fields=["gift_card"], condition=Q(kind="cancel"), name="billing_gift_card_cancelled_once"),
            models.CheckConstraint(condition=CURRENCY_OK, name="billing_gift_card_entry_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.currency} {self.amount}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        refuse_change(self, "gift card entries")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("gift card entries cannot be deleted")


class PackageProduct(models.Model):
    """What a clinic sells as a package: so many sessions of the covered services, for a price."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    sessions = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(100)])
    price = money_field(validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, validators=[currency_code])
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    services = models.ManyToManyField("bookings.Service", related_name="+", help_text="The services one session of it pays for.")
    validity_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3650)], help_text="Empty: it does not expire."
    )
    shareable = models.BooleanField(default=False, help_text="Family members may use its sessions; otherwise only the buyer.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-is_active", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="billing_package_product_name_unique"),
            models.CheckConstraint(condition=Q(sessions__gte=1, sessions__lte=100), name="billing_package_product_sessions"),
            models.CheckConstraint(condition=Q(price__gt=0), name="billing_package_product_price_positive"),
            models.CheckConstraint(condition=CURRENCY_OK, name="billing_package_product_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sessions} sessions)"


class ClientPackage(models.Model):
    """A package sold to a client. What it covers, how many sessions and for how long are copied
    from the product when sold, so changing the product later never changes what was bought."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(PackageProduct, on_delete=models.PROTECT, related_name="sold")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="packages")
    name = models.CharField(max_length=120)
    sessions_total = models.PositiveSmallIntegerField()
    # A cache of the ledger's sum (see the module docstring); the ledger is the truth.
    sessions_left = models.PositiveSmallIntegerField(default=0)
    price = money_field()
    currency = models.CharField(max_length=3, validators=[currency_code])
    services = models.ManyToManyField("bookings.Service", related_name="+")
    validity_days = models.PositiveSmallIntegerField(null=True, blank=True)
    shareable = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=PrepaidStatus.choices, default=PrepaidStatus.PENDING)
    expires_on = models.DateField(null=True, blank=True)
    invoice_line = models.OneToOneField(InvoiceLine, on_delete=models.PROTECT, related_name="client_package")
    activated_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(sessions_left__lte=F("sessions_total")), name="billing_package_sessions_left_range"),
            models.CheckConstraint(condition=~Q(status="pending") | Q(sessions_left=0), name="billing_package_pending_is_empty"),
            models.CheckConstraint(condition=~Q(status="cancelled") | Q(sessions_left=0), name="billing_package_cancelled_is_empty"),
            models.CheckConstraint(condition=CURRENCY_OK, name="billing_client_package_currency_iso"),
        ]
        indexes = [models.Index(fields=["clinic", "-created_at"], name="billing_client_package_idx")]

    def __str__(self) -> str:
        return f"{self.name} — {self.client}"

    @property
    def session_value(self) -> Decimal:
        """What one session of it was paid for (the liability each unused session stands for)."""
        return (self.price / self.sessions_total).quantize(Decimal("0.01"))

    def expired_on(self, day: date) -> bool:
        return self.expires_on is not None and day > self.expires_on


class PackageEntryKind(models.TextChoices):
    GRANT = "grant", "Sessions granted (paid for)"
    USE = "use", "Session used"
    RESTORE = "restore", "Session given back"
    CANCEL = "cancel", "Cancelled (sale credited or refunded)"


class PackageEntryQuerySet(AppendOnlyQuerySet):
    noun = "package entries"


class PackageEntry(models.Model):
    """One signed movement of a package's sessions: positive adds sessions."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    package = models.ForeignKey(ClientPackage, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=8, choices=PackageEntryKind.choices)
    sessions = models.SmallIntegerField()
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="package_entries")
    invoice_line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, null=True, blank=True, related_name="package_entries")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    objects = PackageEntryQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "package entries"
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="grant") & Q(sessions__gt=0))
                | Q(kind="use", sessions=-1)
                | Q(kind="restore", sessions=1)
                | (Q(kind="cancel") & Q(sessions__lt=0)),
                name="billing_package_entry_sign",
            ),
            models.CheckConstraint(
                condition=Q(kind="grant") | (Q(kind="cancel") & Q(payment__isnull=True)) | (~Q(kind="cancel") & Q(payment__isnull=False)),
                name="billing_package_entry_names_payment",
            ),
            models.UniqueConstraint(fields=["package"], condition=Q(kind="grant"), name="billing_package_granted_once"),
            models.UniqueConstraint(fields=["package"], condition=Q(kind="cancel"), name="billing_package_cancelled_once"),
            models.UniqueConstraint(fields=["payment", "kind"], condition=~Q(kind="grant"), name="billing_package_entry_once_per_payment"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sessions:+d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        refuse_change(self, "package entries")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("package entries cannot be deleted")
