"""Render Knotwork's body map as SVG markup. Pure Python, no Django.

The geometry lives in ``data/bodymap.json``: for each view (``front``, ``back``) a list of
shapes, each one path for one *cell* (``temple:right``, ``sternum``; see
docs/contracts/body-regions.md). A cell can be drawn several times: in both views (regions
with ``view: both``) and again, larger, in the insets (face, hands, soles). Every drawing of a
cell carries the same ``data-cell``, so painting or colouring a cell shows everywhere.

Orientation: in the front view the client's right is on the viewer's left; in the back view the
client's right is on the viewer's right. "R"/"L" letters beside each figure say so.

:func:`render_bodymap` returns a ``str`` of HTML (a ``<div class="bodymap">`` wrapping one
``<svg>`` per view and an optional legend). Every piece of text is escaped here, so the Django
side may mark the result safe. Colours are SVG presentation attributes (``fill="..."``), never
``style=""``, so the markup works under a strict Content-Security-Policy; the interactive
widget is ``static/atlas/bodymap.js`` + ``bodymap.css``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from html import escape
from pathlib import Path
from typing import Any, Literal

from knotwork.atlas.loader import atlas
from knotwork.engine.wording import cell_words, places

GEOMETRY_PATH = Path(__file__).resolve().parent / "data" / "bodymap.json"
VIEWS = ("front", "back")
VIEW_CAPTIONS = {"front": "Front", "back": "Back"}

# Sequential scale for intensity, light yellow -> deep red (value / scale_max in (0, 1]).
SCALE_STOPS: tuple[tuple[float, str], ...] = (
    (0.0, "#fff3b8"),
    (0.25, "#fdd27c"),
    (0.5, "#f99244"),
    (0.75, "#dc4a2a"),
    (1.0, "#8e0c12"),
)
NEUTRAL_FILL = "#f5f2ed"  # a cell with no value and no category
ESSENTIAL_FILL = "#c0392b"  # an essential zone without a value
SPILLOVER_FILL = "#c0392b"  # hatch colour of a spillover zone without a value
HATCH_GROUND = "#fbf7f2"

_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,40}$")


@dataclass(frozen=True)
class MapWords:
    """The words a map is drawn with, English by default. ``knotwork.atlas.region_words.map_words``
    gives them in a client's language; ``labels`` maps every cell to its label with side."""

    labels: Mapping[str, str] | None = None
    captions: Mapping[str, str] = field(default_factory=lambda: dict(VIEW_CAPTIONS))
    view_titles: Mapping[str, str] = field(default_factory=lambda: {"front": "front view", "back": "back view"})
    side_letters: Mapping[str, str] = field(default_factory=lambda: {"R": "R", "L": "L"})
    insets: Mapping[str, str] = field(default_factory=dict)  # "front.head" -> caption; else the geometry's
    legend: str = "Legend"
    intensity: str = "Intensity"
    scale: str = "from light yellow (mild) to deep red (%(max)s of %(max)s)"
    keys: str = ""  # the keyboard hint static/atlas/bodymap.js reads to screen readers; empty: its own


@cache
def geometry() -> dict[str, Any]:
    """The parsed geometry file (cached for the life of the process)."""
    data: dict[str, Any] = json.loads(GEOMETRY_PATH.read_text(encoding="utf-8"))
    return data


@cache
def cell_order() -> dict[str, int]:
    """Cell id -> position in the atlas (head to toe, right before left)."""
    return {c: i for i, c in enumerate(atlas().cells())}


@cache
def view_shapes(view: str) -> tuple[dict[str, Any], ...]:
    """The shapes of one view, grouped (figure, then insets) and head to toe within a group."""
    shapes = geometry()["views"][view]["shapes"]
    groups: dict[str, int] = {}
    for s in shapes:
        groups.setdefault(s["group"], len(groups))
    order = cell_order()
    return tuple(sorted(shapes, key=lambda s: (groups[s["group"]], order[s["cell"]])))


@cache
def cell_labels() -> dict[str, str]:
    """Cell id -> plain-language label with side: ``"temple:right"`` -> ``"Right temple"``."""
    out: dict[str, str] = {}
    for r in atlas().regions:
        name = r.name
        if r.kind == "paired":
            out[f"{r.id}:right"] = f"Right {name}"
            out[f"{r.id}:left"] = f"Left {name}"
        else:
            out[r.id] = name[:1].upper() + name[1:]
    return out


