"""The body map's words in the client's language: region names with their side, pain qualities and
the map's captions, in Spanish and French (knotwork/atlas/region_words.py, docs/i18n.md)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from django.urls import reverse
from django.utils import translation

from knotwork.atlas import region_words
from knotwork.atlas.bodymap import cell_label, render_bodymap
from knotwork.atlas.loader import atlas
from knotwork.atlas.region_words import (
    RegionWordsError,
    language_words,
    map_words,
    quality_label,
    quality_labels,
    region_label,
    region_labels,
)
from knotwork.clients.intake.selectors import drawing_words, mark_words
from knotwork.clients.models import PainDrawing
from knotwork.engine import QUALITY_LABELS
from knotwork.lib.testing import make_user

LANGUAGES = ("es", "fr")
DRAWING = {"marks": [{"cell": "temple:right", "intensity": 7, "quality": "aching"}, {"cell": "calf:left", "intensity": 3}]}


@pytest.fixture
def words_dir(tmp_path, monkeypatch):
    """A copy of the word files to edit; the cache is emptied before and after."""
    target = tmp_path / "region_i18n"
    shutil.copytree(region_words.WORDS_DIR, target)
    monkeypatch.setattr(region_words, "WORDS_DIR", target)
    region_words._language_words.cache_clear()
    yield target
    region_words._language_words.cache_clear()


def edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    region_words._language_words.cache_clear()


class WordFileTests:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_every_region_and_quality_has_a_current_translation(self, language):
        words = language_words(language)
        assert words is not None and words.language == language
        regions = {r.id: r for r in atlas().regions}
        assert sorted(words.regions) == sorted(regions), "a region without words, or words for no region"
        for rid, entry in words.regions.items():
            assert entry.en == regions[rid].name, f"{language}: {rid} translates {entry.en!r}, the atlas says {regions[rid].name!r}"
            if regions[rid].kind == "paired":
                assert entry.right and entry.left and entry.right != entry.left, (language, rid)
        assert sorted(words.qualities) == sorted(QUALITY_LABELS)
        for q, (en, _) in words.qualities.items():
            assert en == QUALITY_LABELS[q], (language, q)

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_every_cell_is_labelled_in_the_language(self, language):
        labels = region_labels(language)
        english = region_labels("en")
        assert list(labels) == atlas().cells()
        # Paired cells always differ from English (the side word does); a few midline names are
        # the same word in both languages (sacrum, coccyx).
        paired = [c for c in labels if ":" in c]
        assert all(labels[c] != english[c] for c in paired)
        assert all(label[:1] == label[:1].upper() for label in labels.values())

    def test_the_map_s_own_words_are_translated(self):
        for language, right, left in (("es", "D", "I"), ("fr", "D", "G")):
            words = map_words(language)
            assert words.side_letters == {"R": right, "L": left}
            assert words.captions["front"] != "Front" and words.keys and "%(max)s" in words.scale
            assert sorted(words.insets) == ["back.hands", "back.head", "back.soles", "front.hands", "front.head"]


class GenderTests:
    @pytest.mark.parametrize(
        ("cell", "language", "label"),
        [
            ("calf:left", "es", "Pantorrilla izquierda"),
            ("knee-anterior:right", "es", "Parte delantera de la rodilla derecha"),
            ("shoulder-top:left", "es", "Parte superior del hombro izquierdo"),
            ("heel:right", "es", "Talón derecho"),
            ("upper-teeth:left", "es", "Dientes superiores izquierdos"),
            ("orbit:right", "es", "Ojo y ceja derechos"),
            ("shoulder-top:left", "fr", "Dessus de l'épaule gauche"),
            ("knee-medial:right", "fr", "Face interne du genou droit"),
            ("ankle-lateral:right", "fr", "Face externe de la cheville droite"),
            ("calf:right", "fr", "Mollet droit"),
            ("temple:right", "fr", "Tempe droite"),
            ("orbit:right", "fr", "Œil et sourcil droits"),
            ("scapula-medial:left", "fr", "Entre l'omoplate gauche et la colonne"),
            ("vertex", "es", "Coronilla"),
        ],
    )
    def test_the_side_agrees_with_the_place(self, cell, language, label):
        assert region_label(cell, language) == label

    def test_english_and_languages_without_words_keep_the_atlas_label(self):
        for language in ("en", "de", "", "../es"):
            assert region_label("temple:right", language) == cell_label("temple:right") == "Right temple"
        assert region_label("temple:right", "es-MX") == "Sien derecha"

    def test_an_unknown_cell_is_a_clear_error(self):
        for language in ("en", "es"):
            with pytest.raises(ValueError, match="unknown body-map cell 'elbow:middle'"):
                region_label("elbow:middle", language)

    def test_qualities(self):
        assert quality_label("aching", "es") == "Dolor sordo" and quality_label("numbness", "fr") == "Engourdissement"
        assert quality_label("aching", "en") == "Aching" and quality_label("wobbly", "fr") == "wobbly"
        assert list(quality_labels("fr")) == list(QUALITY_LABELS)


class StaleTranslationTests:
    def test_an_outdated_english_name_falls_back_to_english_until_translated_again(self, words_dir):
        edit(words_dir / "es.yaml", lambda d: d["regions"]["temple"].update(en="side of the head"))
        assert region_label("temple:right", "es") == "Right temple"
        assert region_label("calf:left", "es") == "Pantorrilla izquierda"  # the rest stays Spanish
        assert mark_words({"cell": "temple:left", "intensity": 4, "quality": "aching"}, "es") == "left temple 4/10, dolor sordo"

    def test_an_outdated_quality_falls_back_to_english(self, words_dir):
        edit(words_dir / "fr.yaml", lambda d: d["qualities"]["burning"].update(en="Hot"))
        assert quality_label("burning", "fr") == "Burning" and quality_label("aching", "fr") == "Douleur sourde"

    def test_a_missing_entry_falls_back_to_english(self, words_dir):
        edit(words_dir / "fr.yaml", lambda d: d["regions"].pop("heel"))
        assert region_label("heel:left", "fr") == "Left heel"

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (lambda d: d["regions"]["calf"].update(gender="n"), r"regions\.calf\.gender: 'n' is not one of m, f, mp, fp"),
            (lambda d: d["regions"]["calf"].update(right="pantorrilla derecha"), r"regions\.calf: give either gender"),
            (lambda d: d["regions"]["calf"].pop("name"), r"regions\.calf\.name: expected a non-empty text"),
            (lambda d: d["map"].update(scale="%(maximum)s"), r"map\.scale: only %\(max\)s"),
            (lambda d: d["sides"].pop("fp"), r"sides must give right and left"),
        ],
    )
    def test_a_malformed_file_is_named_with_the_entry(self, words_dir, change, message):
        edit(words_dir / "es.yaml", change)
        with pytest.raises(RegionWordsError, match=message):
            language_words("es")


class MapTests:
    def test_the_input_map_speaks_spanish(self):
        html = render_bodymap(mode="input", id_prefix="m", title="Dibujo del dolor", words=map_words("es"))
        assert 'data-cell="calf:left"' in html and 'aria-label="Pantorrilla izquierda"' in html
        assert "<title>Sien derecha</title>" in html
        assert "Dibujo del dolor (vista de frente)" in html and ">De espaldas</text>" in html
        assert re.search(r'class="bm-side"[^>]*>D</text>', html) and re.search(r'class="bm-side"[^>]*>I</text>', html)
        assert ">Manos (palmas)</text>" in html and 'aria-label="Leyenda"' in html and "del amarillo claro (leve)" in html
        assert 'data-bodymap-keys="Con las flechas pasa de una zona a otra' in html
        assert "Right temple" not in html and ">R</text>" not in html

    def test_the_default_map_is_unchanged_english(self):
        html = render_bodymap(mode="input", id_prefix="m")
        assert 'aria-label="Right temple"' in html and "Body map (front view)" in html and ">Front</text>" in html
        assert ">Face and neck</text>" in html and 'aria-label="Legend"' in html and "data-bodymap-keys" not in html


class SummaryTests:
    def test_the_drawing_in_words(self):
        marks = DRAWING["marks"]
        assert drawing_words(marks) == "right temple 7/10, aching; left calf 3/10"
        assert drawing_words(marks, "es") == "sien derecha 7/10, dolor sordo; pantorrilla izquierda 3/10"
        assert drawing_words(marks, "fr") == "tempe droite 7/10, douleur sourde; mollet gauche 3/10"


@pytest.fixture
def _back_to_english():
    # A request leaves its language active in the thread: later tests expect the default.
    yield
    translation.deactivate()


@pytest.mark.django_db
@pytest.mark.usefixtures("_back_to_english")
class ClientPageTests:
    @pytest.fixture
    def ada(self, world):
        user = make_user("ada@mail.example", mfa=False, full_name="Ada Lovelace")
        world.client_a.portal_user = user
        world.client_a.save()
        return user

    @pytest.mark.parametrize(
        ("language", "place", "quality", "summary"),
        [
            ("es", 'aria-label="Sien derecha"', "Dolor sordo", "sien derecha 7/10, dolor sordo; pantorrilla izquierda 3/10"),
            ("fr", 'aria-label="Tempe droite"', "Douleur sourde", "tempe droite 7/10, douleur sourde; mollet gauche 3/10"),
        ],
    )
    def test_the_drawing_page_shows_the_client_s_language(self, world, ada, as_user, language, place, quality, summary):
        ada.language = language
        ada.save()
        # A note too long sends the page back with the drawing kept: map, list and summary.
        response = as_user(ada).post(
            reverse("portal_drawing_new", args=[world.client_a.pk]), {"drawing": json.dumps(DRAWING), "note": "x" * 400}
        )
        html = response.content.decode()
        assert response.status_code == 200 and f'<html lang="{language}">' in html
        assert place in html and f'<option value="aching">{quality}</option>' in html
        assert f'aria-live="polite">{summary}</p>' in html
        assert 'data-bodymap-keys="' in html
        assert "Right temple" not in html and ">Aching<" not in html
        assert not PainDrawing.objects.filter(client=world.client_a).exists()

    def test_the_intake_s_pain_step_shows_the_client_s_language(self, world, ada, as_user):
        ada.language = "es"
        ada.save()
        c = as_user(ada)
        c.post(reverse("portal_intake_start", args=[world.client_a.pk]))
        step = reverse("portal_intake_step", args=[world.client_a.pk, "pain"])
        assert c.post(step, {"drawing": json.dumps(DRAWING), "action": "save"}).status_code == 302
        html = c.get(step).content.decode()
        assert 'aria-label="Pantorrilla izquierda"' in html and '<option value="burning">Ardor o quemazón</option>' in html
        assert "sien derecha 7/10, dolor sordo; pantorrilla izquierda 3/10" in html

    def test_staff_keep_english_whatever_language_they_chose(self, world, as_user):
        world.alice.language = "es"
        world.alice.save()
        html = (
            as_user(world.alice)
            .post(reverse("drawing_new", args=[world.client_a.pk]), {"drawing": json.dumps(DRAWING), "note": "x" * 400})
            .content.decode()
        )
        assert 'aria-label="Right temple"' in html and '<option value="aching">Aching</option>' in html
        assert "right temple 7/10, aching; left calf 3/10" in html
        assert "Sien derecha" not in html and "Dolor sordo" not in html
