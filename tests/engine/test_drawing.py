from __future__ import annotations

from typing import Any

import pytest

from knotwork.engine import DrawingError, PainDrawing, parse_drawing


def problems(data: Any, atlas: Any) -> dict[str, str]:
    with pytest.raises(DrawingError) as caught:
        parse_drawing(data, atlas)
    return caught.value.fields


class ParseDrawingTests:
    def test_it_parses_a_valid_drawing_into_marks_symptoms_and_context(self, synthetic_atlas):
        d = parse_drawing(
            {
                "marks": [{"cell": "temple:right", "intensity": 7, "quality": "aching"}, {"cell": "sacrum", "intensity": 3}],
                "symptoms": ["dizziness"],
                "context": {"implicated_muscles": {"alpha": "limited cervical rotation"}, "sex": "female", "age": 41},
            },
            synthetic_atlas,
        )
        assert isinstance(d, PainDrawing)
        assert [(m.cell, m.intensity, m.quality, m.side) for m in d.marks] == [
            ("temple:right", 7, "aching", "right"),
            ("sacrum", 3, None, "midline"),
        ]
        assert d.symptoms == ("dizziness",)
        assert d.context.implicated_muscles == {"alpha": "limited cervical rotation"}
        assert d.context.age == 41

    def test_an_empty_object_is_an_empty_drawing(self, synthetic_atlas):
        assert parse_drawing({}, synthetic_atlas).is_empty

    def test_an_unknown_cell_is_named_in_the_error(self, synthetic_atlas):
        with pytest.raises(DrawingError, match="temple:up"):
            parse_drawing({"marks": [{"cell": "temple:up", "intensity": 5}]}, synthetic_atlas)

    def test_a_paired_region_without_a_side_gets_a_hint(self, synthetic_atlas):
        msg = problems({"marks": [{"cell": "temple", "intensity": 5}]}, synthetic_atlas)["marks[0].cell"]
        assert "temple:right" in msg

    def test_a_midline_region_with_a_side_gets_a_hint(self, synthetic_atlas):
        msg = problems({"marks": [{"cell": "sacrum:left", "intensity": 5}]}, synthetic_atlas)["marks[0].cell"]
        assert "without a side" in msg

    @pytest.mark.parametrize("intensity", [0, 11, -1, 7.5, "7", True, None])
    def test_an_intensity_outside_one_to_ten_or_not_whole_is_rejected(self, synthetic_atlas, intensity):
        fields = problems({"marks": [{"cell": "temple:right", "intensity": intensity}]}, synthetic_atlas)
        assert "marks[0].intensity" in fields

    @pytest.mark.parametrize("intensity", [1, 10])
    def test_intensities_at_both_ends_are_accepted(self, synthetic_atlas, intensity):
        d = parse_drawing({"marks": [{"cell": "temple:right", "intensity": intensity}]}, synthetic_atlas)
        assert d.marks[0].intensity == intensity

    def test_a_cell_marked_twice_is_rejected(self, synthetic_atlas):
        fields = problems({"marks": [{"cell": "jaw:left", "intensity": 2}, {"cell": "jaw:left", "intensity": 5}]}, synthetic_atlas)
        assert "twice" in fields["marks[1].cell"]

    def test_an_unknown_quality_is_rejected(self, synthetic_atlas):
        fields = problems({"marks": [{"cell": "jaw:left", "intensity": 2, "quality": "itchy"}]}, synthetic_atlas)
        assert "itchy" in fields["marks[0].quality"]

    def test_an_unknown_symptom_is_rejected(self, synthetic_atlas):
        fields = problems({"marks": [], "symptoms": ["dizziness", "vertigo"]}, synthetic_atlas)
        assert "vertigo" in fields["symptoms[1]"]

    def test_an_unknown_top_level_field_is_rejected(self, synthetic_atlas):
        assert "taken" in problems({"marks": [], "taken": "today"}, synthetic_atlas)

    def test_an_unknown_mark_field_is_rejected(self, synthetic_atlas):
        fields = problems({"marks": [{"cell": "jaw:left", "intensity": 2, "colour": "red"}]}, synthetic_atlas)
        assert "marks[0].colour" in fields

    def test_every_problem_is_reported_at_once(self, synthetic_atlas):
        fields = problems(
            {"marks": [{"cell": "nowhere", "intensity": 3}, {"cell": "jaw:left", "intensity": 12}], "symptoms": ["x"]},
            synthetic_atlas,
        )
        assert set(fields) == {"marks[0].cell", "marks[1].intensity", "symptoms[0]"}

    @pytest.mark.parametrize("data", [[], "temple:right", None, {"marks": "temple:right"}, {"marks": [["temple:right", 5]]}])
    def test_shapes_that_are_not_a_drawing_are_rejected(self, synthetic_atlas, data):
        with pytest.raises(DrawingError):
            parse_drawing(data, synthetic_atlas)

    def test_an_implicated_muscle_must_exist_in_the_atlas(self, synthetic_atlas):
        fields = problems({"context": {"implicated_muscles": {"levator-nowhere": "tight"}}}, synthetic_atlas)
        assert "context.implicated_muscles.levator-nowhere" in fields

    @pytest.mark.parametrize(("item", "value"), [("fatigue", 4), ("cognitive", -1), ("headaches", 2), ("depression", "yes")])
    def test_symptom_severity_answers_outside_their_scale_are_rejected(self, synthetic_atlas, item, value):
        sss = {"fatigue": 1, "waking_unrefreshed": 1, "cognitive": 1, "headaches": 0, "lower_abdominal": 0, "depression": 0}
        sss[item] = value
        assert f"context.sss.{item}" in problems({"context": {"sss": sss}}, synthetic_atlas)

    def test_a_missing_symptom_severity_item_is_rejected(self, synthetic_atlas):
        assert "context.sss.depression" in problems({"context": {"sss": {"fatigue": 1}}}, synthetic_atlas)

    def test_unknown_red_flag_ids_are_rejected(self, synthetic_atlas):
        assert "context.red_flags.haunted" in problems({"context": {"red_flags": ["haunted"]}}, synthetic_atlas)

    def test_unknown_findings_are_rejected(self, synthetic_atlas):
        assert "context.findings[0]" in problems({"context": {"findings": ["glows"]}}, synthetic_atlas)

    def test_context_keys_the_engine_does_not_know_are_kept_aside(self, synthetic_atlas):
        d = parse_drawing({"context": {"intake_id": 12}}, synthetic_atlas)
        assert d.context.extra == {"intake_id": 12}

    def test_the_error_message_reads_as_one_line_naming_the_field(self, synthetic_atlas):
        with pytest.raises(DrawingError) as caught:
            parse_drawing({"marks": [{"cell": "temple:up", "intensity": 5}]}, synthetic_atlas)
        assert str(caught.value).startswith("marks[0].cell: unknown cell 'temple:up'")
