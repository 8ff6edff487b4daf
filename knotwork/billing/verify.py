"""`knotwork money verify`: recompute everything money-related from first principles and compare.

- every line's totals from its quantity, price, discount and tax rate; every invoice's totals
  from its lines;
- every clinic's numbering: each sequence runs 1..n with no gap and no repeat, its counter says n;
- every issued or void document has exactly its ledger entries (charge; void; credit), drafts none;
- every payment's entries add up to its amount, nothing is refunded twice, no pocket or store
  credit is below zero, and every entry agrees with its invoice and payment on clinic, client
  and currency;
- every card intent marked paid names the online payment recorded for that intent, and every
  online payment came from an intent Knotwork opened;
- every cancelled gift card's and package's ledger ends at zero, cancelled once for all it held
  (nothing, when it was cancelled before it was paid for);
- every gift card's balance and every package's remaining sessions, recomputed from their own
  ledgers, agree with the figure cached on the row, stay within what was bought, and every
  gift-card or package-session payment spent exactly its amount (or one session);
- every membership's credits left, recomputed from its entries, agree with the cached figure, and
  every membership-credit payment used exactly one credit;
- every tip names its therapist and carries no tax or discount, and no package session or
  membership credit paid a tip.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q

from knotwork.billing import money
from knotwork.billing.models import (
    CardIntent,
    CardIntentStatus,
    DocumentKind,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    InvoiceStatus,
    LedgerEntry,
    LedgerKind,
    LineKind,
    Payment,
    PaymentMethod,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Finding:
    clinic_id: int
    what: str

    def __str__(self) -> str:
        return f"clinic {self.clinic_id}: {self.what}"


@dataclass
class Report:
    invoices: int = 0
    payments: int = 0
    entries: int = 0
    findings: list[Finding] | None = None

    @property
    def ok(self) -> bool:
        return not self.findings


def _lines(report: Report, add: list[Finding]) -> None:
    sums: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for line in InvoiceLine.objects.select_related("invoice").iterator(chunk_size=2000):
        inv = line.invoice
        try:
            expected = money.line_totals(
                quantity=line.quantity, unit_price=line.unit_price, discount=line.discount, tax_percent=line.tax_percent,
                prices_include_tax=inv.prices_include_tax, currency=inv.currency,
            )  # fmt: skip
            if (expected.net, expected.tax, expected.total) != (line.net, line.tax, line.total):
                add.append(Finding(inv.clinic_id, f"{inv}: line {line.pk} totals {line.total} but its figures give {expected.total}"))
        except money.MoneyError as exc:
            add.append(Finding(inv.clinic_id, f"{inv}: line {line.pk} is impossible: {exc}"))
        s = sums[inv.pk]
        s[0], s[1], s[2] = s[0] + line.net, s[1] + line.tax, s[2] + line.total
    for inv in Invoice.objects.all().iterator(chunk_size=2000):
        report.invoices += 1
        net, tax, total = sums.get(inv.pk, [ZERO, ZERO, ZERO])
        if (inv.subtotal, inv.tax_total, inv.total) != (net, tax, total):
            add.append(
                Finding(inv.clinic_id, f"{inv}: totals {inv.total} (tax {inv.tax_total}) but its lines add up to {total} (tax {tax})")
            )


def _numbering(add: list[Finding]) -> None:
    sequences: dict[tuple[int, str], list[int]] = defaultdict(list)
    numbers: dict[tuple[int, str], int] = defaultdict(int)
    for clinic_id, kind, seq, number in Invoice.objects.filter(sequence__isnull=False).values_list(
        "clinic_id", "kind", "sequence", "number"
    ):
        sequences[(clinic_id, kind)].append(seq or 0)
        numbers[(clinic_id, number)] += 1
    counters = {(c.clinic_id, c.kind): c.last for c in InvoiceCounter.objects.all()}
    for (clinic_id, kind), seqs in sorted(sequences.items()):
        seen = sorted(seqs)
        repeats = sorted({s for s in seen if seen.count(s) > 1})
        missing = sorted(set(range(1, (seen[-1] if seen else 0) + 1)) - set(seen))
        if repeats:
            add.append(Finding(clinic_id, f"{kind} numbers used twice: {repeats[:10]}"))
        if missing:
            add.append(Finding(clinic_id, f"{kind} numbers missing (a gap): {missing[:10]}"))
        if seen[-1] != counters.get((clinic_id, kind), 0):
            add.append(Finding(clinic_id, f"{kind} counter says {counters.get((clinic_id, kind), 0)} but the highest number is {seen[-1]}"))
    for (clinic_id, kind), last in counters.items():
        if last and (clinic_id, kind) not in sequences:
            add.append(Finding(clinic_id, f"{kind} counter says {last} but nothing is numbered"))
    for (clinic_id, number), count in numbers.items():
        if count > 1:
            add.append(Finding(clinic_id, f"number {number} is on {count} documents"))


def _ledger(report: Report, add: list[Finding]) -> None:
    by_invoice: dict[int, list[LedgerEntry]] = defaultdict(list)
    by_payment: dict[int, list[LedgerEntry]] = defaultdict(list)
    credit: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
    invoices = {i.pk: i for i in Invoice.objects.all()}
    payments = {p.pk: p for p in Payment.objects.all()}
    for e in LedgerEntry.objects.all().iterator(chunk_size=2000):
        report.entries += 1
        if e.invoice_id:
            by_invoice[e.invoice_id].append(e)
            inv = invoices[e.invoice_id]
            if (inv.clinic_id, inv.client_id, inv.currency) != (e.clinic_id, e.client_id, e.currency):
                add.append(Finding(e.clinic_id, f"ledger entry {e.pk} disagrees with {inv} on clinic, client or currency"))
        else:
            credit[(e.client_id, e.currency)] -= e.amount
        if e.payment_id:
            by_payment[e.payment_id].append(e)
            p = payments[e.payment_id]
            if (p.clinic_id, p.client_id, p.currency) != (e.clinic_id, e.client_id, e.currency):
                add.append(Finding(e.clinic_id, f"ledger entry {e.pk} disagrees with payment {p.pk} on clinic, client or currency"))
    for inv in invoices.values():
        entries = by_invoice.get(inv.pk, [])
        kinds = defaultdict(list)
        for e in entries:
            kinds[e.kind].append(e.amount)
        own = LedgerKind.CHARGE if inv.kind == DocumentKind.INVOICE else LedgerKind.CREDIT
        sign = 1 if own == LedgerKind.CHARGE else -1
        if inv.status == InvoiceStatus.DRAFT:
            if entries:
                add.append(Finding(inv.clinic_id, f"draft {inv.pk} has ledger entries"))
            continue
        if kinds.get(own) != [sign * inv.total]:
            add.append(
                Finding(
                    inv.clinic_id, f"{inv} (total {inv.total}) should have one {own} entry of {sign * inv.total}, has {kinds.get(own, [])}"
                )
            )
        if inv.status == InvoiceStatus.VOID and kinds.get(LedgerKind.VOID) != [-inv.total]:
            add.append(
                Finding(inv.clinic_id, f"void {inv} should have one void entry of {-inv.total}, has {kinds.get(LedgerKind.VOID, [])}")
            )
        if inv.status == InvoiceStatus.ISSUED and kinds.get(LedgerKind.VOID):
            add.append(Finding(inv.clinic_id, f"{inv} is issued but has a void entry"))
        if inv.kind == DocumentKind.INVOICE:
            paid = -sum(kinds.get(LedgerKind.PAYMENT, []), ZERO) - sum(kinds.get(LedgerKind.REFUND, []), ZERO)
            if paid < 0:
                add.append(Finding(inv.clinic_id, f"{inv} has more refunded than was paid on it ({paid})"))
    for p in payments.values():
        report.payments += 1
        entries = by_payment.get(p.pk, [])
        applied = -sum((e.amount for e in entries if e.kind == LedgerKind.PAYMENT), ZERO)
        refunded = sum((e.amount for e in entries if e.kind == LedgerKind.REFUND), ZERO)
        if p.method == PaymentMethod.STORE_CREDIT:
            used = sum((e.amount for e in entries if e.kind == LedgerKind.REDEMPTION), ZERO)
            if applied != p.amount or used != p.amount:
                add.append(Finding(p.clinic_id, f"store-credit payment {p.pk} of {p.amount} applied {applied} and used {used} of credit"))
        else:
            kept = -sum((e.amount for e in entries if e.kind == LedgerKind.CREDIT), ZERO)
            if applied + kept != p.amount:
                add.append(
                    Finding(p.clinic_id, f"payment {p.pk} of {p.amount} is accounted for as {applied} applied + {kept} store credit")
                )
        if refunded > p.amount:
            add.append(Finding(p.clinic_id, f"payment {p.pk} of {p.amount} has {refunded} refunded"))
    for (client_id, currency), amount in credit.items():
        if amount < 0:
            add.append(Finding(Payment.objects.filter(client_id=client_id).values_list("clinic_id", flat=True).first() or 0,
                               f"client {client_id} has negative store credit ({currency} {amount})"))  # fmt: skip


def _online(add: list[Finding]) -> None:
    intents = {c.intent_id: c for c in CardIntent.objects.select_related("payment")}
    for card in intents.values():
        if card.status == CardIntentStatus.SUCCEEDED and (card.payment is None or card.payment.intent_id != card.intent_id):
            add.append(Finding(card.clinic_id, f"card intent {card.intent_id} is marked paid without its payment"))
    for p in Payment.objects.filter(method=PaymentMethod.CARD_ONLINE).only("pk", "clinic_id", "intent_id"):
        if p.intent_id not in intents or intents[p.intent_id].clinic_id != p.clinic_id:
            add.append(Finding(p.clinic_id, f"online payment {p.pk} names intent {p.intent_id or '-'}, never opened by this clinic"))


def _prepaid(add: list[Finding]) -> None:
    from knotwork.billing.models import ClientPackage, GiftCard, GiftCardEntry, PackageEntry, PrepaidStatus

    card_sums: dict[int, Decimal] = defaultdict(lambda: ZERO)
    loads: dict[int, list[Decimal]] = defaultdict(list)
    spent: dict[int, Decimal] = defaultdict(lambda: ZERO)
    card_cancels: dict[int, list[Decimal]] = defaultdict(list)
    for e in GiftCardEntry.objects.all().iterator(chunk_size=2000):
        card_sums[e.gift_card_id] += e.amount
        if e.kind == "load":
            loads[e.gift_card_id].append(e.amount)
        elif e.kind == "cancel":
            card_cancels[e.gift_card_id].append(e.amount)
        else:
            spent[e.payment_id or 0] += -e.amount if e.kind == "redemption" else ZERO
    for card in GiftCard.objects.all().iterator(chunk_size=2000):
        derived = card_sums.get(card.pk, ZERO)
        if derived != card.balance:
            add.append(Finding(card.clinic_id, f"{card}: balance says {card.balance} but its ledger adds up to {derived}"))
        if not ZERO <= derived <= card.initial_value:
            add.append(Finding(card.clinic_id, f"{card}: ledger balance {derived} is outside 0..{card.initial_value}"))
        expected_loads = [card.initial_value] if card.status == PrepaidStatus.ACTIVE else []
        if card.status == PrepaidStatus.CANCELLED:
            # Cancelled unused: either never loaded (cancelled while pending, no cancel entry) or
            # loaded once and cancelled once for all of it, so its ledger ends at zero.
            expected_loads = loads.get(card.pk, [])[:1] if loads.get(card.pk) else []
            want = [-card.initial_value] if expected_loads else []
            if card_cancels.get(card.pk, []) != want or derived != ZERO:
                add.append(
                    Finding(card.clinic_id, f"{card} (cancelled): ledger ends at {derived}, cancelled by {card_cancels.get(card.pk, [])}")
                )
        elif card_cancels.get(card.pk):
            add.append(Finding(card.clinic_id, f"{card} ({card.status}) has a cancel entry"))
        if loads.get(card.pk, []) != expected_loads:
            add.append(
                Finding(card.clinic_id, f"{card} ({card.status}) should be loaded with {expected_loads}, has {loads.get(card.pk, [])}")
            )
    for p in Payment.objects.filter(method=PaymentMethod.GIFT_CARD).only("pk", "clinic_id", "amount"):
        if spent.get(p.pk, ZERO) != p.amount:
            add.append(Finding(p.clinic_id, f"gift-card payment {p.pk} of {p.amount} took {spent.get(p.pk, ZERO)} off cards"))
    session_sums: dict[int, int] = defaultdict(int)
    grants: dict[int, list[int]] = defaultdict(list)
    uses: dict[int, int] = defaultdict(int)
    package_cancels: dict[int, list[int]] = defaultdict(list)
    for pe in PackageEntry.objects.all().iterator(chunk_size=2000):
        session_sums[pe.package_id] += pe.sessions
        if pe.kind == "grant":
            grants[pe.package_id].append(pe.sessions)
        elif pe.kind == "cancel":
            package_cancels[pe.package_id].append(pe.sessions)
        elif pe.kind == "use":
            uses[pe.payment_id or 0] += 1
    for package in ClientPackage.objects.all().iterator(chunk_size=2000):
        derived_left = session_sums.get(package.pk, 0)
        if derived_left != package.sessions_left:
            add.append(
                Finding(package.clinic_id, f"package {package.pk}: {package.sessions_left} sessions left, its ledger says {derived_left}")
            )
        if not 0 <= derived_left <= package.sessions_total:
            add.append(Finding(package.clinic_id, f"package {package.pk}: {derived_left} sessions left of {package.sessions_total}"))
        expected = [package.sessions_total] if package.status == PrepaidStatus.ACTIVE else []
        if package.status == PrepaidStatus.CANCELLED:
            expected = [package.sessions_total] if grants.get(package.pk) else []
            want = [-package.sessions_total] if expected else []
            got = package_cancels.get(package.pk, [])
            if got != want or derived_left != 0:
                add.append(
                    Finding(package.clinic_id, f"package {package.pk} (cancelled): ledger ends at {derived_left}, cancelled by {got}")
                )
        elif package_cancels.get(package.pk):
            add.append(Finding(package.clinic_id, f"package {package.pk} ({package.status}) has a cancel entry"))
        if grants.get(package.pk, []) != expected:
            add.append(
                Finding(
                    package.clinic_id,
                    f"package {package.pk} ({package.status}) should be granted {expected}, has {grants.get(package.pk, [])}",
                )
            )
    for p in Payment.objects.filter(method=PaymentMethod.PACKAGE).only("pk", "clinic_id"):
        if uses.get(p.pk, 0) != 1:
            add.append(Finding(p.clinic_id, f"package-session payment {p.pk} used {uses.get(p.pk, 0)} sessions, not one"))


def _memberships(add: list[Finding]) -> None:
    """Each membership's cached credits equal its entries' sum (never below zero), each paid
    period granted at most once, and every membership-credit payment used exactly one credit."""
    from knotwork.billing.models import ClientMembership, MembershipEntry

    sums: dict[int, int] = defaultdict(int)
    uses: dict[int, int] = defaultdict(int)
    for e in MembershipEntry.objects.all().iterator(chunk_size=2000):
        sums[e.membership_id] += e.credits
        if e.kind == "use":
            uses[e.payment_id or 0] += 1
    for m in ClientMembership.objects.only("pk", "clinic_id", "credits_left").iterator(chunk_size=2000):
        derived = sums.get(m.pk, 0)
        if derived != m.credits_left or derived < 0:
            add.append(Finding(m.clinic_id, f"membership {m.pk}: {m.credits_left} credits left, its entries say {derived}"))
    for p in Payment.objects.filter(method=PaymentMethod.MEMBERSHIP).only("pk", "clinic_id"):
        if uses.get(p.pk, 0) != 1:
            add.append(Finding(p.clinic_id, f"membership-credit payment {p.pk} used {uses.get(p.pk, 0)} credits, not one"))


def _tips(add: list[Finding]) -> None:
    """Every tip names the person it is for and carries no tax or discount; no package session or
    membership credit paid one (neither names a tip line, and such payments on an invoice come to
    no more than its lines other than tips)."""
    from knotwork.billing.models import MembershipEntry, PackageEntry
    from knotwork.billing.tips import session_paid_over_tips

    tip_lines = InvoiceLine.objects.filter(kind=LineKind.TIP).select_related("invoice")
    for line in tip_lines.filter(Q(therapist__isnull=True) | ~Q(discount=0) | ~Q(tax=0) | ~Q(tax_percent=0)).iterator(chunk_size=2000):
        add.append(Finding(line.invoice.clinic_id, f"{line.invoice}: tip line {line.pk} has no therapist, or carries tax or a discount"))
    for model, what in ((PackageEntry, "package session"), (MembershipEntry, "membership credit")):
        for entry in model.objects.filter(invoice_line__kind=LineKind.TIP).only("pk", "clinic_id"):
            add.append(Finding(entry.clinic_id, f"{what} entry {entry.pk} paid a tip"))
    paid_with_sessions = list(
        LedgerEntry.objects.filter(payment__method__in=[PaymentMethod.PACKAGE, PaymentMethod.MEMBERSHIP], invoice__isnull=False)
        .values_list("invoice_id", flat=True)
        .distinct()
    )
    tipped = set(tip_lines.values_list("invoice_id", flat=True))
    over = session_paid_over_tips([i for i in paid_with_sessions if i in tipped])
    for invoice in Invoice.objects.filter(pk__in=list(over)).only("pk", "clinic_id", "number", "kind", "status"):
        add.append(Finding(invoice.clinic_id, f"{invoice}: package sessions and membership credits paid {over[invoice.pk]} of its tips"))


def verify_money() -> Report:
    report = Report()
    findings: list[Finding] = []
    _lines(report, findings)
    _numbering(findings)
    _ledger(report, findings)
    _online(findings)
    _prepaid(findings)
    _memberships(findings)
    _tips(findings)
    report.findings = findings
    return report
