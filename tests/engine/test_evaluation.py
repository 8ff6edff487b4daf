from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from knotwork.engine import Engine
from knotwork.engine.commands import eval_main, explain_main
from knotwork.engine.evaluation import (
    VignetteError,
    evaluate_safety,
    evaluate_vignettes,
    format_self_consistency,
    load_safety_cases,
    load_vignettes,
    self_consistency,
    self_drawing,
)

from .conftest import drawing


def run(main, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


class VignetteTests:
    def test_the_shipped_set_holds_at_least_forty_cited_vignettes_that_parse(self, shipped_engine):
        vignettes = load_vignettes()
        assert len(vignettes) >= 40
        assert all(v.note for v in vignettes), [v.id for v in vignettes if not v.note]
        report = evaluate_vignettes(shipped_engine, vignettes)
        assert len(report.outcomes) == len(vignettes)

    def test_the_shipped_safety_cases_are_cited_and_all_pass(self, shipped_engine):
        cases = load_safety_cases()
        assert len(cases) >= 15
        assert all(c.source for c in cases)
        report = evaluate_safety(shipped_engine, cases)
        assert [o.case.id for o in report.outcomes if not o.passed] == []

    def test_recall_at_k_counts_expected_muscles_among_the_first_k(self, engine, tmp_path: Path):
        (tmp_path / "v.yaml").write_text(
            "vignettes:\n"
            "  - id: temple\n"
            "    drawing: {marks: [{cell: 'temple:right', intensity: 6}]}\n"
            "    expected: [beta, omega]\n"
            "    k: 1\n"
            "  - id: heel\n"
            "    drawing: {marks: [{cell: 'heel:left', intensity: 6}]}\n"
            "    expected: [kappa, nowhere-muscle]\n"
            "    k: 3\n"
        )
        report = evaluate_vignettes(engine, load_vignettes([tmp_path / "v.yaml"]))
        temple, heel = report.outcomes
        assert (temple.found, temple.recall) == (("beta",), 0.5)
        assert heel.not_in_atlas == ("nowhere-muscle",)
        assert report.mean_recall == 0.5
        assert report.pooled_recall == 0.5

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("id: x\nexpected: [a]\n", "missing 'drawing'"),
            ("id: x\ndrawing: {}\nexpected: []\n", "non-empty list"),
            ("id: x\ndrawing: {}\nexpected: [a]\nk: 0\n", "positive"),
            ("id: x\ndrawing: {}\nexpected: [a]\nwho: me\n", "unknown field"),
            ("id: [unclosed\n", "not valid YAML"),
        ],
    )
    def test_a_malformed_vignette_file_is_named_in_a_clear_error(self, tmp_path: Path, text, message):
        (tmp_path / "bad.yaml").write_text(text)
        with pytest.raises(VignetteError, match=message):
            load_vignettes([tmp_path / "bad.yaml"])

    def test_a_vignette_with_a_bad_drawing_names_the_vignette(self, engine, tmp_path: Path):
        (tmp_path / "bad.yaml").write_text("id: broken\ndrawing: {marks: [{cell: 'nose:left', intensity: 3}]}\nexpected: [a]\n")
        with pytest.raises(VignetteError, match="broken.*nose:left"):
            evaluate_vignettes(engine, load_vignettes([tmp_path / "bad.yaml"]))


class SelfConsistencyTests:
    def test_every_synthetic_trigger_point_finds_its_own_muscle_near_the_top(self, engine):
        report = self_consistency(engine)
        assert report.total == 10
        assert report.share_within(3) == 1.0

    def test_identical_patterns_tie_and_the_tie_is_reported(self, engine):
        report = self_consistency(engine)
        zeta = next(c for c in report.cases if c.trigger_point == "zeta-1")
        # zeta and eta have the same pattern: both rank first, each names the other as tied.
        assert (zeta.rank, zeta.ahead, zeta.tied) == (1, (), ("eta",))
        assert "zeta-1=eta" in format_self_consistency(report)

    def test_a_whole_pattern_drawing_adds_the_spillover_zone_weaker(self, engine):
        kappa = next(p for p in engine.patterns if p.trigger_point == "kappa-upper" and p.side == "right")
        marks = {m.cell: m.intensity for m in self_drawing(kappa, whole=True).marks}
        assert marks == {"heel:right": 6, "sole:right": 3}
        assert self_consistency(engine, whole=True).share_within(1) == 1.0


