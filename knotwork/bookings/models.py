"""Services, availability, appointments (holds included), idempotency, reminders and calendar feeds.

No two active appointments of one therapist (or one room) may overlap. The database enforces it,
not this module: on PostgreSQL an exclusion constraint, on SQLite triggers (see the migration
``0002_no_overlap_guards`` and docs/bookings.md). Both read ``block_start``/``block_end``: the
appointment plus the service's buffers, half-open, in UTC.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from knotwork.accounts.models import Clinic
from knotwork.lib.claim_codes import validate_cpt, validate_modifier

currency_code = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code such as GBP.")


class Room(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="rooms")
    name = models.CharField(max_length=60)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["clinic", "name"], name="room_name_unique_per_clinic")]

    def __str__(self) -> str:
        return self.name


class ServiceQuerySet(models.QuerySet["Service"]):
    def active(self) -> ServiceQuerySet:
        return self.filter(is_active=True)

    def for_therapist(self, therapist_id: int) -> ServiceQuerySet:
        return self.filter(Q(therapist__isnull=True) | Q(therapist_id=therapist_id))


class Service(models.Model):
    class Kind(models.TextChoices):
        CONSULTATION = "consultation", "Consultation"
        SESSION = "session", "Treatment session"
        FOLLOW_UP = "follow_up", "Follow-up"

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        VIDEO = "video", "Video call"

    class OnlineBooking(models.TextChoices):
        ANYONE = "anyone", "New and existing clients"
        EXISTING = "existing", "Existing clients only"
        APPROVAL = "approval", "On request (the clinic confirms)"
        STAFF = "staff", "Staff only"

    class PaymentPolicy(models.TextChoices):
        # What booking online asks of the client's card (docs/money.md, "Card on file and fees" and
        # "Deposits and prepayment"). A deposit or prepayment also keeps the card, so the clinic's
        # cancellation and no-show fees apply to those services as to card-on-file ones.
        NONE = "none", "Nothing"
        CARD_ON_FILE = "card_on_file", "A saved card (for cancellation and no-show fees)"
        DEPOSIT = "deposit", "A deposit, paid by card when booking online"
        PREPAY = "prepay", "The full price, paid by card when booking online"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="services")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+", help_text="Empty: any therapist."
    )
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SESSION)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.IN_PERSON)
    description = models.CharField(max_length=300, blank=True)
    MAX_DURATION_MINUTES = 480
    MAX_BUFFER_MINUTES = 120
    duration_minutes = models.PositiveSmallIntegerField(validators=[MinValueValidator(5), MaxValueValidator(MAX_DURATION_MINUTES)])
    buffer_before_minutes = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(MAX_BUFFER_MINUTES)])
    buffer_after_minutes = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(MAX_BUFFER_MINUTES)])
    price = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="GBP", validators=[currency_code])
    online_booking = models.CharField(max_length=10, choices=OnlineBooking.choices, default=OnlineBooking.ANYONE)
    needs_room = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    payment_policy = models.CharField(max_length=16, choices=PaymentPolicy.choices, default=PaymentPolicy.NONE)
    deposit_amount = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0.01"))],
        help_text="A fixed deposit, in the service's currency.",
    )  # fmt: skip
    deposit_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(100)], help_text="Or a share of the price."
    )
    # For US superbills (docs/money.md, "Receipts for insurers"): the clinic's own CPT code and
    # modifier for the service. Empty unless the clinic bills US insurers.
    cpt_code = models.CharField("CPT code", max_length=5, blank=True, default="", validators=[validate_cpt])
    cpt_modifier = models.CharField("CPT modifier", max_length=2, blank=True, default="", validators=[validate_modifier])

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["position", "duration_minutes", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="service_price_not_negative"),
            models.CheckConstraint(condition=Q(duration_minutes__gte=5), name="service_duration_at_least_5"),
            # The database holds these limits too: LONGEST_BLOCK, and the history-independent
            # overlap queries that rely on it, must hold however a row was written.
            models.CheckConstraint(condition=Q(duration_minutes__lte=480), name="service_duration_at_most_480"),
            models.CheckConstraint(
                condition=Q(buffer_before_minutes__lte=120, buffer_after_minutes__lte=120), name="service_buffers_at_most_120"
            ),
            models.CheckConstraint(
                condition=Q(deposit_amount__isnull=True) | Q(deposit_percent__isnull=True), name="service_deposit_amount_or_percent"
            ),
            models.CheckConstraint(
                condition=Q(deposit_percent__isnull=True) | Q(deposit_percent__gte=1, deposit_percent__lte=100),
                name="service_deposit_percent_1_to_100",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def is_free(self) -> bool:
        return self.price == 0

    @property
    def keeps_card(self) -> bool:
        """Booking it online keeps the client's card, so the clinic's missed-visit fees apply."""
        return self.payment_policy != self.PaymentPolicy.NONE

    @property
    def takes_payment_when_booking(self) -> bool:
        return self.payment_policy in (self.PaymentPolicy.DEPOSIT, self.PaymentPolicy.PREPAY) and not self.is_free

    def paid_when_booking(self, price: Decimal | None = None) -> Decimal:
        """What booking online takes by card at once for a visit at ``price`` (the service's
        price when not given): the whole price for prepayment, the deposit (never more than the
        price; a share is rounded half up to the cent) for a deposit, else nothing."""
        price = self.price if price is None else price
        if price <= 0:
            return Decimal("0.00")
        if self.payment_policy == self.PaymentPolicy.PREPAY:
            return price
        if self.payment_policy != self.PaymentPolicy.DEPOSIT:
            return Decimal("0.00")
        if self.deposit_amount is not None:
            return min(self.deposit_amount, price)
        share = (price * Decimal(self.deposit_percent or 0) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return min(share, price)


def default_reminders() -> list[int]:
    return [24, 2]


class BookingPolicy(models.Model):
    """A clinic's booking rules. A clinic without a row uses the defaults below."""

    clinic = models.OneToOneField(Clinic, on_delete=models.CASCADE, related_name="booking_policy")
    cancel_notice_hours = models.PositiveSmallIntegerField(default=24, validators=[MaxValueValidator(24 * 14)])
    min_notice_minutes = models.PositiveIntegerField(default=120, validators=[MaxValueValidator(60 * 24 * 14)])
    horizon_days = models.PositiveSmallIntegerField(default=60, validators=[MinValueValidator(1), MaxValueValidator(366)])
    hold_minutes = models.PositiveSmallIntegerField(default=10, validators=[MinValueValidator(2), MaxValueValidator(60)])
    slot_step_minutes = models.PositiveSmallIntegerField(default=15, validators=[MinValueValidator(5), MaxValueValidator(120)])
    reminder_offsets_hours = models.JSONField(
        default=default_reminders, blank=True, help_text="Hours before the appointment, e.g. [24, 2]."
    )
    sms_reminders = models.BooleanField(default=False)
    max_pending_per_client = models.PositiveSmallIntegerField(default=4, validators=[MinValueValidator(1), MaxValueValidator(50)])

    def __str__(self) -> str:
        return f"Booking policy of {self.clinic}"

    @classmethod
    def for_clinic(cls, clinic: Clinic) -> BookingPolicy:
        found = cls.objects.filter(clinic=clinic).first()
        return found or cls(clinic=clinic)

    @property
    def reminder_offsets(self) -> list[int]:
        """Largest first; anything that is not a whole number of hours up to two weeks is ignored."""
        values = self.reminder_offsets_hours if isinstance(self.reminder_offsets_hours, list) else []
        return sorted({h for h in values if isinstance(h, int) and not isinstance(h, bool) and 0 < h <= 24 * 14}, reverse=True)


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class Availability(models.Model):
    """Weekly working hours of a therapist, as wall-clock times in the clinic's time zone."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="availability")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        ordering = ["weekday", "start_time"]
        verbose_name_plural = "availability"
        constraints = [models.CheckConstraint(condition=Q(end_time__gt=models.F("start_time")), name="availability_ends_after_start")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class AvailabilityException(models.Model):
    class Kind(models.TextChoices):
        OFF = "off", "Not working"
        EXTRA = "extra", "Extra hours"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="availability_exceptions")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability_exceptions")
    day = models.DateField()
    kind = models.CharField(max_length=5, choices=Kind.choices)
    start_time = models.TimeField(null=True, blank=True, help_text="Empty with 'not working': the whole day.")
    end_time = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["day", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(start_time__isnull=True, end_time__isnull=True) & Q(kind="off"))
                | Q(start_time__isnull=False, end_time__isnull=False, end_time__gt=models.F("start_time")),
                name="availability_exception_times_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.get_kind_display()}"


class AppointmentStatus(models.TextChoices):
    HELD = "held", _("Held")
    REQUESTED = "requested", _("Requested")
    CONFIRMED = "confirmed", _("Confirmed")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    LATE_CANCELLED = "late_cancelled", _("Cancelled late")
    NO_SHOW = "no_show", _("Did not attend")
    EXPIRED = "expired", _("Hold expired")


# The statuses that occupy the therapist's (and room's) time. The database guards use this list.
BLOCKING_STATUSES = (AppointmentStatus.HELD, AppointmentStatus.REQUESTED, AppointmentStatus.CONFIRMED)
# An appointment the client is expected at.
ACTIVE_STATUSES = (AppointmentStatus.REQUESTED, AppointmentStatus.CONFIRMED)


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def for_clinic(self, clinic: Clinic | int) -> AppointmentQuerySet:
        return self.filter(clinic=clinic)

    def blocking(self, *, now: datetime | None = None) -> AppointmentQuerySet:
        """Appointments that occupy time: unexpired holds, requests and confirmed bookings."""
        now = now or timezone.now()
        return self.filter(
            Q(status__in=[AppointmentStatus.REQUESTED, AppointmentStatus.CONFIRMED])
            | Q(status=AppointmentStatus.HELD, hold_expires_at__gt=now)
        )

    def active(self) -> AppointmentQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def upcoming(self, *, now: datetime | None = None) -> AppointmentQuerySet:
        return self.active().filter(ends_at__gt=now or timezone.now())

    def overlapping(self, start: datetime, end: datetime) -> AppointmentQuerySet:
        # The lower bound on block_start changes no answer (no block is longer than LONGEST_BLOCK)
        # but lets the (therapist, block_start) index skip the whole past.
        return self.filter(block_start__lt=end, block_start__gt=start - LONGEST_BLOCK, block_end__gt=start)


# The longest time one appointment can keep a therapist busy: the longest service plus both buffers.
# Overlap queries bound their index scan with it (block_start > window start - LONGEST_BLOCK), so
# their cost does not grow with years of past appointments.
LONGEST_BLOCK = timedelta(minutes=Service.MAX_DURATION_MINUTES + 2 * Service.MAX_BUFFER_MINUTES)


class AppointmentSeries(models.Model):
    """A recurring booking: every ``interval_weeks`` weeks at the same wall-clock time in the clinic's
    zone, until a date or for a number of occurrences. Its appointments point back to it
    (``Appointment.series``); an occurrence the desk skipped simply has no row. See bookings/series.py."""

    MAX_INTERVAL_WEEKS = 12
    MAX_OCCURRENCES = 52

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="appointment_series")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="appointment_series")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey(
        Room,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The room it was booked in, if the service needs one.",
    )
    interval_weeks = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(MAX_INTERVAL_WEEKS)])
    start_day = models.DateField(help_text="The first occurrence's local date.")
    start_time = models.TimeField(help_text="Wall-clock time in the clinic's zone, kept across daylight-saving changes.")
    until = models.DateField(null=True, blank=True, help_text="The last local date an occurrence may fall on.")
    count = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(MAX_OCCURRENCES)])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "appointment series"
        constraints = [
            models.CheckConstraint(condition=Q(interval_weeks__gte=1, interval_weeks__lte=12), name="series_interval_1_to_12_weeks"),
            models.CheckConstraint(
                condition=(Q(until__isnull=False) & Q(count__isnull=True)) | (Q(until__isnull=True) & Q(count__gte=1, count__lte=52)),
                name="series_ends_by_date_or_count",
            ),
        ]

    def __str__(self) -> str:
        return f"Every {self.interval_weeks} week(s) from {self.start_day} at {self.start_time:%H:%M}"


class LocalTimes:
    """``local_start`` / ``local_end``: a row's ``starts_at`` / ``ends_at`` in its clinic's time zone."""

    starts_at: datetime
    ends_at: datetime
    clinic: Clinic

    @property
    def local_start(self) -> datetime:
        return timezone.localtime(self.starts_at, self.clinic.tz)

    @property
    def local_end(self) -> datetime:
        return timezone.localtime(self.ends_at, self.clinic.tz)


class Appointment(LocalTimes, models.Model):
    """A claim on a therapist's time: a short hold, a request, a booking, and what became of it."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="appointments")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, null=True, blank=True, related_name="appointments")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="appointments")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # The time the appointment keeps the therapist (and room) busy: itself plus the service's buffers.
    block_start = models.DateTimeField()
    block_end = models.DateTimeField()
    status = models.CharField(max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.CONFIRMED)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    hold_token_hash = models.CharField(max_length=64, blank=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="GBP", validators=[currency_code])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reschedule_count = models.PositiveSmallIntegerField(default=0)
    # A recurring booking's occurrence and its number in the plan (1 = the first; skipped ones leave gaps).
    # Deliberately no constraint tying the two: adding one would make SQLite rebuild the table and
    # drop the overlap triggers of migration 0002.
    series = models.ForeignKey(AppointmentSeries, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments")
    series_index = models.PositiveSmallIntegerField(null=True, blank=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"),
            models.CheckConstraint(
                condition=Q(block_start__lte=models.F("starts_at"), block_end__gte=models.F("ends_at")),
                name="appointment_block_covers_appointment",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["held", "expired"]) | Q(client__isnull=False), name="appointment_has_client_unless_hold"
            ),
            models.CheckConstraint(condition=~Q(status="held") | Q(hold_expires_at__isnull=False), name="appointment_hold_has_expiry"),
            models.CheckConstraint(condition=Q(price__gte=0), name="appointment_price_not_negative"),
        ]
        indexes = [
            models.Index(fields=["therapist", "block_start"], name="appointment_therapist_idx"),
            models.Index(fields=["clinic", "starts_at"], name="appointment_clinic_start_idx"),
            models.Index(fields=["status", "hold_expires_at"], name="appointment_status_hold_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.service} at {self.starts_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"

    @staticmethod
    def new_hold_token() -> tuple[str, str]:
        raw = secrets.token_urlsafe(24)
        return raw, hashlib.sha256(raw.encode()).hexdigest()

    def hold_token_matches(self, raw: str) -> bool:
        return bool(self.hold_token_hash) and secrets.compare_digest(self.hold_token_hash, hashlib.sha256(raw.encode()).hexdigest())

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def takes_visit_note(self) -> bool:
        """A visit note can be started from it: it has a client and was confirmed or attended."""
        return self.client_id is not None and self.status in (AppointmentStatus.CONFIRMED, AppointmentStatus.COMPLETED)


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an ``Idempotency-Key``: a retry gets the same answer."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, null=True, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    KEEP_FOR = timedelta(hours=24)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code})"


class SmsStatus(models.TextChoices):
    """Where a reminder's text message is. Only ever moves forward (see ``ReminderLog.SMS_PROGRESS``)."""

    NONE = "", "No text"
    DEFERRED = "deferred", "Waiting for quiet hours to end"
    SENDING = "sending", "Handed to the sender"
    SENT = "sent", "Accepted by the gateway"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Not delivered"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not sent"


class ReminderLog(models.Model):
    """One row per reminder sent (or skipped as superseded): the unique constraint makes a second send impossible.

    The row is also the text message's idempotency key: it is committed (``sms_status`` sending or
    deferred) before the gateway is called, so a rerun of the sweep finds it and never texts again.
    """

    SMS_PROGRESS = {
        SmsStatus.NONE: 0,
        SmsStatus.DEFERRED: 1,
        SmsStatus.SENDING: 2,
        SmsStatus.SENT: 3,
        SmsStatus.DELIVERED: 4,
        SmsStatus.UNDELIVERED: 4,
        SmsStatus.FAILED: 4,
        SmsStatus.SKIPPED: 4,
    }

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    offset_hours = models.PositiveSmallIntegerField()
    starts_at = models.DateTimeField(help_text="The appointment time the reminder was for (a moved appointment is reminded again).")
    sent_at = models.DateTimeField(default=timezone.now)
    email_sent = models.BooleanField(default=False)
    sms_sent = models.BooleanField(default=False)
    skipped = models.BooleanField(default=False, help_text="A later reminder was already due when this one was considered.")
    sms_status = models.CharField(max_length=12, choices=SmsStatus.choices, blank=True, default=SmsStatus.NONE)
    sms_due_at = models.DateTimeField(null=True, blank=True, help_text="A text held back by quiet hours goes at this time.")
    sms_message_id = models.CharField(max_length=64, blank=True, help_text="The gateway's id for the text (Twilio's message SID).")
    sms_error = models.CharField(max_length=64, blank=True, help_text="Why the text was not sent or delivered: a short code.")
    sms_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["appointment", "offset_hours", "starts_at"], name="reminder_once_per_offset"),
        ]
        indexes = [
            # Delivery callbacks look rows up by the gateway's id; the sweep looks for held-back texts.
            models.Index(fields=["sms_message_id"], condition=~Q(sms_message_id=""), name="reminder_sms_message_id"),
            models.Index(fields=["sms_due_at"], condition=Q(sms_status="deferred"), name="reminder_sms_deferred"),
        ]

    def __str__(self) -> str:
        return f"{self.offset_hours} h reminder for appointment {self.appointment_id}"

    def advance_sms(self, status: str) -> bool:
        """Whether ``status`` is progress for this row's text (callbacks can arrive out of order)."""
        return self.SMS_PROGRESS.get(SmsStatus(status), 0) > self.SMS_PROGRESS.get(SmsStatus(self.sms_status), 0)


