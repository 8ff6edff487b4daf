"""Every money write: drafts and their lines, issuing, voiding, credit notes, payments and refunds.

Each runs in one transaction and writes its ledger entries and audit event inside it, so a
refusal or a crash leaves nothing half-written. Rows are re-read under ``select_for_update``
(the clinic's billing-settings row first, then the invoice, then the clinic's number counter,
then the audit chain), so two desks acting at once queue instead of both winning, and always
in the same order, so they never deadlock. SQLite takes its write lock when the transaction starts
(``transaction_mode=IMMEDIATE`` in settings), which gives the same queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from knotwork.accounts.models import Clinic, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.billing import money
from knotwork.billing.models import (
    BillingSettings,
    ClientPackage,
    DocumentKind,
    GiftCard,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    InvoiceStatus,
    LedgerEntry,
    LedgerKind,
    LineKind,
    Payment,
    PaymentMethod,
    TaxRate,
)
from knotwork.billing.selectors import invoice_money, payment_pockets, settings_for, store_credit
from knotwork.bookings.models import Appointment
from knotwork.clients.models import Client

ZERO = Decimal("0.00")


class BillingError(Exception):
    """A money request that cannot be honoured; ``message`` is a sentence for the person asking."""

    status = 422
    code = "unprocessable"

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidAmount(BillingError):
    """An amount that is not a usable amount of money (negative, zero, too precise, too large)."""

    status = 400
    code = "validation_error"


class InvoiceLocked(BillingError):
    """The invoice is no longer a draft (or no longer issued): someone else got there first."""

    status = 409
    code = "conflict"


def _amount(raw: object, currency: str, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    try:
        return money.parse_amount(raw, currency, allow_zero=allow_zero)
    except money.MoneyError as exc:
        raise InvalidAmount(str(exc), field=field) from None


def _lock_clinic(clinic_id: int) -> None:
    """Every money write of a clinic queues here first, on its billing-settings row.

    One lock taken first, always, keeps the order of the locks that follow (invoice rows, the
    number counter, the audit chain's head) the same in every transaction, so two desks can never
    deadlock. It costs little: every money write also appends to the clinic's audit chain, which
    queues them anyway.
    """
    BillingSettings.objects.get_or_create(clinic_id=clinic_id)
    BillingSettings.objects.select_for_update().filter(clinic_id=clinic_id).first()


def _locked(invoice: Invoice) -> Invoice:
    """The invoice re-read under lock (after the clinic's), so its status is the current one."""
    _lock_clinic(invoice.clinic_id)
    # of=("self",): lock the invoice row only, not the clinic and client rows joined to it.
    return Invoice.objects.select_for_update(of=("self",)).select_related("clinic", "client").get(pk=invoice.pk)


def _role(actor: User | None, clinic: Clinic | int) -> str:
    from knotwork.accounts.permissions import membership_for

    if actor is None:
        return "system"  # the payment provider's confirmation (a webhook), not a person

    membership = membership_for(actor, clinic if isinstance(clinic, int) else clinic.pk)
    return membership.role if membership else ""


# --- Drafts -----------------------------------------------------------------------------------


@transaction.atomic
def invoice_create(*, clinic: Clinic, client: Client, actor: User, appointment: Appointment | None = None) -> Invoice:
    """A new draft invoice in the clinic's currency and pricing."""
    if client.clinic_id != clinic.pk or (appointment is not None and appointment.clinic_id != clinic.pk):
        raise BillingError("That client is not in this clinic.", field="client")
    _lock_clinic(clinic.pk)
    conf = settings_for(clinic)
    invoice = Invoice.objects.create(
        clinic=clinic,
        client=client,
        appointment=appointment,
        currency=conf.currency,
        prices_include_tax=conf.prices_include_tax,
        created_by=actor,
    )
    audit_record(
        action=Action.CREATE, obj=invoice, actor=actor, role=_role(actor, clinic), detail={"appointment": appointment and appointment.pk}
    )
    return invoice


@transaction.atomic
def invoice_from_appointment(*, appointment: Appointment, actor: User) -> Invoice:
    """Check-out: the appointment's open invoice, or a new draft with its service as the first line.

    Priced at what the appointment was booked for (its price and currency), for the therapist
    who gave it, on its local date and for its duration — what a receipt for an insurer needs.
    """
    _lock_clinic(appointment.clinic_id)
    appointment = Appointment.objects.select_for_update(of=("self",)).select_related("clinic", "client", "service").get(pk=appointment.pk)
    if appointment.client is None:
        raise BillingError("This appointment has no client to invoice.")
    existing = appointment.invoices.filter(kind=DocumentKind.INVOICE).exclude(status=InvoiceStatus.VOID).order_by("id").first()
    if existing is not None:
        return existing
    conf = settings_for(appointment.clinic)
    if appointment.currency != conf.currency:
        raise BillingError(f"The appointment was priced in {appointment.currency} but the clinic invoices in {conf.currency}.")
    invoice = invoice_create(clinic=appointment.clinic, client=appointment.client, actor=actor, appointment=appointment)
    service = appointment.service
    from knotwork.billing.membership import member_discount

    invoice_line_add(
        invoice=invoice,
        actor=actor,
        kind=LineKind.SERVICE,
        description=service.name,
        unit_price=appointment.price,
        discount=member_discount(client=appointment.client, service=service, unit_price=appointment.price, currency=conf.currency),
        tax_rate=conf.default_tax_rate,
        service=service,
        therapist=appointment.therapist,
        service_date=appointment.local_start.date(),
        duration_minutes=int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
    )
    invoice.refresh_from_db()
    return invoice


def _recompute(invoice: Invoice) -> None:
    lines = list(InvoiceLine.objects.filter(invoice=invoice).values_list("net", "tax"))
    invoice.subtotal = sum((n for n, _ in lines), ZERO)
    invoice.tax_total = sum((t for _, t in lines), ZERO)
    invoice.total = invoice.subtotal + invoice.tax_total
    invoice.save(update_fields=["subtotal", "tax_total", "total", "updated_at"])


@transaction.atomic
def invoice_line_add(
    *,
    invoice: Invoice,
    actor: User,
    description: str,
    unit_price: object,
    kind: str = LineKind.OTHER,
    quantity: int = 1,
    discount: object = "0",
    tax_rate: TaxRate | None = None,
    service: Any = None,
    therapist: User | None = None,
    service_date: date | None = None,
    duration_minutes: int | None = None,
    audit_detail: dict[str, Any] | None = None,
) -> InvoiceLine:
    invoice = _locked(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceLocked("This invoice has been issued; lines can no longer be added.")
    if invoice.kind != DocumentKind.INVOICE:
        raise BillingError("Credit notes take their lines from the invoice they credit.")
    if kind not in LineKind.values:
        raise BillingError("Choose what kind of line this is.", field="kind")
    if not description.strip():
        raise BillingError("Describe the line.", field="description")
    if tax_rate is not None and tax_rate.clinic_id != invoice.clinic_id:
        raise BillingError("That tax rate belongs to another clinic.", field="tax_rate")
    price = _amount(unit_price, invoice.currency, field="unit_price", allow_zero=True)
    off = _amount(discount, invoice.currency, field="discount", allow_zero=True)
    if kind == LineKind.TIP:
        from knotwork.billing.tips import check_tip_line

        check_tip_line(invoice=invoice, therapist=therapist, price=price, discount=off, quantity=quantity, taxed=tax_rate is not None)
    percent = tax_rate.rate if tax_rate else ZERO
    try:
        totals = money.line_totals(
            quantity=quantity,
            unit_price=price,
            discount=off,
            tax_percent=percent,
            prices_include_tax=invoice.prices_include_tax,
            currency=invoice.currency,
        )
    except money.MoneyError as exc:
        raise BillingError(str(exc), field="discount" if "discount" in str(exc) else "quantity") from None
    line = InvoiceLine.objects.create(
        invoice=invoice,
        position=invoice.lines.count(),
        kind=kind,
        description=description.strip()[:200],
        service=service,
        therapist=therapist,
        service_date=service_date,
        duration_minutes=duration_minutes,
        quantity=quantity,
        unit_price=price,
        discount=off,
        tax_rate=tax_rate,
        tax_percent=percent,
        net=totals.net,
        tax=totals.tax,
        total=totals.total,
    )
    _recompute(invoice)
    audit_record(
        action=Action.UPDATE, obj=invoice, actor=actor, role=_role(actor, invoice.clinic_id),
        detail={"line_added": line.pk, **(audit_detail or {})},
    )  # fmt: skip
    return line


@transaction.atomic
def invoice_line_remove(*, line: InvoiceLine, actor: User) -> None:
    invoice = _locked(line.invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceLocked("This invoice has been issued; its lines can no longer change.")
    from knotwork.billing import prepaid

    prepaid.forget_unsold(line)
    InvoiceLine.objects.filter(pk=line.pk).delete()
    _recompute(invoice)
    audit_record(action=Action.UPDATE, obj=invoice, actor=actor, role=_role(actor, invoice.clinic_id), detail={"line_removed": line.pk})


# --- Issuing, voiding, crediting ---------------------------------------------------------------


def _next_number(invoice: Invoice, conf: BillingSettings) -> tuple[int, str]:
    """Take the next number of the invoice's sequence. Must run inside the issuing transaction:
    the counter row stays locked until it commits, so numbers are never skipped or repeated
    (a rolled-back issue rolls the counter back with it)."""
    counter, _ = InvoiceCounter.objects.select_for_update().get_or_create(clinic_id=invoice.clinic_id, kind=invoice.kind)
    counter.last += 1
    counter.save(update_fields=["last"])
    prefix = conf.invoice_prefix if invoice.kind == DocumentKind.INVOICE else conf.credit_note_prefix
    return counter.last, f"{prefix}{counter.last:06d}"


def _issue_locked(invoice: Invoice, actor: User, *, now: datetime) -> Invoice:
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvoiceLocked(f"{invoice.number or 'This invoice'} has already been issued.")
    if invoice.total <= 0:
        raise BillingError("Add at least one line with a price before issuing; nothing is owed on an empty invoice.")
    from knotwork.billing.tips import tips_over_cap

    if invoice.kind == DocumentKind.INVOICE and (problem := tips_over_cap(invoice)):
        raise BillingError(problem, field="amount")
    conf = settings_for(invoice.clinic)
    invoice.sequence, invoice.number = _next_number(invoice, conf)
    invoice.status = InvoiceStatus.ISSUED
    invoice.issued_at = now
    invoice.due_on = timezone.localdate(now, timezone=invoice.clinic.tz) + timedelta(days=conf.payment_terms_days)
    invoice.save(update_fields=["sequence", "number", "status", "issued_at", "due_on", "updated_at"])
    credit = invoice.kind == DocumentKind.CREDIT_NOTE
    LedgerEntry.objects.create(
        clinic_id=invoice.clinic_id,
        client_id=invoice.client_id,
        kind=LedgerKind.CREDIT if credit else LedgerKind.CHARGE,
        amount=-invoice.total if credit else invoice.total,
        currency=invoice.currency,
        invoice=invoice,
        created_by=actor,
        at=now,
    )
    audit_record(
        action=Action.UPDATE,
        obj=invoice,
        actor=actor,
        role=_role(actor, invoice.clinic_id),
        detail={"event": "issue", "number": invoice.number},
    )
    return invoice


@transaction.atomic
def invoice_issue(*, invoice: Invoice, actor: User) -> Invoice:
    """Number the draft (the clinic's next number, taken now) and charge it to the client's account."""
    return _issue_locked(_locked(invoice), actor, now=timezone.now())


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor: User, reason: str) -> Invoice:
    """Cancel an issued invoice that should never have been: its number stays taken, its charge is reversed."""
    reason = (reason or "").strip()
    if not reason:
        raise BillingError("Give the reason for voiding; it is kept with the invoice.", field="reason")
    invoice = _locked(invoice)
    if invoice.status != InvoiceStatus.ISSUED:
        raise InvoiceLocked("Only an issued invoice can be voided." if invoice.is_draft else f"{invoice.number} is already void.")
    if invoice.kind == DocumentKind.CREDIT_NOTE:
        raise BillingError("A credit note cannot be voided; issue a new invoice for the amount instead.")
    if invoice.credit_notes.exists():
        raise BillingError("This invoice has credit notes; credit its remaining lines instead of voiding it.")
    if invoice_money(invoice).paid > 0:
        raise BillingError("Payments are recorded against this invoice. Refund them first, or issue a credit note.")
    now = timezone.now()
    invoice.status, invoice.void_reason, invoice.voided_at, invoice.voided_by = InvoiceStatus.VOID, reason[:300], now, actor
    invoice.save(update_fields=["status", "void_reason", "voided_at", "voided_by", "updated_at"])
    LedgerEntry.objects.create(
        clinic_id=invoice.clinic_id,
        client_id=invoice.client_id,
        kind=LedgerKind.VOID,
        amount=-invoice.total,
        currency=invoice.currency,
        invoice=invoice,
        note=reason[:300],
        created_by=actor,
        at=now,
    )
    audit_record(action=Action.UPDATE, obj=invoice, actor=actor, role=_role(actor, invoice.clinic_id), detail={"event": "void"})
    return invoice


@transaction.atomic
def credit_note_create(*, invoice: Invoice, actor: User, line_ids: Sequence[int] | None = None, reason: str = "") -> Invoice:
    """Credit some or all lines of an issued invoice: a credit note, issued at once in its own sequence.

    Each invoice line can be credited once; ``line_ids`` of None credits every line not yet credited.
    """
    reason = (reason or "").strip()
    if not reason:
        raise BillingError("Give the reason for the credit note; it is printed on it.", field="reason")
    invoice = _locked(invoice)
    if invoice.status != InvoiceStatus.ISSUED or invoice.kind != DocumentKind.INVOICE:
        raise InvoiceLocked("Only an issued invoice can be credited.")
    open_lines = invoice.lines.filter(credited_by__isnull=True)
    if line_ids is not None:
        open_lines = open_lines.filter(pk__in=list(line_ids))
    lines = list(open_lines.order_by("position", "id"))
    if not lines or (line_ids is not None and len(lines) != len(set(line_ids))):
        raise BillingError("Choose lines of this invoice that have not been credited yet.", field="lines")
    note = Invoice.objects.create(
        clinic=invoice.clinic,
        client=invoice.client,
        appointment=invoice.appointment,
        kind=DocumentKind.CREDIT_NOTE,
        credit_for=invoice,
        currency=invoice.currency,
        prices_include_tax=invoice.prices_include_tax,
        note=reason[:300],
        created_by=actor,
    )
    for position, line in enumerate(lines):
        InvoiceLine.objects.create(
            invoice=note,
            position=position,
            kind=line.kind,
            description=line.description,
            service=line.service,
            therapist=line.therapist,
            service_date=line.service_date,
            duration_minutes=line.duration_minutes,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=line.discount,
            tax_rate=line.tax_rate,
            tax_percent=line.tax_percent,
            net=line.net,
            tax=line.tax,
            total=line.total,
            credits_line=line,
        )
    _recompute(note)
    audit_record(action=Action.CREATE, obj=note, actor=actor, role=_role(actor, invoice.clinic_id), detail={"credit_for": invoice.pk})
    from knotwork.billing import prepaid

    # A credited gift-card or package line cancels what it sold (refused if already used).
    prepaid.prepaid_cancel(lines=lines, actor=actor, event="credit_note", document=note)
    return _issue_locked(note, actor, now=timezone.now())


# --- Payments and refunds ---------------------------------------------------------------------


def _entry(payment: Payment, kind: str, amount: Decimal, *, invoice: Invoice | None, actor: User | None, note: str = "") -> LedgerEntry:
    return LedgerEntry.objects.create(
        clinic_id=payment.clinic_id,
        client_id=payment.client_id,
        kind=kind,
        amount=amount,
        currency=payment.currency,
        invoice=invoice,
        payment=payment,
        note=note,
        created_by=actor,
    )


@transaction.atomic
def payment_record(
    *,
    clinic: Clinic,
    client: Client,
    actor: User | None,
    method: str,
    amount: object,
    currency: str,
    invoices: Sequence[Invoice] = (),
    reference: str = "",
    at: datetime | None = None,
    intent_id: str = "",
    gift_card: GiftCard | None = None,
    package: ClientPackage | None = None,
    member: Any = None,
) -> Payment:
    """Money received: applied to ``invoices`` in order, each up to what it still owes; whatever is
    left becomes the client's store credit. Paying with store credit spends that credit instead.

    An online card payment names its provider's ``intent_id`` (and has no ``actor``: the provider's
    confirmation records it); nobody records one by hand.

    A gift-card payment names its ``gift_card`` and a package-session payment its ``package``
    (one session, for one invoice), and a membership-credit payment its ``member`` (the
    ``ClientMembership``; one credit, for one invoice); like store credit, none can pay more than is
    owed. An invoice paid in full here activates the gift cards and packages sold on it and marks a
    membership period it bills paid.
    """
    from knotwork.billing import prepaid, receipt_email

    if client.clinic_id != clinic.pk:
        raise BillingError("That client is not in this clinic.", field="client")
    if method not in PaymentMethod.values:
        raise BillingError("Choose how the client paid.", field="method")
    if (method == PaymentMethod.CARD_ONLINE) != bool(intent_id):
        raise BillingError("Online card payments are recorded by the card provider's confirmation, not by hand.", field="method")
    if (method == PaymentMethod.GIFT_CARD) != (gift_card is not None):
        raise BillingError("A gift-card payment needs the gift card's code.", field="gift_card_code")
    if (method == PaymentMethod.PACKAGE) != (package is not None):
        raise BillingError("A package-session payment needs the package.", field="package")
    if (method == PaymentMethod.MEMBERSHIP) != (member is not None):
        raise BillingError("A membership-credit payment needs the membership.", field="membership")
    try:
        money.check_currency(currency)
    except money.MoneyError as exc:
        raise InvalidAmount(str(exc), field="currency") from None
    value = _amount(amount, currency)
    _lock_clinic(clinic.pk)
    order = [i.pk for i in invoices]
    if len(set(order)) != len(order):
        raise BillingError("Each invoice can be named once.", field="invoices")
    targets = sorted((_locked(i) for i in sorted(invoices, key=lambda i: i.pk)), key=lambda i: order.index(i.pk))
    for invoice in targets:
        if invoice.client_id != client.pk or invoice.clinic_id != clinic.pk:
            raise BillingError("That invoice is not this client's.", field="invoices")
        if invoice.status != InvoiceStatus.ISSUED or invoice.kind != DocumentKind.INVOICE:
            raise BillingError(f"{invoice} is not an issued invoice; only issued invoices take payments.", field="invoices")
        if invoice.currency != currency:
            raise BillingError(f"{invoice.number} is in {invoice.currency}; a payment in {currency} cannot pay it.", field="currency")
    if method == PaymentMethod.STORE_CREDIT and value > store_credit(client, currency):
        raise BillingError(
            f"The client has only {money.format_money(store_credit(client, currency), currency)} of store credit.", field="amount"
        )
    prepaid_method = method in (PaymentMethod.STORE_CREDIT, PaymentMethod.GIFT_CARD, PaymentMethod.PACKAGE, PaymentMethod.MEMBERSHIP)
    if prepaid_method and not targets:
        raise BillingError("Name the invoice this pays.", field="invoices")
    if gift_card is not None:
        gift_card = prepaid.gift_card_check(gift_card, clinic_id=clinic.pk, currency=currency, value=value)
    package_line = None
    if package is not None:
        if len(targets) != 1:
            raise BillingError("A package session pays one invoice.", field="invoices")
        package, package_line = prepaid.package_check(package, invoice=targets[0], client=client)
        if value != prepaid.package_amount(targets[0], package_line):
            raise BillingError(f"A package session pays {prepaid.package_amount(targets[0], package_line)} here.", field="amount")
    member_line = None
    if member is not None:
        from knotwork.billing import membership

        if len(targets) != 1:
            raise BillingError("A membership credit pays one invoice.", field="invoices")
        member, member_line = membership.credit_check(member, invoice=targets[0], client=client)
        if value != prepaid.package_amount(targets[0], member_line):
            raise BillingError(f"A membership credit pays {prepaid.package_amount(targets[0], member_line)} here.", field="amount")
    if method in (PaymentMethod.PACKAGE, PaymentMethod.MEMBERSHIP):
        from knotwork.billing.tips import refuse_session_payment

        if problem := refuse_session_payment(targets[0], value):
            raise BillingError(problem, field="package" if method == PaymentMethod.PACKAGE else "membership")
    payment = Payment.objects.create(
        clinic=clinic, client=client, method=method, amount=value, currency=currency, reference=reference.strip()[:100],
        received_by=actor, at=at or timezone.now(), intent_id=intent_id,
    )  # fmt: skip
    left = value
    for invoice in targets:
        owed = invoice_money(invoice).balance
        applied = min(left, owed)
        if applied > 0:
            _entry(payment, LedgerKind.PAYMENT, -applied, invoice=invoice, actor=actor)
            left -= applied
    if prepaid_method and left > 0:
        names: dict[str, str] = {PaymentMethod.STORE_CREDIT: "Store credit", PaymentMethod.GIFT_CARD: "A gift card"}
        what = names.get(method, "A package session")
        field = "gift_card_amount" if method == PaymentMethod.GIFT_CARD else "amount"
        raise BillingError(f"{what} can pay only what the chosen invoices still owe.", field=field)
    if method == PaymentMethod.STORE_CREDIT:
        _entry(payment, LedgerKind.REDEMPTION, value, invoice=None, actor=actor)
    elif left > 0:
        _entry(payment, LedgerKind.CREDIT, -left, invoice=None, actor=actor, note="overpayment kept as store credit")
    if gift_card is not None:
        prepaid.gift_card_spend(gift_card, payment, actor)
    if package is not None and package_line is not None:
        prepaid.package_spend(package, package_line, payment, actor)
    if member is not None and member_line is not None:
        membership.credit_spend(member, member_line, payment, actor)
    audit_record(
        action=Action.CREATE,
        obj=payment,
        actor=actor,
        role=_role(actor, clinic),
        detail={
            "invoices": [i.pk for i in targets], "store_credit": str(left), **({"intent": intent_id} if intent_id else {}),
            **({"gift_card": gift_card.pk} if gift_card else {}), **({"package": package.pk} if package else {}),
            **({"membership": member.pk} if member else {}),
        },
    )  # fmt: skip
    for invoice in targets:
        if invoice_money(invoice).balance <= 0:
            prepaid.activate_paid(invoice, actor)
    receipt_email.on_payment_recorded(payment)  # the receipt e-mail, once, after the commit
    return payment


def _refund_plan(payment: Payment, value: Decimal) -> list[tuple[int | None, Decimal]]:
    """Where a refund of ``value`` comes off: (invoice id or None for store credit, amount), in order."""
    pockets = payment_pockets(payment)
    available = store_credit(payment.client, payment.currency)
    limit = sum((p.amount for p in pockets if p.invoice_id is not None), ZERO) + min(
        next((p.amount for p in pockets if p.invoice_id is None), ZERO), max(available, ZERO)
    )
    if value > limit:
        raise BillingError(f"At most {money.format_money(limit, payment.currency)} of this payment can be refunded.", field="amount")
    plan: list[tuple[int | None, Decimal]] = []
    left = value
    for pocket in pockets:
        if left <= 0:
            break
        room = min(pocket.amount, max(available, ZERO)) if pocket.invoice_id is None else pocket.amount
        take = min(left, room)
        if take > 0:
            plan.append((pocket.invoice_id, take))
            left -= take
    return plan


def payment_refund_check(*, payment: Payment, amount: object) -> None:
    """Refuse now what ``payment_refund`` would refuse for the gift cards and packages a refund
    would leave unpaid, so a refund sent to the card provider first is never one the ledger then
    declines. Writes nothing."""
    from knotwork.billing import prepaid

    plan = {invoice_id: take for invoice_id, take in _refund_plan(payment, _amount(amount, payment.currency)) if invoice_id}
    for invoice in Invoice.objects.filter(pk__in=list(plan)):
        prepaid.refund_check(invoice, plan[invoice.pk])


@transaction.atomic
def payment_refund(*, payment: Payment, actor: User | None, amount: object, reason: str = "", provider_refund: str = "") -> Decimal:
    """Give back part or all of a payment; never more than is still there to give back.

    Store credit the payment created is refunded first, then what it paid on invoices, newest
    first (each of those invoices owes that much again unless it was credited). A store-credit
    payment is refunded to store credit. Returns the amount refunded.

    An online card payment is refunded through its provider first (``online.refund_payment``),
    which passes the provider's refund id here; without one it is refused, so the ledger never
    says money went back to a card when it did not.
    """
    if payment.method == PaymentMethod.CARD_ONLINE and not provider_refund:
        raise BillingError("An online card payment is refunded through the card provider; use the refund page.")
    value = _amount(amount, payment.currency)
    _lock_clinic(payment.clinic_id)
    from knotwork.billing import prepaid

    if payment.method == PaymentMethod.PACKAGE and value != payment.amount:
        prepaid.package_restore(payment, value, actor)  # refuses: a session is given back whole
    if payment.method == PaymentMethod.MEMBERSHIP and value != payment.amount:
        from knotwork.billing.membership import credit_restore

        credit_restore(payment, value, actor)  # refuses: a credit is given back whole
    plan = _refund_plan(payment, value)
    note = (reason or "").strip()[:300]
    invoices = {i.pk: i for i in Invoice.objects.filter(pk__in=[invoice_id for invoice_id, _ in plan if invoice_id])}
    for invoice_id, take in plan:
        _entry(payment, LedgerKind.REFUND, take, invoice=invoices.get(invoice_id or 0), actor=actor, note=note)
        if payment.method == PaymentMethod.STORE_CREDIT:
            _entry(payment, LedgerKind.CREDIT, -take, invoice=None, actor=actor, note="refunded to store credit")
    for invoice in invoices.values():
        # A refund that leaves a sale of gift cards or packages unpaid cancels them. A refund the
        # card provider has already made (no actor: its webhook) is recorded whatever they hold.
        prepaid.prepaid_unpaid_by_refund(invoice, actor, strict=actor is not None)
    if payment.method == PaymentMethod.GIFT_CARD:
        prepaid.gift_card_restore(payment, value, actor)
    elif payment.method == PaymentMethod.PACKAGE:
        prepaid.package_restore(payment, value, actor)
    elif payment.method == PaymentMethod.MEMBERSHIP:
        from knotwork.billing.membership import credit_restore

        credit_restore(payment, value, actor)
    audit_record(
        action=Action.UPDATE,
        obj=payment,
        actor=actor,
        role=_role(actor, payment.clinic_id),
        detail={"event": "refund", "amount": str(value), **({"provider_refund": provider_refund} if provider_refund else {})},
    )
    return value


@transaction.atomic
def checkout_issue_and_pay(
    *, invoice: Invoice, actor: User, method: str, amount: object, reference: str = ""
) -> tuple[Invoice, Payment | None]:
    """The desk's one step: issue the draft and take a payment for it. Either both happen or neither."""
    issued = invoice_issue(invoice=invoice, actor=actor)
    if amount is None:
        return issued, None
    payment = payment_record(
        clinic=issued.clinic, client=issued.client, actor=actor, method=method, amount=amount, currency=issued.currency,
        invoices=[issued], reference=reference,
    )  # fmt: skip
    return issued, payment
