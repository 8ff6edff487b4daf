"""Postural measures from photo landmarks. Pure Python: no Django, dataclasses in and out.

Coordinates are image pixels: x grows to the right and **y grows downwards** (as in every image
file and the browser). Each function turns that into the "y up" frame clinicians reason in, so
"higher" always means higher in the room.

Conventions (see docs/assessment.md for the whole table and the sources):

- Horizontal alignments (head, acromions, ASIS, PSIS, tibial tuberosities) are the angle of the
  right–left line to the horizontal; **positive = the client's left landmark is higher**. This is
  SAPO's counter-clockwise-positive convention for the anterior view, made independent of which
  side of the picture each landmark is on, so the posterior view reads the same way.
- Sagittal (side-view) measures take ``anterior``: +1 when the client faces image-right, −1 when
  they face image-left, so a mirrored photo gives the same numbers.
- Three-point angles have the middle point as the vertex.
- Measures referenced to the vertical or the horizontal change if the whole photo is rotated (the
  camera was tilted): that is their nature, not a defect. Measures built only from the landmarks
  themselves (Q-angle, hip and knee angles, acromion–ASIS angle, frontal lower-limb angles,
  lengths after calibration) do not.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class Point:
    x: float
    y: float


class View(StrEnum):
    ANTERIOR = "anterior"
    POSTERIOR = "posterior"
    LATERAL_RIGHT = "lateral_right"
    LATERAL_LEFT = "lateral_left"


LATERAL_VIEWS = (View.LATERAL_RIGHT, View.LATERAL_LEFT)


class MeasureError(ValueError):
    """The landmarks cannot give this measure (two points coincide, a line has no length)."""


def default_anterior(view: View) -> int:
    """+1 if the client faces image-right: the right side faces the camera in a right lateral view."""
    return 1 if view == View.LATERAL_RIGHT else -1


# --- geometry in the "y up" frame ------------------------------------------------------------


def _vec(a: Point, b: Point) -> tuple[float, float]:
    """Vector a→b with y flipped to point up."""
    return (b.x - a.x, a.y - b.y)


def _length(v: tuple[float, float]) -> float:
    return math.hypot(v[0], v[1])


def _nonzero(*vectors: tuple[float, float]) -> None:
    for v in vectors:
        if _length(v) < 1e-9:
            raise MeasureError("two landmarks are on the same spot")


def signed_angle(v1: tuple[float, float], v2: tuple[float, float]) -> float:
    """Angle from v1 to v2 in degrees, (−180, 180]; counter-clockwise (in the y-up frame) positive."""
    _nonzero(v1, v2)
    cross = v1[0] * v2[1] - v1[1] * v2[0]
    dot = v1[0] * v2[0] + v1[1] * v2[1]
    return math.degrees(math.atan2(cross, dot))


def unsigned_angle(v1: tuple[float, float], v2: tuple[float, float]) -> float:
    return abs(signed_angle(v1, v2))


def distance(a: Point, b: Point) -> float:
    return math.hypot(a.x - b.x, a.y - b.y)


def asymmetry_index(m: float, n: float) -> float:
    """SAPO's IA(m;n) = (m − n) / ((m + n) / 2) × 100, in %."""
    mean = (m + n) / 2
    if abs(mean) < 1e-9:
        raise MeasureError("both distances are zero")
    return (m - n) / mean * 100


def horizontal_alignment(right: Point, left: Point) -> float:
    """Tilt of the right–left line from the horizontal; positive = the left point is higher.

    Uses |dx| so it reads the same in the anterior view (client's right on image-left) and the
    posterior view (client's right on image-right).
    """
    dx = abs(left.x - right.x)
    rise = right.y - left.y  # y points down: a smaller y for the left point means it is higher
    if dx < 1e-9 and abs(rise) < 1e-9:
        raise MeasureError("the right and left landmarks are on the same spot")
    return math.degrees(math.atan2(rise, dx))


def line_to_line(right_a: Point, left_a: Point, right_b: Point, left_b: Point) -> float:
    """Angle from line B (right→left) to line A (right→left), counter-clockwise positive (y up).

    In the anterior view, positive = A's left end is higher relative to B. Built from the two
    directions only, so it survives any rotation of the photo.
    """
    return signed_angle(_vec(right_b, left_b), _vec(right_a, left_a))


