"""Simple illustrations for the exercise library: a stick figure in the exercise's pose with the
worked body part highlighted. Pure Python (no Django); the output is SVG markup with presentation
attributes only (no ``style``), so it works under a strict Content-Security-Policy and in PDFs.

Each pose is a few polylines and a head in a 120 × 100 box; each focus is a point in that pose.
"""

from __future__ import annotations

from functools import cache
from html import escape

Point = tuple[float, float]

# Poses: head centre and the limbs as polylines. Drawn side-on, facing right.
POSE_LINES: dict[str, tuple[Point, list[list[Point]]]] = {
    "standing": ((60, 14), [
        [(60, 22), (60, 56)], [(60, 28), (68, 42), (74, 54)], [(60, 28), (52, 42), (48, 54)],
        [(60, 56), (64, 76), (64, 94)], [(60, 56), (56, 76), (54, 94)], [(50, 96), (72, 96)],
    ]),
    "seated": ((46, 16), [
        [(46, 24), (46, 58)], [(46, 30), (56, 44), (66, 50)], [(46, 58), (70, 58), (70, 88)], [(70, 88), (78, 88)],
        [(36, 60), (80, 60)], [(38, 60), (38, 92)], [(76, 60), (76, 92)],
    ]),
    "supine": ((16, 72), [
        [(24, 74), (62, 76)], [(32, 74), (44, 66), (56, 70)], [(62, 76), (80, 60), (96, 76)], [(62, 76), (104, 78)],
        [(6, 84), (114, 84)],
    ]),
    "prone": ((16, 66), [
        [(24, 70), (64, 78)], [(30, 70), (32, 82)], [(64, 78), (104, 80)], [(104, 80), (110, 74)],
        [(6, 84), (114, 84)],
    ]),
    "kneeling": ((56, 12), [
        [(56, 20), (56, 52)], [(56, 26), (62, 40), (60, 52)], [(56, 52), (78, 52), (80, 80)], [(80, 80), (88, 80)],
        [(56, 52), (46, 78), (24, 80)], [(10, 84), (110, 84)],
    ]),
    "side-lying": ((18, 62), [
        [(26, 66), (64, 70)], [(30, 66), (22, 80)], [(64, 70), (80, 56), (96, 70)], [(64, 70), (82, 66), (98, 76)],
        [(6, 84), (114, 84)],
    ]),
    "quadruped": ((22, 42), [
        [(30, 48), (78, 48)], [(34, 50), (34, 82)], [(78, 48), (80, 82), (100, 82)], [(10, 84), (110, 84)],
    ]),
}  # fmt: skip

