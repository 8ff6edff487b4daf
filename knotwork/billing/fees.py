"""Cancellation and no-show fees: the clinic's policy in one sentence, the fee invoiced when an
appointment is missed, charged to the saved card off-session (automatically by a task, or by the
desk's one click), and waived with a reason (docs/money.md, "Card on file and fees").

**When a fee is due.** The appointment became a no-show or a late cancellation, it has a client,
its service asks for a card on file (``Service.PaymentPolicy.CARD_ON_FILE``) and the clinic's
policy puts a price on that kind of miss. A service that did not ask for a card never costs a fee,
saved card or not: the client was not told of one when booking.

**Charging exactly once.** The charge's idempotency key (invoice, attempt, amount) is committed
before the provider is called, and the call is made holding the clinic's money lock, so two
workers queue and the second finds the first one's intent. A worker that dies mid-charge leaves
the key: the next run sends the same key, and the provider answers with the same payment instead
of a second one. Money is recorded by ``online.record_card_payment`` — the webhook's own path — so
whether the task or the webhook sees the success first, there is one payment. The webhook also
adopts a fee's intent its worker never wrote down (the intent carries the fee's id).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django_tasks import task

from knotwork.accounts.models import Clinic, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.billing import money, offsession, services
from knotwork.billing.client_text import money_text
from knotwork.billing.models import (
    BillingSettings,
    CardIntent,
    ChargeMode,
    Fee,
    FeeBasis,
    FeeKind,
    FeePolicy,
    FeeStatus,
    InvoiceStatus,
    LineKind,
    Payment,
    SavedCard,
    default_currency,
)
from knotwork.billing.providers import Intent, PaymentProvider, get_provider
from knotwork.billing.selectors import invoice_money, settings_for
from knotwork.billing.services import BillingError, InvoiceLocked, _lock_clinic
from knotwork.bookings.models import Appointment, AppointmentStatus, BookingPolicy, Service

log = logging.getLogger(__name__)
ZERO = Decimal("0.00")
STALE_AFTER = timedelta(minutes=10)
FEE_WORDS: dict[str, str] = {FeeKind.LATE_CANCEL: "Late cancellation fee", FeeKind.NO_SHOW: "No-show fee"}
MISSED = {AppointmentStatus.NO_SHOW: FeeKind.NO_SHOW, AppointmentStatus.LATE_CANCELLED: FeeKind.LATE_CANCEL}

DECLINED = "The card was declined. Ask the client for another card, or take the payment at the desk."
NO_CARD = "No card is saved. Ask the client to save one from their portal, or take the payment at the desk."
UNREACHABLE = "The card service could not be reached, so it is not known whether the card was charged. Try again later."
ACTION = "The client's bank wants the client to approve this charge. Ask them to pay the invoice from their portal."


# --- The policy ---------------------------------------------------------------------------------


def _terms(policy: FeePolicy, kind: str) -> tuple[str, Decimal]:
    if kind == FeeKind.NO_SHOW:
        return policy.no_show_basis, policy.no_show_value
    return policy.late_cancel_basis, policy.late_cancel_value


def fee_amount(policy: FeePolicy, kind: str, *, price: Decimal, currency: str) -> Decimal:
    """What ``kind`` of miss costs for an appointment priced ``price``: a fixed amount, or a
    percentage of the price rounded half-up to the currency's minor unit."""
    basis, value = _terms(policy, kind)
    if basis == FeeBasis.FIXED:
        return money.quantize(value, currency)
    if basis == FeeBasis.PERCENT:
        return money.percent_of(price, value, currency)
    return ZERO


def _cost(policy: FeePolicy, kind: str, currency: str, service: Service | None) -> str:
    basis, value = _terms(policy, kind)
    if basis == FeeBasis.FIXED:
        return money_text(money.quantize(value, currency), currency)
    share = gettext("%(percent)s %% of the price") % {"percent": f"{value.normalize():f}"}
    if service is not None and service.price > 0:
        return f"{share} ({money_text(money.percent_of(service.price, value, service.currency), service.currency)})"
    return share


