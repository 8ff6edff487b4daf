"""The progress report PDF: for the client, a physician or an insurer.

Episode summary, each measure with its chart (vector lines drawn from the same geometry as the
page's SVG, so no raster step and no system packages), visits attended, trigger-point history,
the plan and next steps, and a signature block for the therapist.
"""

from __future__ import annotations

from django.utils import timezone

from knotwork.care.models import Stage, TreatmentPlan
from knotwork.lib.pdf import BRAND, FONT, INK, LINE, SOFT, Document, pdf_safe
from knotwork.outcomes import charts, scoring
from knotwork.outcomes.selectors import Progress, Series

BAND = (207, 231, 227)
BAD = (164, 38, 44)
CHART_W = 150.0


def _hex(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def draw_plot(doc: Document, p: charts.Plot) -> None:
    """The chart at the current position, ``CHART_W`` mm wide."""
    pdf = doc.pdf
    k = CHART_W / p.width
    h = p.height * k
    if pdf.get_y() + h > pdf.h - 24:
        pdf.add_page()
    ox, oy = pdf.l_margin, pdf.get_y()

    def at(x: float, y: float) -> tuple[float, float]:
        return ox + x * k, oy + y * k

    x0, x1 = p.left, p.width - p.right
    pdf.set_font(FONT, "", 7)
    if p.band:
        top, bottom = p.band
        pdf.set_fill_color(*BAND)
        (ax, ay), (bx, by) = at(x0, top), at(x1, bottom)
        pdf.rect(ax, ay, bx - ax, max(by - ay, 0), style="F")
        pdf.set_draw_color(*BRAND)
        pdf.set_line_width(0.25)
        pdf.set_dash_pattern(dash=1.2, gap=0.9)
        for y in (top, bottom):
            pdf.line(*at(x0, y), *at(x1, y))
        pdf.set_dash_pattern()
        pdf.set_text_color(*BRAND)
        label = pdf_safe(p.band_label)
        tx, ty = at(x1, top)
        pdf.text(tx - pdf.get_string_width(label) - 1, ty - 0.8, label)
    pdf.set_line_width(0.15)
    for y, label in p.y_ticks:
        pdf.set_draw_color(*LINE)
        pdf.line(*at(x0, y), *at(x1, y))
        pdf.set_text_color(*SOFT)
        tx, ty = at(x0, y)
        pdf.text(tx - pdf.get_string_width(label) - 1.5, ty + 1, label)
    if p.baseline_y is not None:
        pdf.set_draw_color(*INK)
        pdf.set_line_width(0.4)
        pdf.line(*at(x0, p.baseline_y), *at(x1, p.baseline_y))
        pdf.set_text_color(*INK)
        tx, ty = at(x0, p.baseline_y)
        pdf.text(tx + 1, ty - 1, "baseline")
    pdf.set_draw_color(*SOFT)
    pdf.set_line_width(0.25)
    bottom_y = p.height - p.bottom
    pdf.line(*at(x0, bottom_y), *at(x1, bottom_y))
    pdf.set_text_color(*SOFT)
    for x, label in p.x_ticks:
        tx, ty = at(x, bottom_y + 14)
        pdf.text(tx - pdf.get_string_width(label) / 2, ty, label)
    tx, ty = at(2, p.height - 4)
    pdf.text(tx, ty, "better (up)" if p.better_up else "better (down)")
    pdf.set_draw_color(*BRAND)
    pdf.set_line_width(0.6)
    if len(p.points) > 1:
        pdf.polyline([at(pt.x, pt.y) for pt in p.points])
    for pt in p.points:
        cx, cy = at(pt.x, pt.y)
        if pt.flag == scoring.IMPORTANT_IMPROVEMENT:
            pdf.set_fill_color(*BRAND)
            pdf.circle(cx, cy, 1.5, style="F")
            pdf.set_line_width(0.25)
            pdf.circle(cx, cy, 2.3, style="D")
        elif pt.flag == scoring.WORSENING:
            pdf.set_fill_color(*BAD)
            pdf.polygon([(cx, cy - 1.8), (cx - 1.8, cy + 1.4), (cx + 1.8, cy + 1.4)], style="F")
        else:
            pdf.set_fill_color(255, 255, 255)
            pdf.set_line_width(0.45)
            pdf.circle(cx, cy, 1.2, style="DF")
    # Leave the pen as the house style expects it: fpdf2 tables draw with the current colours.
    pdf.set_line_width(0.2)
    pdf.set_fill_color(255, 255, 255)
    pdf.set_draw_color(*LINE)
    pdf.set_text_color(*INK)
    pdf.set_y(oy + h + 2)


def _summary_line(s: Series) -> str:
    m = s.measure
    if len(s.responses) == 1 and m.flag_on != "value":
        return f"{m.short}: {m.fmt(float(s.baseline.score))}{m.unit} at baseline; not yet repeated."
    latest = float(s.latest.score)
    if m.flag_on == "value":
        text = f"{m.short}: latest rating {latest:+g}"
    else:
        text = f"{m.short}: {m.fmt(float(s.baseline.score))} -> {m.fmt(latest)}{m.unit}"
        if s.change and s.change.improvement is not None:
            word = "better" if s.change.improvement > 0 else "worse" if s.change.improvement < 0 else "unchanged"
            text += f" ({word} by {m.fmt(abs(s.change.improvement))})" if word != "unchanged" else " (unchanged)"
    if s.change and s.change.flag:
        text += f" - {s.change.label.lower()}"
    return text + "."


def progress_pdf(progress: Progress, *, plan: TreatmentPlan | None, author_name: str) -> bytes:
    ep = progress.episode
    client, clinic = ep.client, ep.clinic
    today = timezone.localdate(timezone.now(), clinic.tz)
    doc = Document(title="Progress report", subtitle=f"{clinic.name} - {client.full_name}",
                   footer=f"{clinic.name} - progress report for {client.full_name} - {today:%d %b %Y} - confidential")  # fmt: skip
    therapists = sorted({v.therapist.display_name for v in progress.visits})
    doc.facts([
        ("Client", f"{client.full_name}" + (f", born {client.date_of_birth:%d %b %Y}" if client.date_of_birth else "")),
        ("Complaint", ep.complaint),
        ("Episode", f"Started {ep.started_on:%d %b %Y}; {ep.get_status_display().lower()}"
                    + (f", ended {ep.ended_on:%d %b %Y}" if ep.ended_on else "")),
        ("Visits attended", f"{len(progress.visits)}" + (f" of {plan.planned_visits} planned" if plan else "")),
        ("Therapist(s)", ", ".join(therapists) or "-"),
        ("Report date", f"{today:%d %B %Y}"),
    ])  # fmt: skip
    doc.section("Summary")
    if progress.series:
        for s in progress.series:
            doc.paragraph("- " + _summary_line(s))
    else:
        doc.paragraph("No outcome measures have been recorded in this episode yet.", muted=True)
    if progress.needs_review:
        doc.paragraph("At least one measure shows no important change or a worsening: the plan is being reviewed, "
                      "and referral considered.")  # fmt: skip
    for s in progress.series:
        _measure_section(doc, s)
    _visits_section(doc, progress)
    _points_section(doc, progress)
    _plan_section(doc, progress, plan)
    doc.section("Therapist")
    doc.paragraph(f"Prepared by {author_name}. Scores are the client's own ratings or the therapist's measurements on the dates shown; "
                  "thresholds are from the published sources named under each measure.", muted=True, size=9)  # fmt: skip
    doc.facts([("Signature", "\n\n_______________________________________"), ("Name", author_name), ("Date", "")])
    return doc.output()


def _measure_section(doc: Document, s: Series) -> None:
    m = s.measure
    if s.plot is not None and doc.pdf.get_y() + s.plot.height * CHART_W / s.plot.width + 20 > doc.pdf.h - 24:
        doc.pdf.add_page()  # keep the heading with its chart
    doc.section(f"{m.name} ({m.short})")
    if s.plot is not None:
        draw_plot(doc, s.plot)
    rows = [[f"{r.taken_at:%d %b %Y}", text + m.unit, r.get_source_display(), scoring.FLAG_LABELS.get(f, "")]
            for r, f, text in s.rows]  # fmt: skip
    doc.table(["Date", "Score", "How", "Flag"], rows, widths=(28, 28, 50, 60))
    notes = [m.scoring]
    if m.mcid:
        notes.append(f"MCID {m.mcid.value:g}" + (f" and {m.mcid.percent:g} %" if m.mcid.percent else "") + f": {m.mcid.source}.")
    elif m.mcid_note:
        notes.append(m.mcid_note)
    if m.mdc:
        notes.append(f"MDC {m.mdc.value:g}: {m.mdc.source}.")
    elif m.mdc_note:
        notes.append(m.mdc_note)
    if m.score_only:
        notes.append("Licensed instrument: scored on the licensed form; Knotwork records the total only.")
    doc.paragraph(" ".join(notes), muted=True, size=8.5)


def _visits_section(doc: Document, progress: Progress) -> None:
    doc.section("Visits attended")
    if not progress.visits:
        doc.paragraph("No signed visits yet.", muted=True)
        return
    rows = [[f"{timezone.localtime(v.started_at, progress.episode.clinic.tz):%d %b %Y}", v.therapist.display_name,
             "-" if v.pain_today is None else f"{v.pain_today}/10", v.get_change_since_last_display() or "-"]
            for v in progress.visits]  # fmt: skip
    doc.table(["Date", "Therapist", "Pain at check-in", "Since the last visit"], rows, widths=(30, 56, 36, 44))


def _points_section(doc: Document, progress: Progress) -> None:
    if not progress.points:
        return
    doc.section("Trigger points")
    first, last = progress.point_visits[0], progress.point_visits[-1]
    rows = [[p.label, p.side, (p.statuses[0] or "-"), p.state] for p in progress.points]
    doc.table(["Trigger point", "Side", f"First examined ({first.started_at:%d %b})", f"Latest ({last.started_at:%d %b})"], rows,
              widths=(68, 20, 38, 40))  # fmt: skip


def _plan_section(doc: Document, progress: Progress, plan: TreatmentPlan | None) -> None:
    doc.section("Plan and next steps")
    if plan is None:
        doc.paragraph("No treatment plan recorded.", muted=True)
    else:
        goals = [f"{g.get('activity', '')}" + (f": {g['target']}" if g.get("target") else "") for g in plan.goals if isinstance(g, dict)]
        stages = dict(Stage.choices)
        current = next((stages.get(str(s.get("id")), s.get("id")) for s in plan.stages if isinstance(s, dict) and not s.get("done")), None)
        doc.facts([
            ("Plan", f"Version {plan.version}: {plan.visits_per_week} visit(s) a week, {plan.planned_visits} planned"),
            ("Goals", "\n".join(goals) or "-"),
            ("Current stage", str(current or "All stages complete")),
        ])  # fmt: skip
    last = progress.visits[-1] if progress.visits else None
    steps = [str(s) for s in (last.next_steps if last else []) if s]
    due = [f"{d.measure.short} ({d.reason})" for d in progress.due]
    if due:
        steps.append("Measures due: " + ", ".join(due))
    for step in steps:
        doc.paragraph("- " + step)
    if not steps:
        doc.paragraph("No next steps recorded.", muted=True)
