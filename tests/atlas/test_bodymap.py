"""Body-map renderer and geometry (pure; no Django needed)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from knotwork.atlas.bodymap import (
    ESSENTIAL_FILL,
    NEUTRAL_FILL,
    cell_label,
    colour_for,
    geometry,
    render_bodymap,
)
from knotwork.atlas.loader import atlas

ATLAS = atlas()
ALL_CELLS = set(ATLAS.cells())
VIEW_OF = {r.id: r.view for r in ATLAS.regions}


class _Collect(HTMLParser):
    """Collect every element's attributes, the svg each sits in, and <title> texts of cells."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], str | None]] = []
        self.view: str | None = None
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.cell_titles: dict[int, str] = {}
        self._in_title_of: int | None = None

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = {k: v or "" for k, v in attrs}
        if tag == "svg" and "data-view" in a:
            self.view = a["data-view"]
        self.elements.append((tag, a, self.view))
        if tag == "title" and self.stack and self.stack[-1][0] == "path":
            self._in_title_of = len(self.elements) - 2
        self.stack.append((tag, a))

    def handle_startendtag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.elements.append((tag, {k: v or "" for k, v in attrs}, self.view))

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if self.stack:
            self.stack.pop()
        if tag == "svg":
            self.view = None
        if tag == "title":
            self._in_title_of = None

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._in_title_of is not None:
            self.cell_titles[self._in_title_of] = self.cell_titles.get(self._in_title_of, "") + data


def parse(markup: str) -> _Collect:
    p = _Collect()
    p.feed(markup)
    return p


def cell_paths(markup: str) -> list[tuple[dict[str, str], str | None]]:
    return [(a, v) for t, a, v in parse(markup).elements if t == "path" and "data-cell" in a]


def centroid_x(d: str) -> float:
    """Mean x of the first ring of an "Mx,y x,y ...Z" path (good enough for left/right)."""
    ring = d.split("Z")[0].lstrip("M")
    xs = [float(p.split(",")[0]) for p in ring.split()]
    return sum(xs) / len(xs)


@pytest.fixture(scope="module")
def plain() -> str:
    return render_bodymap()


def test_every_cell_is_drawn_and_no_unknown_cells(plain):
    drawn = {a["data-cell"] for a, _ in cell_paths(plain)}
    assert len(ALL_CELLS) == 163
    assert drawn == ALL_CELLS


def test_geometry_file_covers_every_cell_and_nothing_else():
    drawn = {s["cell"] for v in geometry()["views"].values() for s in v["shapes"]}
    assert drawn == ALL_CELLS


def test_views_hold_only_their_regions(plain):
    for a, view in cell_paths(plain):
        region = a["data-cell"].split(":")[0]
        assert VIEW_OF[region] in (view, "both"), (a["data-cell"], view)


def test_both_view_regions_appear_in_both_views(plain):
    seen: dict[str, set[str]] = {}
    for a, view in cell_paths(plain):
        seen.setdefault(a["data-cell"], set()).add(view or "")
    for cell, views in seen.items():
        if VIEW_OF[cell.split(":")[0]] == "both":
            assert views == {"front", "back"}, cell


def test_small_regions_are_repeated_in_insets():
    for view, cells in (
        (
            "front",
            [
                "temple:right",
                "orbit:left",
                "tmj:right",
                "upper-teeth:left",
                "lower-teeth:right",
                "ear:left",
                "thumb:right",
                "fingers-ulnar:left",
                "palm:right",
            ],
        ),
        ("back", ["mastoid:right", "thumb:left", "hand-dorsal:right", "sole:left", "heel:right", "big-toe:left", "lesser-toes:right"]),
    ):
        shapes = geometry()["views"][view]["shapes"]
        for c in cells:
            groups = {s["group"] for s in shapes if s["cell"] == c}
            assert groups - {"figure"}, (view, c)


def test_every_cell_has_an_accessible_label_with_side(plain):
    p = parse(plain)
    for i, (tag, a, _view) in enumerate(p.elements):
        if tag != "path" or "data-cell" not in a:
            continue
        cell = a["data-cell"]
        label = a["aria-label"]
        assert label == cell_label(cell)
        assert p.cell_titles.get(i) == label
        if ":" in cell:
            side = cell.split(":")[1]
            assert label.startswith(side.capitalize() + " ")
        else:
            assert not label.startswith(("Right ", "Left "))
    assert cell_label("temple:right") == "Right temple"
    assert cell_label("sternum")[0].isupper()


@pytest.mark.parametrize("region", ["temple", "shoulder-lateral", "hip-lateral", "knee-lateral", "ear", "thumb", "elbow-medial"])
def test_right_is_viewer_left_in_front_and_viewer_right_in_back(region):
    for view, right_is_left in (("front", True), ("back", False)):
        shapes = [s for s in geometry()["views"][view]["shapes"] if s["group"] == "figure"]
        r = [centroid_x(s["d"]) for s in shapes if s["cell"] == f"{region}:right"]
        left = [centroid_x(s["d"]) for s in shapes if s["cell"] == f"{region}:left"]
        assert r and left, (view, region)
        assert (r[0] < left[0]) == right_is_left, (view, region, r, left)
        assert (r[0] < 200) == right_is_left