def deviation_at(a: Point, vertex: Point, c: Point) -> float:
    """How far the path a→vertex→c turns at the vertex: 0° for a straight line; signed, CCW positive (y up)."""
    return signed_angle(_vec(a, vertex), _vec(vertex, c))


def cva(tragus: Point, c7: Point, anterior: int) -> float:
    """Craniovertebral angle: at C7, between the horizontal (pointing forward) and the line to the tragus.

    Smaller = head further forward. About 50° without neck pain (Lau 2009).
    """
    forward = (tragus.x - c7.x) * anterior
    up = c7.y - tragus.y
    if abs(forward) < 1e-9 and abs(up) < 1e-9:
        raise MeasureError("tragus and C7 are on the same spot")
    return math.degrees(math.atan2(up, forward))


def from_vertical(lower: Point, upper: Point, anterior: int) -> float:
    """Lean of the line lower→upper from the vertical; positive = the upper point is forward (anterior)."""
    forward = (upper.x - lower.x) * anterior
    up = lower.y - upper.y
    if abs(forward) < 1e-9 and abs(up) < 1e-9:
        raise MeasureError("the two landmarks are on the same spot")
    return math.degrees(math.atan2(forward, up))


def sagittal_pelvic_tilt(asis: Point, psis: Point, anterior: int) -> float:
    """ASIS–PSIS line against the horizontal; positive = ASIS lower than PSIS (anterior tilt)."""
    forward = (asis.x - psis.x) * anterior
    drop = asis.y - psis.y
    if abs(forward) < 1e-9 and abs(drop) < 1e-9:
        raise MeasureError("ASIS and PSIS are on the same spot")
    return math.degrees(math.atan2(drop, forward))


def hip_angle(acromion: Point, trochanter: Point, knee: Point, anterior: int) -> float:
    """Turn of trunk line into thigh line at the greater trochanter; positive = hip flexed, negative = extended."""
    return deviation_at(acromion, trochanter, knee) * anterior


def knee_angle(trochanter: Point, knee: Point, malleolus: Point, anterior: int) -> float:
    """Turn at the knee joint line; positive = knee flexed (forward), negative = hyperextended (recurvatum)."""
    return -deviation_at(trochanter, knee, malleolus) * anterior


def ankle_angle(knee: Point, malleolus: Point, anterior: int) -> float:
    """SAPO's ankle angle: the leg (malleolus→knee) against the forward horizontal. 90° = vertical tibia;
    below 90° the knee is ahead of the ankle."""
    forward = (knee.x - malleolus.x) * anterior
    up = malleolus.y - knee.y
    if abs(forward) < 1e-9 and abs(up) < 1e-9:
        raise MeasureError("knee and malleolus are on the same spot")
    return math.degrees(math.atan2(up, forward))


def frontal_limb(hip: Point, knee: Point, ankle: Point, side: str, view: View) -> float:
    """Frontal angle of a lower limb, SAPO-style: 180° minus the angle at the knee, signed.

    Positive = the knee sits medial to the hip–ankle line (valgus), negative = lateral (varus).
    In the anterior view the client's right leg turns clockwise (y up) when the knee is medial.
    """
    turn = deviation_at(hip, knee, ankle)
    medial_is_ccw = (side == "l") == (view == View.ANTERIOR)
    return turn if medial_is_ccw else -turn


def hindfoot(mid_leg: Point, achilles: Point, calcaneus: Point, side: str) -> float:
    """Leg/hindfoot angle (posterior view): positive = calcaneus turned out (valgus), negative = varus."""
    turn = deviation_at(mid_leg, achilles, calcaneus)
    # Posterior view: the right foot's lateral side is image-right, a counter-clockwise turn (y up).
    return turn if side == "r" else -turn


def q_angle(asis: Point, patella: Point, tuberosity: Point) -> float:
    """Angle between ASIS→patella centre and patella centre→tibial tuberosity (reference 15°)."""
    return unsigned_angle(_vec(asis, patella), _vec(patella, tuberosity))


def scapular_asymmetry(inferior_r: Point, inferior_l: Point, t3: Point) -> float:
    """SAPO's horizontal asymmetry of the scapulae relative to T3, in %: positive = right farther out."""
    return asymmetry_index(abs(inferior_r.x - t3.x), abs(inferior_l.x - t3.x))


