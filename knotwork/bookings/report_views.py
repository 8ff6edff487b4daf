"""The owner's practice-reports page: a period form, one table and chart per section, CSV per section.

Figures come from knotwork.bookings.reports; the charts are drawn here as inline SVG (no script,
presentation attributes only, every text escaped) and each repeats what its table already says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from knotwork.accounts.models import Capability, Membership, User
from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.bookings import reports
from knotwork.bookings.selectors import clinic_therapists, therapist_in_clinic
from knotwork.lib.csv import csv_response
from knotwork.lib.views import staff_view

# --- The form ------------------------------------------------------------------------------------


class ReportForm(forms.Form):
    """The report's options. The dates travel as ``from`` and ``to``, as in the API."""

    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    therapist = forms.IntegerField(label="Therapist", required=False, min_value=1, max_value=2**31 - 1, widget=forms.Select)
    rebook_weeks = forms.IntegerField(
        label="Weeks to rebook",
        required=False,
        min_value=reports.REBOOK_WEEKS_MIN,
        max_value=reports.REBOOK_WEEKS_MAX,
        widget=forms.NumberInput(attrs={"placeholder": str(reports.REBOOK_WEEKS_DEFAULT)}),
    )
    by = forms.ChoiceField(label="Group clients by", required=False, choices=[("", "Automatic"), ("week", "Week"), ("month", "Month")])

    PARAM_NAMES = {"start": "from", "end": "to"}

    def __init__(self, *args: Any, therapists: Iterable[User] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["therapist"].widget.choices = [("", "Everyone"), *((t.pk, t.display_name) for t in therapists)]

    def add_prefix(self, field_name: str) -> str:
        return self.PARAM_NAMES.get(field_name, field_name)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            data["period"] = reports.report_period(data.get("start"), data.get("end"), today=timezone.localdate())
        except reports.ReportError as exc:
            raise ValidationError({{"from": "start", "to": "end"}.get(exc.field, "start"): exc.message}) from exc
        data["rebook_weeks"] = data.get("rebook_weeks") or reports.REBOOK_WEEKS_DEFAULT
        return data


# --- The page ------------------------------------------------------------------------------------


@staff_view(Capability.MANAGE_CLINIC)
def practice_reports(request: HttpRequest, *, membership: Membership) -> HttpResponseBase:
    clinic = membership.clinic
    form = ReportForm(request.GET or {}, therapists=clinic_therapists(clinic))
    if not form.is_valid():
        return render(request, "bookings/reports.html", {"form": form, "report": None}, status=400)
    data = form.cleaned_data
    therapist = therapist_in_clinic(clinic, data["therapist"]) if data["therapist"] else None
    section = request.GET.get("section", "")
    wants_csv = request.GET.get("format") == "csv"
    if wants_csv and section not in reports.SECTIONS:
        raise Http404("No such report section")
    report = reports.practice_report(
        clinic=clinic, period=data["period"], therapist=therapist, rebook_weeks=data["rebook_weeks"], group_by=data["by"]
    )
    detail = {"from": report.period.first.isoformat(), "to": report.period.last.isoformat(), "therapist": therapist and therapist.pk}
    if wants_csv:
        audit_record(action=Action.EXPORT, object_type="bookings.practice_report", clinic=clinic, role=membership.role,
                     detail={**detail, "section": section})  # fmt: skip
        header, rows = reports.csv_table(report, section)
        return csv_response(f"practice-{section}-{report.period.first:%Y%m%d}-{report.period.last:%Y%m%d}.csv", header, rows)
    audit_record(action=Action.VIEW, object_type="bookings.practice_report", clinic=clinic, role=membership.role, detail=detail)
    context = {"form": form, "report": report, "charts": charts(report), "query": _query(request)}
    return render(request, "bookings/reports.html", context)


def _query(request: HttpRequest) -> str:
    """The report's own parameters, for the CSV links (format and section are added by the template)."""
    params = request.GET.copy()
    for name in ("format", "section"):
        params.pop(name, None)
    return params.urlencode()


# --- Charts --------------------------------------------------------------------------------------

INK, SOFT, GRID = "#1b2428", "#4a5a61", "#d9dedf"
SERIES = ("#0f5257", "#b4591d")  # teal and a dark orange: apart in hue and in lightness
WIDTH, LABEL_W, VALUE_W = 520.0, 140.0, 60.0


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    return f"{value:.1f}{unit}" if unit == "%" else f"{value:g}{unit}"


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(width: float, height: float, title: str, desc: str, id_prefix: str) -> list[str]:
    t_id, d_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    return [
        f'<svg class="report-chart" viewBox="0 0 {width:g} {height:g}" role="img" aria-labelledby="{t_id} {d_id}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="{t_id}">{escape(title)}</title><desc id="{d_id}">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{width:g}" height="{height:g}" fill="#fff"/>',
    ]


def _legend(series: Sequence[str], y: float) -> list[str]:
    out, x = [], LABEL_W
    for i, name in enumerate(series):
        out.append(f'<rect x="{x:g}" y="{y - 9:g}" width="10" height="10" fill="{SERIES[i % 2]}"/>')
        out.append(f'<text x="{x + 14:g}" y="{y:g}" fill="{INK}">{escape(name)}</text>')
        x += 22 + 7 * len(name)
    return out


def bars(
    rows: Sequence[tuple[str, Sequence[float | None]]],
    *,
    series: Sequence[str],
    title: str,
    desc: str,
    id_prefix: str,
    unit: str = "%",
    scale: float = 100.0,
) -> SafeString:
    """Horizontal bars, one group per row, one bar per series; the value is written at each bar's end."""
    bar_h, gap = 14.0, 10.0
    top = 26.0 if len(series) > 1 else 8.0
    group_h = bar_h * len(series) + gap
    height = top + group_h * len(rows) + 18
    scale = max([scale, *(v for _, values in rows for v in values if v is not None)])
    plot_w = WIDTH - LABEL_W - VALUE_W
    out = _open(WIDTH, height, title, desc, id_prefix)
    if len(series) > 1:
        out += _legend(series, 16)
    bottom = top + group_h * len(rows)
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = LABEL_W + plot_w * tick
        out.append(f'<line x1="{x:.1f}" y1="{top - 4:g}" x2="{x:.1f}" y2="{bottom:g}" stroke="{GRID}" stroke-width="0.8"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 13:g}" text-anchor="middle" fill="{SOFT}" font-size="10">{scale * tick:g}{unit}</text>')
    for i, (label, values) in enumerate(rows):
        y = top + group_h * i
        out.append(f'<text x="{LABEL_W - 8:g}" y="{y + group_h / 2:.1f}" text-anchor="end" fill="{INK}">'
                   f"<title>{escape(label)}</title>{escape(_short(label))}</text>")  # fmt: skip
        for j, value in enumerate(values):
            by = y + bar_h * j
            w = plot_w * (value or 0) / scale if scale else 0
            out.append(f'<rect x="{LABEL_W:g}" y="{by:.1f}" width="{max(w, 0):.1f}" height="{bar_h - 2:g}" fill="{SERIES[j % 2]}">'
                       f"<title>{escape(label)}, {escape(series[j])}: {_fmt(value, unit)}</title></rect>")  # fmt: skip
            out.append(f'<text x="{LABEL_W + w + 4:.1f}" y="{by + bar_h - 4:.1f}" fill="{SOFT}" font-size="11">{_fmt(value, unit)}</text>')
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308  (every text above is escaped)


def columns(
    rows: Sequence[tuple[str, Sequence[float]]],
    *,
    series: Sequence[str],
    title: str,
    desc: str,
    id_prefix: str,
    unit: str = "",
    scale: float | None = None,
) -> SafeString:
    """Vertical columns, the series stacked, with a labelled value axis and every few x labels."""
    height, left, right, top, bottom = 230.0, 40.0, 12.0, 26.0, 40.0
    totals = [sum(values) for _, values in rows]
    top_value = scale or _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    step = plot_w / max(len(rows), 1)
    out = _open(WIDTH, height, title, desc, id_prefix)
    if len(series) > 1:
        out += _legend(series, 14)
    for tick in range(5):
        value = top_value * tick / 4
        y = top + plot_h * (1 - tick / 4)
        out.append(f'<line x1="{left:g}" y1="{y:.1f}" x2="{WIDTH - right:g}" y2="{y:.1f}" stroke="{GRID}" stroke-width="0.8"/>')
        out.append(f'<text x="{left - 5:g}" y="{y + 4:.1f}" text-anchor="end" fill="{SOFT}" font-size="10">{value:g}{unit}</text>')
    every = max(1, -(-len(rows) // 9))  # at most nine x labels, so they never collide
    for i, (label, values) in enumerate(rows):
        x = left + step * i + step * 0.15
        base = top + plot_h
        for j, value in enumerate(values):
            h = plot_h * value / top_value if top_value else 0
            base -= h
            out.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" fill="{SERIES[j % 2]}">'
                       f"<title>{escape(label)}, {escape(series[j])}: {value:g}{unit}</title></rect>")  # fmt: skip
        if len(series) == 1 and len(rows) <= 12:
            out.append(f'<text x="{x + step * 0.35:.1f}" y="{base - 4:.1f}" text-anchor="middle" fill="{INK}" font-size="11">'
                       f"{values[0]:g}{unit}</text>")  # fmt: skip
        if i % every == 0:
            out.append(f'<text x="{x + step * 0.35:.1f}" y="{top + plot_h + 15:g}" text-anchor="middle" fill="{SOFT}" font-size="10">'
                       f"{escape(label)}</text>")  # fmt: skip
    out.append(f'<line x1="{left:g}" y1="{top + plot_h:g}" x2="{WIDTH - right:g}" y2="{top + plot_h:g}" stroke="{SOFT}"/>')
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308  (every text above is escaped)


def _nice_max(value: float) -> float:
    for candidate in (4, 8, 10, 20, 40, 50, 100, 200, 400, 500, 1000, 2000, 5000, 10000):
        if value <= candidate:
            return float(candidate)
    return float(value)


@dataclass
class Charts:
    utilisation: SafeString | None
    rooms: SafeString | None
    attendance: SafeString | None
    rebooking: SafeString | None
    clients: SafeString | None
    retention: SafeString | None


def charts(r: reports.PracticeReport) -> Charts:
    period = f"{r.period.first:%d %b %Y} to {r.period.last:%d %b %Y}"
    return Charts(
        utilisation=bars(
            [(t.name, [t.percent]) for t in r.therapists], series=["Utilisation"], id_prefix="chart-util",
            title="Utilisation by therapist", desc=f"Booked time as a share of working time, {period}. The table below has the figures.",
        ) if r.therapists else None,
        rooms=bars(
            [(room.name, [room.percent]) for room in r.rooms], series=["Utilisation"], id_prefix="chart-rooms",
            title="Utilisation by room", desc=f"Booked time as a share of the clinic's open time, {period}.",
        ) if r.rooms and r.open_minutes else None,
        attendance=bars(
            [(a.name, [a.no_show_percent, a.late_cancel_percent]) for a in [*r.attendance, r.attendance_total]],
            series=["No-shows", "Late cancellations"], id_prefix="chart-attendance",
            title="No-show and late-cancel rates", desc=f"Share of expected appointments, by therapist, {period}.",
        ) if r.attendance else None,
        rebooking=bars(
            [(b.name, [b.percent]) for b in [*r.rebooking, r.rebooking_total]], series=["Rebooked"], id_prefix="chart-rebook",
            title=f"Rebooking within {r.rebook_weeks} weeks", desc=f"Share of visits followed by another booking, {period}.",
        ) if r.rebooking else None,
        clients=columns(
            [(m.label, [m.new, m.returning]) for m in r.client_mix], series=["New", "Returning"], id_prefix="chart-clients",
            title=f"New and returning clients by {r.group_by}", desc=f"Clients with a visit in each {r.group_by}, {period}.",
        ) if r.clients_seen else None,
        retention=columns(
            [(f"Month {k + 1}", [v]) for k, v in enumerate(r.retention_average) if v is not None], series=["Returned"], unit="%",
            scale=100, id_prefix="chart-retention", title="Retention after the first visit",
            desc="Share of clients, over all cohorts that have reached the month, with a visit 1 to 6 months after their first. "
            "Months no cohort has reached yet are left out.",
        ) if any(v is not None for v in r.retention_average) else None,
    )  # fmt: skip