def test_side_letters_are_on_the_correct_sides():
    for view, r_left in (("front", True), ("back", False)):
        sides = {s["text"]: s["x"] for s in geometry()["views"][view]["figure"]["sides"]}
        assert (sides["R"] < sides["L"]) == r_left


def test_hand_insets_keep_the_right_hand_on_the_figure_side():
    for view, right_is_left in (("front", True), ("back", False)):
        shapes = [s for s in geometry()["views"][view]["shapes"] if s["group"] == "hands"]
        r = [s["anchor"][0] for s in shapes if s["cell"] == "palm:right" or s["cell"] == "hand-dorsal:right"]
        left = [s["anchor"][0] for s in shapes if s["cell"] == "palm:left" or s["cell"] == "hand-dorsal:left"]
        assert (r[0] < left[0]) == right_is_left


def test_display_values_produce_fills():
    out = render_bodymap(values={"temple:right": 7, "calf:left": 2, "sternum": 0})
    fills = {a["data-cell"]: a["fill"] for a, _ in cell_paths(out)}
    assert fills["temple:right"] == colour_for(7) != NEUTRAL_FILL
    assert fills["calf:left"] == colour_for(2) != fills["temple:right"]
    assert fills["sternum"] == NEUTRAL_FILL
    assert fills["temple:left"] == NEUTRAL_FILL
    assert 'data-value="7"' in out
    assert "Intensity" in out  # legend explains the scale


def test_colour_scale_is_monotonic_in_darkness():
    def lum(c: str) -> float:
        r, g, b = (int(c[i : i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    lums = [lum(colour_for(v)) for v in range(1, 11)]
    assert lums == sorted(lums, reverse=True)
    assert colour_for(0) == NEUTRAL_FILL
    assert colour_for(25) == colour_for(10)


def test_essential_is_solid_and_spillover_is_hatched():
    out = render_bodymap(categories={"temple:right": "essential", "orbit:right": "spillover"}, id_prefix="tp1")
    fills = {}
    for a, _ in cell_paths(out):
        fills.setdefault(a["data-cell"], set()).add(a["fill"])
    assert fills["temple:right"] == {ESSENTIAL_FILL}
    (hatch,) = fills["orbit:right"]
    m = re.fullmatch(r"url\(#(tp1-front-hatch-\d+)\)", hatch)
    assert m, hatch
    assert f'<pattern id="{m.group(1)}"' in out
    assert "Essential zone (solid)" in out and "Spillover zone (hatched)" in out
    # two maps on one page never share pattern ids
    other = render_bodymap(categories={"orbit:right": "spillover"}, id_prefix="tp2")
    assert "tp1-" not in other


def test_markers_appear_at_the_cells():
    out = render_bodymap(markers=["shoulder-top:right"])
    # shoulder-top is drawn in both views, so a marker in each
    assert out.count('class="bm-marker"') == 2
    assert "Trigger point" in out
    assert render_bodymap().count('class="bm-marker"') == 0


def test_input_mode_cells_are_focusable_buttons():
    out = render_bodymap(mode="input", values={"jaw:left": 4}, categories={"jaw:left": "aching"})
    paths = cell_paths(out)
    assert paths
    for a, _ in paths:
        assert a["tabindex"] == "0"
        assert a["role"] == "button"
        assert a["aria-pressed"] in ("true", "false")
        assert "data-value" in a
    jaw = [a for a, _ in paths if a["data-cell"] == "jaw:left"]
    assert all(a["aria-pressed"] == "true" and a["data-value"] == "4" and a["data-quality"] == "aching" for a in jaw)
    assert 'role="group"' in out and 'role="img"' not in out
    assert 'data-bodymap-mode="input"' in out


def test_display_mode_is_an_image_with_title():
    out = render_bodymap(title="Pain drawing")
    assert out.count('role="img"') == 2
    assert '<title id="bm-front-title">Pain drawing (front view)</title>' in out
    assert "tabindex" not in out
    assert ">Front<" in out and ">Back<" in out


def test_single_view():
    out = render_bodymap(views=("back",))
    assert 'data-view="back"' in out and 'data-view="front"' not in out


def test_output_is_deterministic():
    first = render_bodymap(
        values={"calf:left": 3, "temple:right": 8},
        categories={"orbit:right": "spillover", "jaw:right": "essential"},
        markers=["neck-lateral:right", "calf:left"],
    )
    again = render_bodymap(
        values={"temple:right": 8, "calf:left": 3},
        categories={"jaw:right": "essential", "orbit:right": "spillover"},
        markers=["calf:left", "neck-lateral:right"],
    )
    assert first == again
    assert render_bodymap(mode="input") == render_bodymap(mode="input")


def test_labels_are_escaped():
    out = render_bodymap(title='<script>alert("x")</script> & co', mode="input", categories={"jaw:left": '"><img src=x>'})
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    assert "<img" not in out
    assert "&amp; co" in out


def test_bad_input_is_rejected():
    with pytest.raises(ValueError):
        render_bodymap(values={"temple": 3})  # paired region needs a side
    with pytest.raises(ValueError):
        render_bodymap(markers=["nowhere:left"])
    with pytest.raises(ValueError):
        render_bodymap(mode="paint")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        render_bodymap(views=("side",))
    with pytest.raises(ValueError):
        render_bodymap(id_prefix='x" onload="1')
