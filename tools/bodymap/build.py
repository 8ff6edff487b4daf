"""Build knotwork/atlas/data/bodymap.json from gen.py's cells plus insets and decoration.

Run by hand when the drawing changes: `pip install shapely numpy`, then
`python tools/bodymap/build.py`. The output is data; the app never imports these scripts.
"""
import json, math, sys
sys.path.insert(0, str(__import__('pathlib').Path(__file__).resolve().parent))
import gen
from gen import *  # noqa
import shapely
from shapely import affinity
from shapely.geometry import box, Polygon
from shapely.ops import polylabel, unary_union

OUT = sys.argv[1] if len(sys.argv) > 1 else str(__import__('pathlib').Path(__file__).resolve().parents[2] / 'knotwork/atlas/data/bodymap.json')

cells = {}
for view, fn in (("front", front_zones), ("back", back_zones)):
    c, mid = assign(view, fn)
    cells[view] = side_cells(c, mid, view)

W, H = 640, 940


def side_of_viewer(view, side):
    """+1 if the client's `side` shows on the viewer's right in this view."""
    if view == "front":
        return 1 if side == "left" else -1
    return 1 if side == "right" else -1


# ---- local hand with a wrist band
def local_hand(wrist_name, palm_name):
    h = dict(HAND_LOCAL)
    wrist = Polygon([(-12.2, -12), (12.2, -12), (10.6, 0.5), (-10.6, 0.5)]) - h["palm"]
    out = {wrist_name: wrist, palm_name: h["palm"], "thumb": h["thumb"], "fingers-radial": h["fingers-radial"], "fingers-ulnar": h["fingers-ulnar"]}
    return out


def local_sole():
    outline = smooth([(0, -1), (8, 0.5), (12.5, 6), (14, 18), (14.5, 34), (16.5, 52), (20, 68), (22.5, 80), (22, 88), (17, 92.5), (0, 94), (-15, 93.5),
                      (-20.5, 88), (-20, 76), (-15, 62), (-10, 48), (-9.5, 34), (-11.5, 18), (-11, 6), (-6.5, 0.5)], 10)
    toes = {
        "big-toe": [ellipse(-12.5, 101, 7.4, 11.5)],
        "lesser-toes": [ellipse(-1.8, 100.5, 4.5, 9), ellipse(6.8, 99, 4.2, 8.2), ellipse(13.8, 96.5, 3.9, 7.4), ellipse(19.8, 92.5, 3.5, 6.4)],
    }
    big = unary_union(toes["big-toe"]) - outline
    lesser = unary_union(toes["lesser-toes"]) - outline - big
    return {
        "heel": outline & box(-50, -50, 50, 30),
        "sole": outline & box(-50, 30, 50, 66),
        "forefoot-plantar": outline & box(-50, 66, 50, 200),
        "big-toe": big,
        "lesser-toes": lesser,
    }


def place(geoms, scale, dx, dy, flip=False, origin=(0, 0)):
    out = {}
    for k, g in geoms.items():
        g2 = affinity.translate(g, -origin[0], -origin[1])
        if flip:
            g2 = affinity.scale(g2, -1, 1, origin=(0, 0))
        g2 = affinity.scale(g2, scale, scale, origin=(0, 0))
        out[k] = affinity.translate(g2, dx, dy)
    return out


def d_of(g):
    out = []
    for p in getattr(g, 'geoms', [g]):
        if p.is_empty:
            continue
        for ring in [p.exterior, *p.interiors]:
            c = list(ring.coords)[:-1]
            pts = []
            for x, y in c:
                q = (round(x, 1), round(y, 1))
                if not pts or pts[-1] != q:
                    pts.append(q)
            if len(pts) < 3:
                continue
            out.append('M' + ' '.join(f'{fmt(x)},{fmt(y)}' for x, y in pts) + 'Z')
    return ''.join(out)


def fmt(v):
    s = f'{v:.1f}'
    return s[:-2] if s.endswith('.0') else s