FOCUS_POINTS: dict[str, dict[str, Point]] = {
    "standing": {
        "head": (60, 12),
        "jaw": (63, 18),
        "neck": (60, 22),
        "shoulder": (60, 28),
        "chest": (62, 34),
        "upper-back": (58, 34),
        "arm": (64, 35),
        "elbow": (68, 42),
        "forearm": (71, 48),
        "hand": (74, 54),
        "abdomen": (61, 48),
        "low-back": (59, 50),
        "hip": (60, 56),
        "buttock": (58, 58),
        "thigh": (62, 66),
        "knee": (64, 76),
        "calf": (64, 86),
        "ankle": (64, 94),
        "foot": (68, 96),
    },
    "seated": {
        "head": (46, 14),
        "jaw": (49, 20),
        "neck": (46, 24),
        "shoulder": (46, 30),
        "chest": (48, 36),
        "upper-back": (45, 38),
        "arm": (51, 37),
        "elbow": (56, 44),
        "forearm": (61, 47),
        "hand": (66, 50),
        "abdomen": (48, 48),
        "low-back": (45, 52),
        "hip": (46, 58),
        "buttock": (46, 58),
        "thigh": (58, 58),
        "knee": (70, 60),
        "calf": (70, 74),
        "ankle": (70, 88),
        "foot": (75, 88),
    },
    "supine": {
        "head": (16, 72),
        "jaw": (18, 76),
        "neck": (24, 74),
        "shoulder": (30, 74),
        "chest": (38, 74),
        "upper-back": (38, 76),
        "arm": (38, 70),
        "elbow": (44, 66),
        "forearm": (50, 68),
        "hand": (56, 70),
        "abdomen": (50, 75),
        "low-back": (56, 77),
        "hip": (62, 76),
        "buttock": (62, 78),
        "thigh": (71, 68),
        "knee": (80, 60),
        "calf": (88, 68),
        "ankle": (96, 76),
        "foot": (100, 77),
    },
    "prone": {
        "head": (16, 66),
        "jaw": (18, 70),
        "neck": (24, 70),
        "shoulder": (30, 71),
        "chest": (38, 74),
        "upper-back": (38, 71),
        "arm": (31, 76),
        "elbow": (32, 82),
        "forearm": (32, 82),
        "hand": (32, 82),
        "abdomen": (50, 77),
        "low-back": (56, 75),
        "hip": (64, 78),
        "buttock": (64, 76),
        "thigh": (76, 79),
        "knee": (86, 79),
        "calf": (96, 80),
        "ankle": (104, 80),
        "foot": (108, 76),
    },
    "kneeling": {
        "head": (56, 10),
        "jaw": (59, 16),
        "neck": (56, 20),
        "shoulder": (56, 26),
        "chest": (58, 32),
        "upper-back": (54, 32),
        "arm": (59, 33),
        "elbow": (62, 40),
        "forearm": (61, 46),
        "hand": (60, 52),
        "abdomen": (57, 44),
        "low-back": (55, 46),
        "hip": (56, 52),
        "buttock": (54, 54),
        "thigh": (50, 64),
        "knee": (46, 78),
        "calf": (34, 79),
        "ankle": (26, 80),
        "foot": (84, 80),
    },
    "side-lying": {
        "head": (18, 62),
        "jaw": (20, 66),
        "neck": (26, 66),
        "shoulder": (32, 66),
        "chest": (40, 68),
        "upper-back": (40, 66),
        "arm": (26, 73),
        "elbow": (22, 80),
        "forearm": (22, 80),
        "hand": (22, 80),
        "abdomen": (50, 69),
        "low-back": (56, 68),
        "hip": (64, 70),
        "buttock": (62, 68),
        "thigh": (72, 63),
        "knee": (80, 56),
        "calf": (88, 63),
        "ankle": (96, 70),
        "foot": (98, 72),
    },
    "quadruped": {
        "head": (22, 42),
        "jaw": (20, 46),
        "neck": (30, 48),
        "shoulder": (34, 48),
        "chest": (42, 50),
        "upper-back": (42, 47),
        "arm": (34, 60),
        "elbow": (34, 66),
        "forearm": (34, 74),
        "hand": (34, 82),
        "abdomen": (56, 50),
        "low-back": (66, 47),
        "hip": (78, 48),
        "buttock": (80, 46),
        "thigh": (79, 64),
        "knee": (80, 82),
        "calf": (90, 82),
        "ankle": (100, 82),
        "foot": (102, 82),
    },
}

INK = "#1b2428"
FOCUS = "#c0392b"


@cache
def figure_svg(pose: str, focus: str, *, title: str = "", size: int = 120) -> str:
    """The illustration as an ``<svg>`` element (escaped title for screen readers)."""
    head, lines = POSE_LINES[pose]
    fx, fy = FOCUS_POINTS[pose][focus]
    label = escape(title or f"{pose} position, {focus.replace('-', ' ')} highlighted")
    paths = "".join(
        f'<polyline points="{" ".join(f"{x:g},{y:g}" for x, y in line)}" fill="none" stroke="{INK}" stroke-width="3.2" '
        'stroke-linecap="round" stroke-linejoin="round"/>'
        for line in lines
    )
    height = round(size * 100 / 120)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 100" width="{size}" height="{height}" '
        'role="img" class="exercise-figure">'
        f"<title>{label}</title>"
        f'<rect x="0" y="0" width="120" height="100" rx="8" fill="#f5f7f6"/>'
        f'<circle cx="{fx:g}" cy="{fy:g}" r="9" fill="{FOCUS}" fill-opacity="0.28" stroke="{FOCUS}" stroke-width="1.5"/>'
        f"{paths}"
        f'<circle cx="{head[0]:g}" cy="{head[1]:g}" r="7" fill="#fff" stroke="{INK}" stroke-width="3"/>'
        "</svg>"
    )