class CalendarFeedQuerySet(models.QuerySet["CalendarFeed"]):
    def usable(self) -> CalendarFeedQuerySet:
        return self.filter(revoked_at__isnull=True)


class CalendarFeed(models.Model):
    """A therapist's private .ics address. Only the token's hash is stored; revoking ends it."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = CalendarFeedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "therapist"], condition=Q(revoked_at__isnull=True), name="one_live_calendar_feed_per_therapist"
            )
        ]

    def __str__(self) -> str:
        return f"Calendar feed of {self.therapist} at {self.clinic}"

    @staticmethod
    def new_token() -> tuple[str, str]:
        raw = secrets.token_urlsafe(32)
        return raw, CalendarFeed.hash_token(raw)

    @staticmethod
    def hash_token(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()


# --- Waitlist --------------------------------------------------------------------------------
# See knotwork/bookings/waitlist.py and docs/bookings.md, "Waitlist".


class WaitlistStatus(models.TextChoices):
    ACTIVE = "active", _("Waiting")
    OFFERED = "offered", _("Offer sent")
    BOOKED = "booked", _("Booked")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPIRED = "expired", _("Expired")


class WaitlistEntry(models.Model):
    """A client waiting for a time: one service, one therapist or any, and when they could come.

    The windows are deliberately one simple shape: a range of local dates, the weekdays inside it
    (empty: any day) and a wall-clock range that the whole appointment must fit in — enough for
    "weekday mornings in the next two weeks". First come, first served: ``created_at`` then id.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="waitlist_entries")
    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="waitlist_entries")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+", help_text="Empty: any therapist."
    )
    earliest_date = models.DateField(help_text="First local date the client could come.")
    latest_date = models.DateField(help_text="Last local date the client could come.")
    weekdays = models.JSONField(default=list, blank=True, help_text="Monday = 0 … Sunday = 6; empty: any day.")
    day_start = models.TimeField(help_text="The appointment may start at this wall-clock time or later.")
    day_end = models.TimeField(help_text="The appointment must end by this wall-clock time.")
    status = models.CharField(max_length=10, choices=WaitlistStatus.choices, default=WaitlistStatus.ACTIVE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.CheckConstraint(condition=Q(latest_date__gte=models.F("earliest_date")), name="waitlist_dates_in_order"),
            models.CheckConstraint(condition=Q(day_end__gt=models.F("day_start")), name="waitlist_day_ends_after_start"),
        ]
        indexes = [models.Index(fields=["clinic", "status", "created_at"], name="waitlist_clinic_status_idx")]

    def __str__(self) -> str:
        return f"Waitlist entry {self.pk} ({self.get_status_display()})"

    @property
    def weekday_names(self) -> list[str]:
        days = self.weekdays if isinstance(self.weekdays, list) else []
        return [str(Weekday(d).label) for d in sorted(days) if isinstance(d, int) and 0 <= d <= 6]

    @property
    def is_open(self) -> bool:
        return self.status in (WaitlistStatus.ACTIVE, WaitlistStatus.OFFERED)