def _charges(policy: FeePolicy, kind: str) -> bool:
    basis, value = _terms(policy, kind)
    return basis != FeeBasis.NONE and value > 0


def policy_sentence(clinic: Clinic, service: Service | None = None) -> str:
    """The clinic's cancellation and no-show fees in plain words, for the booking settings and the
    booking pages; empty when nothing is charged (or ``service`` does not ask for a card).

    "Cancelling less than 24 hours before, or missing the appointment, costs GBP 30.00, charged to
    the card you save."
    """
    if service is not None and not service.keeps_card:
        return ""
    policy = FeePolicy.for_clinic(clinic)
    hours = BookingPolicy.for_clinic(clinic).cancel_notice_hours
    # Read, never created, here: this sentence shows on pages outside billing.
    currency = BillingSettings.objects.filter(clinic=clinic).values_list("currency", flat=True).first() or default_currency()
    late = _charges(policy, FeeKind.LATE_CANCEL) and hours > 0
    missed = _charges(policy, FeeKind.NO_SHOW)
    # Whole sentences, in the active language: the portal and the booking pages show them to clients.
    if late and missed:
        late_cost, missed_cost = _cost(policy, FeeKind.LATE_CANCEL, currency, service), _cost(policy, FeeKind.NO_SHOW, currency, service)
        if late_cost == missed_cost:
            return ngettext(
                "Cancelling less than %(hours)s hour before, or missing the appointment, costs %(cost)s, charged to the card you save.",
                "Cancelling less than %(hours)s hours before, or missing the appointment, costs %(cost)s, charged to the card you save.",
                hours,
            ) % {"hours": hours, "cost": late_cost}
        return ngettext(
            "Cancelling less than %(hours)s hour before costs %(late)s, and missing the appointment costs %(missed)s, "
            "charged to the card you save.",
            "Cancelling less than %(hours)s hours before costs %(late)s, and missing the appointment costs %(missed)s, "
            "charged to the card you save.",
            hours,
        ) % {"hours": hours, "late": late_cost, "missed": missed_cost}
    if late:
        return ngettext(
            "Cancelling less than %(hours)s hour before costs %(cost)s, charged to the card you save.",
            "Cancelling less than %(hours)s hours before costs %(cost)s, charged to the card you save.",
            hours,
        ) % {"hours": hours, "cost": _cost(policy, FeeKind.LATE_CANCEL, currency, service)}
    if missed:
        return gettext("Missing the appointment costs %(cost)s, charged to the card you save.") % {
            "cost": _cost(policy, FeeKind.NO_SHOW, currency, service)
        }
    return ""


CARD_CHOICES = (Service.PaymentPolicy.NONE, Service.PaymentPolicy.CARD_ON_FILE)
"""The payment policies the fee page switches between."""


@transaction.atomic
def policy_save(*, policy: FeePolicy, card_services: list[Service], membership: Any) -> FeePolicy:
    """The owner's fee policy, and which of the clinic's services ask for a card on file."""
    clinic = membership.clinic
    policy.clinic = clinic
    created = policy.pk is None
    policy.save()
    chosen = {s.pk for s in card_services if s.clinic_id == clinic.pk}
    # Services taking a deposit or prepayment keep a card anyway; they are set on the service itself.
    offered = Service.objects.filter(clinic=clinic, is_active=True, payment_policy__in=CARD_CHOICES)
    turned_on = list(offered.filter(pk__in=chosen).exclude(payment_policy=Service.PaymentPolicy.CARD_ON_FILE).values_list("pk", flat=True))
    turned_off = list(offered.exclude(pk__in=chosen).filter(payment_policy=Service.PaymentPolicy.CARD_ON_FILE).values_list("pk", flat=True))
    Service.objects.filter(pk__in=turned_on).update(payment_policy=Service.PaymentPolicy.CARD_ON_FILE)
    Service.objects.filter(pk__in=turned_off).update(payment_policy=Service.PaymentPolicy.NONE)
    audit_record(
        action=Action.CREATE if created else Action.UPDATE, obj=policy, clinic=clinic, role=membership.role,
        detail={"card_on_file": sorted(turned_on), "no_card": sorted(turned_off)},
    )  # fmt: skip
    return policy


