"""Norm sets, flags and the findings → muscles rules (pure modules and their data)."""

from __future__ import annotations

import pytest

from knotwork.assessment import findings, norms
from knotwork.assessment.angles import MEASURES
from knotwork.assessment.findings import FindingIn, LimitedMotion, MovementTestIn, flags_for, implicated_muscles
from knotwork.atlas.loader import atlas


class NormDataTests:
    def test_the_default_set_is_the_clinical_aaos_one_and_every_set_cites_a_source_and_says_what_it_is_for(self):
        n = norms.norms()
        assert n.default_set == "aaos"
        assert "38 CFR" in n.sets["va"].name and "Title 38" in n.sets["va"].source
        assert "Norkin" in n.sets["aaos"].source and "default" in n.sets["aaos"].use
        for s in n.sets.values():
            assert s.source and s.name and len(s.use) > 40

    def test_the_values_from_the_facts_are_encoded(self):
        n = norms.norms()
        assert n.sets["va"].value("cervical_rotation") == 80
        assert n.sets["aaos"].value("cervical_rotation") == 60
        assert n.sets["ama"].value("shoulder_external_rotation") == 60
        assert n.sets["va"].value("shoulder_extension") is None

    def test_unverified_values_are_marked_and_name_real_motions(self):
        n = norms.norms()
        for s in n.sets.values():
            assert s.unverified <= set(n.motions)
        assert "hip_flexion" in n.sets["aaos"].unverified
        assert n.sets["va"].unverified == frozenset()

    def test_aaos_counts_as_checked_only_the_upper_limb_and_values_a_second_table_gives_alike(self):
        n = norms.norms()
        aaos, va = n.sets["aaos"], n.sets["va"]
        upper = {m.id for m in n.motions.values() if m.region == "upper"}
        assert not upper & aaos.unverified
        # The neck values 38 CFR gives alike are checked; rotation (60 against 80) is not.
        for motion in ("cervical_flexion", "cervical_extension", "cervical_lateral_flexion"):
            assert motion not in aaos.unverified and aaos.value(motion) == va.value(motion)
        assert "cervical_rotation" in aaos.unverified and aaos.value("cervical_rotation") != va.value("cervical_rotation")
        assert {m.id for m in n.motions.values() if m.region == "thoracolumbar"} <= aaos.unverified

    def test_every_region_has_a_measurement_error_and_the_lower_limb_one_is_larger(self):
        n = norms.norms()
        assert {m.region for m in n.motions.values()} <= set(n.error)
        assert n.error["upper"] == n.error["cervical"] == 5
        assert n.error["lower"] > 5 and n.error["thoracolumbar"] > 5


class RomComparisonTests:
    va = property(lambda self: norms.norms().sets["va"])

    def test_percent_of_norm_and_a_deficit_beyond_error_is_flagged(self):
        c = norms.compare(motion="cervical_rotation", degrees=60, norm_set=self.va)
        assert (c.norm, c.pct_of_norm, c.below_norm) == (80, 75, True)

    def test_a_deficit_within_measurement_error_is_not_flagged(self):
        assert norms.compare(motion="cervical_rotation", degrees=76, norm_set=self.va).below_norm is False

    def test_the_lower_limb_needs_a_larger_difference(self):
        assert norms.compare(motion="knee_flexion", degrees=133, norm_set=self.va).below_norm is False  # 7° < 8°
        assert norms.compare(motion="knee_flexion", degrees=131, norm_set=self.va).below_norm is True

    def test_the_weaker_side_is_flagged_against_the_other_side(self):
        weak = norms.compare(motion="shoulder_external_rotation", degrees=70, norm_set=self.va, other_side=90)
        strong = norms.compare(motion="shoulder_external_rotation", degrees=90, norm_set=self.va, other_side=70)
        assert (weak.pct_of_other_side, weak.side_difference) == (78, True)
        assert strong.side_difference is False

    def test_change_from_baseline_is_flagged_only_beyond_error(self):
        assert norms.compare(motion="cervical_rotation", degrees=70, norm_set=self.va, baseline=66).change_beyond_error is False
        c = norms.compare(motion="cervical_rotation", degrees=72, norm_set=self.va, baseline=60)
        assert (c.change, c.change_beyond_error) == (12, True)

    def test_a_zero_degree_norm_has_no_percentage_but_a_bent_joint_is_flagged(self):
        c = norms.compare(motion="knee_extension", degrees=-12, norm_set=self.va)
        assert c.pct_of_norm is None and c.below_norm is True