class WaitlistOfferStatus(models.TextChoices):
    SENT = "sent", "Sent"
    CLAIMED = "claimed", "Claimed"
    GONE = "gone", "Taken by someone else"
    EXPIRED = "expired", "Expired"


class WaitlistOffer(LocalTimes, models.Model):
    """A freed time offered to one waiting client, claimable once through a short-lived link.

    Only the token's hash is stored. The unique constraint makes a second offer of one start to
    one entry impossible, so a rerun of the offering task sends nothing twice."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    freed_from = models.ForeignKey(Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=WaitlistOfferStatus.choices, default=WaitlistOfferStatus.SENT)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    sms_status = models.CharField(max_length=12, choices=SmsStatus.choices, blank=True, default=SmsStatus.NONE)
    gone_notified_at = models.DateTimeField(null=True, blank=True, help_text="When the client was told the time had gone.")

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "therapist", "starts_at"], name="waitlist_offer_once_per_entry_and_start"),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="waitlist_offer_ends_after_start"),
        ]
        indexes = [models.Index(fields=["therapist", "status", "starts_at"], name="waitlist_offer_slot_idx")]

    def __str__(self) -> str:
        return f"Waitlist offer {self.pk} ({self.get_status_display()})"

    @staticmethod
    def new_token() -> tuple[str, str]:
        raw = secrets.token_urlsafe(32)
        return raw, WaitlistOffer.hash_token(raw)

    @staticmethod
    def hash_token(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()


# --- Group sessions (classes) ------------------------------------------------------------------
# See knotwork/bookings/classes.py and docs/bookings.md, "Group sessions".


class ClassStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"


class SeatStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    CANCELLED = "cancelled", "Cancelled"


class ClassSession(LocalTimes, models.Model):
    """One group session (a stretching class, say): one therapist's block of time with many seats.

    The class keeps its therapist (and room) busy through ``block``: one appointment row written
    with the class that the database overlap guards of migration 0002 see like any other, so no
    1:1 booking can land on the class and no class on a booking. ``seats_taken`` counts the booked
    seats; a CHECK constraint holds it between 0 and ``capacity``, so the database itself refuses
    an over-full class however the row is written.
    """

    MIN_CAPACITY, MAX_CAPACITY = 2, 50

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="class_sessions")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", help_text="Who leads it.")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=80)
    room = models.ForeignKey(Room, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField(validators=[MinValueValidator(MIN_CAPACITY), MaxValueValidator(MAX_CAPACITY)])
    seats_taken = models.PositiveSmallIntegerField(default=0)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, default="GBP", validators=[currency_code])
    status = models.CharField(max_length=10, choices=ClassStatus.choices, default=ClassStatus.SCHEDULED)
    block = models.OneToOneField(
        Appointment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="class_session",
        help_text="The therapist's time it takes.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="class_ends_after_start"),
            models.CheckConstraint(condition=Q(capacity__gte=2, capacity__lte=50), name="class_capacity_2_to_50"),
            models.CheckConstraint(
                condition=Q(seats_taken__gte=0, seats_taken__lte=models.F("capacity")), name="class_seats_within_capacity"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="class_price_not_negative"),
        ]
        indexes = [models.Index(fields=["clinic", "starts_at"], name="class_clinic_start_idx")]

    def __str__(self) -> str:
        return f"{self.name} at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def seats_free(self) -> int:
        return max(self.capacity - self.seats_taken, 0)

    @property
    def is_full(self) -> bool:
        return self.seats_taken >= self.capacity

    @property
    def is_scheduled(self) -> bool:
        return self.status == ClassStatus.SCHEDULED

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class ClassSeat(models.Model):
    """One client's place in a class. A client holds at most one booked seat per class."""

    class_session = models.ForeignKey(ClassSession, on_delete=models.CASCADE, related_name="seats")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="class_seats")
    status = models.CharField(max_length=10, choices=SeatStatus.choices, default=SeatStatus.BOOKED)
    booked_at = models.DateTimeField(default=timezone.now)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["booked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["class_session", "client"], condition=Q(status="booked"), name="class_seat_once_per_client"),
        ]

    def __str__(self) -> str:
        return f"Seat {self.pk} ({self.get_status_display()})"

    @property
    def is_booked(self) -> bool:
        return self.status == SeatStatus.BOOKED