# --- From bookings ------------------------------------------------------------------------------


def fee_due(appointment: Appointment) -> bool:
    """Whether the appointment, as it stands, costs its client a fee (see the module docstring)."""
    kind = MISSED.get(appointment.status)  # type: ignore[call-overload]
    if kind is None or appointment.client_id is None or not appointment.service.keeps_card:
        return False
    return _charges(FeePolicy.for_clinic(appointment.clinic_id), kind)


def on_missed(appointment: Appointment) -> None:
    """Bookings calls this when an appointment becomes a no-show or a late cancellation: when a fee
    is due, a task invoices it (and charges it, in automatic mode) after the commit."""
    if fee_due(appointment):
        appointment_id = appointment.pk
        transaction.on_commit(lambda: invoice_fee.enqueue(appointment_id))


@transaction.atomic
def fee_create(*, appointment_id: int) -> Fee | None:
    """Invoice the fee of a missed appointment, once: a draft with one fee line, issued at once.
    None when no fee is due (any more)."""
    appointment = Appointment.objects.select_related("clinic", "client", "service", "therapist").filter(pk=appointment_id).first()
    if appointment is None or appointment.client_id is None or not fee_due(appointment):
        return None
    client_id: int = appointment.client_id
    _lock_clinic(appointment.clinic_id)
    existing = Fee.objects.filter(appointment_id=appointment.pk).first()
    if existing is not None:
        return existing
    kind = MISSED[appointment.status]  # type: ignore[index]
    conf = settings_for(appointment.clinic)
    if appointment.currency != conf.currency:
        log.warning(
            "no fee for appointment %s: priced in %s, the clinic invoices in %s", appointment.pk, appointment.currency, conf.currency
        )
        return None
    policy = FeePolicy.for_clinic(appointment.clinic_id)
    amount = fee_amount(policy, kind, price=appointment.price, currency=conf.currency)
    if amount <= 0:
        return None
    system = cast(User, None)  # the fee is the clinic's policy at work, not a person's act
    invoice = services.invoice_create(clinic=appointment.clinic, client=appointment.client, actor=system, appointment=appointment)  # type: ignore[arg-type]
    day = appointment.local_start.date()
    services.invoice_line_add(
        invoice=invoice, actor=system, kind=LineKind.FEE, unit_price=amount, tax_rate=conf.default_tax_rate,
        description=f"{FEE_WORDS[kind]}: {appointment.service.name} on {day:%-d %b %Y}", service=appointment.service,
        therapist=appointment.therapist, service_date=day,
    )  # fmt: skip
    invoice = services.invoice_issue(invoice=invoice, actor=system)
    has_card = SavedCard.objects.filter(client_id=client_id).exists()
    automatic = policy.charge_mode == ChargeMode.AUTOMATIC
    status = FeeStatus.NO_CARD if not has_card else FeeStatus.QUEUED if automatic else FeeStatus.TO_CHARGE
    fee = Fee.objects.create(
        clinic_id=appointment.clinic_id, client_id=client_id, appointment=appointment, invoice=invoice, kind=kind,
        amount=invoice.total, currency=invoice.currency, status=status, problem="" if has_card else NO_CARD,
    )  # fmt: skip
    audit_record(
        action=Action.CREATE, obj=fee, clinic=appointment.clinic_id, role="system",
        detail={"appointment": appointment.pk, "invoice": invoice.pk, "kind": kind, "amount": str(fee.amount), "status": status},
    )  # fmt: skip
    if status == FeeStatus.QUEUED:
        fee_id = fee.pk
        transaction.on_commit(lambda: charge_fee.enqueue(fee_id))
    return fee


