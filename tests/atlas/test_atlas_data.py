"""The atlas data: equal to the public contracts, internally consistent, validated on load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from knotwork.atlas.loader import AtlasDataError, atlas, load_atlas

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = [ROOT / "docs/contracts", ROOT.parent / "shared/spec"]


def _spec_regions(folder: Path) -> dict[str, tuple[str, str, str]]:
    out = {}
    for line in (folder / "body-regions.md").read_text().splitlines():
        m = re.match(r"^\| ([a-z][a-z-]*) \| (paired|midline) \| (front|back|both) \| [^|]+\| ([a-z-]+) \|", line)
        if m:
            out[m.group(1)] = (m.group(2), m.group(3), m.group(4))
    return out


def _spec_muscles(folder: Path) -> set[str]:
    body = (folder / "muscles.md").read_text()
    body = body[body.index("## Head and face") : body.index("Total:")]
    return {w.strip() for line in body.splitlines() if line and not line.startswith("#") for w in line.split(",") if w.strip()}


@pytest.fixture(params=[p for p in CONTRACTS if p.exists()], ids=lambda p: p.parent.name + "/" + p.name)
def contract(request):
    return request.param


class ContractTests:
    def test_the_regions_equal_the_specification_exactly(self, contract):
        ours = {r.id: (r.kind, r.view, r.wpi or "-") for r in atlas().regions}
        assert ours == _spec_regions(contract)

    def test_there_are_163_cells(self):
        cells = atlas().cells()
        assert len(cells) == len(set(cells)) == 163

    def test_every_required_muscle_id_is_present(self, contract):
        assert _spec_muscles(contract) - set(atlas().muscle_by_id) == set()


class IntegrityTests:
    def test_every_muscle_has_a_trigger_point_and_every_essential_zone_is_non_empty(self):
        for m in atlas().muscles:
            assert m.trigger_points, m.id
            for tp in m.trigger_points:
                assert tp.essential, tp.id

    def test_essential_and_spillover_never_share_a_region_and_side(self):
        for _, tp in atlas().trigger_points():
            assert not {(z.region, z.laterality) for z in tp.essential} & {(z.region, z.laterality) for z in tp.spillover}, tp.id

    def test_ids_are_unique_and_trigger_points_carry_their_muscle_id(self):
        tps = [tp.id for _, tp in atlas().trigger_points()]
        assert len(tps) == len(set(tps))
        for m, tp in atlas().trigger_points():
            assert tp.id.startswith(m.id + "-")

    def test_every_muscle_cites_a_source_and_an_evidence_level(self):
        for m in atlas().muscles:
            assert m.source.manual and m.source.chapter and m.evidence

    def test_about_two_hundred_trigger_points(self):
        assert len(atlas().trigger_points()) >= 180

    def test_zones_name_only_known_regions(self):
        regions = atlas().region_by_id
        for _, tp in atlas().trigger_points():
            for z in (*tp.essential, *tp.spillover):
                assert z.region in regions


def _copy_data(tmp_path: Path) -> Path:
    src = ROOT / "knotwork/atlas/data"
    (tmp_path / "muscles").mkdir()
    for p in src.glob("*.yaml"):
        (tmp_path / p.name).write_text(p.read_text())
    for p in (src / "muscles").glob("*.yaml"):
        (tmp_path / "muscles" / p.name).write_text(p.read_text())
    return tmp_path


class LoaderTests:
    def test_the_version_changes_when_the_data_changes_and_not_for_comments(self, tmp_path):
        folder = _copy_data(tmp_path)
        before = load_atlas(folder).version
        neck = folder / "muscles/neck.yaml"
        neck.write_text("# a comment\n" + neck.read_text())
        assert load_atlas(folder).version == before
        data = yaml.safe_load(neck.read_text())
        data["muscles"][0]["innervation"] += " (checked)"
        neck.write_text(yaml.safe_dump(data))
        assert load_atlas(folder).version != before

    @pytest.mark.parametrize(
        ("mutate", "message"),
        [
            (lambda m: m["trigger_points"][0]["essential"].append({"region": "elbowz"}), "unknown region 'elbowz'"),
            (lambda m: m["trigger_points"][0].update(essential=[]), "essential"),
            (lambda m: m["trigger_points"][0]["spillover"].append(dict(m["trigger_points"][0]["essential"][0])), "both"),
            (lambda m: m["trigger_points"][0]["symptoms"].append("hiccups"), "unknown symptom 'hiccups'"),
            (lambda m: m["trigger_points"][0].update(id="other-1"), "must start with the muscle id"),
        ],
    )
    def test_bad_data_fails_loudly_naming_the_problem(self, tmp_path, mutate, message):
        folder = _copy_data(tmp_path)
        neck = folder / "muscles/neck.yaml"
        data = yaml.safe_load(neck.read_text())
        mutate(data["muscles"][0])
        neck.write_text(yaml.safe_dump(data))
        with pytest.raises(AtlasDataError, match=re.escape(message)):
            load_atlas(folder)