class FlagTests:
    @pytest.mark.parametrize(
        ("value", "label"),
        [
            (52, None),
            (49.9, "Possible forward head posture (CVA < 50°)"),
            (45.0, "Possible moderate–severe forward head posture (CVA < 45.5°)"),
        ],
    )
    def test_cva_flags_follow_the_configured_cut_offs(self, value, label):
        got = flags_for("cva", value)
        assert (got[0].label if got else None) == label

    @pytest.mark.parametrize("mid", ["head_horizontal", "acromion_horizontal", "asis_horizontal", "psis_horizontal"])
    def test_asymmetries_within_measurement_error_are_not_flagged(self, mid):
        err = findings.measurement_error(mid)
        assert flags_for(mid, err - 0.01) == [] and flags_for(mid, -(err - 0.01)) == []
        assert flags_for(mid, err + 0.5) and flags_for(mid, -(err + 0.5))

    def test_a_flag_names_the_higher_side_as_a_finding(self):
        (flag,) = flags_for("acromion_horizontal", 4)
        assert (flag.finding, flag.side) == ("shoulder_elevation", "left")

    def test_a_lateral_view_flag_takes_the_side_the_photo_shows(self):
        (flag,) = flags_for("knee_angle", -8, view_side="right")
        assert (flag.finding, flag.side) == ("genu_recurvatum", "right")

    def test_every_measure_has_a_policy_and_every_flag_threshold_is_at_least_its_error(self):
        policy = findings.posture_policy()
        assert set(policy) == set(MEASURES)
        for mid, p in policy.items():
            for rule in p.flags:
                for bound in (rule.above, rule.abs_above):
                    if bound is not None and mid not in ("q_angle_r", "q_angle_l", "pelvic_tilt"):
                        assert abs(bound) >= p.error, mid


class RuleTests:
    def test_every_muscle_the_rules_name_exists_in_the_atlas(self):
        known = set(atlas().muscle_by_id)
        assert findings.rules().muscle_ids() - known == set()

    def test_every_rom_rule_names_a_known_motion(self):
        assert set(findings.rules().rom) <= set(norms.norms().motions)

    def test_upper_crossed_needs_forward_head_and_protracted_shoulders(self):
        both = implicated_muscles(findings=[FindingIn("head_forward"), FindingIn("shoulder_protraction", "both")])
        assert "Upper-crossed" in both["levator-scapulae"]
        assert "short and overactive" in both["pectoralis-minor"]
        assert "weak and inhibited" in both["lower-trapezius"]
        head_only = implicated_muscles(findings=[FindingIn("head_forward")])
        assert "levator-scapulae" not in head_only
        assert "Forward head posture" in head_only["suboccipitals"]

    def test_lower_crossed_implicates_hip_flexors_short_and_gluteals_weak(self):
        got = implicated_muscles(findings=[FindingIn("pelvic_tilt_anterior")])
        assert "Lower-crossed" in got["iliopsoas"] and "short" in got["rectus-femoris"]
        assert "weak" in got["gluteus-maximus"] and "weak" in got["rectus-abdominis"]

    def test_limited_cervical_rotation_implicates_the_muscles_that_limit_it(self):
        label = "Limited active cervical rotation to the right (58°, norm 80° VA)"
        got = implicated_muscles(limited=[LimitedMotion("cervical_rotation", label)])
        assert set(got) >= {"levator-scapulae", "sternocleidomastoid", "splenius-capitis"}
        assert got["levator-scapulae"].startswith(label)
        assert "subscapularis" in implicated_muscles(limited=[LimitedMotion("shoulder_external_rotation", "Limited ER")])

    def test_reasons_from_several_findings_are_joined(self):
        got = implicated_muscles(findings=[FindingIn("head_tilt", "right"), FindingIn("shoulder_elevation", "right")])
        assert (
            got["upper-trapezius"] == "Head tilt (right): often short and overactive; Elevated shoulder (right): often short and overactive"
        )

    def test_a_neural_straight_leg_raise_implicates_no_muscle_and_carries_a_caution(self):
        assert implicated_muscles(tests=[MovementTestIn("straight_leg_raise", "neural", "left")]) == {}
        result = findings.rules().tests["straight_leg_raise"].results["neural"]
        assert "physician" in result.caution
        assert "biceps-femoris" in implicated_muscles(tests=[MovementTestIn("straight_leg_raise", "hamstrings_tight", "left")])

    def test_the_result_feeds_the_engine_context_unchanged(self):
        from knotwork.engine import parse_drawing

        muscles = implicated_muscles(findings=[FindingIn("head_forward"), FindingIn("shoulder_protraction")])
        drawing = parse_drawing({"marks": [{"cell": "temple:right", "intensity": 5}], "context": {"implicated_muscles": muscles}})
        assert dict(drawing.context.implicated_muscles) == muscles