# --- Charging -----------------------------------------------------------------------------------


_set = offsession.set_status


def _prepare(fee: Fee, provider: PaymentProvider) -> tuple[Fee, str]:
    """Commit the key of the charge about to be sent (unless one is in flight already), so a
    worker that dies during the call resends the same key. '' when there is nothing to charge."""
    with transaction.atomic():
        _lock_clinic(fee.clinic_id)
        fee = Fee.objects.select_for_update(of=("self",)).select_related("invoice").get(pk=fee.pk)
        if fee.status in (FeeStatus.PAID, FeeStatus.WAIVED) or fee.intent_id or fee.charge_key:
            return fee, fee.charge_key
        owed = invoice_money(fee.invoice).balance
        if owed <= 0 or fee.invoice.status != InvoiceStatus.ISSUED:
            return fee, ""
        minor = provider.to_minor_units(owed, fee.currency)
        key = offsession.charge_key("fee", fee.invoice_id, fee.attempts + 1, fee.currency, minor)
        Fee.objects.filter(pk=fee.pk).update(charge_key=key)
        fee.charge_key = key
        return fee, key


def fee_charge(*, fee: Fee, actor: User | None, provider: PaymentProvider | None = None) -> Fee:
    """Charge what the fee's invoice still owes to the client's saved card, off-session.

    Safe to run twice, at once, or again after a crash (see the module docstring). A decline, a
    missing card or an unreachable provider leaves the invoice owing and the fee on the desk's
    to-do list, with a sentence saying why. Returns the fee as it now stands.
    """
    provider = provider or get_provider()
    if provider is None:
        with transaction.atomic():
            _lock_clinic(fee.clinic_id)
            fee = Fee.objects.select_for_update(of=("self",)).get(pk=fee.pk)
            if fee.status in (FeeStatus.PAID, FeeStatus.WAIVED):
                return fee
            if invoice_money(fee.invoice).balance <= 0:
                return _set(fee, FeeStatus.PAID, charge_key="")  # paid or credited at the desk meanwhile
            return _set(fee, FeeStatus.FAILED, "Online card payments are not set up, so the card cannot be charged.")
    fee, key = _prepare(fee, provider)
    with transaction.atomic():
        _lock_clinic(fee.clinic_id)
        fee = Fee.objects.select_for_update(of=("self",)).select_related("invoice", "client").get(pk=fee.pk)
        if fee.status in (FeeStatus.PAID, FeeStatus.WAIVED):
            return fee
        invoice = fee.invoice
        owed = invoice_money(invoice).balance
        if fee.intent_id:  # a charge was sent: ask how it went rather than charge again
            found = offsession.read_back(provider, fee.intent_id)
            if found is None:
                return _set(fee, FeeStatus.FAILED, UNREACHABLE)
            return _settle(fee, *found, provider, actor)
        if owed <= 0 or invoice.status != InvoiceStatus.ISSUED:
            # Paid (or credited) at the desk meanwhile: nothing left to charge.
            return _set(fee, FeeStatus.PAID, charge_key="")
        charge = offsession.charge_saved_card(
            provider=provider, invoice=invoice, client_id=fee.client_id, clinic_id=fee.clinic_id, owed=owed, currency=fee.currency,
            kind="fee", attempt=fee.attempts + 1, key=key, metadata={"knotwork_fee": str(fee.pk)},
        )  # fmt: skip
        if charge.outcome == "no_card":
            return _set(fee, FeeStatus.NO_CARD, NO_CARD, charge_key="")
        if charge.outcome == "declined":
            _audit(fee, actor, "charge_declined", code=charge.code)
            return _set(fee, FeeStatus.FAILED, DECLINED, attempts=fee.attempts + 1, charge_key="")
        if charge.outcome == "unreachable" or charge.card_intent is None or charge.remote is None:
            # Not known whether the request got through: keep the key, so the retry cannot charge twice.
            return _set(fee, FeeStatus.FAILED, UNREACHABLE)
        fee.intent_id = charge.remote.id
        fee.save(update_fields=["intent_id", "updated_at"])
        _audit(fee, actor, "charge_sent", intent=charge.remote.id)
        return _settle(fee, charge.card_intent, charge.remote, provider, actor)