def cell_label(cell: str) -> str:
    try:
        return cell_labels()[cell]
    except KeyError:
        raise ValueError(f"unknown body-map cell {cell!r}") from None


@cache
def _region_names() -> dict[str, str]:
    return {r.id: r.name for r in atlas().regions}


def cell_places(cells: Iterable[str]) -> str:
    """Cells in running text, head to toe, with the engine's wording:
    ``["calf:right", "knee-posterior:right"]`` -> ``"the right back of the knee and calf"``."""
    order = cell_order()
    ordered = sorted(set(cells), key=lambda c: (order.get(c, len(order)), c))
    return places(ordered, cell_words(ordered, _region_names())) if ordered else ""


def _hex(c: str) -> tuple[int, int, int]:
    return int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)


def colour_for(value: float, scale_max: float = 10) -> str:
    """Fill colour for a value on the sequential scale; 0 or less gives the neutral fill."""
    if not value or value <= 0 or scale_max <= 0:
        return NEUTRAL_FILL
    t = min(float(value) / float(scale_max), 1.0)
    for (t0, c0), (t1, c1) in zip(SCALE_STOPS, SCALE_STOPS[1:], strict=False):
        if t <= t1:
            f = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
            a, b = _hex(c0), _hex(c1)
            r, g, bl = (int(a[i] + (b[i] - a[i]) * f + 0.5) for i in range(3))
            return f"#{r:02x}{g:02x}{bl:02x}"
    return SCALE_STOPS[-1][1]


def _num(v: float) -> str:
    """Compact, deterministic number text."""
    f = float(v)
    if f.is_integer():
        return str(int(f))
    return f"{f:.2f}".rstrip("0").rstrip(".")


def _attrs(pairs: Iterable[tuple[str, object]]) -> str:
    return "".join(f' {k}="{escape(str(v), quote=True)}"' for k, v in pairs if v is not None)


def _check_cells(name: str, cells: Iterable[str]) -> None:
    known = cell_labels()
    bad = sorted({c for c in cells if c not in known})
    if bad:
        raise ValueError(f"{name}: unknown body-map cell(s): {', '.join(bad[:10])}")


def _marker_svg(x: float, y: float) -> str:
    return (
        f'<g class="bm-marker" transform="translate({_num(x)} {_num(y)})">'
        '<circle r="6" fill="#ffffff" stroke="#111111" stroke-width="1.8"/>'
        '<path d="M-3,-3L3,3M3,-3L-3,3" stroke="#111111" stroke-width="1.8" stroke-linecap="round"/>'
        "</g>"
    )


def _hatch_pattern(pid: str, colour: str) -> str:
    return (
        f'<pattern id="{escape(pid)}" patternUnits="userSpaceOnUse" width="5" height="5" patternTransform="rotate(45)">'
        f'<rect width="5" height="5" fill="{HATCH_GROUND}"/>'
        f'<rect width="2.2" height="5" fill="{escape(colour)}"/>'
        "</pattern>"
    )


def _summary(cells: Iterable[str]) -> str:
    return ", ".join(cell_label(c)[:1].lower() + cell_label(c)[1:] for c in cells)


# The figure (with its R/L labels) fits in the left part of each view; insets sit to its right.
FIGURE_WIDTH = 400


def _decor_kept(d: str, all_insets: list[dict[str, Any]], kept: list[dict[str, Any]]) -> bool:
    """Whether a decoration path (an eye, a nail) belongs to the figure or to a kept inset."""
    m = re.search(r"(-?[\d.]+)[ ,](-?[\d.]+)", d)
    if not m:
        return True
    x, y = float(m.group(1)), float(m.group(2))
    for inset in all_insets:
        fx, fy, fw, fh = inset["frame"]
        if fx <= x <= fx + fw and fy <= y <= fy + fh:
            return inset in kept
    return True


