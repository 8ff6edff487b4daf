"""The intake's own words in Spanish and French: the "where?" grids' body areas with side words that
agree with the place, and the words static/clients/intake.js writes (docs/i18n.md)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from knotwork.atlas.bodymap import cell_label
from knotwork.atlas.region_words import region_label
from knotwork.clients.intake.definition import build_form, translate_form
from knotwork.clients.models import IntakeSubmission
from knotwork.lib.testing import make_user
from tests.clients.test_intake import SIGNATURE, complete_answers
from tests.clients.test_intake_health_step import block, health_post

pytestmark = pytest.mark.django_db

GRID_IDS = ("surgery_where", "fracture_where", "skin_where", "varicose_where", "inflamed_where")
TICKED = ["shoulder-top:right", "knee-anterior:right"]
INTAKE_JS = Path(settings.BASE_DIR) / "static" / "clients" / "intake.js"


@pytest.fixture
def ada(world):
    """Ada (client_a) with a portal login; ``speaks(language)`` saves her language choice."""
    user = make_user("ada@mail.example", mfa=False)
    world.client_a.portal_user = user
    world.client_a.save()
    world.ada = user
    return world


def speaks(world, language: str) -> None:
    world.ada.language = language
    world.ada.save(update_fields=["language"])


def health_url(world) -> str:
    return reverse("portal_intake_step", args=[world.client_a.pk, "health"])


def started(c, world) -> None:
    c.post(reverse("portal_intake_start", args=[world.client_a.pk]))


def labels(language: str, qid: str = "surgery_where") -> dict[str, str]:
    return dict(translate_form(build_form(), language).by_id[qid].choices)


class WhereGridLabelTests:
    def test_a_spanish_grid_makes_the_side_agree_with_the_place(self):
        es = labels("es")
        assert es["shoulder-top:right"] == "Parte superior del hombro derecho"
        assert es["knee-anterior:right"] == "Parte delantera de la rodilla derecha"
        assert es["calf:left"] == "Pantorrilla izquierda"
        assert es["foot-dorsal:left"] == "Empeine izquierdo"

    def test_a_french_grid_makes_the_side_agree_with_the_place(self):
        fr = labels("fr")
        assert fr["shoulder-top:right"] == "Dessus de l'épaule droite"
        assert fr["knee-anterior:right"] == "Devant du genou droit"
        assert fr["calf:left"] == "Mollet gauche"
        assert fr["hand-dorsal:right"] == "Dos de la main droite"

    def test_every_grid_uses_the_body_maps_words_and_no_glued_on_side(self):
        english = build_form()
        grids = [q for q in english.by_id.values() if q.kind == "cells"]
        assert sorted(q.id for q in grids) == sorted(GRID_IDS)
        for language in ("es", "fr"):
            form = translate_form(english, language)
            for q in grids:
                translated = dict(form.by_id[q.id].choices)
                assert list(translated) == [v for v, _ in q.choices]  # same ids, same order
                for cell, label in translated.items():
                    assert label == region_label(cell, language) and label != cell_label(cell), (language, cell)
                    assert not re.search(r", (derecha|izquierda|côté)", label), label

    def test_the_english_grid_keeps_the_english_labels(self):
        q = build_form().by_id["surgery_where"]
        assert dict(q.choices)["shoulder-top:right"] == "Right top of the shoulder" == cell_label("shoulder-top:right")
        assert translate_form(build_form(), "en").by_id["surgery_where"].choices == q.choices


class WhereGridPageTests:
    @pytest.mark.parametrize(
        ("language", "shown", "not_shown"),
        [
            (
                "es",
                ["Parte superior del hombro derecho", "Parte delantera de la rodilla derecha", "Pantorrilla izquierda"],
                [", derecha", ", izquierda", "Right top of the shoulder"],
            ),
            (
                "fr",
                ["Dessus de l'épaule droite", "Devant du genou droit", "Mollet gauche"],
                [", côté droit", ", côté gauche", "Right top of the shoulder"],
            ),
        ],
    )
    def test_the_health_step_shows_each_area_with_an_agreeing_side(self, ada, as_user, language, shown, not_shown):
        speaks(ada, language)
        c = as_user(ada.ada)
        started(c, ada)
        html = c.get(health_url(ada)).content.decode()
        grid = unescape(block(html, "surgery_where"))
        for text in shown:
            assert f"<span>{text}</span>" in grid
        for text in not_shown:
            assert text not in unescape(html)

    @pytest.mark.parametrize("language", ["es", "fr"])
    def test_an_answer_ticked_in_another_language_is_stored_as_the_same_ids_as_in_english(self, ada, as_user, language):
        c = as_user(ada.ada)
        started(c, ada)
        stored = {}
        for lang in (language, "en"):
            speaks(ada, lang)
            response = c.post(health_url(ada), health_post(recent_surgery="yes", surgery_where=TICKED, action="save"))
            assert response.status_code == 302
            stored[lang] = IntakeSubmission.objects.get(client=ada.client_a).answers["surgery_where"]
        assert stored[language]["a"] == stored["en"]["a"] == TICKED
        assert stored["en"]["q"] == "If so, where on the body?" and stored[language]["q"] != stored["en"]["q"]

    def test_a_ticked_grid_shown_again_in_spanish_keeps_its_ticks_under_the_spanish_labels(self, ada, as_user):
        speaks(ada, "es")
        c = as_user(ada.ada)
        started(c, ada)
        c.post(health_url(ada), health_post(recent_surgery="yes", surgery_where=TICKED, action="save"))
        grid = unescape(block(c.get(health_url(ada)).content.decode(), "surgery_where"))
        for cell, text in (
            ("shoulder-top:right", "Parte superior del hombro derecho"),
            ("knee-anterior:right", "Parte delantera de la rodilla derecha"),
        ):
            assert re.search(rf'value="{re.escape(cell)}"[^>]*checked[^>]*> <span>{re.escape(text)}</span>', grid)

    @pytest.mark.parametrize("language", ["es", "fr"])
    def test_the_therapist_reads_the_areas_in_english(self, ada, as_user, language):
        speaks(ada, language)
        c = as_user(ada.ada)
        started(c, ada)
        intake = IntakeSubmission.objects.get(client=ada.client_a)
        from knotwork.clients.intake.selectors import intake_form_for
        from knotwork.clients.intake.services import intake_save_answers

        form = intake_form_for(ada.clinic_a, language)
        answers = {k: v for k, v in complete_answers(recent_surgery="yes", surgery_where=TICKED).items() if k in form.by_id}
        intake_save_answers(intake=intake, form=form, answers=answers, actor=ada.ada)
        data = {"action": "submit", "typed_name": "Ada Lovelace", "signature": SIGNATURE, "agree_consent": "on", "agree_privacy": "on"}
        assert c.post(reverse("portal_intake_step", args=[ada.client_a.pk, "consent"]), data).status_code == 302
        assert IntakeSubmission.objects.get(pk=intake.pk).answers["surgery_where"]["a"] == TICKED
        review = unescape(as_user(ada.alice).get(reverse("intake_review", args=[ada.client_a.pk])).content.decode())
        assert "Right top of the shoulder, Right front of the knee" in review
        for word in ("hombro derecho", "rodilla derecha", "épaule droite", "genou droit"):
            assert word not in review


def script_words(html: str) -> dict[str, str]:
    """The data attributes of the intake script's <meta>, as the script reads them."""
    meta = re.search(r'<meta name="knotwork-intake-text"([^>]*)>', html)
    assert meta, "the page gives the intake script no words"
    return {name: unescape(value) for name, value in re.findall(r'data-([a-z-]+)="([^"]*)"', meta.group(1))}


