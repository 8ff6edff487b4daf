"""The outcome chart's own words (baseline, "better", the MCID band, dates, decimals, title and
description) in the client's language on the portal, and in English on staff pages and reports.

The chart's messages are read from a small test catalogue placed ahead of the project's, so these
tests show the words go through gettext whatever the project's catalogues hold today."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from django.urls import reverse
from django.utils import translation

from knotwork.lib.testing import make_user
from knotwork.outcomes import charts, scoring

pytestmark = pytest.mark.usefixtures("compiled_catalogues")

ROOT = Path(__file__).resolve().parents[2]

SPANISH = {
    "baseline": "línea base",
    "better ↑": "mejor ↑",
    "better ↓": "mejor ↓",
    "%(name)s band (+/-%(value)s)": "banda %(name)s (±%(value)s)",
    "%(name)s (+/-%(value)s)": "%(name)s (±%(value)s)",
    "%(measure)s over time": "%(measure)s a lo largo del tiempo",
    "%(measure)s from %(start)s to %(end)s: %(values)s": "%(measure)s del %(start)s al %(end)s: %(values)s",
    "No scores yet": "Todavía no hay puntuaciones",
}


@pytest.fixture(autouse=True)
def chart_catalogue(tmp_path, settings):
    catalogue = Catalog(locale="es")
    for english, spanish in SPANISH.items():
        catalogue.add(english, spanish, context="outcome chart")
    folder = tmp_path / "es" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "django.mo").open("wb") as f:
        write_mo(f, catalogue)
    settings.LOCALE_PATHS = [tmp_path, *settings.LOCALE_PATHS]  # first path wins; the setting's signal clears Django's cache
    yield
    translation.deactivate()


def series(values):
    t0 = datetime(2025, 3, 1, 10, tzinfo=UTC)
    return [(t0 + timedelta(weeks=n), float(v), "") for n, v in enumerate(values)]


class ChartWordsTests:
    def test_a_client_chart_in_spanish_says_its_words_in_spanish(self):
        nprs = scoring.measures()["nprs"]
        with translation.override("es"):
            words = charts.client_words()
            p = charts.plot(nprs, series([7, 6, 4]), baseline=7, words=words)
            svg = charts.svg(p, title=words.title_for("NPRS"), desc=words.desc_for("NPRS", series([7, 6, 4])), id_prefix="c1")
        assert "línea base" in svg and "mejor ↓" in svg and "banda MCID (±2)" in svg
        assert "NPRS a lo largo del tiempo" in svg and "NPRS del 01/03/2025 al 15/03/2025: 7, 6, 4" in svg
        assert [label for _, label in p.x_ticks] == ["01/03", "08/03", "15/03"]
        assert "baseline" not in svg and "better" not in svg and "over time" not in svg

    def test_the_default_words_stay_english_whatever_the_active_language(self):
        nprs = scoring.measures()["nprs"]
        with translation.override("es"):
            p = charts.plot(nprs, series([7, 6, 4]), baseline=7)
            svg = charts.svg(p, title=charts.ENGLISH.title_for("NPRS"), desc="d", id_prefix="c1")
        assert "baseline" in svg and "better ↓" in svg and "MCID band (+/-2)" in svg and "NPRS over time" in svg
        assert [label for _, label in p.x_ticks] == ["01 Mar", "08 Mar", "15 Mar"]

    @pytest.mark.parametrize("language", ["es", "fr"])
    def test_decimals_use_the_language_s_separator(self, language):
        ppt = scoring.measures()["ppt"]  # its band is the MDC, 0.62 kg/cm²
        with translation.override(language):
            words = charts.client_words()
            p = charts.plot(ppt, series([1.6, 2.0, 2.4]), baseline=1.6, words=words)
            desc = words.desc_for("PPT", series([1.6, 2.4]))
        assert "0,62" in p.band_label and "0.62" not in p.band_label
        assert desc.endswith(": 1,6; 2,4")
        assert "(+/-0.62)" in charts.plot(ppt, series([1.6, 2.0, 2.4]), baseline=1.6).band_label

    def test_a_chart_without_scores_says_so_in_the_client_s_language(self):
        with translation.override("es"):
            words = charts.client_words()
            svg = charts.svg(charts.plot(scoring.measures()["nprs"], [], baseline=None, words=words), title="t", desc="d", id_prefix="c3")
        assert "Todavía no hay puntuaciones" in svg
        english = charts.plot(scoring.measures()["nprs"], [], baseline=None)
        assert "No scores yet" in charts.svg(english, title="t", desc="d", id_prefix="c4")


class PortalChartTests:
    def test_the_portal_chart_is_in_spanish_and_the_therapist_s_stays_english(self, world, as_user, improving):
        ada = make_user("ada@mail.example", mfa=False)
        ada.language = "es"
        ada.save(update_fields=["language"])
        world.client_a.portal_user = ada
        world.client_a.save()
        body = as_user(ada).get(reverse("portal_measures", args=[world.client_a.pk])).content.decode()
        assert "línea base" in body and "a lo largo del tiempo" in body and "mejor ↓" in body
        assert "over time" not in body and ">baseline<" not in body
        world.alice.language = "es"  # a therapist who reads the site frame in Spanish: the clinical page is English
        world.alice.save(update_fields=["language"])
        staff = as_user(world.alice).get(reverse("outcomes_progress", args=[world.client_a.pk, improving.pk])).content.decode()
        assert ">baseline<" in staff and "over time" in staff and "línea base" not in staff