def _settle(fee: Fee, card_intent: CardIntent, remote: Intent, provider: PaymentProvider, actor: Any) -> Fee:
    """Act on the provider's status of the fee's intent (inside the caller's locked transaction)."""
    outcome = offsession.settle(card_intent, remote, provider, what="fee")
    if outcome == offsession.PAID:
        fee.refresh_from_db()
        return fee if fee.status == FeeStatus.PAID else _set(fee, FeeStatus.PAID, charge_key="")
    if outcome == offsession.PENDING:
        return _set(fee, FeeStatus.CHARGING, "")  # the webhook records it when the bank answers
    _audit(fee, actor, "charge_failed", provider_status=remote.status)
    problem = ACTION if remote.status == "requires_action" else DECLINED
    return _set(fee, FeeStatus.FAILED, problem, attempts=fee.attempts + 1, charge_key="", intent_id="")


def _audit(fee: Fee, actor: Any, event: str, **detail: Any) -> None:
    role = services._role(actor, fee.clinic_id) if actor is not None else "system"
    audit_record(action=Action.UPDATE, obj=fee, clinic=fee.clinic_id, actor=actor, role=role, detail={"event": event, **detail})


def card_payment_recorded(*, invoice_id: int, payment: Payment) -> None:
    """``online.record_card_payment`` calls this for every card payment it records: a fee's invoice
    paid by card marks the fee paid. The receipt e-mail follows from ``payment_record``
    (knotwork.billing.receipt_email), which names the fee when the payment paid one."""
    fee = Fee.objects.filter(invoice_id=invoice_id).exclude(status=FeeStatus.WAIVED).first()
    if fee is None:
        return
    Fee.objects.filter(pk=fee.pk).update(status=FeeStatus.PAID, problem="", charge_key="", intent_id=payment.intent_id)


def adopt_intent(*, intent_id: str, metadata: object, provider: PaymentProvider) -> CardIntent | None:
    """The webhook's fallback for a fee charge whose worker died after the provider took the money
    and before it wrote the intent down: the intent names the fee and its invoice."""
    meta = metadata if isinstance(metadata, dict) else {}
    fee_id, invoice_id = str(meta.get("knotwork_fee", "")), str(meta.get("knotwork_invoice", ""))
    if not (fee_id.isdigit() and invoice_id.isdigit()):
        return None
    fee = Fee.objects.filter(pk=int(fee_id), invoice_id=int(invoice_id)).first()
    if fee is None:
        return None
    _lock_clinic(fee.clinic_id)
    remote = provider.retrieve_payment_intent(intent_id)
    card_intent = offsession.record_intent(
        remote, provider=provider, clinic_id=fee.clinic_id, client_id=fee.client_id, invoice_id=fee.invoice_id,
        key=(fee.charge_key or f"adopted-{intent_id}")[:200],
    )  # fmt: skip
    Fee.objects.filter(pk=fee.pk, intent_id="").update(intent_id=intent_id)
    return card_intent


# --- Waiving ------------------------------------------------------------------------------------


