"""The public Learn pages and the self-check in the visitor's language (docs/i18n.md): the
interface in Spanish and French, articles in the language they were written, the exercise library
from the care library's translations, the self-check's safety content from its word files (current
English only) and its body map in the atlas's words. English is unchanged."""

from __future__ import annotations

import html
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from django.template.defaultfilters import date as date_filter
from django.utils import translation

from knotwork.atlas.region_words import quality_labels, region_label
from knotwork.care.library import common_cautions_in, exercise_in, library
from knotwork.engine import red_flag_questions
from knotwork.learn import selfcheck
from knotwork.learn.forms import SelfCheckForm
from knotwork.learn.models import Article

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogues", "english_afterwards")]

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("es", "fr")
NECK = [{"cell": "neck-posterior-upper:right", "intensity": 6, "quality": "aching"}, {"cell": "shoulder-top:right", "intensity": 5}]


def _get(client, url: str, language: str):
    return client.get(url, headers={"accept-language": language})


def _text(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _answers(yes=(), drawing=NECK, duration="months", hopes=("less-pain",)):
    data = {"drawing": json.dumps({"marks": list(drawing)}), "duration": duration, "hopes": list(hopes)}
    for flag in red_flag_questions():
        data[f"rf_{flag.id}"] = "yes" if flag.id in yes else "no"
    return data


def _post(client, data, language: str):
    return client.post("/self-check/", data, headers={"accept-language": language})


def _result(page: str) -> str:
    return page.split('id="result"')[1].split("</section>")[0]


# Interface words each page must show, per language (English: the words it has always shown).
INDEX = {
    "en": ["Learn about neuromuscular therapy", "Search articles", "Home exercises", "Take the self-check"],
    "es": ["Aprenda sobre la terapia neuromuscular", "Buscar artículos", "Ejercicios en casa", "Hacer la autoevaluación",
           "Los artículos se muestran en el idioma en que los escribieron sus autores."],
    "fr": ["Découvrez la thérapie neuromusculaire", "Rechercher des articles", "Exercices à la maison", "Faire l'autoévaluation",
           "Les articles sont affichés dans la langue dans laquelle leurs auteurs les ont écrits."],
}  # fmt: skip


class LearnPagesTests:
    @pytest.mark.parametrize("language", ["en", *LANGUAGES])
    def test_the_index_speaks_the_visitors_language_and_keeps_the_articles_as_written(self, client, shipped, language):
        page = _text(_get(client, "/learn/", language))
        assert f'<html lang="{language}"' in page
        for words in INDEX[language]:
            assert words in page
        article = Article.objects.live().order_by("-publish_at").first()
        assert article is not None and article.title in page  # content stays in the language written
        if language != "en":
            assert "Learn about neuromuscular therapy" not in page and "Take the self-check" not in page

    def test_an_article_page_in_spanish_and_french(self, client, shipped):
        article = Article.objects.live().exclude(last_reviewed=None).first() or Article.objects.live().first()
        assert article is not None
        url = f"/learn/{article.slug}/"
        english = _text(_get(client, url, "en"))
        assert "Related reading" in english and "This article explains; it does not diagnose." in english
        assert "This article is shown in the language" not in english
        expected = {
            "es": ["Lecturas relacionadas", "Este artículo explica; no diagnostica.", "Hacer la autoevaluación",
                   "Este artículo se muestra en el idioma en que lo escribió su autor."],
            "fr": ["Lectures associées", "Cet article explique ; il ne pose pas de diagnostic.", "Faire l'autoévaluation",
                   "Cet article est affiché dans la langue dans laquelle son auteur l'a écrit."],
        }  # fmt: skip
        for language, words in expected.items():
            page = _text(_get(client, url, language))
            assert f'<html lang="{language}"' in page and article.title in page
            for w in words:
                assert w in page
            assert "Related reading" not in page

    def test_an_articles_date_and_view_count_are_written_in_the_language(self, client, shipped):
        article = Article.objects.live().first()
        assert article is not None
        spanish = _text(_get(client, f"/learn/{article.slug}/", "es"))
        french = _text(_get(client, f"/learn/{article.slug}/", "fr"))
        with translation.override("es"):
            assert date_filter(article.publish_at, r"j \d\e F \d\e Y") in spanish  # "5 de diciembre de 2026"
        with translation.override("fr"):
            assert date_filter(article.publish_at, "j F Y") in french
        assert " visita" in spanish and " vue" in french

    @pytest.mark.parametrize(
        ("language", "found", "nothing"),
        [
            ("en", " found.", "Nothing matched every word. Try fewer or different words."),
            ("es", "encontrado", "Ningún artículo contiene todas las palabras. Pruebe con menos palabras o con otras."),
            ("fr", "trouvé", "Aucun article ne contient tous les mots. Essayez avec moins de mots ou d'autres mots."),
        ],
    )
    def test_search_and_its_no_results_text(self, client, shipped, language, found, nothing):
        hit = _text(_get(client, "/learn/search/?q=headache", language))
        assert f'<html lang="{language}"' in hit and found in hit
        empty = _text(_get(client, "/learn/search/?q=zzxqvw", language))
        assert nothing in empty
        english_hint = ("try the words in English", "probar las palabras en inglés", "essayer les mots en anglais")
        assert any(h in empty for h in english_hint) == (language != "en")
        prompt = _text(_get(client, "/learn/search/", language))
        assert {"en": "Type a word or two in the search box.", "es": "Escriba una o dos palabras en el cuadro de búsqueda.",
                "fr": "Saisissez un ou deux mots dans le champ de recherche."}[language] in prompt  # fmt: skip

    def test_search_results_count_uses_each_languages_plural(self, client, shipped):
        assert "0 artículos encontrados." in _text(_get(client, "/learn/search/?q=zzxqvw", "es"))
        assert "0 article trouvé." in _text(_get(client, "/learn/search/?q=zzxqvw", "fr"))  # French: 0 is singular


class ExercisePagesTests:
    @pytest.mark.parametrize(("language", "heading", "kind"), [("en", "Home exercises", "Stretches"),
                                                               ("es", "Ejercicios en casa", "Estiramientos"),
                                                               ("fr", "Exercices à la maison", "Étirements")])  # fmt: skip
    def test_the_exercise_index_in_each_language(self, client, language, heading, kind):
        page = _text(_get(client, "/learn/exercises/", language))
        assert f'<html lang="{language}"' in page and heading in page and kind in page
        for e in library().exercises[:5]:
            worded = exercise_in(e, language)
            assert worded.name in page
            assert (f'lang="{worded.language}"' in page) or worded.language == language

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_an_exercise_page_gives_name_steps_cautions_and_dose_in_the_language(self, client, language):
        english = next(e for e in library().exercises if e.cautions and e.dosage.hold_s)
        worded = exercise_in(english, language)
        page = _text(_get(client, f"/learn/exercises/{english.id}/", language))
        assert f'<html lang="{language}"' in page
        assert worded.name in page and all(s in page for s in worded.steps) and all(c in page for c in worded.cautions)
        assert all(c in page for c in common_cautions_in(language))
        assert {"es": "Cómo hacerlo", "fr": "Comment le faire"}[language] in page
        assert {"es": "Una dosis inicial habitual", "fr": "Une dose de départ habituelle"}[language] in page
        assert {"es": " al día", "fr": " fois par jour"}[language] in page
        assert "How to do it" not in page and "A usual starting dose" not in page

    def test_english_exercise_page_is_unchanged(self, client):
        english = library().exercises[0]
        page = _text(_get(client, f"/learn/exercises/{english.id}/", "en"))
        assert english.name in page and "How to do it" in page and "A usual starting dose:" in page and "× a day" in page


class SelfCheckLanguageTests:
    @pytest.mark.parametrize("language", LANGUAGES)
    def test_the_form_asks_everything_in_the_language(self, client, language):
        page = _text(_get(client, "/self-check/", language))
        assert f'<html lang="{language}"' in page
        words = {
            "es": ["¿Es la terapia neuromuscular adecuada para mí?", "No se guarda nada de lo que introduzca aquí.", "1. ¿Dónde le duele?",
                   "3. Preguntas de seguridad", "¿Desde hace cuánto tiempo le molesta?", "De 6 semanas a 3 meses", "Dormir mejor",
                   "Ver mi resultado", "Sí"],
            "fr": ["La thérapie neuromusculaire est-elle faite pour moi ?", "Rien de ce que vous saisissez ici n'est enregistré.",
                   "1. Où avez-vous mal ?", "3. Questions de sécurité", "Depuis combien de temps cela vous gêne-t-il ?",
                   "De 6 semaines à 3 mois", "Mieux dormir", "Voir mon résultat", "Oui"],
        }[language]  # fmt: skip
        for w in words:
            assert w in page
        for flag in red_flag_questions():
            assert selfcheck.flag_question(flag, language) in page
            assert flag.question not in page
        # The body map and the qualities in the atlas's words for the language.
        assert region_label("neck-posterior-upper:right", language) in page
        assert quality_labels(language)["aching"] in page
        assert "Is neuromuscular therapy right for me?" not in page and "Safety questions" not in page

    def test_english_form_is_unchanged(self, client):
        page = _text(_get(client, "/self-check/", "en"))
        assert '<html lang="en"' in page and "Is neuromuscular therapy right for me?" in page and "3. Safety questions" in page
        for flag in red_flag_questions():
            assert flag.question in page

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_a_clear_result_in_the_language(self, client, language):
        response = _post(client, _answers(), language)
        result = _result(_text(response))
        assert response.context["result"].verdict == "consult" and response.context["result"].condition == "neck-pain"
        words = {
            "es": ["Parece que merece la pena una consulta gratuita", "Qué preguntar en una consulta gratuita",
                   "Buscar un terapeuta que trate dolor de cuello", "¿Qué debo hacer entre sesiones"],
            "fr": ["Une consultation gratuite semble utile", "Que demander lors d'une consultation gratuite",
                   "Trouver un thérapeute qui prend en charge les douleurs au cou", "Que dois-je faire entre les séances"],
        }[language]  # fmt: skip
        for w in words:
            assert w in result
        place = region_label("neck-posterior-upper:right", language)
        assert f"{place[:1].lower()}{place[1:]} 6/10" in result  # "You marked: …" in the atlas's words
        assert 'href="/therapists/?condition=neck-pain"' in result  # ids do not change with the language
        assert "A free consultation looks worthwhile" not in result

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_a_red_flag_in_the_language_still_sends_the_visitor_to_a_doctor(self, client, language):
        response = _post(client, _answers(yes=["saddle-numbness"], drawing=[{"cell": "lumbar:right", "intensity": 7}]), language)
        result = _result(_text(response))
        assert response.context["result"].verdict == "see-doctor" and response.context["result"].urgency == "emergency"
        flag = next(f for f in red_flag_questions() if f.id == "saddle-numbness")
        action = selfcheck.flag_action(flag, language)
        assert action != flag.action and action in result
        expected = {
            "es": ["Consulte a un médico ahora", "Puede tratarse de una urgencia.", "servicio de urgencias"],
            "fr": ["Consultez un médecin maintenant", "Il peut s'agir d'une urgence.", "urgences"],
        }[language]
        for w in expected:
            assert w in result
        assert "data-handoff" not in result and "/therapists/" not in result
        assert "Please see a doctor now" not in result and flag.action not in result

    def test_spanish_red_flag_answer_gives_the_safety_advice_at_each_urgency(self, client):
        cases = {
            "thunderclap-headache": ("Consulte a un médico ahora", "Llame ahora al número de emergencias."),
            "calf-swelling": ("Consulte a un médico hoy", "no deje que le den masajes en la pierna"),
            "unexplained-weight-loss": ("Consulte primero a un médico", "Consulte a un médico antes de empezar el tratamiento."),
        }
        for flag_id, (title, advice) in cases.items():
            response = _post(client, _answers(yes=[flag_id], drawing=[]), "es")
            result = _result(_text(response))
            assert response.context["result"].verdict == "see-doctor", flag_id
            assert title in result and advice in result, flag_id
            assert "Qué preguntar en una consulta gratuita" not in result

    def test_an_ask_first_result_gives_the_questions_in_french(self, rf):
        from django.template.loader import render_to_string

        numb_face = [{"cell": "cheek:right", "intensity": 5, "quality": "numbness"}]
        result = selfcheck.run_self_check(marks=numb_face, duration="months", hopes=[], red_flags={}, language="fr")
        stroke = next(f for f in red_flag_questions() if f.id == "stroke-signs")
        assert result.verdict == "ask-first" and selfcheck.flag_question(stroke, "fr") in result.ask_first
        assert stroke.question not in result.ask_first
        with translation.override("fr"):
            page = render_to_string("learn/self_check.html", {"result": result, "form": None, "questions": ()}, request=rf.get("/"))
        section = html.unescape(_result(page))
        assert "Répondez d'abord à ces questions" in section and selfcheck.flag_question(stroke, "fr") in section
        assert "appelez le numéro d'urgence de votre pays ou consultez un médecin maintenant" in section

    def test_missing_answers_are_reported_in_spanish(self, client):
        response = _post(client, {"drawing": "", "hopes": []}, "es")
        page = _text(response)
        count = len(response.context["form"].errors)
        assert f"Responda a {count} preguntas más" in page and "Responda sí o no." in page

    def test_a_broken_drawing_is_a_clear_error_in_the_language(self, client):
        data = _answers()
        data["drawing"] = "{not json"
        page = _text(_post(client, data, "fr"))
        assert "Le dessin n'a pas pu être lu. Effacez la carte du corps et marquez-la à nouveau." in page


class SelfCheckWordFileTests:
    def _file(self, language: str) -> dict:
        return yaml.safe_load((selfcheck.WORDS_DIR / f"{language}.yaml").read_text(encoding="utf-8"))

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_every_red_flag_is_translated_from_the_current_english(self, language):
        raw = self._file(language)
        assert raw["language"] == language
        flags = {f.id: f for f in red_flag_questions()}
        assert set(raw["red_flags"]) == set(flags), "a red flag was added or removed without updating the self-check's word file"
        for flag in flags.values():
            entry = raw["red_flags"][flag.id]
            stale = f"{language}: {flag.id}: the rule set's English changed; review the translation"
            assert entry["question"]["en"] == flag.question, stale
            assert entry["action"]["en"] == flag.action, stale
            assert selfcheck.flag_question(flag, language) == entry["question"]["text"] != flag.question
            assert selfcheck.flag_action(flag, language) == entry["action"]["text"] != flag.action

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_the_questions_read_as_in_the_intake(self, language):
        """A visitor and a client read the same red-flag question (one rule set, one wording)."""
        intake = yaml.safe_load((ROOT / "knotwork" / "clients" / "data" / "intake_i18n" / f"{language}.yaml").read_text(encoding="utf-8"))
        for flag in red_flag_questions():
            theirs = (intake.get("red_flags") or {}).get(flag.id)
            if theirs and theirs.get("en") == flag.question:
                assert selfcheck.flag_question(flag, language) == theirs["text"], flag.id

    def test_every_choice_and_result_word_is_translated(self):
        words = [label for _, label in [*selfcheck.DURATIONS, *selfcheck.HOPES]] + [
            *selfcheck.CONDITIONS.values(),
            *selfcheck.CONSULTATION_QUESTIONS,
        ]
        english = [str(w) for w in words]
        for language in LANGUAGES:
            with translation.override(language):
                translated = [str(w) for w in words]
            untranslated = [e for e, t in zip(english, translated, strict=True) if e == t]
            assert untranslated == [], (language, untranslated)

    def test_a_stale_translation_shows_the_english(self, tmp_path, monkeypatch):
        flag = red_flag_questions()[0]
        raw = self._file("es")
        raw["red_flags"][flag.id]["question"]["en"] = "An older wording of this question?"
        raw["red_flags"][flag.id]["action"]["en"] = "An older action."
        (tmp_path / "es.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
        monkeypatch.setattr(selfcheck, "WORDS_DIR", tmp_path)
        selfcheck._flag_words.cache_clear()
        try:
            assert selfcheck.flag_question(flag, "es") == flag.question
            assert selfcheck.flag_action(flag, "es") == flag.action
            form = SelfCheckForm(language="es")
            assert form.fields[f"rf_{flag.id}"].label == flag.question
            other = red_flag_questions()[1]
            assert selfcheck.flag_question(other, "es") == raw["red_flags"][other.id]["question"]["text"]
        finally:
            selfcheck._flag_words.cache_clear()

    def test_a_malformed_word_file_is_reported_with_its_entry(self, tmp_path, monkeypatch):
        (tmp_path / "es.yaml").write_text("language: es\nred_flags:\n  stroke-signs:\n    question: {en: x}\n", encoding="utf-8")
        monkeypatch.setattr(selfcheck, "WORDS_DIR", tmp_path)
        selfcheck._flag_words.cache_clear()
        try:
            with pytest.raises(selfcheck.SelfCheckWordsError, match="stroke-signs"):
                selfcheck.flag_words("es")
        finally:
            selfcheck._flag_words.cache_clear()

    def test_english_and_unknown_languages_use_the_rule_set(self):
        flag = red_flag_questions()[0]
        for language in ("en", "de", "", "es-MX"):
            expected = selfcheck.flag_words("es")[flag.id].question if language == "es-MX" else flag.question
            assert selfcheck.flag_question(flag, language) == expected


class TranslationCheckTests:
    def test_the_public_learn_pages_are_in_the_check_and_the_editor_is_not(self):
        spec = importlib.util.spec_from_file_location("knotwork_tools_check_translations_learn", ROOT / "tools" / "check_translations.py")
        assert spec and spec.loader
        module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        checked = {p.relative_to(ROOT).as_posix() for p in module.client_templates()}
        public = ["index", "article", "search", "_card", "_sidebar", "exercises", "exercise", "self_check"]
        assert {f"templates/learn/{n}.html" for n in public} <= checked
        assert not {"templates/learn/manage.html", "templates/learn/form.html", "templates/learn/_preview.html"} & checked
        for source in ("forms.py", "selfcheck.py", "views.py", "exercise_views.py"):
            assert f"knotwork/learn/{source}" in module.PYTHON_SOURCES
        for name in public:
            assert module.untranslated_text(ROOT / "templates" / "learn" / f"{name}.html") == []
