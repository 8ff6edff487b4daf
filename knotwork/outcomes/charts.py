"""Measure-over-time charts: one geometry (:func:`plot`), drawn as inline SVG for pages and as
vector lines in the progress-report PDF, so both show exactly the same thing.

The chart shows the measure's scale (zoomed to the data when the data use little of it), the
baseline as a solid line, and the MCID band: scores inside it are within a clinically
unimportant change of the baseline; a point outside it on the "better" side is an important
improvement. Where a measure has no MCID but an MDC, the band is the MDC (measurement error).
Print-safe: the band also has dashed edges and flagged points differ in shape, not only colour.

The words a chart says (baseline, "better", the band's label, dates, decimals, title) come from
:class:`ChartWords`: English by default, as staff pages and the progress report read them; a
client's page passes :func:`client_words`, the same words in the active language through
gettext. Pure otherwise (Django is imported only inside :func:`client_words`); every text is
escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

from knotwork.outcomes.scoring import IMPORTANT_IMPROVEMENT, WORSENING, Measure

INK = "#1b2428"
SOFT = "#4a5a61"
BRAND = "#0f5257"
BAND = "#cfe7e3"
GRID = "#d9dedf"
GOOD = "#0f5257"
BAD = "#a4262c"


def _day(when: datetime) -> str:
    return f"{when:%d %b}"


def _long_day(when: datetime) -> str:
    return f"{when:%d %b %Y}"


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class ChartWords:
    """Everything a chart writes, as ``%(name)s`` patterns and formatters. The defaults are the
    English of staff pages and reports."""

    baseline: str = "baseline"
    better_up: str = "better ↑"
    better_down: str = "better ↓"
    band: str = "%(name)s band (+/-%(value)s)"
    band_value: str = "%(name)s (+/-%(value)s)"
    title: str = "%(measure)s over time"
    desc: str = "%(measure)s from %(start)s to %(end)s: %(values)s"
    no_data: str = "No scores yet"
    day: Callable[[datetime], str] = _day
    long_day: Callable[[datetime], str] = _long_day
    number: Callable[[float], str] = _number

    def title_for(self, measure: str) -> str:
        return self.title % {"measure": measure}

    def desc_for(self, measure: str, series: list[tuple[datetime, float, str]]) -> str:
        """The chart's description for screen readers: the measure, the period and every score."""
        if not series:
            return f"{measure}: {self.no_data}"
        texts = [self.number(v) for _, v, _ in series]
        values = ("; " if any("," in t for t in texts) else ", ").join(texts)  # "1,6; 2,4" where the comma is decimal
        return self.desc % {"measure": measure, "start": self.long_day(series[0][0]), "end": self.long_day(series[-1][0]), "values": values}


ENGLISH = ChartWords()


def client_words() -> ChartWords:
    """The chart's words in the active language (a client's page, or a document rendered inside
    ``client_translation``). Dates use the catalogue's short and long date formats, decimals the
    language's separator (0,5 in Spanish and French)."""
    from django.utils import dateformat, formats
    from django.utils.translation import gettext, pgettext

    short, long = gettext("j M"), gettext("j M Y")
    separator = str(formats.get_format("DECIMAL_SEPARATOR"))
    return ChartWords(
        baseline=pgettext("outcome chart", "baseline"),
        better_up=pgettext("outcome chart", "better ↑"),
        better_down=pgettext("outcome chart", "better ↓"),
        band=pgettext("outcome chart", "%(name)s band (+/-%(value)s)"),
        band_value=pgettext("outcome chart", "%(name)s (+/-%(value)s)"),
        title=pgettext("outcome chart", "%(measure)s over time"),
        desc=pgettext("outcome chart", "%(measure)s from %(start)s to %(end)s: %(values)s"),
        no_data=pgettext("outcome chart", "No scores yet"),
        day=lambda when: dateformat.format(when, short),
        long_day=lambda when: dateformat.format(when, long),
        number=lambda value: f"{value:g}".replace(".", separator),
    )


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    label: str
    flag: str = ""


@dataclass
class Plot:
    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    y_min: float
    y_max: float
    points: list[Point] = field(default_factory=list)
    baseline_y: float | None = None
    band: tuple[float, float] | None = None  # (y of the upper edge, y of the lower edge), in drawing units
    band_label: str = ""
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    better_up: bool = True
    unit: str = ""
    words: ChartWords = ENGLISH


def _nice_step(span: float) -> float:
    for step in (0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 25, 50):
        if span / step <= 6:
            return step
    return 100.0


def _range(m: Measure, values: list[float], band: tuple[float, float] | None) -> tuple[float, float]:
    lo, hi = m.min, m.max
    data = values + (list(band) if band else [])
    if data and (max(data) - min(data)) < 0.25 * (hi - lo):
        pad = max(0.15 * (max(data) - min(data)), 0.05 * (hi - lo) or 1)
        lo, hi = max(m.min, min(data) - pad), min(m.max, max(data) + pad)
        if hi - lo < 1e-9:
            lo, hi = max(m.min, lo - 1), min(m.max, hi + 1)
    return lo, hi