@transaction.atomic
def fee_waive(*, fee: Fee, actor: User, reason: str) -> Fee:
    """The desk lets the client off: a credit note cancels the fee's invoice, with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise BillingError("Give the reason for waiving the fee; it is kept with the fee.", field="reason")
    _lock_clinic(fee.clinic_id)
    fee = Fee.objects.select_for_update(of=("self",)).select_related("invoice").get(pk=fee.pk)
    if fee.status == FeeStatus.WAIVED:
        raise InvoiceLocked("This fee has already been waived.")
    if fee.status == FeeStatus.PAID or invoice_money(fee.invoice).paid > 0:
        raise BillingError("This fee has been paid. Refund the payment from the invoice instead.")
    if fee.intent_id:
        raise BillingError("A card charge for this fee is under way. Wait for it to finish, then refund it if need be.")
    note = services.credit_note_create(invoice=fee.invoice, actor=actor, reason=f"Fee waived: {reason}"[:300])
    _set(fee, FeeStatus.WAIVED, "", waived_by=actor, waived_at=timezone.now(), waive_reason=reason[:300], charge_key="")
    _audit(fee, actor, "waive", reason=reason[:300], credit_note=note.pk)
    return fee


# --- Reads ----------------------------------------------------------------------------------------


def get_fee_for_user(user: Any, fee_id: int, *, write: bool = False) -> tuple[Fee, Any]:
    """A fee for its clinic's owner and front desk; another clinic's (or none) is a 404, a therapist
    gets a 403. A read is audited; a write audits itself."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from knotwork.accounts.models import Capability
    from knotwork.accounts.permissions import membership_for

    fee = Fee.objects.select_related("clinic", "client", "invoice", "appointment__service").filter(pk=fee_id).first()
    membership = membership_for(user, fee.clinic_id) if fee is not None else None
    if fee is None or membership is None or fee.client.restricted_at is not None:
        raise Http404("No such fee")
    if not membership.can(Capability.TAKE_PAYMENTS):
        raise PermissionDenied("Fees are for the front desk and the clinic owner.")
    if not write:
        audit_record(action=Action.VIEW, obj=fee, clinic=fee.clinic_id, role=membership.role)
    return fee, membership


def fee_todo(clinic: Clinic) -> list[Fee]:
    """The fees the desk has to act on, oldest first; one whose invoice no longer owes anything
    (paid in cash at the desk, or credited) is no longer a to-do. Capped at 200 rows."""
    from django.db.models import DecimalField, OuterRef, Q, Subquery, Sum, Value
    from django.db.models.functions import Coalesce

    from knotwork.billing.cardfile_models import FEE_TODO
    from knotwork.billing.models import LedgerEntry

    entries = LedgerEntry.objects.filter(Q(invoice_id=OuterRef("invoice_id")) | Q(invoice__credit_for_id=OuterRef("invoice_id")))
    owed = Subquery(entries.order_by().values("client_id").annotate(s=Sum("amount")).values("s")[:1], output_field=DecimalField())
    # A charge that has been queued or under way for a while (its worker died, or the bank has not
    # answered) is the desk's too: charging again is safe.
    stale = Q(status__in=(FeeStatus.QUEUED, FeeStatus.CHARGING), updated_at__lt=timezone.now() - STALE_AFTER)
    qs = Fee.objects.filter(Q(status__in=FEE_TODO) | stale, clinic=clinic)
    qs = qs.annotate(owed=Coalesce(owed, Value(ZERO), output_field=DecimalField()))
    qs = qs.filter(owed__gt=0).select_related("client", "invoice", "appointment__service", "appointment__clinic")
    return list(qs.order_by("created_at", "id")[:200])


# --- Tasks ----------------------------------------------------------------------------------------


@task()
def invoice_fee(appointment_id: int) -> str:
    """Invoice a missed appointment's fee (the charge, when automatic, follows as its own task)."""
    fee = fee_create(appointment_id=appointment_id)
    return fee.status if fee is not None else "no fee"


@task()
def charge_fee(fee_id: int) -> str:
    """Charge a fee to the saved card. Safe to retry: see fee_charge."""
    fee = Fee.objects.filter(pk=fee_id).first()
    if fee is None:
        return "gone"
    return fee_charge(fee=fee, actor=None).status


@task()
def send_fee_receipt(fee_id: int, payment_id: int) -> bool:
    """Kept for tasks queued before fee receipts became ordinary payment receipts: sends that
    receipt unless it has gone already (knotwork.billing.receipt_email)."""
    from knotwork.billing.receipt_email import SENT, send_payment_receipt

    return bool(send_payment_receipt.call(payment_id) == SENT)
