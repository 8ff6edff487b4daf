"""How much of the body each pain-drawing cell covers, from the body map's own geometry.

Each cell's share is its polygon area on the front and back figures (shoelace formula over the
``d`` paths of ``knotwork/atlas/data/bodymap.json``) divided by the area of all cells on both
figures. A drawing is a projection, so this is the share of the *drawn* surface, the usual
measure of pain extent on a pain drawing, not a surface-anatomy estimate (the rule of nines
would be coarser: it cannot split a forearm into three cells).

Cells drawn only in a zoomed inset (the soles) are scaled back to figure size with the ratio of
a cell that appears both on the figure and in that inset (the heel). Pure: no Django imports.
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BODYMAP_FILE = Path(__file__).resolve().parents[1] / "atlas" / "data" / "bodymap.json"
_SUBPATH = re.compile(r"M([^MZ]*)Z?")


def polygon_area(path: str) -> float:
    """Area of an SVG path made of straight segments (``M x,y x,y … Z``, several subpaths summed)."""
    total = 0.0
    for sub in _SUBPATH.findall(path):
        pts = [tuple(float(v) for v in p.split(",")) for p in sub.split()]
        acc = 0.0
        for i, (x1, y1) in enumerate(pts):
            x2, y2 = pts[(i + 1) % len(pts)]
            acc += x1 * y2 - x2 * y1
        total += abs(acc) / 2
    return total


def cell_areas_from(bodymap: Mapping[str, Any]) -> dict[str, float]:
    figure: dict[str, float] = defaultdict(float)
    insets: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for view in bodymap["views"].values():
        for shape in view["shapes"]:
            target = figure if shape["group"] == "figure" else insets[shape["group"]]
            target[shape["cell"]] += polygon_area(shape["d"])
    for cells in insets.values():
        shared = [c for c in cells if c in figure and cells[c]]
        if not shared:
            continue
        scale = sum(figure[c] for c in shared) / sum(cells[c] for c in shared)
        for cell, area in cells.items():
            if cell not in figure:
                figure[cell] = area * scale
    return dict(figure)


@functools.cache
def cell_areas() -> dict[str, float]:
    with BODYMAP_FILE.open(encoding="utf-8") as fh:
        return cell_areas_from(json.load(fh))