def anchor(g):
    polys = sorted(getattr(g, 'geoms', [g]), key=lambda p: -p.area)
    p = polylabel(polys[0], tolerance=0.2)
    return [round(p.x, 1), round(p.y, 1)]


def simplify_group(d, tol):
    keys = sorted(d)
    geoms = [d[k] for k in keys]
    simp = shapely.coverage_simplify(geoms, tol, simplify_boundary=False)
    return dict(zip(keys, simp))


def shapes_for(group, geoms, tol=0.3):
    geoms = {k: v for k, v in geoms.items() if not v.is_empty}
    try:
        geoms = simplify_group(geoms, tol)
    except Exception as e:  # noqa
        print('coverage_simplify failed', group, e, file=sys.stderr)
    out = []
    for cell in sorted(geoms):
        g = geoms[cell]
        out.append({"cell": cell, "group": group, "d": d_of(g), "anchor": anchor(g)})
    outline = unary_union([g.buffer(0.05) for g in geoms.values()]).buffer(-0.05)
    return out, outline


def outline_d(g):
    out = []
    for p in getattr(g, 'geoms', [g]):
        if p.area < 4:
            continue
        p = p.simplify(0.15)
        out.append(d_of(Polygon(p.exterior)))
    return ''.join(out)


FACE_BASE = {"vertex", "forehead", "temple", "orbit", "cheek", "tmj", "jaw", "upper-teeth", "lower-teeth", "ear", "throat", "neck-lateral"}
HEADB_BASE = {"vertex", "occiput", "temple", "ear", "mastoid", "neck-posterior-upper", "neck-posterior-lower", "neck-lateral"}


def eye_decor(cx, cy, flip=1):
    return [
        f"M{cx-8.5},{cy+0.5} Q{cx},{cy-5.5} {cx+8.5},{cy+0.5} Q{cx},{cy+4.5} {cx-8.5},{cy+0.5}Z",
        f"M{cx-10},{cy-8} Q{cx},{cy-13} {cx+11.5},{cy-9}",
    ]


def face_decor():
    ds = []
    for cx in (216.5, 183.5):
        ds += eye_decor(cx, 72)
    ds.append("M197,84 Q195,92 194.5,96 Q197,100 200,99.5 Q203,100 205.5,96 Q205,92 203,84")
    return ds


def iris():
    return [(216.5, 71.8, 2.3), (183.5, 71.8, 2.3)]


def transform_d_points(pts, scale, dx, dy, origin):
    return [((x - origin[0]) * scale + dx, (y - origin[1]) * scale + dy) for x, y in pts]


