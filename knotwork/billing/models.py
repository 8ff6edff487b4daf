"""Money: a clinic's billing settings and tax rates, invoices and credit notes with their lines,
payments, and the append-only ledger every balance is derived from (docs/money.md).

Amounts are ``Decimal`` with two places and a currency code on every priced row; the database
refuses negative amounts where they make no sense, a total that is not its parts, a second row
with the same number, and a ledger entry whose sign does not fit its kind.

Sums inside CHECK constraints are compared to within half a cent (:func:`sum_is`): SQLite keeps a
decimal column as a binary float, where 0.05 + 0.01 is not exactly 0.06. Stored amounts have two
places, so on PostgreSQL's exact numeric this is plain equality; Django reads every value back
quantised to two places.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from knotwork.accounts.models import Clinic

# Shared with prepaid_models (gift cards, packages); kept in their own module so neither imports the other for them.
from knotwork.billing.fields import CURRENCY_OK, HALF_CENT, currency_code, money_field, sum_is  # noqa: E402, F401
from knotwork.lib.appendonly import AppendOnlyError, AppendOnlyQuerySet, refuse_change


def default_currency() -> str:
    return str(getattr(settings, "KNOTWORK_CURRENCY", "GBP"))


class ImmutableInvoiceError(Exception):
    """An issued invoice does not change; corrections are credit notes, mistakes are voided."""


class BillingSettings(models.Model):
    """What a clinic prints on its invoices and how it prices. Created with defaults on first use."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="billing_settings")
    legal_name = models.CharField(max_length=200, blank=True, help_text="As registered; the clinic's name when empty.")
    address = models.TextField(max_length=500, blank=True, help_text="The postal address printed on invoices and receipts.")
    tax_number = models.CharField(max_length=40, blank=True, help_text="VAT, GST or sales-tax registration number, if any.")
    currency = models.CharField(max_length=3, default=default_currency, validators=[currency_code])
    prices_include_tax = models.BooleanField(default=True, help_text="Prices already include tax (usual for clients paying in person).")
    invoice_prefix = models.CharField(max_length=12, default="INV-", validators=[RegexValidator(r"^[A-Za-z0-9/_-]*$")])
    credit_note_prefix = models.CharField(max_length=12, default="CN-", validators=[RegexValidator(r"^[A-Za-z0-9/_-]*$")])
    default_tax_rate = models.ForeignKey(
        "TaxRate", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="Applied to services at check-out."
    )
    payment_terms_days = models.PositiveSmallIntegerField(default=14, validators=[MaxValueValidator(365)])
    footer = models.TextField(max_length=1000, blank=True, help_text="Printed at the foot of every invoice, e.g. bank details.")
    gift_card_validity_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="How long a gift card can be used after it is paid for. Empty: gift cards do not expire.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "billing settings"
        constraints = [
            models.CheckConstraint(condition=CURRENCY_OK, name="billing_settings_currency_iso"),
            models.CheckConstraint(condition=~Q(invoice_prefix=F("credit_note_prefix")), name="billing_prefixes_differ"),
        ]

    def __str__(self) -> str:
        return f"Billing settings of {self.clinic}"

    @property
    def display_name(self) -> str:
        return self.legal_name or self.clinic.name

    @property
    def display_address(self) -> str:
        if self.address:
            return self.address
        c = self.clinic
        return ", ".join(p for p in (c.address, c.city, c.postcode) if p)


