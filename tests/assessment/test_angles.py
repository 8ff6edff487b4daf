"""The measure module against hand-computed examples, its sign conventions, and invariance properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from knotwork.assessment import angles
from knotwork.assessment.angles import MEASURES, MeasureError, Point, View, compute

P = Point
DEG = math.degrees


def approx(x: float) -> object:
    return pytest.approx(x, abs=1e-6)


class HorizontalAlignmentTests:
    def test_a_level_line_is_zero(self):
        assert angles.horizontal_alignment(P(100, 200), P(300, 200)) == approx(0)

    def test_the_left_point_higher_on_screen_is_positive_because_image_y_points_down(self):
        # Anterior view: the client's right is on the image left. Left tragus 20 px higher (smaller y).
        assert angles.horizontal_alignment(P(100, 220), P(300, 200)) == approx(DEG(math.atan2(20, 200)))  # +5.71°

    def test_the_right_point_higher_is_negative(self):
        assert angles.horizontal_alignment(P(100, 180), P(300, 200)) == approx(-DEG(math.atan2(20, 200)))

    def test_the_posterior_view_reads_the_same_way(self):
        # Posterior view: the client's right is on the image right; left still higher → positive.
        assert angles.horizontal_alignment(P(300, 220), P(100, 200)) == approx(DEG(math.atan2(20, 200)))

    def test_coincident_points_cannot_be_measured(self):
        with pytest.raises(MeasureError):
            angles.horizontal_alignment(P(5, 5), P(5, 5))


class CraniovertebralAngleTests:
    def test_a_45_degree_example_facing_right(self):
        assert angles.cva(P(200, 100), P(100, 200), anterior=1) == approx(45)

    def test_a_client_facing_left_gives_the_same_angle_for_the_mirrored_photo(self):
        assert angles.cva(P(0, 100), P(100, 200), anterior=-1) == approx(45)

    def test_a_more_forward_head_gives_a_smaller_angle(self):
        upright = angles.cva(P(160, 100), P(100, 200), anterior=1)
        forward = angles.cva(P(220, 120), P(100, 200), anterior=1)
        assert forward < upright
        assert upright == approx(DEG(math.atan2(100, 60)))  # 59.04°
        assert forward == approx(DEG(math.atan2(80, 120)))  # 33.69°

    def test_the_shipped_figure_has_the_documented_cva(self):
        from knotwork.assessment.demo_assets.figure import side_view_landmarks

        lm = side_view_landmarks()
        # tragus (490, 195), C7 (395, 300): 95 px forward, 105 px up.
        assert angles.cva(P(*lm["tragus"]), P(*lm["c7"]), 1) == approx(DEG(math.atan2(105, 95)))


class SagittalMeasureTests:
    def test_head_vertical_is_positive_when_the_tragus_is_ahead_of_the_acromion(self):
        assert angles.from_vertical(P(100, 200), P(130, 100), anterior=1) == approx(DEG(math.atan2(30, 100)))
        assert angles.from_vertical(P(100, 200), P(70, 100), anterior=-1) == approx(DEG(math.atan2(30, 100)))

    def test_trunk_leaning_back_is_negative(self):
        assert angles.from_vertical(P(100, 500), P(80, 200), anterior=1) == approx(-DEG(math.atan2(20, 300)))

    def test_pelvic_tilt_is_positive_when_asis_is_lower_than_psis(self):
        assert angles.sagittal_pelvic_tilt(P(200, 110), P(100, 100), anterior=1) == approx(DEG(math.atan2(10, 100)))
        assert angles.sagittal_pelvic_tilt(P(200, 90), P(100, 100), anterior=1) == approx(-DEG(math.atan2(10, 100)))

    def test_hip_flexed_forward_is_positive(self):
        # Trunk straight down, thigh goes 30 px forward over 200 px.
        assert angles.hip_angle(P(100, 0), P(100, 200), P(130, 400), anterior=1) == approx(DEG(math.atan2(30, 200)))
        assert angles.hip_angle(P(100, 0), P(100, 200), P(70, 400), anterior=-1) == approx(DEG(math.atan2(30, 200)))

    def test_knee_flexed_is_positive_and_hyperextended_is_negative(self):
        flexed = angles.knee_angle(P(100, 0), P(120, 200), P(100, 400), anterior=1)
        assert flexed == approx(2 * DEG(math.atan2(20, 200)))
        recurvatum = angles.knee_angle(P(100, 0), P(85, 200), P(100, 400), anterior=1)
        assert recurvatum == approx(-2 * DEG(math.atan2(15, 200)))

    def test_ankle_angle_is_90_for_a_vertical_tibia_and_smaller_when_the_knee_is_ahead(self):
        assert angles.ankle_angle(P(100, 0), P(100, 300), anterior=1) == approx(90)
        assert angles.ankle_angle(P(130, 0), P(100, 300), anterior=1) == approx(DEG(math.atan2(300, 30)))


class FrontalMeasureTests:
    def test_acromion_asis_angle_is_the_difference_of_the_two_tilts(self):
        # Anterior view: shoulders tilted left-up 5°, pelvis level.
        dx = 200
        rise = dx * math.tan(math.radians(5))
        value = angles.line_to_line(P(100, 100 + rise), P(300, 100), P(120, 400), P(280, 400))
        assert value == approx(5)

    def test_a_right_knee_medial_to_the_hip_ankle_line_is_valgus_positive(self):
        # Anterior view: right leg on the image left; medial is image-right.
        value = angles.frontal_limb(P(100, 0), P(110, 100), P(100, 200), "r", View.ANTERIOR)
        assert value == approx(2 * DEG(math.atan2(10, 100)))

    def test_a_left_knee_medial_is_valgus_positive_and_lateral_is_varus_negative(self):
        assert angles.frontal_limb(P(300, 0), P(290, 100), P(300, 200), "l", View.ANTERIOR) == approx(2 * DEG(math.atan2(10, 100)))
        assert angles.frontal_limb(P(300, 0), P(310, 100), P(300, 200), "l", View.ANTERIOR) == approx(-2 * DEG(math.atan2(10, 100)))

    def test_q_angle_between_the_quadriceps_line_and_the_patellar_tendon(self):
        # ASIS straight above the patella; tuberosity 20 px lateral over 100 px: 11.31°.
        assert angles.q_angle(P(100, 0), P(100, 300), P(120, 400)) == approx(DEG(math.atan2(20, 100)))
        assert angles.q_angle(P(100, 0), P(100, 300), P(100, 400)) == approx(0)

    def test_hindfoot_turned_out_is_valgus_positive(self):
        # Posterior view: the right foot is on the image right; lateral is image-right.
        assert angles.hindfoot(P(100, 0), P(100, 100), P(110, 150), "r") == approx(DEG(math.atan2(10, 50)))
        assert angles.hindfoot(P(300, 0), P(300, 100), P(290, 150), "l") == approx(DEG(math.atan2(10, 50)))

    def test_scapular_asymmetry_index(self):
        # Right inferior angle 110 px from T3, left 90 px: (110 − 90) / 100 × 100 = 20 %.
        assert angles.scapular_asymmetry(P(310, 400), P(110, 400), P(200, 300)) == approx(20)

    def test_limb_length_difference_needs_and_uses_calibration(self):
        lm = {
            "asis_r": P(100, 100),
            "medial_malleolus_r": P(100, 1010),
            "asis_l": P(300, 100),
            "medial_malleolus_l": P(300, 1000),
            "calibration_a": P(10, 0),
            "calibration_b": P(10, 500),
        }
        with_cal = compute(View.ANTERIOR, lm, calibration_cm=50).by_id()
        assert with_cal["limb_length_difference"] == pytest.approx(1.0)  # 10 px at 10 px/cm
        assert "limb_length_difference" not in compute(View.ANTERIOR, lm).by_id()


class ComputeTests:
    def test_every_measure_is_computed_when_its_landmarks_are_present(self):
        from knotwork.assessment.demo_assets.figure import side_view_landmarks

        lm = {k: P(*v) for k, v in side_view_landmarks().items()}
        result = compute(View.LATERAL_RIGHT, lm)
        assert {r.id for r in result.results} == {d.id for d in angles.measures_for_view(View.LATERAL_RIGHT)}
        assert result.missing == {}

    def test_a_measure_without_its_landmarks_says_what_it_needs(self):
        result = compute(View.LATERAL_RIGHT, {"tragus": P(1, 1)})
        assert result.missing["cva"] == "needs C7 spinous process"

    def test_views_ask_only_for_the_landmarks_their_measures_use(self):
        assert angles.landmarks_for_view(View.POSTERIOR)[:3] == ["psis_r", "psis_l", "scapula_inferior_r"]
        assert "tragus" not in angles.landmarks_for_view(View.POSTERIOR)
        assert angles.landmarks_for_view(View.LATERAL_LEFT)[-2:] == ["calibration_a", "calibration_b"]

    def test_the_default_facing_follows_the_side_shown(self):
        assert angles.default_anterior(View.LATERAL_RIGHT) == 1
        assert angles.default_anterior(View.LATERAL_LEFT) == -1


# --- properties ------------------------------------------------------------------------------

coord = st.floats(min_value=50, max_value=950, allow_nan=False, allow_infinity=False)


def _transform(p: Point, *, theta: float, scale: float, dx: float, dy: float, origin: Point) -> Point:
    x, y = p.x - origin.x, p.y - origin.y
    c, s = math.cos(theta), math.sin(theta)
    return Point(origin.x + scale * (c * x - s * y) + dx, origin.y + scale * (s * x + c * y) + dy)


def _landmarks(view: View, values: list[float]) -> dict[str, Point]:
    names = angles.landmarks_for_view(view)
    return {n: Point(values[2 * i], values[2 * i + 1]) for i, n in enumerate(names)}


def _well_spread(lm: dict[str, Point]) -> bool:
    pts = list(lm.values())
    return all(math.hypot(a.x - b.x, a.y - b.y) > 20 for i, a in enumerate(pts) for b in pts[i + 1 :])


def _angular_diff(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


@pytest.mark.parametrize("view", list(View))
class InvarianceTests:
    @settings(max_examples=60, deadline=None)
    @given(
        values=st.lists(coord, min_size=60, max_size=60),
        theta=st.floats(-math.pi, math.pi),
        scale=st.floats(0.3, 4),
        dx=st.floats(-500, 500),
        dy=st.floats(-500, 500),
    )
    def test_rotation_translation_and_scale_leave_rotation_invariant_measures_unchanged(self, view, values, theta, scale, dx, dy):
        lm = _landmarks(view, values)
        assume(_well_spread(lm))
        origin = Point(500, 500)
        moved = {k: _transform(p, theta=theta, scale=scale, dx=dx, dy=dy, origin=origin) for k, p in lm.items()}
        before = compute(view, lm, calibration_cm=40).by_id()
        after = compute(view, moved, calibration_cm=40).by_id()
        for mid, value in before.items():
            if MEASURES[mid].rotation_invariant:
                tol = 0.05 if MEASURES[mid].unit != "cm" else 0.02
                assert _angular_diff(after[mid], value) <= tol, mid

    @settings(max_examples=60, deadline=None)
    @given(values=st.lists(coord, min_size=60, max_size=60), scale=st.floats(0.3, 4), dx=st.floats(-500, 500), dy=st.floats(-500, 500))
    def test_translation_and_scale_leave_every_measure_unchanged(self, view, values, scale, dx, dy):
        lm = _landmarks(view, values)
        assume(_well_spread(lm))
        moved = {k: Point(p.x * scale + dx, p.y * scale + dy) for k, p in lm.items()}
        before = compute(view, lm, calibration_cm=40).by_id()
        after = compute(view, moved, calibration_cm=40).by_id()
        assert before.keys() == after.keys()
        for mid, value in before.items():
            assert after[mid] == pytest.approx(value, abs=0.05), mid


class VerticalReferenceTests:
    """Measures against the vertical or horizontal must change when the camera is tilted: the
    reference line does not rotate with the landmarks. This is why the property above skips them."""

    def test_tilting_the_photo_changes_cva_by_the_tilt(self):
        tragus, c7 = P(200, 100), P(100, 200)
        tilt = math.radians(10)
        rotated = _transform(tragus, theta=-tilt, scale=1, dx=0, dy=0, origin=c7)  # counter-clockwise on screen
        assert angles.cva(rotated, c7, 1) == pytest.approx(55, abs=1e-6)

    @pytest.mark.parametrize("mid", sorted(m for m, d in MEASURES.items() if not d.rotation_invariant))
    def test_every_measure_marked_not_rotation_invariant_really_is_not(self, mid):
        from knotwork.assessment.demo_assets.figure import side_view_landmarks

        d = MEASURES[mid]
        view = d.views()[0]
        base = {k: P(*v) for k, v in side_view_landmarks().items()}
        spread = {n: P(200 + (97 * i * i) % 500, 150 + (61 * i) % 800) for i, n in enumerate(angles.landmarks_for_view(view))}
        lm = {**spread, **{k: v for k, v in base.items() if k in spread}}
        rotated = {k: _transform(p, theta=math.radians(7), scale=1, dx=0, dy=0, origin=P(500, 500)) for k, p in lm.items()}
        assert compute(view, lm).by_id()[mid] != pytest.approx(compute(view, rotated).by_id()[mid], abs=0.5)