def render_bodymap(
    *,
    values: Mapping[str, float] | None = None,
    categories: Mapping[str, str] | None = None,
    markers: Iterable[str] = (),
    mode: Literal["display", "input"] = "display",
    views: Iterable[str] = VIEWS,
    id_prefix: str = "bm",
    title: str = "Body map",
    legend: bool = True,
    scale_max: float = 10,
    compact: bool = False,
    words: MapWords | None = None,
) -> str:
    """Return the body map as HTML/SVG markup (a ``<div class="bodymap">``).

    ``values`` maps cell -> value (0..scale_max) and colours the cell on a light-yellow to
    deep-red scale. ``categories`` maps cell -> ``"essential"`` (solid fill) or ``"spillover"``
    (hatched fill); any other category is kept as ``data-category`` only. In input mode the
    category is the cell's pain quality (``data-quality``) for the widget's initial drawing.
    ``markers`` puts a ringed X at the cells' centres (where a trigger point lies).
    ``compact`` (display mode) leaves out the zoomed insets that show nothing highlighted and,
    when none is left, crops the view to the figure: a small map for a page that shows many.
    ``words`` gives the labels and captions in another language (English by default).
    Unknown cells raise ``ValueError``. The output is deterministic.
    """
    if mode not in ("display", "input"):
        raise ValueError(f"mode must be 'display' or 'input', not {mode!r}")
    views = tuple(views)
    if not views or any(v not in VIEWS for v in views) or len(set(views)) != len(views):
        raise ValueError(f"views must be drawn from {VIEWS}, without repeats")
    if not _ID_RE.match(id_prefix):
        raise ValueError("id_prefix must start with a letter and hold only letters, digits, '-' and '_'")
    if scale_max <= 0:
        raise ValueError("scale_max must be positive")
    values = dict(values or {})
    categories = dict(categories or {})
    marker_list = list(dict.fromkeys(markers))
    _check_cells("values", values)
    _check_cells("categories", categories)
    _check_cells("markers", marker_list)
    marker_list.sort(key=cell_order().__getitem__)  # head to toe, whatever order they came in
    words = words or MapWords()
    labels = words.labels or cell_labels()
    geo = geometry()
    is_input = mode == "input"
    width, height = geo["width"], geo["height"]

    used_values = any(v and v > 0 for v in values.values())
    has_essential = any(c == "essential" for c in categories.values()) and not is_input
    has_spillover = any(c == "spillover" for c in categories.values()) and not is_input

    def fill_of(cell: str) -> tuple[str, str | None]:
        """(fill colour, hatch colour or None) for a cell."""
        v = values.get(cell)
        cat = None if is_input else categories.get(cell)
        base = colour_for(v, scale_max) if v and v > 0 else None
        if cat == "spillover":
            return HATCH_GROUND, base or SPILLOVER_FILL
        if cat == "essential":
            return base or ESSENTIAL_FILL, None
        return base or NEUTRAL_FILL, None

    out: list[str] = []
    wrapper = [
        ("class", f"bodymap bodymap--{mode}"),
        ("id", id_prefix),
        ("data-bodymap", ""),
        ("data-bodymap-mode", mode),
        ("data-bodymap-max", _num(scale_max)),
        ("data-bodymap-scale", " ".join(f"{_num(t)}:{c}" for t, c in SCALE_STOPS)),
        ("data-bodymap-neutral", NEUTRAL_FILL),
        ("data-bodymap-keys", words.keys or None),
    ]
    out.append(f"<div{_attrs(wrapper)}>")
    out.append('<div class="bm-views">')
    highlighted = {c for c, v in values.items() if v and v > 0} | set(categories) | set(marker_list)
    for view in views:
        vdata = geo["views"][view]
        vid = f"{id_prefix}-{view}"
        caption = words.captions[view]
        shapes = view_shapes(view)
        insets = vdata["insets"]
        view_width = width
        if compact and not is_input:
            kept = {sh["group"] for sh in shapes if sh["cell"] in highlighted}
            insets = [i for i in insets if i["id"] in kept]
            shapes = tuple(sh for sh in shapes if sh["group"] == "figure" or sh["group"] in kept)
            if not insets:
                view_width = FIGURE_WIDTH
        view_cells = list(dict.fromkeys(s["cell"] for s in shapes))
        svg_attrs: list[tuple[str, object]] = [
            ("xmlns", "http://www.w3.org/2000/svg"),
            ("class", f"bm-view bm-view--{view}"),
            ("viewBox", f"0 0 {view_width} {height}"),
            ("data-view", view),
            ("role", "group" if is_input else "img"),
            ("aria-labelledby", f"{vid}-title"),
        ]
        desc = ""
        if not is_input:
            parts = []
            for label, cat in (("Essential", "essential"), ("Spillover", "spillover")):
                cs = [c for c in view_cells if categories.get(c) == cat]
                if cs:
                    parts.append(f"{label}: {_summary(cs)}.")
            marked = [c for c in view_cells if values.get(c, 0) and values[c] > 0]
            if marked:
                parts.append("Marked: " + ", ".join(f"{_summary([c])} {_num(values[c])}/{_num(scale_max)}" for c in marked) + ".")
            ms = [c for c in marker_list if c in view_cells]
            if ms:
                parts.append(f"Trigger point: {_summary(ms)}.")
            if parts:
                desc = " ".join(parts)
                svg_attrs[-1] = ("aria-labelledby", f"{vid}-title {vid}-desc")
        out.append(f"<svg{_attrs(svg_attrs)}>")
        out.append(f'<title id="{vid}-title">{escape(title)} ({escape(words.view_titles[view])})</title>')
        if desc:
            out.append(f'<desc id="{vid}-desc">{escape(desc)}</desc>')

        # hatch patterns, one per colour, ids unique per map and view
        hatch_ids: dict[str, str] = {}
        cell_fill: dict[str, tuple[str, str | None]] = {c: fill_of(c) for c in view_cells}
        for c in view_cells:
            hc = cell_fill[c][1]
            if hc and hc not in hatch_ids:
                hatch_ids[hc] = f"{vid}-hatch-{len(hatch_ids)}"
        if hatch_ids:
            out.append("<defs>")
            out.extend(_hatch_pattern(pid, colour) for colour, pid in hatch_ids.items())
            out.append("</defs>")

        # inset frames and captions
        out.append('<g class="bm-frames" aria-hidden="true">')
        for inset in insets:
            x, y, w, h = inset["frame"]
            out.append(f'<rect class="bm-frame" x="{x}" y="{y}" width="{w}" height="{h}" rx="10" fill="none"/>')
            cx, cy = _num(x + w / 2), _num(y + 20)
            inset_caption = words.insets.get(f"{view}.{inset['id']}", inset["caption"])
            out.append(f'<text class="bm-inset-caption" x="{cx}" y="{cy}" text-anchor="middle">{escape(inset_caption)}</text>')
        out.append("</g>")

        # cells
        out.append('<g class="bm-cells">')
        for s in shapes:
            cell = s["cell"]
            label = labels[cell]
            fill, hatch = cell_fill[cell]
            v = values.get(cell)
            cls = "bm-cell"
            if (v and v > 0) or (not is_input and cell in categories):
                cls += " bm-cell--marked"
            attrs: list[tuple[str, object]] = [
                ("class", cls),
                ("d", s["d"]),
                ("data-cell", cell),
                ("aria-label", label),
                ("fill", f"url(#{hatch_ids[hatch]})" if hatch else fill),
            ]
            if v is not None and (is_input or v > 0):
                attrs.append(("data-value", _num(v)))
            elif is_input:
                attrs.append(("data-value", "0"))
            category = categories.get(cell)
            if category is not None:
                attrs.append(("data-quality" if is_input else "data-category", category))
            if is_input:
                attrs += [("tabindex", "0"), ("role", "button"), ("aria-pressed", "true" if v and v > 0 else "false")]
            out.append(f"<path{_attrs(attrs)}><title>{escape(label)}</title></path>")
        out.append("</g>")

        # outlines, decoration, markers, labels: never hit-testable
        out.append('<g class="bm-outline" aria-hidden="true">')
        out.append(f'<path d="{vdata["figure"]["outline"]}"/>')
        for inset in insets:
            out.append(f'<path d="{inset["outline"]}"/>')
        out.append("</g>")
        decor = vdata.get("decor") or []
        if len(insets) < len(vdata["insets"]):
            decor = [dd for dd in decor if _decor_kept(dd["d"], vdata["insets"], insets)]
        if decor:
            out.append('<g class="bm-decor" aria-hidden="true">')
            for dd in decor:
                cls = "bm-decor-fill" if dd.get("fill") else "bm-decor-line"
                out.append(f'<path class="{cls}" d="{dd["d"]}"/>')
            out.append("</g>")
        ms = [c for c in marker_list if c in view_cells]
        if ms:
            out.append('<g class="bm-markers" aria-hidden="true">')
            for s in shapes:
                if s["cell"] in ms:
                    out.append(_marker_svg(*s["anchor"]))
            out.append("</g>")
        out.append('<g class="bm-labels" aria-hidden="true">')
        for side in vdata["figure"]["sides"]:
            out.append(f'<text class="bm-side" x="{side["x"]}" y="{side["y"]}" text-anchor="middle">{_side_letter(words, side)}</text>')
        for inset in insets:
            for side in inset["sides"]:
                xy = f'x="{side["x"]}" y="{side["y"]}"'
                out.append(f'<text class="bm-side bm-side--small" {xy} text-anchor="middle">{_side_letter(words, side)}</text>')
        cap = vdata["figure"]["caption"]
        out.append(f'<text class="bm-caption" x="{cap["x"]}" y="{cap["y"]}" text-anchor="middle">{escape(caption)}</text>')
        out.append("</g>")
        out.append('<g class="bm-hilite" aria-hidden="true"></g>')
        out.append("</svg>")
    out.append("</div>")

    if legend:
        out.append(_legend(id_prefix, used_values or is_input, has_essential, has_spillover, bool(marker_list), scale_max, words))
    out.append("</div>")
    return "".join(out)