# --- the catalogue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureDef:
    id: str
    label: str
    view: View | tuple[View, ...]
    landmarks: tuple[str, ...]
    unit: str  # "°", "%", "cm"
    compute: Callable[[Mapping[str, Point], int, float | None], float]
    meaning: str
    rotation_invariant: bool
    needs_calibration: bool = False

    def views(self) -> tuple[View, ...]:
        return self.view if isinstance(self.view, tuple) else (self.view,)


def _limb_length(lm: Mapping[str, Point], _a: int, px_per_cm: float | None) -> float:
    if not px_per_cm:
        raise MeasureError("needs a calibration length")
    right = distance(lm["asis_r"], lm["medial_malleolus_r"])
    left = distance(lm["asis_l"], lm["medial_malleolus_l"])
    return (right - left) / px_per_cm


def _horizontal(right: str, left: str) -> Callable[[Mapping[str, Point], int, float | None], float]:
    return lambda lm, _a, _s: horizontal_alignment(lm[right], lm[left])


def _build() -> dict[str, MeasureDef]:
    A, P = View.ANTERIOR, View.POSTERIOR
    L = LATERAL_VIEWS
    defs = [
        MeasureDef(
            "head_horizontal",
            "Head horizontal alignment",
            A,
            ("tragus_r", "tragus_l"),
            "°",
            _horizontal("tragus_r", "tragus_l"),
            "positive = left tragus higher (head tilted to the right)",
            False,
        ),
        MeasureDef(
            "acromion_horizontal",
            "Acromion alignment",
            A,
            ("acromion_r", "acromion_l"),
            "°",
            _horizontal("acromion_r", "acromion_l"),
            "positive = left shoulder higher",
            False,
        ),
        MeasureDef(
            "asis_horizontal",
            "ASIS alignment (pelvic obliquity)",
            A,
            ("asis_r", "asis_l"),
            "°",
            _horizontal("asis_r", "asis_l"),
            "positive = left ASIS higher",
            False,
        ),
        MeasureDef(
            "acromion_asis",
            "Acromion–ASIS angle",
            A,
            ("acromion_r", "acromion_l", "asis_r", "asis_l"),
            "°",
            lambda lm, _a, _s: line_to_line(lm["acromion_r"], lm["acromion_l"], lm["asis_r"], lm["asis_l"]),
            "positive = shoulder line tilted left-up relative to the pelvis line",
            True,
        ),
        MeasureDef(
            "frontal_limb_r",
            "Frontal angle, right lower limb",
            A,
            ("greater_trochanter_r", "knee_joint_line_r", "lateral_malleolus_r"),
            "°",
            lambda lm, _a, _s: frontal_limb(lm["greater_trochanter_r"], lm["knee_joint_line_r"], lm["lateral_malleolus_r"], "r", A),
            "0° = straight; positive = valgus (knee medial), negative = varus",
            True,
        ),
        MeasureDef(
            "frontal_limb_l",
            "Frontal angle, left lower limb",
            A,
            ("greater_trochanter_l", "knee_joint_line_l", "lateral_malleolus_l"),
            "°",
            lambda lm, _a, _s: frontal_limb(lm["greater_trochanter_l"], lm["knee_joint_line_l"], lm["lateral_malleolus_l"], "l", A),
            "0° = straight; positive = valgus (knee medial), negative = varus",
            True,
        ),
        MeasureDef(
            "limb_length_difference",
            "Lower-limb length difference (R − L)",
            A,
            ("asis_r", "medial_malleolus_r", "asis_l", "medial_malleolus_l"),
            "cm",
            _limb_length,
            "ASIS to medial malleolus, right minus left; positive = right longer",
            True,
            needs_calibration=True,
        ),
        MeasureDef(
            "tuberosity_horizontal",
            "Tibial tuberosity alignment",
            A,
            ("tibial_tuberosity_r", "tibial_tuberosity_l"),
            "°",
            _horizontal("tibial_tuberosity_r", "tibial_tuberosity_l"),
            "positive = left tuberosity higher",
            False,
        ),
        MeasureDef(
            "q_angle_r",
            "Q-angle, right",
            A,
            ("asis_r", "patella_r", "tibial_tuberosity_r"),
            "°",
            lambda lm, _a, _s: q_angle(lm["asis_r"], lm["patella_r"], lm["tibial_tuberosity_r"]),
            "reference about 15° (Aglietti: 14 ± 3° men, 17 ± 3° women)",
            True,
        ),
        MeasureDef(
            "q_angle_l",
            "Q-angle, left",
            A,
            ("asis_l", "patella_l", "tibial_tuberosity_l"),
            "°",
            lambda lm, _a, _s: q_angle(lm["asis_l"], lm["patella_l"], lm["tibial_tuberosity_l"]),
            "reference about 15° (Aglietti: 14 ± 3° men, 17 ± 3° women)",
            True,
        ),
        MeasureDef(
            "psis_horizontal",
            "PSIS alignment (pelvic obliquity)",
            P,
            ("psis_r", "psis_l"),
            "°",
            _horizontal("psis_r", "psis_l"),
            "positive = left PSIS higher",
            False,
        ),
        MeasureDef(
            "scapular_asymmetry",
            "Scapular asymmetry to T3",
            P,
            ("scapula_inferior_r", "scapula_inferior_l", "t3"),
            "%",
            lambda lm, _a, _s: scapular_asymmetry(lm["scapula_inferior_r"], lm["scapula_inferior_l"], lm["t3"]),
            "positive = right inferior angle farther from the spine",
            False,
        ),
        MeasureDef(
            "hindfoot_r",
            "Leg/hindfoot angle, right",
            P,
            ("mid_leg_r", "achilles_r", "calcaneus_r"),
            "°",
            lambda lm, _a, _s: hindfoot(lm["mid_leg_r"], lm["achilles_r"], lm["calcaneus_r"], "r"),
            "0° = straight; positive = valgus (calcaneus out), negative = varus",
            True,
        ),
        MeasureDef(
            "hindfoot_l",
            "Leg/hindfoot angle, left",
            P,
            ("mid_leg_l", "achilles_l", "calcaneus_l"),
            "°",
            lambda lm, _a, _s: hindfoot(lm["mid_leg_l"], lm["achilles_l"], lm["calcaneus_l"], "l"),
            "0° = straight; positive = valgus (calcaneus out), negative = varus",
            True,
        ),
        MeasureDef(
            "cva",
            "Craniovertebral angle",
            L,
            ("tragus", "c7"),
            "°",
            lambda lm, a, _s: cva(lm["tragus"], lm["c7"], a),
            "smaller = head further forward",
            False,
        ),
        MeasureDef(
            "head_vertical",
            "Head vertical alignment (tragus–acromion)",
            L,
            ("tragus", "acromion"),
            "°",
            lambda lm, a, _s: from_vertical(lm["acromion"], lm["tragus"], a),
            "positive = head forward of the shoulder",
            False,
        ),
        MeasureDef(
            "trunk_vertical",
            "Trunk vertical alignment",
            L,
            ("acromion", "greater_trochanter"),
            "°",
            lambda lm, a, _s: from_vertical(lm["greater_trochanter"], lm["acromion"], a),
            "positive = trunk leaning forward",
            False,
        ),
        MeasureDef(
            "hip_angle",
            "Hip angle (trunk–thigh)",
            L,
            ("acromion", "greater_trochanter", "knee_joint_line"),
            "°",
            lambda lm, a, _s: hip_angle(lm["acromion"], lm["greater_trochanter"], lm["knee_joint_line"], a),
            "0° = straight; positive = hip flexed, negative = hip extended (sway-back)",
            True,
        ),
        MeasureDef(
            "body_vertical",
            "Body vertical alignment",
            L,
            ("acromion", "lateral_malleolus"),
            "°",
            lambda lm, a, _s: from_vertical(lm["lateral_malleolus"], lm["acromion"], a),
            "positive = body leaning forward",
            False,
        ),
        MeasureDef(
            "pelvic_tilt",
            "Sagittal pelvic tilt (ASIS–PSIS)",
            L,
            ("asis", "psis"),
            "°",
            lambda lm, a, _s: sagittal_pelvic_tilt(lm["asis"], lm["psis"], a),
            "positive = anterior tilt (ASIS lower)",
            False,
        ),
        MeasureDef(
            "knee_angle",
            "Knee angle",
            L,
            ("greater_trochanter", "knee_joint_line", "lateral_malleolus"),
            "°",
            lambda lm, a, _s: knee_angle(lm["greater_trochanter"], lm["knee_joint_line"], lm["lateral_malleolus"], a),
            "0° = straight; positive = flexed, negative = hyperextended (recurvatum)",
            True,
        ),
        MeasureDef(
            "ankle_angle",
            "Ankle angle (tibial inclination)",
            L,
            ("knee_joint_line", "lateral_malleolus"),
            "°",
            lambda lm, a, _s: ankle_angle(lm["knee_joint_line"], lm["lateral_malleolus"], a),
            "90° = vertical tibia; below 90° = knee ahead of the ankle",
            False,
        ),
    ]
    return {d.id: d for d in defs}


