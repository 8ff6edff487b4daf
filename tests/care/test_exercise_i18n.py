"""The home-exercise library and the techniques' plain words in the client's language: the word
files are complete and current, a stale translation falls back to English, and the portal's home
program, the aftercare page and the aftercare PDF are written in Spanish and French."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.urls import reverse

from knotwork.care import library as lib
from knotwork.care import services
from knotwork.lib.testing import make_user
from tests.care.test_views import signed
from tests.lib.pdf_text import pdf_text

pytestmark = pytest.mark.usefixtures("compiled_catalogues", "english_afterwards")

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("es", "fr")


def _words(kind: str, language: str) -> dict:
    return yaml.safe_load((lib.DATA / f"{kind}_i18n" / f"{language}.yaml").read_text(encoding="utf-8"))


def _portal(world, language: str):
    user = make_user(f"ada.{language}@portal.example", mfa=False)
    user.language = language
    user.save(update_fields=["language"])
    world.client_a.portal_user = user
    world.client_a.save()
    return user


def _flat(text: str) -> str:
    return " ".join(text.split())


class WordFileTests:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_every_exercise_has_a_current_translation_of_every_field(self, language):
        entries = _words("exercises", language)["exercises"]
        problems = []
        for e in lib.library().exercises:
            entry = entries.get(e.id) or {}
            counts = (len(entry.get("steps") or []), len(entry.get("cautions") or []))
            if entry.get("en_hash") != lib.exercise_hash(e):
                problems.append(f"{e.id}: missing or made from older English (en_hash should be {lib.exercise_hash(e)} once reviewed)")
            elif not entry.get("name") or counts != (len(e.steps), len(e.cautions)):
                problems.append(f"{e.id}: needs a name, {len(e.steps)} steps and {len(e.cautions)} cautions")
        assert problems == []
        assert set(entries) == set(lib.library().by_id), "an entry for an exercise the library does not have"
        assert set(lib.exercises_in(language)) == set(lib.library().by_id)

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_every_technique_and_the_common_cautions_are_translated(self, language):
        entries = _words("techniques", language)["techniques"]
        for t in lib.techniques().values():
            assert entries[t.id]["en_hash"] == lib.technique_hash(t), f"{t.id}: en_hash should be {lib.technique_hash(t)} once reviewed"
            assert lib.techniques_in(language)[t.id].plain == entries[t.id]["plain"] != t.plain
        assert set(entries) == set(lib.techniques())
        common = _words("exercises", language)["common_cautions"]
        assert common["en_hash"] == lib.source_hash(lib.library().common_cautions)
        assert lib.common_cautions_in(language) == tuple(common["text"]) != lib.library().common_cautions

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_translations_keep_the_ids_figure_and_dosage_and_change_the_words(self, language):
        for e in lib.library().exercises:
            t = lib.exercise_in(e, language)
            assert (t.id, t.targets, t.pose, t.focus, t.dosage, t.language) == (e.id, e.targets, e.pose, e.focus, e.dosage, language)
            assert t.name != e.name and not set(t.steps) & set(e.steps) and not set(t.cautions) & set(e.cautions)

    def test_english_and_an_unknown_language_read_the_english(self):
        e = lib.library().by_id["chin-tuck"]
        assert lib.exercise_in(e, "en") is e and lib.exercise_in(e, "de") is e and lib.exercise_in(e, "../es") is e
        assert lib.techniques_in("de") == lib.techniques()


class StaleTranslationTests:
    @pytest.fixture
    def words_dir(self, tmp_path, monkeypatch):
        monkeypatch.setattr(lib, "I18N", tmp_path)
        for f in (lib.exercises_in, lib.common_cautions_in, lib.techniques_in):
            f.cache_clear()
        yield tmp_path
        for f in (lib.exercises_in, lib.common_cautions_in, lib.techniques_in):
            f.cache_clear()

    def test_an_entry_made_from_older_english_falls_back_to_english(self, words_dir):
        chin, calf = lib.library().by_id["chin-tuck"], lib.library().by_id["calf-stretch-wall"]
        current = _words("exercises", "es")["exercises"]
        stale = dict(current["chin-tuck"], en_hash=lib.source_hash("Chin tuck", ["an older wording"], []))
        short = dict(current["calf-stretch-wall"], steps=current["calf-stretch-wall"]["steps"][:2])  # a step lost
        (words_dir / "exercises_i18n").mkdir()
        entries = {"chin-tuck": stale, "calf-stretch-wall": short, "hamstring-stretch": current["hamstring-stretch"]}
        words = {"exercises": entries, "common_cautions": {"en_hash": "0" * 12, "text": ["a", "b"]}}
        (words_dir / "exercises_i18n" / "es.yaml").write_text(yaml.safe_dump(words, allow_unicode=True), encoding="utf-8")
        assert lib.exercise_in(chin, "es") is chin and lib.exercise_in(chin, "es").language == "en"
        assert lib.exercise_in(calf, "es") is calf
        assert lib.exercise_in(lib.library().by_id["hamstring-stretch"], "es").language == "es"
        assert lib.common_cautions_in("es") == lib.library().common_cautions

    def test_a_technique_with_older_english_keeps_its_english_words(self, words_dir):
        (words_dir / "techniques_i18n").mkdir()
        (words_dir / "techniques_i18n" / "fr.yaml").write_text(
            yaml.safe_dump({"techniques": {"stretching": {"en_hash": "abc", "name": "Étirements", "plain": "des étirements assistés"}}}),
            encoding="utf-8",
        )
        assert lib.techniques_in("fr")["stretching"].plain == "assisted stretches"

    def test_the_portal_marks_an_exercise_shown_in_english_as_english(self, words_dir, client, world, alice_m):
        services.program_add(membership=alice_m, client=world.client_a, exercise="chin-tuck", sets=2, reps=10, hold_s=5, per_day=2)
        client.force_login(_portal(world, "es"))  # no word file in words_dir: every exercise is English
        html = client.get(reverse("portal_program", args=[world.client_a.pk])).content.decode()
        assert re.search(r'<h2 id="ex-\d+" lang="en">Chin tuck</h2>', html) and "Glide your head straight back" in html
        assert "Precaución:" in html and "Take care:" not in html  # the page's own words stay Spanish

    def test_a_broken_word_file_is_logged_and_the_client_reads_english(self, words_dir, caplog):
        (words_dir / "exercises_i18n").mkdir()
        (words_dir / "exercises_i18n" / "es.yaml").write_text("exercises: [unclosed", encoding="utf-8")
        (words_dir / "exercises_i18n" / "fr.yaml").write_text("exercises: [a list, not a mapping]", encoding="utf-8")
        chin = lib.library().by_id["chin-tuck"]
        assert lib.exercise_in(chin, "es") is chin and lib.exercise_in(chin, "fr") is chin
        assert "exercises_i18n/es.yaml: not valid YAML" in caplog.text and "exercises_i18n/fr.yaml" in caplog.text


class ClientPagesTests:
    @pytest.mark.parametrize(
        ("language", "name", "step", "caution", "dosage"),
        [
            ("es", "Retracción de la barbilla", "Lleve la cabeza hacia atrás en línea recta", "Pare si le provoca mareo",
             "mantener 5 segundos"),
            ("fr", "Rentrer le menton", "Reculez la tête bien à l'horizontale", "Arrêtez si cela provoque des vertiges",
             "tenir 5 secondes"),
        ],
    )  # fmt: skip
    def test_the_portal_home_program_is_in_the_client_s_language(self, client, world, alice_m, language, name, step, caution, dosage):
        services.program_add(membership=alice_m, client=world.client_a, exercise="chin-tuck", sets=2, reps=10, hold_s=5, per_day=2)
        client.force_login(_portal(world, language))
        html = client.get(reverse("portal_program", args=[world.client_a.pk])).content.decode()
        html = html.replace("&#x27;", "'")
        assert name in html and step in html and caution in html and dosage in html
        assert "Glide your head straight back" not in html and "Chin tuck" not in html
        assert re.search(rf'<h2 id="ex-\d+">{re.escape(name)}</h2>', html)  # no lang="en": it is not a fallback
        assert lib.common_cautions_in(language)[0] in html

    def test_the_therapist_s_program_page_stays_english(self, as_user, world, alice_m):
        services.program_add(membership=alice_m, client=world.client_a, exercise="chin-tuck", sets=2, reps=10, hold_s=5, per_day=2)
        html = as_user(world.alice).get(reverse("program_edit", args=[world.client_a.pk])).content.decode()
        assert "Chin tuck" in html and "Retracción" not in html

    def test_the_aftercare_page_is_in_the_client_s_language(self, client, world, visit_a, alice_m):
        signed(visit_a, alice_m)
        services.program_add(membership=alice_m, client=world.client_a, exercise="upper-trapezius-stretch", sets=1, reps=3, hold_s=30,
                             per_day=2)  # fmt: skip
        client.force_login(_portal(world, "es"))
        html = client.get(reverse("portal_aftercare", args=[visit_a.pk])).content.decode()
        assert "Estiramiento de la oreja al hombro" in html
        assert "Incline la cabeza llevando la oreja hacia el hombro contrario, mirando al frente." in html
        assert "Estiramientos asistidos" in html  # the technique's plain words
        assert "Pare si se marea o nota hormigueo en el brazo." in html  # its caution
        assert "Tilt your ear" not in html and "Assisted stretches" not in html

    def test_the_aftercare_pdf_is_printed_in_the_client_s_language_from_the_staff_side(self, as_user, world, visit_a, alice_m):
        signed(visit_a, alice_m)
        services.program_add(membership=alice_m, client=world.client_a, exercise="upper-trapezius-stretch", sets=1, reps=3, hold_s=30,
                             per_day=2)  # fmt: skip
        _portal(world, "fr")
        response = as_user(world.alice).get(reverse("aftercare_pdf", args=[visit_a.pk]))
        text = _flat(pdf_text(response.content))
        assert response.status_code == 200
        assert "Étirement oreille vers l'épaule" in text
        assert "Inclinez la tête, l'oreille vers l'épaule opposée, en regardant droit devant vous." in text
        assert "Des étirements assistés" in text and "Tilt your ear" not in text
        # The therapist's own page is still English.
        assert "Ear-to-shoulder stretch" in as_user(world.alice).get(reverse("aftercare", args=[visit_a.pk])).content.decode()