def _side_letter(words: MapWords, side: Mapping[str, Any]) -> str:
    """The "R"/"L" letter beside a figure, in the map's language ("D"/"I" in Spanish)."""
    return escape(words.side_letters.get(side["text"], side["text"]))


def _legend(id_prefix: str, scale: bool, essential: bool, spillover: bool, markers: bool, scale_max: float, words: MapWords) -> str:
    items: list[str] = []
    sw = 'class="bm-swatch" viewBox="0 0 24 16" width="24" height="16" aria-hidden="true" focusable="false"'
    if essential:
        items.append(
            f'<li><svg {sw}><rect x="0.5" y="0.5" width="23" height="15" rx="2" fill="{ESSENTIAL_FILL}" stroke="#333"/></svg>'
            "Essential zone (solid): where the pain is usually felt</li>"
        )
    if spillover:
        pid = f"{id_prefix}-legend-hatch"
        items.append(
            f"<li><svg {sw}><defs>{_hatch_pattern(pid, SPILLOVER_FILL)}</defs>"
            f'<rect x="0.5" y="0.5" width="23" height="15" rx="2" fill="url(#{pid})" stroke="#333"/></svg>'
            "Spillover zone (hatched): where it may also be felt</li>"
        )
    if markers:
        items.append(
            '<li><svg class="bm-swatch" viewBox="-12 -8 24 16" width="24" height="16" aria-hidden="true" focusable="false">'
            '<circle r="6" fill="#fff" stroke="#111" stroke-width="1.8"/>'
            '<path d="M-3,-3L3,3M3,-3L-3,3" stroke="#111" stroke-width="1.8" stroke-linecap="round"/></svg>'
            "Trigger point</li>"
        )
    if scale:
        gid = f"{id_prefix}-legend-scale"
        stops = "".join(f'<stop offset="{_num(t)}" stop-color="{c}"/>' for t, c in SCALE_STOPS)
        mid = scale_max / 2
        items.append(
            f'<li class="bm-legend-scale"><span>{escape(words.intensity)}</span>'
            f'<svg class="bm-scale" viewBox="0 0 160 28" width="160" height="28" aria-hidden="true" focusable="false">'
            f'<defs><linearGradient id="{gid}">{stops}</linearGradient></defs>'
            f'<rect x="4" y="2" width="152" height="12" rx="2" fill="url(#{gid})" stroke="#333" stroke-width="0.8"/>'
            f'<text x="4" y="26" text-anchor="start">0</text>'
            f'<text x="80" y="26" text-anchor="middle">{_num(mid)}</text>'
            f'<text x="156" y="26" text-anchor="end">{_num(scale_max)}</text></svg>'
            f'<span class="bm-visually-hidden">{escape(words.scale % {"max": _num(scale_max)})}</span></li>'
        )
    if not items:
        return ""
    return f'<ul class="bm-legend" aria-label="{escape(words.legend, quote=True)}">{"".join(items)}</ul>'
