"""Generate Knotwork body-map geometry (output: knotwork/atlas/data/bodymap.json, via build.py).

All shapes are designed here from parametric primitives (Catmull-Rom outlines, ellipses, tapered
limb ribbons). The figure is symmetric: we design the viewer-right half (x >= 200) and mirror it.
Cells are assigned by ordered zones: cell = silhouette-half & zone - already assigned, so the cells
tile the outline exactly.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from shapely.ops import polylabel, unary_union

CX = 200.0


# ---------------------------------------------------------------- primitives
def catmull(pts, n=10, closed=True):
    pts = [tuple(map(float, p)) for p in pts]
    out = []
    m = len(pts)
    rng = range(m) if closed else range(m - 1)
    for i in rng:
        p0 = pts[(i - 1) % m] if (closed or i > 0) else pts[0]
        p1 = pts[i]
        p2 = pts[(i + 1) % m]
        p3 = pts[(i + 2) % m] if (closed or i + 2 < m) else pts[-1]
        for k in range(n):
            t = k / n
            t2, t3 = t * t, t * t * t
            x = 0.5 * ((2 * p1[0]) + (-p0[0] + p2[0]) * t + (2 * p0[0] - 5 * p1[0] + 4 * p2[0] - p3[0]) * t2 + (-p0[0] + 3 * p1[0] - 3 * p2[0] + p3[0]) * t3)
            y = 0.5 * ((2 * p1[1]) + (-p0[1] + p2[1]) * t + (2 * p0[1] - 5 * p1[1] + 4 * p2[1] - p3[1]) * t2 + (-p0[1] + 3 * p1[1] - 3 * p2[1] + p3[1]) * t3)
            out.append((x, y))
    if not closed:
        out.append(pts[-1])
    return out


def smooth(pts, n=10):
    return Polygon(catmull(pts, n)).buffer(0)


def sym(half_pts):
    """Closed outline from a right-half point list running top (on the midline) to bottom (on the midline)."""
    mirrored = [(2 * CX - x, y) for x, y in reversed(half_pts[1:-1])]
    return list(half_pts) + mirrored


def ellipse(cx, cy, rx, ry, rot=0.0, n=72):
    pts = [(cx + rx * math.cos(2 * math.pi * k / n), cy + ry * math.sin(2 * math.pi * k / n)) for k in range(n)]
    p = Polygon(pts)
    return affinity.rotate(p, rot, origin=(cx, cy)) if rot else p


def capsule(p0, p1, r0, r1, n=24):
    """Tapered capsule between two points (round ends)."""
    (x0, y0), (x1, y1) = p0, p1
    d = math.hypot(x1 - x0, y1 - y0)
    ang = math.atan2(y1 - y0, x1 - x0)
    pts = []
    for k in range(n + 1):  # end cap at p1
        a = ang - math.pi / 2 + math.pi * k / n
        pts.append((x1 + r1 * math.cos(a), y1 + r1 * math.sin(a)))
    for k in range(n + 1):
        a = ang + math.pi / 2 + math.pi * k / n
        pts.append((x0 + r0 * math.cos(a), y0 + r0 * math.sin(a)))
    return Polygon(pts).buffer(0)


def poly(pts):
    return Polygon(pts).buffer(0)


def mirror(g):
    return affinity.scale(g, xfact=-1, yfact=1, origin=(CX, 0))


RIGHT_HALF = box(CX, -100, 1000, 2000)


class Ribbon:
    """A limb: a smooth centre line with a width profile. zone(t0,t1,f0,f1) gives the band between
    fractions t along the line and lateral fractions f across it (-1 medial edge, +1 lateral edge)."""

    def __init__(self, centre, widths, lateral=+1):
        line = np.array(catmull(centre, n=12, closed=False))
        seg = np.hypot(*np.diff(line, axis=0).T)
        s = np.concatenate([[0], np.cumsum(seg)])
        self.L = s[-1]
        self.s = s / s[-1]
        self.line = line
        self.wt = np.array([w[0] for w in widths])
        self.wv = np.array([w[1] for w in widths])
        self.lateral = lateral

    def at(self, t):
        if t < 0:
            p0, p1 = self.line[0], self.line[1]
            d = (p1 - p0) / np.hypot(*(p1 - p0))
            p = p0 + d * t * self.L
        elif t > 1:
            p0, p1 = self.line[-2], self.line[-1]
            d = (p1 - p0) / np.hypot(*(p1 - p0))
            p = p1 + d * (t - 1) * self.L
        else:
            x = np.interp(t, self.s, self.line[:, 0])
            y = np.interp(t, self.s, self.line[:, 1])
            p = np.array([x, y])
            i = min(max(np.searchsorted(self.s, t), 1), len(self.s) - 1)
            d = self.line[i] - self.line[i - 1]
            d = d / np.hypot(*d)
        n = np.array([d[1], -d[0]]) * self.lateral  # lateral normal
        if n[0] < 0 and self.lateral > 0:
            n = -n
        w = float(np.interp(t, self.wt, self.wv)) / 2
        return p, n, w

    def pt(self, t, f):
        p, n, w = self.at(t)
        return tuple(p + n * f * w)

    def zone(self, t0, t1, f0=-3, f1=3, k=40):
        ts = np.linspace(t0, t1, k)
        a = [self.pt(t, f0) for t in ts]
        b = [self.pt(t, f1) for t in reversed(ts)]
        return Polygon(a + b).buffer(0)

    def shape(self):
        return self.zone(0, 1, -1, 1, k=80)


# ---------------------------------------------------------------- the figure (viewer-right half + midline)
HEAD = smooth(sym([(200, 19), (221, 22), (234, 33), (239.5, 52), (240, 72), (238, 92), (233, 110), (225, 124), (213, 134), (200, 138)]), 12)
EAR = ellipse(241.5, 87, 6.5, 13, rot=8) - HEAD
NECK = smooth(sym([(200, 112), (222, 112), (224, 135), (225.5, 152), (230, 167), (240, 180), (200, 186)]), 8)
TORSO = smooth(sym([
    (200, 177), (222, 170), (232, 173), (255, 180), (282, 188), (300, 196), (306, 208), (298, 226), (291, 246),
    (291, 268), (287, 300), (278, 336), (281, 372), (291, 404), (296, 432), (293, 450), (262, 462), (230, 468), (200, 471),
]), 10)

ARM = Ribbon(
    [(297, 204), (307, 260), (315, 306), (320, 338), (327, 392), (333, 446)],
    [(0, 46), (0.12, 45), (0.22, 41), (0.35, 37), (0.46, 32.5), (0.53, 31), (0.6, 33), (0.72, 29.5), (0.9, 22.5), (1.0, 21)],
)
DELTOID = ellipse(300, 214, 23, 26, rot=-10)
ARM_SHAPE = unary_union([ARM.zone(0, 1, -1, 1, 80), DELTOID])

LEG_OUT = [(296, 432), (297, 468), (293, 510), (284, 566), (272, 618), (267, 648), (271, 690), (270, 730), (261, 786), (253, 826), (251, 850)]
LEG_IN = [(201, 471), (204, 505), (208, 552), (214, 602), (217, 632), (216, 660), (212, 700), (215, 752), (222, 806), (226, 836), (227, 850)]


class LegRibbon:
    def __init__(self, inner, outer):
        self.inner = np.array(catmull(inner, 10, closed=False))
        self.outer = np.array(catmull(outer, 10, closed=False))

    def xs(self, y):
        xi = np.interp(y, self.inner[:, 1], self.inner[:, 0])
        xo = np.interp(y, self.outer[:, 1], self.outer[:, 0])
        return xi, xo

    def pt(self, y, f):
        xi, xo = self.xs(y)
        return ((xi + xo) / 2 + f * (xo - xi) / 2, y)

    def zone(self, y0, y1, f0=-3, f1=3, k=40):
        ys = np.linspace(y0, y1, k)
        return Polygon([self.pt(y, f0) for y in ys] + [self.pt(y, f1) for y in reversed(ys)]).buffer(0)

    def shape(self):
        return Polygon(list(map(tuple, self.outer)) + list(map(tuple, self.inner[::-1]))).buffer(0)


LEG = LegRibbon(LEG_IN, LEG_OUT)
LEG_SHAPE = LEG.shape()

# ---- hand (local frame: wrist crease at origin, +y towards the fingertips, +x lateral / thumb side)
HAND_PALM = smooth([(-10.5, -1), (0, -1.5), (10.5, -1), (15, 8), (17.5, 22), (18.5, 36), (18, 49), (9, 52), (0, 53), (-9, 52), (-16.5, 49),
                    (-17.5, 36), (-16, 20), (-13.5, 7)], 8)
FINGERS = {
    "index": ((13.0, 48), 9.4, 38, 2.5),
    "middle": ((4.2, 50.5), 9.6, 43, 0.5),
    "ring": ((-4.6, 50), 9.4, 40, -1.5),
    "little": ((-12.6, 47), 8.2, 31, -4),
}


def finger(base, width, length, angle_deg):
    a = math.radians(angle_deg)
    tip = (base[0] + length * math.sin(a), base[1] + length * math.cos(a))
    return capsule((base[0], base[1] - 6), tip, width / 2, width / 2 * 0.86)


def hand_cells():
    fingers = {k: finger(*v) for k, v in FINGERS.items()}
    thumb = capsule((13, 12), (27.5, 44), 7.2, 5.3)
    web = smooth([(16, 16), (22, 28), (22, 36), (18, 38)], 6)
    palm = HAND_PALM
    thumb_cell = unary_union([thumb, web]) - palm
    radial = unary_union([fingers["index"], fingers["middle"]]) - palm - thumb_cell
    ulnar = unary_union([fingers["ring"], fingers["little"]]) - palm - radial - thumb_cell
    return {"palm": palm, "thumb": thumb_cell, "fingers-radial": radial, "fingers-ulnar": ulnar}


HAND_SCALE = 0.96


def hand_to_body(g):
    p, n, w = ARM.at(1.0)
    d = np.array([-n[1], n[0]])  # along the limb
    if d[1] < 0:
        d = -d
    ang = math.degrees(math.atan2(d[1], d[0])) - 90
    g = affinity.scale(g, HAND_SCALE, HAND_SCALE, origin=(0, 0))
    g = affinity.rotate(g, ang + 1.5, origin=(0, 0))
    return affinity.translate(g, p[0], p[1] - 0.5)


HAND_LOCAL = hand_cells()
HAND_BODY = {k: hand_to_body(v) for k, v in HAND_LOCAL.items()}
HAND_SHAPE = unary_union(list(HAND_BODY.values()))

# ---- front foot (seen from the front, foreshortened)
FOOT_FRONT = smooth([(226, 846), (251, 846), (259, 856), (268, 866), (272, 874), (262, 877), (236, 879), (220, 879), (219, 868), (222, 856)], 8)
TOES_FRONT = {
    "big-toe": [ellipse(227.5, 879, 8.2, 6.6)],
    "lesser-toes": [ellipse(240.5, 880, 5.0, 5.2), ellipse(250, 879.3, 4.6, 4.9), ellipse(258.5, 877.6, 4.1, 4.5), ellipse(266, 875, 3.6, 4.0)],
}
FOOT_BACK = smooth([(227, 846), (251, 846), (254, 858), (256, 870), (262, 878), (252, 883), (234, 883), (219, 880), (223, 870), (224, 858)], 8)


def body_half(view):
    core = unary_union([HEAD, NECK, TORSO, ARM_SHAPE, LEG_SHAPE])
    core = core.buffer(2.5, quad_segs=8).buffer(-2.5, quad_segs=8)
    parts = [core, EAR, HAND_SHAPE]
    if view == "front":
        parts += [FOOT_FRONT, *TOES_FRONT["big-toe"], *TOES_FRONT["lesser-toes"]]
    else:
        parts += [FOOT_BACK]
    whole = unary_union(parts)
    whole = unary_union([whole, mirror(whole)])
    return whole


def band(y0, y1):
    return box(-100, y0, 1000, y1)


def xband(x0, x1, y0=-100, y1=2000):
    return box(x0, y0, x1, y1)


def curve_below(pts, bottom=2000):
    """Region below a polyline running left to right (smoothed)."""
    c = catmull(pts, 8, closed=False)
    return Polygon(c + [(c[-1][0], bottom), (c[0][0], bottom)]).buffer(0)


def curve_above(pts, top=-100):
    c = catmull(pts, 8, closed=False)
    return Polygon(c + [(c[-1][0], top), (c[0][0], top)]).buffer(0)


def strip_along(pts, above, below):
    c = catmull(pts, 8, closed=False)
    up = [(x, y - above) for x, y in c]
    dn = [(x, y + below) for x, y in reversed(c)]
    return Polygon(up + dn).buffer(0)


ARM_Z = ARM_SHAPE.buffer(0.01)
LEG_Z = LEG_SHAPE - TORSO
HEAD_Z = unary_union([HEAD])

# arm bands (fractions along the arm)
T_DELT, T_ELB0, T_ELB1, T_WR = 0.2, 0.47, 0.59, 0.925


def arm(t0, t1, f0=-3, f1=3):
    z = ARM.zone(t0, t1, f0, f1)
    return z & ARM_Z


def leg(y0, y1, f0=-3, f1=3):
    return LEG.zone(y0, y1, f0, f1) & LEG_Z


GROIN_LINE = [(198, 468), (213, 458), (240, 446), (266, 428), (288, 408)]


def fleg(y0, y1, f0=-3, f1=3):
    return LEG.zone(y0, y1, f0, f1) & curve_below([(150, 480), *GROIN_LINE, (320, 380)])


def hand(name):
    return HAND_BODY[name].buffer(0.05)


Y_KNEE0, Y_KNEE1, Y_ANK = 620, 676, 826


def front_zones():
    mid = [
        ("vertex", curve_above([(150, 34), (180, 29.5), (200, 28.5), (220, 29.5), (250, 34)]) & HEAD_Z),
        ("throat", smooth([(200, 131), (211, 133), (209, 150), (205.5, 168), (203, 182), (197, 182), (194.5, 168), (191, 150), (189, 133)], 6)),
        ("sternum", smooth([(200, 179), (210, 181), (209, 230), (208, 282), (204, 293), (200, 296), (196, 293), (192, 282), (191, 230), (190, 181)], 6)),
        ("suprapubic", smooth([(200, 430), (228, 428), (226, 444), (214, 458), (200, 466), (186, 458), (174, 444), (172, 428)], 6)),
    ]
    half = [
        ("ear", EAR.buffer(0.05)),
        ("orbit", ellipse(216.5, 70.5, 13.5, 10.5)),
        ("temple", ellipse(236, 63, 9, 21, rot=-6) & HEAD_Z),
        ("upper-teeth", ellipse(200, 114.5, 12.5, 6.5) & band(0, 114.5)),
        ("lower-teeth", ellipse(200, 114.5, 12.5, 6.5) & band(114.5, 200)),
        ("tmj", ellipse(235.5, 95, 6.5, 7.5) & HEAD_Z),
        ("forehead", band(0, 62) & HEAD_Z),
        ("cheek", curve_above([(199, 105.5), (214, 104), (226, 101), (240, 98)]) & HEAD_Z),
        ("jaw", HEAD_Z),
        ("throat-x", box(0, 0, 0, 0)),
        # arm
        ("shoulder-lateral", ARM.zone(-0.4, 0.4, 0.42, 3) & (arm(-0.4, T_DELT) | DELTOID)),
        ("shoulder-anterior", arm(-0.4, T_DELT) | DELTOID),
        ("upper-arm-lateral", arm(T_DELT, T_ELB0, 0.42, 3)),
        ("upper-arm-medial", arm(T_DELT, T_ELB0, -3, -0.45)),
        ("upper-arm-anterior", arm(T_DELT, T_ELB0)),
        ("elbow-lateral", arm(T_ELB0, T_ELB1, 0.38, 3)),
        ("elbow-medial", arm(T_ELB0, T_ELB1, -3, -0.38)),
        ("elbow-anterior", arm(T_ELB0, T_ELB1)),
        ("forearm-volar", arm(T_ELB1, T_WR)),
        ("wrist-volar", arm(T_WR, 1.2) | (HAND_SHAPE.buffer(0.8) - HAND_SHAPE) & ARM_Z),
        ("palm", hand("palm")),
        ("thumb", hand("thumb")),
        ("fingers-radial", hand("fingers-radial")),
        ("fingers-ulnar", hand("fingers-ulnar")),
        # neck and trunk
        ("neck-lateral", (NECK - TORSO.buffer(-1.0)) & curve_above([(218, 167), (234, 173), (250, 180)])),
        ("shoulder-top", strip_along([(219, 164), (232, 170.5), (255, 177.5), (282, 185.5), (302, 195), (312, 203)], 14, 8.5)),
        ("neck-lateral", (NECK | HEAD).buffer(0.01) - TORSO.buffer(-1.5)),
        ("clavicle", strip_along([(199, 186), (220, 184), (255, 190.5), (282, 198.5), (312, 208)], 12, 13)),
        ("axilla", ellipse(285, 243, 10, 19, rot=-8)),
        ("chest-upper", curve_above([(199, 232), (228, 238), (258, 236), (285, 228), (300, 222)])),
        ("chest-lateral", smooth([(266, 238), (300, 236), (300, 330), (262, 326), (266, 290)], 4)),
        ("chest-lower", curve_above([(199, 286), (222, 297), (246, 300), (266, 293), (282, 280)])),
        ("flank", smooth([(259, 324), (300, 326), (300, 410), (276, 406), (262, 380), (258, 350)], 4)),
        ("abdomen-upper", curve_above([(199, 362), (230, 359), (262, 356), (280, 352)])),
        ("groin", strip_along([(198, 468), (213, 458), (240, 446), (266, 428), (288, 408)], 7, 8)),
        ("abdomen-lower", TORSO.buffer(0.05) & curve_above([(198, 468), (213, 458), (240, 446), (266, 428), (288, 408)])),
        ("hip-lateral", smooth([(278, 412), (310, 410), (310, 492), (284, 490), (278, 450)], 4)),
        ("hip-anterior", curve_above([(230, 470), (250, 480), (270, 486), (300, 490)]) & xband(226, 300)),
        # leg
        ("thigh-lateral", fleg(400, Y_KNEE0, 0.55)),
        ("thigh-medial", fleg(400, Y_KNEE0, -3, -0.4)),
        ("thigh-anterior", fleg(400, Y_KNEE0)),
        ("knee-lateral", leg(Y_KNEE0, Y_KNEE1, 0.5)),
        ("knee-medial", leg(Y_KNEE0, Y_KNEE1, -3, -0.5)),
        ("knee-anterior", leg(Y_KNEE0, Y_KNEE1)),
        ("leg-lateral", leg(Y_KNEE1, Y_ANK, 0.35)),
        ("leg-medial", leg(Y_KNEE1, Y_ANK, -3, -0.45)),
        ("shin", leg(Y_KNEE1, Y_ANK)),
        ("ankle-lateral", LEG.zone(Y_ANK, 851, 0.3, 3)),
        ("ankle-medial", LEG.zone(Y_ANK, 851, -3, -0.3)),
        ("ankle-anterior", LEG.zone(Y_ANK, 851)),
        ("big-toe", TOES_FRONT["big-toe"][0].buffer(0.05)),
        ("lesser-toes", unary_union(TOES_FRONT["lesser-toes"]).buffer(0.05)),
        ("foot-dorsal", FOOT_FRONT.buffer(0.1)),
    ]
    return mid, [z for z in half if z[0] != "throat-x"]


SCAPULA = smooth([(233, 196), (262, 192), (292, 198), (288, 218), (274, 246), (258, 274), (247, 292), (239, 286), (234, 262), (232, 226)], 8)
SCAP_SPINE = [(226, 216), (250, 210), (275, 204), (300, 198)]


def back_zones():
    mid = [
        ("vertex", curve_above([(150, 40), (180, 34.5), (200, 33.5), (220, 34.5), (250, 40)]) & HEAD_Z),
        ("sacrum", smooth([(200, 396), (215, 397), (213, 416), (208, 432), (200, 438), (192, 432), (187, 416), (185, 397)], 6)),
        ("coccyx", smooth([(200, 436), (206, 438), (205, 447), (200, 452), (195, 447), (194, 438)], 4)),
        ("perineum", smooth([(200, 450), (207, 452), (206, 462), (202, 473), (198, 473), (194, 462), (193, 452)], 4)),
    ]
    half = [
        ("ear", EAR.buffer(0.05)),
        ("mastoid", ellipse(233, 106, 7.5, 9) & HEAD_Z),
        ("temple", ellipse(237, 63, 8, 21, rot=-6) & HEAD_Z),
        ("neck-posterior-upper", curve_below([(199, 118), (212, 119), (226, 123), (245, 128)]) & (HEAD | NECK).buffer(0.01) & curve_above([(199, 150), (215, 148), (240, 144)])),
        ("occiput", HEAD_Z),
        # arm (posterior)
        ("shoulder-lateral", ARM.zone(-0.4, 0.4, 0.42, 3) & (arm(-0.4, T_DELT) | DELTOID)),
        ("shoulder-posterior", arm(-0.4, T_DELT) | DELTOID),
        ("upper-arm-lateral", arm(T_DELT, T_ELB0, 0.42, 3)),
        ("upper-arm-medial", arm(T_DELT, T_ELB0, -3, -0.45)),
        ("upper-arm-posterior", arm(T_DELT, T_ELB0)),
        ("elbow-lateral", arm(T_ELB0, T_ELB1, 0.38, 3)),
        ("elbow-medial", arm(T_ELB0, T_ELB1, -3, -0.38)),
        ("elbow-posterior", arm(T_ELB0, T_ELB1)),
        ("forearm-dorsal", arm(T_ELB1, T_WR)),
        ("wrist-dorsal", arm(T_WR, 1.2) | (HAND_SHAPE.buffer(0.8) - HAND_SHAPE) & ARM_Z),
        ("hand-dorsal", hand("palm")),
        ("thumb", hand("thumb")),
        ("fingers-radial", hand("fingers-radial")),
        ("fingers-ulnar", hand("fingers-ulnar")),
        # neck
        ("shoulder-top", strip_along([(219, 164), (232, 170.5), (255, 177.5), (282, 185.5), (302, 195), (312, 203)], 14, 9)),
        ("neck-lateral", (NECK - TORSO.buffer(-1.0)) & curve_above([(218, 167), (234, 173), (250, 180)]) & smooth([(213.5, 100), (214.5, 140), (219, 168), (226, 185), (300, 185), (300, 100)], 4)),
        ("neck-posterior-lower", band(0, 190) & (NECK | HEAD).buffer(0.01)),
        # trunk
        ("scapula-inferior", ellipse(246, 286, 14, 12)),
        ("scapula-upper", SCAPULA & curve_above(SCAP_SPINE)),
        ("scapula-lower", SCAPULA),
        ("thoracic-upper", xband(198, 211.5, 0, 284)),
        ("scapula-medial", smooth([(198, 170), (240, 170), (240, 288), (232, 296), (215, 300), (198, 300)], 4)),
        ("axilla", ellipse(287, 244, 9, 20, rot=-8)),
        ("chest-lateral", smooth([(262, 236), (300, 232), (300, 328), (272, 324), (259, 300), (256, 262)], 5)),
        ("thoracic-lower", curve_above([(199, 346), (225, 344), (250, 338), (270, 330)])),
        ("flank", smooth([(252, 340), (300, 330), (300, 410), (276, 404), (256, 376)], 4)),
        ("lumbar", curve_above([(199, 399), (218, 394), (245, 392), (270, 396), (292, 404)])),
        ("sacroiliac", ellipse(221, 404, 9, 11)),
        ("hip-lateral", smooth([(280, 414), (310, 410), (310, 492), (286, 492), (280, 450)], 4)),
        ("buttock-upper", curve_above([(199, 452), (220, 446), (250, 444), (280, 446), (300, 450)])),
        ("buttock-lower", curve_above([(202, 490), (225, 497), (250, 500), (272, 498), (300, 494)])),
        # leg
        ("thigh-lateral", leg(400, Y_KNEE0, 0.55)),
        ("thigh-posterior", leg(400, Y_KNEE0)),
        ("knee-lateral", leg(Y_KNEE0, Y_KNEE1, 0.5)),
        ("knee-medial", leg(Y_KNEE0, Y_KNEE1, -3, -0.5)),
        ("knee-posterior", leg(Y_KNEE0, Y_KNEE1)),
        ("achilles", LEG.zone(786, 851, -0.32, 0.32)),
        ("ankle-lateral", LEG.zone(Y_ANK, 851, 0.3, 3)),
        ("ankle-medial", LEG.zone(Y_ANK, 851, -3, -0.3)),
        ("leg-lateral", leg(Y_KNEE1, Y_ANK, 0.4)),
        ("leg-medial", leg(Y_KNEE1, Y_ANK, -3, -0.45)),
        ("calf", leg(Y_KNEE1, Y_ANK + 30)),
        ("heel", FOOT_BACK.buffer(0.1)),
    ]
    return mid, half


# ---------------------------------------------------------------- assignment
def clean(g, min_area=0.6):
    if g.is_empty:
        return g
    g = g.buffer(0)
    polys = [p for p in getattr(g, "geoms", [g]) if p.geom_type == "Polygon" and p.area >= min_area]
    return unary_union(polys) if polys else Polygon()


def assign(view, zones_fn):
    whole = body_half(view)
    mid, half = zones_fn()
    cells = {}
    used = Polygon()
    for rid, z in mid:
        g = clean((whole & z) - used)
        cells[rid] = g
        used = used | g
    half_area = (whole & RIGHT_HALF) - used
    hused = Polygon()
    for rid, z in half:
        g = clean((half_area & z) - hused)
        if g.is_empty:
            print(f"WARN {view}: {rid} empty", file=sys.stderr)
            continue
        if rid in cells:
            cells[rid] = cells[rid] | g
        else:
            cells[rid] = g
        hused = hused | g
    left = clean(half_area - hused, 0.05)
    for piece in getattr(left, "geoms", [left]):
        if piece.is_empty:
            continue
        best, bl = None, -1.0
        for rid, g in cells.items():
            shared = piece.buffer(0.3).intersection(g).area
            if shared > bl:
                best, bl = rid, shared
        if piece.area > 3:
            print(f"{view}: leftover {piece.area:.1f} at {piece.representative_point()} -> {best}", file=sys.stderr)
        cells[best] = cells[best] | piece
    return cells, [r for r, _ in mid]


def side_cells(cells, midline, view):
    """Mirror the viewer-right half and name sides. front: viewer right = client's left."""
    out = {}
    vr = "left" if view == "front" else "right"
    vl = "right" if view == "front" else "left"
    for rid, g in cells.items():
        if rid in midline:
            out[rid] = g
        else:
            out[f"{rid}:{vr}"] = g
            out[f"{rid}:{vl}"] = mirror(g)
    return out


if __name__ == "__main__":
    import pickle

    res = {}
    for view, fn in (("front", front_zones), ("back", back_zones)):
        cells, midline = assign(view, fn)
        res[view] = side_cells(cells, midline, view)
        print(view, len(res[view]), file=sys.stderr)
    with open(sys.argv[1] if len(sys.argv) > 1 else "cells.pkl", "wb") as fh:
        pickle.dump(res, fh)