def plot(
    m: Measure,
    series: list[tuple[datetime, float, str]],
    *,
    baseline: float | None,
    width: float = 560,
    height: float = 220,
    words: ChartWords = ENGLISH,
) -> Plot:
    """Lay out ``series`` (time, score, flag), oldest first. Time runs left to right in proportion.
    Labels (dates, ticks, the band) are written with ``words``."""
    values = [v for _, v, _ in series]
    threshold = m.mcid or m.mdc
    centre = 0.0 if m.flag_on == "value" else baseline
    band = None
    if threshold is not None and centre is not None:
        band = (min(m.max, centre + threshold.value), max(m.min, centre - threshold.value))
    lo, hi = _range(m, values + ([centre] if centre is not None else []), band)
    p = Plot(width=width, height=height, left=48, right=30, top=14, bottom=34, y_min=lo, y_max=hi,
             better_up=m.higher_is_better, unit=m.unit, words=words)  # fmt: skip
    inner_w = width - p.left - p.right
    inner_h = height - p.top - p.bottom

    def y_of(v: float) -> float:
        return p.top + inner_h * (1 - (v - lo) / (hi - lo)) if hi > lo else p.top + inner_h / 2

    if series:
        t0, t1 = series[0][0], series[-1][0]
        span = (t1 - t0).total_seconds()
        for when, value, flag in series:
            x = p.left + (inner_w * (when - t0).total_seconds() / span if span else inner_w / 2)
            p.points.append(Point(x, y_of(value), value, words.day(when), flag))
        seen: set[str] = set()
        for pt in p.points:
            if pt.label not in seen and all(abs(pt.x - x) > 46 for x, _ in p.x_ticks):
                p.x_ticks.append((pt.x, pt.label))
                seen.add(pt.label)
    step = _nice_step(hi - lo)
    tick = step * -(-lo // step)
    while tick <= hi + 1e-9:
        p.y_ticks.append((y_of(tick), words.number(tick)))
        tick += step
    if centre is not None:
        p.baseline_y = y_of(centre)
    if band is not None and threshold is not None:
        p.band = (y_of(band[0]), y_of(band[1]))
        name = "MCID" if m.mcid else "MDC"
        pattern = words.band if m.flag_on != "value" else words.band_value
        p.band_label = pattern % {"name": name, "value": words.number(threshold.value)}
    return p


def svg(p: Plot, *, title: str, desc: str, id_prefix: str) -> str:
    """The plot as an accessible inline SVG (title and description; presentation attributes only),
    its words from the plot's :class:`ChartWords`."""
    words = p.words
    t_id, d_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    out = [
        f'<svg class="outcome-chart" viewBox="0 0 {p.width:g} {p.height:g}" role="img" aria-labelledby="{t_id} {d_id}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">',
        f'<title id="{t_id}">{escape(title)}</title><desc id="{d_id}">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{p.width:g}" height="{p.height:g}" fill="#fff"/>',
    ]
    x0, x1 = p.left, p.width - p.right
    if p.band:
        top, bottom = p.band
        out.append(f'<rect x="{x0:.1f}" y="{top:.1f}" width="{x1 - x0:.1f}" height="{max(bottom - top, 0):.1f}" fill="{BAND}"/>')
        for y in (top, bottom):
            out.append(f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" stroke="{BRAND}" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{x1 - 4:.1f}" y="{top - 3:.1f}" text-anchor="end" fill="{BRAND}">{escape(p.band_label)}</text>')
    for y, label in p.y_ticks:
        out.append(f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="0.6"/>')
        out.append(f'<text x="{x0 - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" fill="{SOFT}">{escape(label)}</text>')
    if p.baseline_y is not None:
        out.append(f'<line x1="{x0:.1f}" y1="{p.baseline_y:.1f}" x2="{x1:.1f}" y2="{p.baseline_y:.1f}" stroke="{INK}" stroke-width="1.4"/>')
        out.append(f'<text x="{x0 + 4:.1f}" y="{p.baseline_y - 4:.1f}" fill="{INK}">{escape(words.baseline)}</text>')
    bottom_y = p.height - p.bottom
    out.append(f'<line x1="{x0:.1f}" y1="{bottom_y:.1f}" x2="{x1:.1f}" y2="{bottom_y:.1f}" stroke="{SOFT}"/>')
    for x, label in p.x_ticks:
        out.append(f'<text x="{x:.1f}" y="{bottom_y + 16:.1f}" text-anchor="middle" fill="{SOFT}">{escape(label)}</text>')
    arrow = words.better_up if p.better_up else words.better_down
    out.append(f'<text x="6" y="{p.height - 4:.1f}" fill="{SOFT}" font-size="10">{escape(arrow)}</text>')
    if not p.points:
        mid_x, mid_y = (x0 + x1) / 2, (p.top + bottom_y) / 2
        out.append(f'<text x="{mid_x:.1f}" y="{mid_y:.1f}" text-anchor="middle" fill="{SOFT}">{escape(words.no_data)}</text>')
    if len(p.points) > 1:
        path = " ".join(f"{pt.x:.1f},{pt.y:.1f}" for pt in p.points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{BRAND}" stroke-width="2"/>')
    for pt in p.points:
        out.append(_marker(pt, words))
    out.append("</svg>")
    return "".join(out)


def _marker(pt: Point, words: ChartWords) -> str:
    label = f"<title>{escape(pt.label)}: {escape(words.number(pt.value))}</title>"
    if pt.flag == IMPORTANT_IMPROVEMENT:
        return (f'<g><circle cx="{pt.x:.1f}" cy="{pt.y:.1f}" r="6" fill="{GOOD}" stroke="#fff" stroke-width="1.5"/>'
                f'<circle cx="{pt.x:.1f}" cy="{pt.y:.1f}" r="8.5" fill="none" stroke="{GOOD}"/>{label}</g>')  # fmt: skip
    if pt.flag == WORSENING:
        s = 7
        tri = f"{pt.x:.1f},{pt.y - s:.1f} {pt.x - s:.1f},{pt.y + s * 0.8:.1f} {pt.x + s:.1f},{pt.y + s * 0.8:.1f}"
        return f'<g><polygon points="{tri}" fill="{BAD}" stroke="#fff"/>{label}</g>'
    return f'<g><circle cx="{pt.x:.1f}" cy="{pt.y:.1f}" r="4.5" fill="#fff" stroke="{BRAND}" stroke-width="2"/>{label}</g>'