data = {"version": 1, "width": W, "height": H, "views": {}}
for view in ("front", "back"):
    vc = cells[view]
    shapes, outline = shapes_for("figure", vc)
    groups = [{"id": "figure", "outline": outline_d(outline)}]
    all_shapes = list(shapes)
    insets = []
    # head inset
    base = FACE_BASE if view == "front" else HEADB_BASE
    clipbox = box(0, 0, 400, 161 if view == "front" else 152)
    head = {k: (g & clipbox) for k, g in vc.items() if k.split(':')[0] in base}
    hs, hx0, hy0 = 1.95, 425, 58
    head = place(head, hs, hx0, hy0, origin=(148, 16))
    s2, o2 = shapes_for("head", head)
    all_shapes += s2
    caption = "Face and neck" if view == "front" else "Back of the head"
    b = o2.bounds
    insets.append({"id": "head", "caption": caption, "frame": [412, 30, 220, 370], "outline": outline_d(o2), "sides": []})
    # hands
    wn, pn = ("wrist-volar", "palm") if view == "front" else ("wrist-dorsal", "hand-dorsal")
    hand = local_hand(wn, pn)
    hscale = 1.75
    hand_geoms = {}
    hy = 470
    sides = []
    for side in ("right", "left"):
        vs = side_of_viewer(view, side)  # +1 viewer-right
        cxh = 522 + vs * 52
        # lateral (thumb) side points away from the centre of the pair, as on the figure
        g = place(hand, hscale, cxh - vs * 2, hy, flip=(vs < 0))
        for k, v in g.items():
            hand_geoms[f"{k}:{side}"] = v
        sides.append({"text": "R" if side == "right" else "L", "x": round(cxh, 1), "y": 683})
    s3, o3 = shapes_for("hands", hand_geoms)
    all_shapes += s3
    insets.append({"id": "hands", "caption": "Hands (palms)" if view == "front" else "Hands (backs)", "frame": [412, 420, 220, 280],
                   "outline": outline_d(o3), "sides": sides})
    if view == "back":
        sole = local_sole()
        sscale = 1.45
        sg = {}
        sides = []
        for side in ("right", "left"):
            vs = side_of_viewer(view, side)
            cxs = 522 + vs * 50
            g = place(sole, sscale, cxs, 744, flip=(vs < 0))
            for k, v in g.items():
                sg[f"{k}:{side}"] = v
            sides.append({"text": "R" if side == "right" else "L", "x": round(cxs, 1), "y": 930})
        s4, o4 = shapes_for("soles", sg)
        all_shapes += s4
        insets.append({"id": "soles", "caption": "Soles (knees bent)", "frame": [412, 720, 220, 218], "outline": outline_d(o4), "sides": sides})
    decor = []
    if view == "front":
        fd = face_decor()
        decor += [{"d": d} for d in fd]
        decor += [{"d": f"M{cx - r},{cy}a{r},{r} 0 1,0 {2*r},0a{r},{r} 0 1,0 {-2*r},0Z", "fill": True} for cx, cy, r in iris()]
        decor.append({"d": "M198.2,356a1.8,2.6 0 1,0 3.6,0a1.8,2.6 0 1,0 -3.6,0Z"})
        # face decor again in the inset, transformed
        import re

        def tr(d):
            toks = re.findall(r'[A-Za-z]|-?\d+(?:\.\d+)?', d)
            out = []
            nums = []
            cmd = None
            i = 0
            res = []
            # transform absolute M/Q/L coordinates pairwise; only used for M, Q, L, Z paths
            pair = []
            for t in toks:
                if t.isalpha():
                    res.append(t)
                    continue
                pair.append(float(t))
                if len(pair) == 2:
                    x, y = pair
                    x2 = (x - 148) * hs + hx0
                    y2 = (y - 16) * hs + hy0
                    res.append(f"{fmt(round(x2, 1))},{fmt(round(y2, 1))}")
                    pair = []
            return ' '.join(res)
        decor += [{"d": tr(d)} for d in fd]
        for cx, cy, r in iris():
            x2 = (cx - 148) * hs + hx0; y2 = (cy - 16) * hs + hy0; r2 = round(r * hs, 1)
            decor.append({"d": f"M{fmt(round(x2 - r2, 1))},{fmt(round(y2, 1))}a{r2},{r2} 0 1,0 {fmt(2*r2)},0a{r2},{r2} 0 1,0 {fmt(-2*r2)},0Z", "fill": True})
    # check coverage
    data["views"][view] = {
        "figure": {"outline": outline_d(outline), "sides": [
            {"text": "R", "x": 40 if view == "front" else 360, "y": 120},
            {"text": "L", "x": 360 if view == "front" else 40, "y": 120}],
            "caption": {"x": 200, "y": 925}},
        "insets": insets,
        "shapes": all_shapes,
        "decor": decor,
    }
    print(view, len(all_shapes), 'shapes', len({s['cell'] for s in all_shapes}), 'cells', file=sys.stderr)

with open(OUT, 'w') as fh:
    json.dump(data, fh, separators=(',', ':'), sort_keys=False)
    fh.write('\n')
import os
print(os.path.getsize(OUT), file=sys.stderr)