class TaxRate(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="tax_rates")
    name = models.CharField(max_length=60, help_text="e.g. “VAT standard”")
    rate = models.DecimalField(max_digits=5, decimal_places=2, validators=[MinValueValidator(0), MaxValueValidator(100)])
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-is_active", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "name"], name="billing_tax_rate_name_unique"),
            models.CheckConstraint(condition=Q(rate__gte=0, rate__lte=100), name="billing_tax_rate_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rate.normalize():f}%)"


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class InvoiceCounter(models.Model):
    """The last number issued in one of a clinic's sequences; locked while a number is taken."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=DocumentKind.choices)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clinic", "kind"], name="billing_one_counter_per_sequence")]

    def __str__(self) -> str:
        return f"{self.kind} counter of clinic {self.clinic_id}: {self.last}"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    VOID = "void", "Void"


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def for_clinic(self, clinic: Clinic | int) -> InvoiceQuerySet:
        return self.filter(clinic=clinic)

    def issued(self) -> InvoiceQuerySet:
        return self.filter(status=InvoiceStatus.ISSUED)


# The fields voiding changes on an issued invoice; nothing else about it may change.
VOID_FIELDS = frozenset({"status", "void_reason", "voided_at", "voided_by", "updated_at"})


class Invoice(models.Model):
    """An invoice or a credit note. Drafts change freely; issuing gives it the clinic's next number
    and freezes it; voiding keeps it (and its number) with a reason."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="invoices")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="invoices")
    appointment = models.ForeignKey("bookings.Appointment", on_delete=models.PROTECT, null=True, blank=True, related_name="invoices")
    kind = models.CharField(max_length=12, choices=DocumentKind.choices, default=DocumentKind.INVOICE)
    credit_for = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes")
    status = models.CharField(max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    sequence = models.PositiveIntegerField(null=True, blank=True, editable=False)
    number = models.CharField(max_length=40, blank=True, editable=False)
    currency = models.CharField(max_length=3, validators=[currency_code])
    prices_include_tax = models.BooleanField(default=True)
    # Sums of the lines, kept for lists and checked by `knotwork money verify`.
    subtotal = money_field(default=Decimal("0.00"))
    tax_total = money_field(default=Decimal("0.00"))
    total = money_field(default=Decimal("0.00"))
    issued_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="On a credit note: why it was issued.")
    void_reason = models.CharField(max_length=300, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "number"], condition=Q(sequence__isnull=False), name="billing_invoice_number_unique_per_clinic"
            ),
            models.UniqueConstraint(
                fields=["clinic", "kind", "sequence"], condition=Q(sequence__isnull=False), name="billing_invoice_sequence_unique"
            ),
            models.CheckConstraint(
                condition=(Q(status="draft") & Q(sequence__isnull=True) & Q(number="") & Q(issued_at__isnull=True))
                | (Q(status__in=["issued", "void"]) & Q(sequence__isnull=False) & ~Q(number="") & Q(issued_at__isnull=False)),
                name="billing_invoice_numbered_when_issued",
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", credit_for__isnull=True) | Q(kind="credit_note", credit_for__isnull=False),
                name="billing_credit_note_names_its_invoice",
            ),
            models.CheckConstraint(condition=~Q(status="void") | ~Q(void_reason=""), name="billing_void_has_reason"),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0, tax_total__gte=0) & sum_is(F("total"), F("subtotal") + F("tax_total")),
                name="billing_invoice_total_is_its_parts",
            ),
            models.CheckConstraint(condition=CURRENCY_OK, name="billing_invoice_currency_iso"),
        ]
        indexes = [
            models.Index(fields=["clinic", "-created_at"], name="billing_invoice_clinic_idx"),
            models.Index(fields=["client", "status"], name="billing_invoice_client_idx"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.get_kind_display().lower()} {self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """The model-level guard behind the services: an issued or void row refuses every change
        except voiding (status, reason, who and when)."""
        if not self._state.adding and self.pk is not None:
            stored = type(self)._base_manager.filter(pk=self.pk).values_list("status", flat=True).first()
            fields = kwargs.get("update_fields")
            if stored == InvoiceStatus.VOID or (
                stored == InvoiceStatus.ISSUED and (fields is None or not set(fields) <= VOID_FIELDS or self.status != InvoiceStatus.VOID)
            ):
                raise ImmutableInvoiceError(f"{self.number} is issued and cannot be changed; issue a credit note instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if self.status != InvoiceStatus.DRAFT:
            raise ImmutableInvoiceError("Issued invoices are kept; void it instead.")
        return super().delete(*args, **kwargs)

    @property
    def label(self) -> str:
        return str(self)

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def is_credit_note(self) -> bool:
        return self.kind == DocumentKind.CREDIT_NOTE


class LineKind(models.TextChoices):
    SERVICE = "service", "Service"
    ADDON = "addon", "Add-on"
    PRODUCT = "product", "Product"
    PACKAGE = "package", "Package"
    GIFT_CARD = "gift_card", "Gift card"
    OTHER = "other", "Other"
    FEE = "fee", "Cancellation or no-show fee"
    MEMBERSHIP = "membership", "Membership fee"
    # Money the client gives a therapist: held for them, not the clinic's sales (docs/money.md, "Tips").
    TIP = "tip", "Tip"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=LineKind.choices, default=LineKind.SERVICE)
    description = models.CharField(max_length=200)
    service = models.ForeignKey("bookings.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # What an insurer's receipt needs of a treatment: who gave it, on which day, for how long.
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    service_date = models.DateField(null=True, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    quantity = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(1000)])
    unit_price = money_field(validators=[MinValueValidator(0)])
    discount = money_field(default=Decimal("0.00"), validators=[MinValueValidator(0)])
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    tax_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0.00"))
    net = money_field()
    tax = money_field()
    total = money_field()
    # On a credit note: the invoice line it credits. A line is credited at most once.
    credits_line = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True, related_name="credited_by")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1, quantity__lte=1000), name="billing_line_quantity_range"),
            models.CheckConstraint(condition=Q(unit_price__gte=0, discount__gte=0), name="billing_line_price_not_negative"),
            models.CheckConstraint(
                condition=Q(discount__lt=F("quantity") * F("unit_price") + HALF_CENT), name="billing_line_discount_within_price"
            ),
            models.CheckConstraint(condition=Q(tax_percent__gte=0, tax_percent__lte=100), name="billing_line_tax_percent"),
            models.CheckConstraint(
                condition=Q(net__gte=0, tax__gte=0) & sum_is(F("total"), F("net") + F("tax")), name="billing_line_total_is_its_parts"
            ),
            models.CheckConstraint(
                condition=~Q(kind="tip") | Q(discount=0, tax_percent=0, tax=0, tax_rate__isnull=True),
                name="billing_tip_untaxed_undiscounted",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._guard()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        self._guard()
        return super().delete(*args, **kwargs)

    def _guard(self) -> None:
        status = Invoice._base_manager.filter(pk=self.invoice_id).values_list("status", flat=True).first()
        if status is not None and status != InvoiceStatus.DRAFT:
            raise ImmutableInvoiceError("The lines of an issued invoice cannot be changed.")


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD_TERMINAL = "card_terminal", "Card (terminal)"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CHEQUE = "cheque", "Cheque"
    STORE_CREDIT = "store_credit", "Store credit"
    CARD_ONLINE = "card_online", "Card (online)"
    OTHER = "other", "Other"
    # Value paid for earlier: not money received now (see docs/money.md, "Gift cards", "Packages").
    GIFT_CARD = "gift_card", "Gift card"
    PACKAGE = "package", "Package session"
    MEMBERSHIP = "membership", "Membership credit"


class Payment(models.Model):
    """Money received at the desk. Where it went (which invoices, how much became store credit)
    and what was refunded are ledger entries that name it."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="payments")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[currency_code])
    reference = models.CharField(max_length=100, blank=True, help_text="Terminal receipt, cheque or transfer reference.")
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    # An online card payment: the provider's PaymentIntent id. One intent is one payment, however
    # often (or however concurrently) its confirmation is delivered.
    intent_id = models.CharField(max_length=255, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_payment_positive"),
            models.CheckConstraint(condition=CURRENCY_OK, name="billing_payment_currency_iso"),
            models.UniqueConstraint(fields=["intent_id"], condition=~Q(intent_id=""), name="billing_payment_one_per_intent"),
            models.CheckConstraint(
                condition=(Q(method="card_online") & ~Q(intent_id="")) | (~Q(method="card_online") & Q(intent_id="")),
                name="billing_payment_online_names_intent",
            ),
        ]
        indexes = [models.Index(fields=["clinic", "-at"], name="billing_payment_clinic_idx")]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.currency} {self.amount}"


class LedgerKind(models.TextChoices):
    CHARGE = "charge", "Charge"
    PAYMENT = "payment", "Payment"
    REFUND = "refund", "Refund"
    CREDIT = "credit", "Credit"
    REDEMPTION = "redemption", "Store credit used"
    VOID = "void", "Void"


class LedgerQuerySet(AppendOnlyQuerySet):
    noun = "ledger entries"


class LedgerEntry(models.Model):
    """One signed movement on a client's account, in the client's debt: positive means the client
    owes more (a charge, a refund paid out, store credit used), negative means less (a payment, a
    credit note, a void, store credit created). Entries without an invoice are store credit."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=10, choices=LedgerKind.choices)
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[currency_code])
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries")
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind__in=["charge", "refund", "redemption"]) & Q(amount__gt=0))
                | (Q(kind__in=["payment", "credit", "void"]) & Q(amount__lt=0)),
                name="billing_ledger_sign_fits_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["charge", "void"]) | Q(invoice__isnull=False), name="billing_ledger_charge_names_invoice"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["payment", "refund", "redemption"]) | Q(payment__isnull=False),
                name="billing_ledger_payment_names_payment",
            ),
            models.CheckConstraint(condition=CURRENCY_OK, name="billing_ledger_currency_iso"),
        ]
        indexes = [models.Index(fields=["client", "currency"], name="billing_ledger_client_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.currency} {self.amount}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        refuse_change(self, "ledger entries")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("ledger entries cannot be deleted")


class CardIntentStatus(models.TextChoices):
    OPEN = "open", "Waiting for the card"
    SUCCEEDED = "succeeded", "Paid"
    CANCELED = "canceled", "Cancelled"


class CardIntent(models.Model):
    """A payment intent the portal opened at the provider for what an invoice still owed.

    Kept so that reloading the pay page (or opening it twice) reuses the same intent instead of
    opening a second one the client could also pay, and so that the provider's confirmation can be
    matched to its invoice. The client secret is not stored: it is fetched again when needed.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="card_intents")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="card_intents")
    provider = models.CharField(max_length=20, default="stripe")
    intent_id = models.CharField(max_length=255, unique=True)
    # Sent with the create request, so a retried or concurrent request gets the same intent back.
    idempotency_key = models.CharField(max_length=200)
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[currency_code])
    status = models.CharField(max_length=10, choices=CardIntentStatus.choices, default=CardIntentStatus.OPEN)
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="card_intent")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "idempotency_key"], name="billing_card_intent_once_per_key"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_card_intent_positive"),
            models.CheckConstraint(condition=CURRENCY_OK, name="billing_card_intent_currency_iso"),
        ]

    def __str__(self) -> str:
        return f"{self.intent_id} ({self.currency} {self.amount}, {self.status})"


class ProviderEvent(models.Model):
    """A webhook event from the payment provider that has been acted on, kept by its id.

    The unique id is what makes delivery idempotent: a repeated delivery (providers retry until
    they get a 2xx, and may deliver twice) finds its id here and changes nothing.
    """

    provider = models.CharField(max_length=20, default="stripe")
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    outcome = models.CharField(max_length=300, blank=True)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="billing_provider_event_once")]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"


# Card on file and fees, gift cards and packages live in their own modules; importing them here
# registers them with the app.
from knotwork.billing.cardfile_models import (  # noqa: E402, F401
    CardSetup,
    CardSetupStatus,
    ChargeMode,
    Fee,
    FeeBasis,
    FeeKind,
    FeePolicy,
    FeeStatus,
    SavedCard,
    StripeCustomer,
)
from knotwork.billing.membership_models import (  # noqa: E402, F401
    ClientMembership,
    MembershipEntry,
    MembershipEntryKind,
    MembershipPeriod,
    MembershipPlan,
    MembershipStatus,
    PeriodStatus,
)
from knotwork.billing.prepaid_models import (  # noqa: E402, F401
    ClientPackage,
    GiftCard,
    GiftCardEntry,
    GiftCardEntryKind,
    PackageEntry,
    PackageEntryKind,
    PackageProduct,
    PrepaidStatus,
)
