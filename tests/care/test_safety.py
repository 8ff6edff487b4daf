from __future__ import annotations

from dataclasses import dataclass, field

from knotwork.care.library import techniques
from knotwork.care.safety import check_technique

NAMES = {"ischemic-compression": "Ischemic compression", "deep-pressure": "Deep pressure", "sustained-pressure": "Sustained pressure",
         "myofascial-release": "Myofascial release", "nerve-entrapment-release": "Nerve-entrapment release"}  # fmt: skip


@dataclass
class F:
    pk: int
    flag_class: str
    title: str = "Flag"
    forbids: list[str] = field(default_factory=list)
    cautions: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)


def check(tech: str, cells: list[str], *flags: F):
    return check_technique(techniques()[tech], cells, flags, NAMES)


class CheckTechniqueTests:
    def test_no_flags_allow_everything(self):
        v = check("ischemic-compression", ["calf:right"])
        assert v.allowed and not v.cautions

    def test_a_flag_that_forbids_an_involved_technique_blocks_it_with_the_reason(self):
        v = check("trigger-point-pressure-release", ["calf:right"], F(1, "precaution", "Blood thinners", forbids=["sustained-pressure"]))
        assert not v.allowed
        assert "sustained pressure" in v.blocked[0].reason and v.blocked[0].title == "Blood thinners"

    def test_a_caution_on_an_involved_technique_needs_acknowledging(self):
        v = check("ischemic-compression", ["jaw:left"], F(2, "precaution", cautions=["deep-pressure"]))
        assert v.allowed and v.caution_ids == [2]

    def test_stretching_involves_no_pressure_so_pressure_flags_do_not_touch_it(self):
        v = check("stretching", ["calf:right"], F(1, "precaution", forbids=["ischemic-compression"], cautions=["deep-pressure"]))
        assert v.allowed and not v.cautions

    def test_a_refer_out_flag_blocks_every_technique(self):
        assert not check("stretching", ["calf:right"], F(3, "refer_out")).allowed

    def test_a_local_contraindication_blocks_only_its_own_cells(self):
        local = F(4, "local", regions=["shoulder-top:right"])
        assert not check("stretching", ["shoulder-top:right"], local).allowed
        assert check("stretching", ["shoulder-top:left"], local).allowed

    def test_a_local_contraindication_names_the_area_in_words_not_its_code(self):
        v = check("stretching", ["calf:right", "calf:left"], F(6, "local", "Varicose veins", regions=["calf:right"]))
        assert v.blocked[0].reason == "Local contraindication: do not treat the right calf."

    def test_a_precaution_naming_the_treated_area_cautions_pressure_techniques_there(self):
        clot = F(5, "precaution", regions=["calf:left"])
        assert check("myofascial-release", ["calf:left"], clot).caution_ids == [5]
        assert check("stretching", ["calf:left"], clot).caution_ids == []
