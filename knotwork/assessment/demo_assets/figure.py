"""A drawn side-view figure with SAPO-style skin markers, used as the demo photo and the test photo.

Knotwork draws it itself with Pillow, so the exact landmark positions are known: a test can place
them in the browser and check the computed angles. ``forward`` moves the head forward (a smaller
craniovertebral angle) so a baseline and a follow-up can be drawn.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 900, 1200


def side_view_landmarks(forward: int = 0) -> dict[str, tuple[int, int]]:
    """Marker positions (photo pixels, y down) of a client facing image-right (right lateral view)."""
    return {
        "tragus": (490 + forward, 195 + forward // 4),
        "c7": (395, 300),
        "acromion": (430, 335),
        "asis": (490, 575),
        "psis": (370, 560),
        "greater_trochanter": (420, 605),
        "knee_joint_line": (440, 850),
        "lateral_malleolus": (425, 1110),
        "calibration_a": (80, 200),
        "calibration_b": (80, 1000),
    }


def draw_side_view(forward: int = 0) -> Image.Image:
    lm = side_view_landmarks(forward)
    img = Image.new("RGB", (WIDTH, HEIGHT), (232, 236, 240))
    d = ImageDraw.Draw(img)
    # Floor and a plumb ruler with two calibration marks 80 cm apart (800 px → 10 px per cm).
    d.rectangle((0, 1150, WIDTH, HEIGHT), fill=(190, 196, 204))
    d.line((80, 120, 80, 1150), fill=(60, 60, 60), width=3)
    skin, cloth = (222, 184, 150), (70, 110, 160)
    tx, ty = lm["tragus"]
    c7x, c7y = lm["c7"]
    # Legs, pelvis and trunk.
    d.polygon([(380, 600), (470, 600), (470, 860), (455, 1120), (405, 1120), (405, 860)], fill=(60, 70, 90))
    d.polygon([(360, 540), (505, 555), (490, 640), (370, 640)], fill=(60, 70, 90))
    d.polygon([(380, 300), (460, 320), (500, 560), (360, 560), (370, 420)], fill=cloth)
    # Neck from C7 towards the head, then the head around the ear.
    d.polygon([(c7x - 10, c7y + 10), (c7x + 55, c7y + 20), (tx + 10, ty + 40), (tx - 40, ty + 20)], fill=skin)
    d.ellipse((tx - 70, ty - 95, tx + 85, ty + 60), fill=skin)
    d.ellipse((tx + 55, ty - 40, tx + 80, ty - 20), fill=(60, 40, 30))  # eye, facing right
    d.ellipse((tx - 12, ty - 16, tx + 12, ty + 16), outline=(160, 120, 90), width=3)  # ear
    # Arm hanging from the shoulder; foot.
    d.polygon([(415, 330), (455, 330), (470, 560), (440, 565)], fill=skin)
    d.polygon([(400, 1110), (520, 1120), (525, 1150), (395, 1150)], fill=(40, 40, 40))
    # Skin markers, as a clinic sticks on before the photo: dark dot with a light ring.
    for x, y in lm.values():
        d.ellipse((x - 9, y - 9, x + 9, y + 9), fill=(250, 250, 250))
        d.ellipse((x - 5, y - 5, x + 5, y + 5), fill=(200, 20, 60))
    return img


def side_view_jpeg(forward: int = 0) -> bytes:
    out = io.BytesIO()
    draw_side_view(forward).save(out, format="JPEG", quality=90)
    return out.getvalue()