MEASURES: dict[str, MeasureDef] = _build()

CALIBRATION_POINTS = ("calibration_a", "calibration_b")

LANDMARK_LABELS: dict[str, str] = {
    "tragus": "Tragus",
    "c7": "C7 spinous process",
    "t3": "T3 spinous process",
    "acromion": "Acromion",
    "asis": "ASIS",
    "psis": "PSIS",
    "greater_trochanter": "Greater trochanter",
    "knee_joint_line": "Knee joint line",
    "lateral_malleolus": "Lateral malleolus",
    "medial_malleolus": "Medial malleolus",
    "patella": "Patella centre",
    "tibial_tuberosity": "Tibial tuberosity",
    "scapula_inferior": "Scapula, inferior angle",
    "mid_leg": "Mid-leg (posterior)",
    "achilles": "Achilles at malleolar height",
    "calcaneus": "Calcaneus",
    "calibration_a": "Calibration mark A",
    "calibration_b": "Calibration mark B",
}


def landmark_label(name: str) -> str:
    base, _, side = name.rpartition("_") if name.endswith(("_r", "_l")) else (name, "", "")
    label = LANDMARK_LABELS.get(base, base.replace("_", " ").capitalize())
    return f"{label}, {'right' if side == 'r' else 'left'}" if side else label


