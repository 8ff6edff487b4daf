"""The owner's money-report pages: an index, end-of-day reconciliation, sales, ageing, liabilities,
the tax summary, refunds and tips, each with a CSV download (``?format=csv``).

Owner and front desk (take_payments or manage_clinic) see every report; a therapist sees only the
sales report, made of the lines they gave, and the tips given to them. Figures come from knotwork.billing.reports; the period
rules, the CSV writer and the SVG column chart are the practice reports' (knotwork.bookings).
Every page view or download writes one audit event.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString

from knotwork.accounts.models import Capability, Membership, Role, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.billing import reports
from knotwork.billing.reports import BUCKETS, PRESETS, SalesReport, amount_text
from knotwork.bookings.report_views import columns
from knotwork.bookings.services import MAX_YEAR, MIN_YEAR
from knotwork.lib.csv import csv_response
from knotwork.lib.views import paginate, staff_view

# --- Who may read which report -------------------------------------------------------------------


def _full_access(membership: Membership) -> bool:
    return membership.can(Capability.TAKE_PAYMENTS) or membership.can(Capability.MANAGE_CLINIC)


def _reader(membership: Membership, *, own_sales: bool = False) -> User | None:
    """None for owner and front desk (everything); the therapist themselves on the sales report
    (their own lines only); anyone else is refused."""
    if _full_access(membership):
        return None
    if own_sales and membership.role == Role.THERAPIST:
        return membership.user
    raise PermissionDenied("Money reports are for the front desk and the clinic owner.")


def _audit(membership: Membership, report: str, csv: bool, **detail: Any) -> None:
    audit_record(
        action=Action.EXPORT if csv else Action.VIEW, object_type="billing.money_report", clinic=membership.clinic,
        role=membership.role, detail={"report": report, **{k: v for k, v in detail.items() if v is not None}},
    )  # fmt: skip


def _today(membership: Membership) -> date:
    return timezone.localdate(timezone.now(), timezone=membership.clinic.tz)


def _wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def _period(request: HttpRequest, membership: Membership) -> tuple[PeriodForm, reports.Period | None]:
    """The report's form and the period it asks for (this month when nothing is asked); no period
    when the form has errors (the page shows them with a 400)."""
    form = PeriodForm(request.GET or None, today=_today(membership))
    if request.GET and not form.is_valid():
        return form, None
    return form, form.cleaned_data["period"] if request.GET else reports.money_period(None, None, "", today=form.today)


def _span(period: reports.Period) -> str:
    return f"{period.first:%d %b %Y} – {period.last:%d %b %Y}"


def _query(request: HttpRequest) -> str:
    params = request.GET.copy()
    for name in ("format", "section", "page"):
        params.pop(name, None)
    return params.urlencode()


# --- Forms ---------------------------------------------------------------------------------------


def _in_range(value: date | None, name: str) -> None:
    if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError({name: f"Dates must fall between the years {MIN_YEAR} and {MAX_YEAR}."})


class PeriodForm(forms.Form):
    """A period: a preset, or from/to dates (travelling as ``from`` and ``to``); this month by default."""

    preset = forms.ChoiceField(label="Period", required=False, choices=[("", "Choose dates"), *PRESETS.items()])
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    PARAM_NAMES = {"start": "from", "end": "to"}

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        default = reports.money_period(None, None, "", today=today)
        self.fields["start"].initial, self.fields["end"].initial = default.first, default.last

    def add_prefix(self, field_name: str) -> str:
        return self.PARAM_NAMES.get(field_name, field_name)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            data["period"] = reports.money_period(data.get("start"), data.get("end"), data.get("preset") or "", today=self.today)
        except reports.ReportError as exc:
            raise ValidationError({{"from": "start", "to": "end"}.get(exc.field, exc.field or "start"): exc.message}) from exc
        return data


class DayForm(forms.Form):
    """One local day (``day``, or ``on`` for the ageing date); today by default."""

    day = forms.DateField(label="Day", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args: Any, today: date, label: str = "Day", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["day"].label = label
        self.fields["day"].initial = today

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            _in_range(data.get("day"), "day")
            data["day"] = data.get("day") or self.today
        return data


# --- Pages ---------------------------------------------------------------------------------------


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def money_reports(request: HttpRequest, *, membership: Membership) -> HttpResponseBase:
    own = _reader(membership, own_sales=True)
    return render(request, "billing/reports/index.html", {"own_only": own is not None})


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def report_day(request: HttpRequest, *, membership: Membership) -> HttpResponseBase:
    _reader(membership)
    form = DayForm(request.GET or None, today=_today(membership))
    if request.GET and not form.is_valid():
        return render(request, "billing/reports/day.html", {"form": form, "report": None}, status=400)
    day = form.cleaned_data["day"] if request.GET else form.today
    report = reports.day_report(clinic=membership.clinic, day=day)
    _audit(membership, "day", _wants_csv(request), day=day.isoformat())
    if _wants_csv(request):
        return csv_response(f"takings-{day:%Y%m%d}.csv", DAY_HEADER, _day_rows(report))
    context = {"form": form, "report": report, "query": _query(request), "sub": f"{day:%A %d %B %Y}"}
    return render(request, "billing/reports/day.html", context)


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def report_sales(request: HttpRequest, *, membership: Membership) -> HttpResponseBase:
    therapist = _reader(membership, own_sales=True)
    form, period = _period(request, membership)
    if period is None:
        return render(request, "billing/reports/sales.html", {"form": form, "report": None}, status=400)
    section = request.GET.get("section", "")
    if _wants_csv(request) and section not in SALES_SECTIONS:
        raise Http404("No such report section")
    detail = {"from": period.first.isoformat(), "to": period.last.isoformat(), "therapist": therapist and therapist.pk}
    _audit(membership, "sales", _wants_csv(request), **detail, section=section or None)
    name = f"sales-{section}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.csv"
    if _wants_csv(request) and section == "lines":
        return csv_response(
            name, JOURNAL_HEADER, _journal_rows(reports.sales_journal(membership.clinic, period, therapist), membership.clinic.tz)
        )
    report = reports.sales_report(clinic=membership.clinic, period=period, therapist=therapist)
    if _wants_csv(request):
        return csv_response(name, [section, *GROUP_HEADER], _group_rows(getattr(report, f"by_{section}"), section))
    context = {"form": form, "report": report, "chart": sales_chart(report), "query": _query(request), "own_only": therapist is not None,
               "sub": _span(period)}  # fmt: skip
    return render(request, "billing/reports/sales.html", context)


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def report_ageing(request: HttpRequest, *, membership: Membership) -> HttpResponseBase:
    _reader(membership)
    form = DayForm(request.GET or None, today=_today(membership), label="Owed at the end of")
    if request.GET and not form.is_valid():
        return render(request, "billing/reports/ageing.html", {"form": form, "report": None}, status=400)
    on = form.cleaned_data["day"] if request.GET else form.today
    report = reports.ageing_report(clinic=membership.clinic, on=on)
    _audit(membership, "ageing", _wants_csv(request), on=on.isoformat())
    if _wants_csv(request):
        return csv_response(f"ageing-{on:%Y%m%d}.csv", AGEING_HEADER, _ageing_rows(report))
    context = {"form": form, "report": report, "buckets": BUCKETS, "query": _query(request), "page": paginate(request, report.clients, 50),
               "sub": f"owed at the end of {on:%d %b %Y}"}  # fmt: skip
    return render(request, "billing/reports/ageing.html", context)


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def report_liabilities(request: HttpRequest, *, membership: Membership) -> HttpResponseBase:
    _reader(membership)
    _audit(membership, "liabilities", _wants_csv(request))
    if _wants_csv(request):
        rows = reports.liability_rows(membership.clinic)
        return csv_response(f"liabilities-{_today(membership):%Y%m%d}.csv", LIABILITY_HEADER, _liability_rows(rows))
    report = reports.liability_report(clinic=membership.clinic)
    return render(request, "billing/reports/liabilities.html", {"report": report})


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def report_tax(request: HttpRequest, *, membership: Membership) -> HttpResponseBase:
    _reader(membership)
    form, period = _period(request, membership)
    if period is None:
        return render(request, "billing/reports/tax.html", {"form": form, "report": None}, status=400)
    report = reports.tax_report(clinic=membership.clinic, period=period)
    _audit(membership, "tax", _wants_csv(request), **{"from": period.first.isoformat(), "to": period.last.isoformat()})
    if _wants_csv(request):
        return csv_response(f"tax-{period.first:%Y%m%d}-{period.last:%Y%m%d}.csv", TAX_HEADER, _tax_rows(report))
    return render(request, "billing/reports/tax.html", {"form": form, "report": report, "query": _query(request), "sub": _span(period)})


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def report_refunds(request: HttpRequest, *, membership: Membership) -> HttpResponseBase:
    _reader(membership)
    clinic = membership.clinic
    form, period = _period(request, membership)
    if period is None:
        return render(request, "billing/reports/refunds.html", {"form": form, "period": None}, status=400)
    entries = reports.refund_entries(clinic, period)
    _audit(membership, "refunds", _wants_csv(request), **{"from": period.first.isoformat(), "to": period.last.isoformat()})
    if _wants_csv(request):
        lines = (reports.refund_line(clinic, e) for e in reports.refund_rows(entries).iterator(chunk_size=500))
        return csv_response(f"refunds-{period.first:%Y%m%d}-{period.last:%Y%m%d}.csv", REFUND_HEADER, _refund_rows(lines))
    page = paginate(request, reports.refund_rows(entries))
    context = {
        "form": form, "period": period, "totals": reports.refund_totals(entries), "page": page, "query": _query(request),
        "rows": [reports.refund_line(clinic, e) for e in page.object_list], "sub": _span(period),
    }  # fmt: skip
    return render(request, "billing/reports/refunds.html", context)


@staff_view(Capability.VIEW_DEMOGRAPHICS)
def report_tips(request: HttpRequest, *, membership: Membership) -> HttpResponseBase:
    """Tips per therapist for a period, and each tip; a therapist sees their own."""
    therapist = _reader(membership, own_sales=True)
    form, period = _period(request, membership)
    if period is None:
        return render(request, "billing/reports/tips.html", {"form": form, "report": None}, status=400)
    section = request.GET.get("section", "therapist")
    if _wants_csv(request) and section not in ("therapist", "lines"):
        raise Http404("No such report section")
    detail = {"from": period.first.isoformat(), "to": period.last.isoformat(), "therapist": therapist and therapist.pk}
    _audit(membership, "tips", _wants_csv(request), **detail, section=section if _wants_csv(request) else None)
    clinic = membership.clinic
    if _wants_csv(request):
        name = f"tips-{section}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.csv"
        if section == "lines":
            return csv_response(name, TIP_LINE_HEADER, _tip_line_rows(reports.tip_lines(clinic, period, therapist), clinic.tz))
        return csv_response(name, TIP_HEADER, _tip_rows(reports.tips_report(clinic=clinic, period=period, therapist=therapist)))
    page = paginate(request, reports.tip_lines(clinic, period, therapist))
    context = {
        "form": form, "report": reports.tips_report(clinic=clinic, period=period, therapist=therapist), "page": page,
        "query": _query(request), "own_only": therapist is not None, "sub": _span(period),
    }  # fmt: skip
    return render(request, "billing/reports/tips.html", context)


# --- CSV -----------------------------------------------------------------------------------------
# Columns are documented in docs/money.md ("Reports"); amounts are Decimal text with the
# currency's minor digits, dates ISO 8601 and local to the clinic.


DAY_HEADER = ["date", "time", "type", "number", "client", "therapist", "method", "reference", "amount", "currency", "taken_by", "note"]
JOURNAL_HEADER = ["date", "number", "type", "client", "description", "line_kind", "therapist", "service", "tax_rate", "tax_percent",
                  "net", "tax", "gross", "currency"]  # fmt: skip
GROUP_HEADER = ["net", "tax", "gross", "credited_net", "credited_tax", "credited_gross", "net_after_credits", "tax_after_credits",
                "gross_after_credits", "currency"]  # fmt: skip
SALES_SECTIONS = ("lines", "therapist", "service", "month")
AGEING_HEADER = ["date", "number", "client", "due_date", "days_overdue", "bucket", "gross", "balance", "currency"]
LIABILITY_HEADER = ["kind", "reference", "client", "description", "sessions_left", "expires_on", "state", "amount", "currency"]
TAX_HEADER = ["tax_rate", "tax_percent", "net", "tax", "credited_net", "credited_tax", "net_after_credits", "tax_after_credits",
              "currency"]  # fmt: skip
TIP_HEADER = ["therapist", "tips", "count", "credited", "credited_count", "net_after_credits", "currency"]
TIP_LINE_HEADER = ["date", "number", "type", "client", "therapist", "amount", "currency"]
REFUND_HEADER = ["date", "time", "number", "client", "method", "amount", "currency", "refunded_by", "reason", "payment"]


def _day_rows(r: reports.DayReport) -> Iterator[list[Any]]:
    for p in r.payments:
        yield [p.at.date().isoformat(), f"{p.at:%H:%M}", "payment", p.numbers, p.client, p.therapists, p.method, p.reference,
               amount_text(p.amount, p.currency), p.currency, p.taken_by, ""]  # fmt: skip
    for f in r.refunds:
        yield [f.at.date().isoformat(), f"{f.at:%H:%M}", "refund", f.number, f.client, "", f.method, "",
               amount_text(-f.amount, f.currency), f.currency, f.by, f.reason]  # fmt: skip


def _journal_rows(lines: Any, tz: Any) -> Iterator[list[Any]]:
    for line in lines.iterator(chunk_size=500):
        inv = line.invoice
        sign = Decimal(-1) if inv.kind == "credit_note" else Decimal(1)
        client = reports.RESTRICTED if inv.client.restricted_at else inv.client.full_name
        yield [
            timezone.localtime(inv.issued_at, tz).date().isoformat(), inv.number, inv.kind,
            client, line.description, line.kind, line.therapist.display_name if line.therapist else "",
            line.service.name if line.service else "", line.tax_rate.name if line.tax_rate else "", f"{line.tax_percent:.2f}",
            amount_text(sign * line.net, inv.currency), amount_text(sign * line.tax, inv.currency),
            amount_text(sign * line.total, inv.currency), inv.currency,
        ]  # fmt: skip


def _group_rows(rows: list[reports.SalesRow], section: str) -> Iterator[list[Any]]:
    for r in rows:
        values = (r.net, r.tax, r.gross, r.credited_net, r.credited_tax, r.credited_gross, r.net_after, r.tax_after, r.gross_after)
        yield [r.key[:7] if section == "month" else r.label, *(amount_text(v, r.currency) for v in values), r.currency]


def _ageing_rows(r: reports.AgeingReport) -> Iterator[list[Any]]:
    for i in r.invoices:
        yield [i.issued_on.isoformat(), i.number, i.client, i.due_on.isoformat(), i.days_overdue, BUCKETS[i.bucket],
               amount_text(i.total, i.currency), amount_text(i.balance, i.currency), i.currency]  # fmt: skip


def _liability_rows(rows: list[list[Any]]) -> Iterator[list[Any]]:
    for kind, ref, who, what, left, expires, state, value, currency in rows:
        yield [kind, ref, who, what, left, expires.isoformat() if expires else "", state, amount_text(value, currency), currency]


def _tax_rows(r: reports.TaxReport) -> Iterator[list[Any]]:
    for t in r.rates:
        c = t.currency
        yield [t.label, f"{t.percent:.2f}", *(amount_text(v, c) for v in (t.net, t.tax, t.credited_net, t.credited_tax, t.net_after,
                                                                          t.tax_after)), c]  # fmt: skip


def _refund_rows(lines: Iterable[reports.DayRefund]) -> Iterator[list[Any]]:
    for f in lines:
        yield [f.at.date().isoformat(), f"{f.at:%H:%M}", f.number, f.client, f.method, amount_text(f.amount, f.currency), f.currency,
               f.by, f.reason, f.payment_id]  # fmt: skip


def _tip_rows(r: reports.TipsReport) -> Iterator[list[Any]]:
    for t in r.by_therapist:
        c = t.currency
        yield [t.label, amount_text(t.tips, c), t.count, amount_text(t.credited, c), t.credited_count, amount_text(t.net_after, c), c]


def _tip_line_rows(lines: Any, tz: Any) -> Iterator[list[Any]]:
    for line in lines.iterator(chunk_size=500):
        inv = line.invoice
        sign = Decimal(-1) if inv.kind == "credit_note" else Decimal(1)
        client = reports.RESTRICTED if inv.client.restricted_at else inv.client.full_name
        yield [
            timezone.localtime(inv.issued_at, tz).date().isoformat(), inv.number, inv.kind, client,
            line.therapist.display_name if line.therapist else "", amount_text(sign * line.total, inv.currency), inv.currency,
        ]  # fmt: skip


# --- The chart -----------------------------------------------------------------------------------


def sales_chart(r: SalesReport) -> SafeString | None:
    """Net of credits and tax by month, stacked, in the clinic's main currency; whole units (the
    table under it has the exact figures), in thousands when the months run past 100,000."""
    if not r.totals:
        return None
    currency = r.totals[0].currency
    months = [m for m in r.by_month if m.currency == currency]
    if len(months) < 2:
        return None
    peak = max((m.gross_after for m in months), default=Decimal(0))
    div, unit = (Decimal(1000), "k") if peak >= 100_000 else (Decimal(1), "")

    def whole(value: Decimal) -> float:
        return float((max(value, Decimal(0)) / div).to_integral_value())

    return columns(
        [(m.label, [whole(m.net_after), whole(m.tax_after)]) for m in months], series=["Net of credits", "Tax"], unit=unit,
        id_prefix="chart-sales", title=f"Sales by month ({currency})",
        desc=f"Net of credits and tax per month, {r.period.first:%d %b %Y} to {r.period.last:%d %b %Y}, in whole {currency}"
        f"{' thousands' if unit else ''}. The table below has the exact figures.",
    )  # fmt: skip
