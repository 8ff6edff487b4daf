from __future__ import annotations

import pytest

from knotwork.engine import Engine, lookalike_rules

from .conftest import drawing


def lookalikes(engine: Engine, data) -> dict[str, object]:
    return {s.id: s for s in engine.explain(data).screens if s.id.startswith("lookalike-")}


class LookalikeRuleTableTests:
    def test_every_screen_weighs_other_causes_against_trigger_points_and_cites_its_sources(self):
        for rule in lookalike_rules().screens:
            kinds = {c.kind for c in rule.candidates}
            assert "trigger point" in kinds and kinds - {"trigger point"}, rule.id
            assert all(c.findings for c in rule.candidates), rule.id
            assert all(c.action in {"refer", "test", "co-manage", "treat"} for c in rule.candidates), rule.id
            assert rule.refer_when and rule.source, rule.id

    @pytest.mark.parametrize(
        ("marks", "symptoms", "screen"),
        [
            ([("forearm-dorsal:right", 5, "numbness"), ("neck-lateral:right", 4)], [], "arm-tingling"),
            ([("heel:left", 7)], [], "heel-pain"),
            ([("tmj:right", 6), ("ear:right", 5)], [], "jaw-ear-pain"),
            ([("elbow-medial:right", 6)], [], "medial-elbow"),
            ([("hip-lateral:left", 6)], [], "lateral-hip"),
            ([("neck-lateral:right", 5), ("fingers-ulnar:right", 4, "tingling")], [], "thoracic-outlet"),
            ([("abdomen-lower:right", 6)], [], "abdominal-pain"),
            ([("chest-upper:left", 5)], [], "chest-wall"),
        ],
    )
    def test_each_picture_raises_its_look_alike_screen(self, shipped_engine, marks, symptoms, screen):
        result = shipped_engine.explain(drawing(*marks, symptoms=symptoms))
        assert f"lookalike-{screen}" in {s.id for s in result.screens}

    def test_the_required_look_alikes_are_present(self):
        candidates = {c.id for r in lookalike_rules().screens for c in r.candidates}
        assert {
            "carpal-tunnel",
            "pronator-teres",
            "thoracic-outlet",
            "infraspinatus",
            "radiculopathy",
            "piriformis",
            "gluteus-minimus",
            "occipital-neuralgia",
            "semispinalis-capitis",
            "upper-trapezius",
        } <= candidates


class LookalikeScreenTests:
    def test_tingling_in_the_hand_raises_the_carpal_tunnel_screen(self, engine):
        screens = lookalikes(engine, drawing(("fingers-radial:right", 5, "tingling")))
        assert screens["lookalike-hand-tingling"].verdict == "examine"

    def test_a_reported_tingling_symptom_with_a_hand_mark_raises_it_too(self, engine):
        assert "lookalike-hand-tingling" in lookalikes(engine, drawing(("palm:left", 4), symptoms=["tingling"]))

    def test_an_aching_hand_alone_does_not_raise_it(self, engine):
        assert lookalikes(engine, drawing(("palm:left", 4, "aching"))) == {}

    def test_the_screen_says_what_tells_carpal_tunnel_and_pronator_teres_apart(self, engine):
        screen = lookalikes(engine, drawing(("palm:right", 5, "numbness")))["lookalike-hand-tingling"]
        by_id = {c["id"]: c for c in screen.details["candidates"]}
        assert {t["finding"] for t in by_id["carpal-tunnel"]["tell_apart"]} >= {"night-waking", "thenar-spared"}
        assert "thenar-involved" in {t["finding"] for t in by_id["pronator-teres"]["tell_apart"]}

    def test_recorded_findings_show_which_candidate_they_support(self, engine):
        data = drawing(("palm:right", 5, "tingling"), context={"findings": ["resisted-pronation"]})
        screen = lookalikes(engine, data)["lookalike-hand-tingling"]
        supported = {c["id"]: c["supported_by"] for c in screen.details["candidates"]}
        assert supported["pronator-teres"] == ["resisted-pronation"]
        assert supported["carpal-tunnel"] == []

    def test_hand_numbness_with_weakness_means_refer(self, engine):
        screen = lookalikes(engine, drawing(("thumb:right", 5, "numbness"), symptoms=["weakness"]))
        assert screen["lookalike-hand-tingling"].verdict == "refer"
        assert screen["lookalike-hand-tingling"].details["refer_because"]

    def test_buttock_and_back_of_thigh_raise_the_sciatica_screen(self, engine):
        screens = lookalikes(engine, drawing(("buttock-lower:left", 6), ("thigh-posterior:left", 5)))
        assert screens["lookalike-leg-pain"].verdict == "examine"

    def test_buttock_pain_alone_does_not_raise_the_sciatica_screen(self, engine):
        assert lookalikes(engine, drawing(("buttock-lower:left", 6))) == {}

    def test_numbness_below_the_knee_means_refer(self, engine):
        screens = lookalikes(engine, drawing(("buttock-lower:left", 6), ("leg-lateral:left", 4, "numbness")))
        assert screens["lookalike-leg-pain"].verdict == "refer"

    def test_a_recorded_neurological_deficit_means_refer(self, engine):
        data = drawing(("buttock-lower:left", 6), ("calf:left", 4), context={"findings": ["neuro-deficit"]})
        assert lookalikes(engine, data)["lookalike-leg-pain"].verdict == "refer"

    def test_burning_at_the_back_of_the_head_raises_the_occipital_screen(self, engine):
        screens = lookalikes(engine, drawing(("occiput:right", 6, "burning")))
        assert screens["lookalike-occipital-pain"].verdict == "examine"

    def test_an_aching_back_of_the_head_does_not_raise_it(self, engine):
        assert lookalikes(engine, drawing(("occiput:right", 6, "aching"))) == {}

    def test_shooting_scalp_pain_means_refer(self, engine):
        data = drawing(("occiput:right", 6, "stabbing"), context={"findings": ["shooting-paroxysms"]})
        assert lookalikes(engine, data)["lookalike-occipital-pain"].verdict == "refer"

    def test_candidates_report_where_their_muscles_were_ranked(self, shipped_engine):
        data = drawing(("occiput:right", 6, "burning"), ("temple:right", 5), ("neck-lateral:right", 5))
        screen = shipped_engine.explain(data).screen("lookalike-occipital-pain")
        ranked = {c["id"]: c["ranked"] for c in screen.details["candidates"]}
        assert "upper-trapezius" in ranked["upper-trapezius"]