def measures_for_view(view: View) -> list[MeasureDef]:
    return [d for d in MEASURES.values() if view in d.views()]


def landmarks_for_view(view: View) -> list[str]:
    """Every landmark some measure of this view needs, in the order the measures ask for them,
    then the two calibration marks."""
    seen: dict[str, None] = {}
    for d in measures_for_view(view):
        for name in d.landmarks:
            seen.setdefault(name, None)
    return [*seen, *CALIBRATION_POINTS]


@dataclass(frozen=True)
class MeasureResult:
    id: str
    value: float
    unit: str


@dataclass(frozen=True)
class Computation:
    results: tuple[MeasureResult, ...] = ()
    # Measures that could not be computed and why ("needs Tragus, C7 spinous process").
    missing: Mapping[str, str] = field(default_factory=dict)

    def by_id(self) -> dict[str, float]:
        return {r.id: r.value for r in self.results}


def px_per_cm(landmarks: Mapping[str, Point], calibration_cm: float | None) -> float | None:
    """Pixels per centimetre from two calibration marks a known length apart, or None."""
    a, b = (landmarks.get(n) for n in CALIBRATION_POINTS)
    if a is None or b is None or not calibration_cm or calibration_cm <= 0:
        return None
    d = distance(a, b)
    return d / calibration_cm if d > 0 else None


def compute(view: View, landmarks: Mapping[str, Point], *, anterior: int | None = None, calibration_cm: float | None = None) -> Computation:
    """Every measure of ``view`` whose landmarks are all placed."""
    facing = anterior if anterior in (1, -1) else default_anterior(view)
    scale = px_per_cm(landmarks, calibration_cm)
    results: list[MeasureResult] = []
    missing: dict[str, str] = {}
    for d in measures_for_view(view):
        absent = [n for n in d.landmarks if n not in landmarks]
        if absent:
            missing[d.id] = "needs " + ", ".join(landmark_label(n) for n in absent)
            continue
        if d.needs_calibration and scale is None:
            missing[d.id] = "needs a calibration length"
            continue
        try:
            value = d.compute(landmarks, facing, scale)
        except MeasureError as exc:
            missing[d.id] = str(exc)
            continue
        results.append(MeasureResult(d.id, round(value, 2), d.unit))
    return Computation(tuple(results), missing)