class ShippedAtlasTests:
    """Only robust facts: the muscle data is still being written."""

    def test_a_right_temple_and_side_of_neck_drawing_lists_upper_trapezius_in_the_top_three(self, shipped_engine):
        result = shipped_engine.explain(drawing(("temple:right", 7), ("neck-lateral:right", 5)))
        top = [(h.muscle, h.side) for h in result.hypotheses[:3]]
        assert ("upper-trapezius", "right") in top

    def test_the_same_drawing_on_the_left_lists_the_left_upper_trapezius(self, shipped_engine):
        result = shipped_engine.explain(drawing(("temple:left", 7), ("neck-lateral:left", 5)))
        assert ("upper-trapezius", "left") in [(h.muscle, h.side) for h in result.hypotheses[:3]]

    def test_the_atlas_recognises_its_own_patterns(self, shipped_engine: Engine):
        # Each trigger point's pattern, drawn as its essential zone or whole, ranks its own muscle
        # first (ties with identical patterns shared) for at least nine in ten.
        assert self_consistency(shipped_engine).share_within(1) >= 0.9
        assert self_consistency(shipped_engine, whole=True).share_within(1) >= 0.9


class ExplainCommandTests:
    def test_it_prints_a_readable_table(self):
        code, out, err = run(explain_main, ["temple:right=7", "neck-lateral:right=5"])
        assert code == 0 and err == ""
        assert "upper-trapezius" in out and "Red flags: NOT ASKED" in out

    def test_an_emergency_prints_first_and_withholds_the_muscles(self):
        argv = ["chest-upper:left=7/pressure", "upper-arm-medial:left=5", "--symptom", "heart-like-pain"]
        code, out, _ = run(explain_main, argv)
        assert code == 0
        assert out.splitlines()[0].startswith("EMERGENCY: Emergency: refer now.")
        assert "Likely sources to examine" not in out and "withheld" in out
        code, cleared, _ = run(explain_main, [*argv, "--cleared"])
        assert "pectoralis-major" in cleared

    def test_json_prints_the_output_contract(self):
        code, out, _ = run(explain_main, ["temple:right=7", "--json", "--top", "2", "--symptom", "headache"])
        data = json.loads(out)
        assert code == 0
        assert set(data) >= {"hypotheses", "cover", "screens", "atlas_version"}
        assert len(data["hypotheses"]) <= 2

    def test_a_drawing_file_and_extra_marks_are_combined(self, tmp_path: Path):
        path = tmp_path / "d.json"
        path.write_text(json.dumps(drawing(("temple:right", 7))))
        code, out, _ = run(explain_main, ["--drawing", str(path), "palm:right=4/tingling", "--json"])
        cells = {c for h in json.loads(out)["hypotheses"] for c in (*h["essential_hits"], *h["spillover_hits"], *h["unexplained"])}
        assert code == 0 and cells == {"temple:right", "palm:right"}

    def test_red_flag_answers_reach_the_screen(self):
        code, out, _ = run(explain_main, ["calf:left=5", "--red-flag", "calf-swelling", "--json"])
        assert json.loads(out)["screens"][0]["verdict"] == "refer out"

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["temple:up=7"], "temple:up"),
            (["temple:right=11"], "1 to 10"),
            (["temple:right"], "CELL=INTENSITY"),
            (["temple:right=seven"], "whole number"),
            (["temple:right=7", "--symptom", "hiccups"], "hiccups"),
            (["--drawing", "/nonexistent/d.json"], "cannot read"),
            (["--top", "0", "temple:right=7"], "--top"),
            (["--frobnicate"], "unrecognized"),
        ],
    )
    def test_bad_input_prints_a_clear_error_and_returns_two(self, argv, message):
        code, out, err = run(explain_main, argv)
        assert code == 2 and out == ""
        assert message in err and "Traceback" not in err

    def test_help_returns_zero(self, capsys):
        assert explain_main(["--help"]) == 0


class EvalCommandTests:
    def test_it_reports_recall_for_the_shipped_vignettes(self):
        code, out, _ = run(eval_main, [])
        assert code == 0 and "mean recall@k" in out and "recall@3" in out

    def test_it_reports_safety_separately_and_every_shipped_case_passes(self):
        code, out, _ = run(eval_main, [])
        assert code == 0
        assert "Safety: " in out and "(100.0%)" in out

    def test_a_failing_safety_case_fails_the_command(self, tmp_path: Path):
        (tmp_path / "s.yaml").write_text(
            "safety:\n"
            "  - id: wrong-on-purpose\n"
            "    source: a test\n"
            "    drawing: {marks: [{cell: 'temple:right', intensity: 5}], context: {red_flags: []}}\n"
            "    expect: {level: emergency}\n"
        )
        code, out, _ = run(eval_main, [str(tmp_path / "s.yaml")])
        assert code == 1 and "FAIL: level 'clear', expected 'emergency'" in out

    def test_atlas_adds_the_self_consistency_report(self):
        code, out, _ = run(eval_main, ["--atlas"])
        assert code == 0 and "within top 3" in out

    def test_a_missing_file_is_a_clear_error(self):
        code, _, err = run(eval_main, ["/nonexistent/v.yaml"])
        assert code == 2 and "cannot read" in err