class ScriptWordsTests:
    @pytest.mark.parametrize(
        ("language", "one", "other"),
        [
            ("es", "{count} elegida", "{count} elegidas"),
            ("fr", "{count} choisie", "{count} choisies"),
            ("", "{count} chosen", "{count} chosen"),
        ],
    )
    def test_the_intake_page_gives_the_script_its_words_in_the_clients_language(self, ada, as_user, language, one, other):
        speaks(ada, language)  # "" is a client who never chose: English, the site's default
        c = as_user(ada.ada)
        started(c, ada)
        for step in ("about", "health"):
            html = c.get(reverse("portal_intake_step", args=[ada.client_a.pk, step])).content.decode()
            assert script_words(html) == {"chosen-one": one, "chosen-other": other}

    def test_the_grid_count_rendered_by_the_server_speaks_the_same_language(self, ada, as_user):
        speaks(ada, "es")
        c = as_user(ada.ada)
        started(c, ada)
        c.post(health_url(ada), health_post(recent_surgery="yes", surgery_where=TICKED, action="save"))
        grid = block(c.get(health_url(ada)).content.decode(), "surgery_where")
        assert re.search(r"data-disclosure-count[^>]*>2 elegidas<", grid)

    def test_every_word_the_script_falls_back_on_is_given_by_the_page(self, ada, as_user):
        source = INTAKE_JS.read_text(encoding="utf-8")
        english = re.search(r"const ENGLISH = \{(.*?)\};", source, re.S)
        assert english
        keys = dict(re.findall(r'(\w+): "([^"]*)"', english.group(1)))
        c = as_user(ada.ada)
        started(c, ada)
        given = script_words(c.get(health_url(ada)).content.decode())
        # dataset.chosenOne is data-chosen-one; the English page says what the script would.
        assert {re.sub(r"[A-Z]", lambda m: "-" + m.group(0).lower(), k): v for k, v in keys.items()} == given
        # No English left in the script outside its fallback table.
        rest = source.replace(english.group(0), "")
        assert "chosen`" not in rest and '" chosen' not in rest
