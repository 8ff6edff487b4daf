from __future__ import annotations

from datetime import UTC, datetime, timedelta

from knotwork.atlas.loader import atlas
from knotwork.outcomes import bodyarea, charts, scoring


def series(values, flags=None):
    t0 = datetime(2025, 3, 1, 10, tzinfo=UTC)
    flags = flags or [""] * len(values)
    return [(t0 + timedelta(weeks=n), float(v), f) for n, (v, f) in enumerate(zip(values, flags, strict=True))]


class BodyAreaTests:
    def test_every_atlas_cell_has_an_area_and_the_shares_add_up(self):
        areas = bodyarea.cell_areas()
        assert set(atlas().cells()) <= set(areas)
        assert all(a > 0 for a in areas.values())
        total = sum(areas.values())
        assert abs(sum(100 * a / total for a in areas.values()) - 100) < 1e-6

    def test_inset_only_cells_are_scaled_to_figure_size(self):
        areas = bodyarea.cell_areas()
        # The soles exist only in the zoomed inset; scaled back they are of the order of a heel, not ten times it.
        assert 0.3 < areas["sole:left"] / areas["heel:left"] < 3

    def test_polygon_area_of_a_unit_square(self):
        assert bodyarea.polygon_area("M0,0 1,0 1,1 0,1Z") == 1
        assert bodyarea.polygon_area("M0,0 1,0 1,1 0,1ZM5,5 7,5 7,7 5,7Z") == 5


class ChartTests:
    def test_it_draws_the_baseline_the_mcid_band_and_one_marker_per_score(self):
        nprs = scoring.measures()["nprs"]
        p = charts.plot(nprs, series([7, 6, 4], ["", "", scoring.IMPORTANT_IMPROVEMENT]), baseline=7)
        assert p.band is not None and p.baseline_y is not None
        top, bottom = p.band
        assert top < p.baseline_y < bottom  # the band straddles the baseline
        svg = charts.svg(p, title="NPRS", desc="d", id_prefix="c1")
        assert "MCID band (+/-2)" in svg and "baseline" in svg and svg.count("<circle") == 4  # improvement marker has a ring
        assert "style=" not in svg and "<script" not in svg

    def test_worse_is_down_for_a_higher_is_worse_measure_and_up_for_psfs(self):
        nprs, psfs = scoring.measures()["nprs"], scoring.measures()["psfs"]
        p = charts.plot(nprs, series([7, 3]), baseline=7)
        assert p.points[1].y > p.points[0].y and not p.better_up
        q = charts.plot(psfs, series([3, 7]), baseline=3)
        assert q.points[1].y < q.points[0].y and q.better_up

    def test_a_single_score_is_centred_and_text_is_escaped(self):
        p = charts.plot(scoring.measures()["nprs"], series([5]), baseline=5)
        assert p.points[0].x == p.left + (p.width - p.left - p.right) / 2
        svg = charts.svg(p, title="<b>x</b>", desc="a & b", id_prefix="c2")
        assert "&lt;b&gt;" in svg and "a &amp; b" in svg

    def test_a_narrow_range_of_ppt_values_is_zoomed(self):
        p = charts.plot(scoring.measures()["ppt"], series([1.6, 2.0, 2.4]), baseline=1.6)
        assert p.y_max - p.y_min < 5
