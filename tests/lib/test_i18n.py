"""Knotwork in the client's language: how the language is chosen and remembered, what the
client-facing pages show in Spanish and French, and the check that keeps them translated."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import translation

from knotwork.accounts.models import User
from knotwork.lib.testing import make_user
from tests.directory.conftest import BRISTOL, make_profile, place
from tests.lib.catalogues import tool

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogues", "english_afterwards")]

ROOT = Path(__file__).resolve().parents[2]
SETLANG = "/i18n/setlang/"


@pytest.fixture
def listed(world):
    place(world.clinic_a, BRISTOL, city="Bristol", postcode="BS1 4RN", address="14 Harbour Street", country="GB")
    world.profile = make_profile(world.alice, world.clinic_a)
    return world


@pytest.fixture
def ada(world) -> User:
    """Client A's portal login."""
    user = make_user("ada@mail.example", mfa=False, full_name="Ada Lovelace")
    world.client_a.portal_user = user
    world.client_a.save()
    return user


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


class LanguageNegotiationTests:
    def test_accept_language_es_gives_the_directory_in_spanish(self, listed, client):
        response = client.get(reverse("directory_search"), {"near": "Bristol"}, HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9,en;q=0.5")
        html = page(response)
        assert '<html lang="es">' in html
        assert response["Content-Language"] == "es"
        assert "Encuentre un terapeuta neuromuscular" in html and "Filtros" in html
        assert "1 terapeuta a menos de 25 km de Bristol" in html
        assert "Find a therapist" not in html

    def test_the_profile_page_speaks_french_to_a_french_browser(self, listed, client):
        url = reverse("directory_profile", args=[listed.profile.pk, listed.profile.slug])
        html = page(client.get(url, HTTP_ACCEPT_LANGUAGE="fr"))
        assert '<html lang="fr">' in html
        assert "Recommander à un proche" in html and "Pas encore d'avis." in html

    def test_without_a_preference_pages_stay_english(self, listed, client):
        html = page(client.get(reverse("directory_search")))
        assert '<html lang="en">' in html and "Find a therapist" in html

    def test_an_unoffered_language_falls_back_to_english(self, client):
        html = page(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de"))
        assert '<html lang="en">' in html and "Care for the knots that cause your pain" in html

    def test_every_page_names_its_language_and_offers_the_chooser(self, client):
        html = page(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="fr"))
        assert '<html lang="fr">' in html
        assert f'action="{SETLANG}"' in html and '<label for="language-chooser">Langue</label>' in html
        for code, name in (("en", "English"), ("es", "Español"), ("fr", "Français")):
            assert f'<option value="{code}" lang="{code}"' in html and name in html


class LanguageChooserTests:
    def test_the_chooser_sets_the_cookie_and_goes_back(self, client):
        response = client.post(SETLANG, {"language": "fr", "next": "/therapists/"})
        assert response.status_code == 302 and response["Location"] == "/therapists/"
        assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
        html = page(client.get(reverse("directory_search"), HTTP_ACCEPT_LANGUAGE="es"))
        assert '<html lang="fr">' in html and "Trouver un thérapeute" in html

    def test_a_signed_in_choice_is_saved_and_wins_the_next_session(self, ada, as_user):
        c = as_user(ada)
        c.post(SETLANG, {"language": "es", "next": "/"})
        ada.refresh_from_db()
        assert ada.language == "es"

        # A new browser (no cookie) that asks for French: the saved choice wins once signed in.
        later = HttpClient()
        later.force_login(ada)
        response = later.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="fr")
        html = page(response)
        assert '<html lang="es">' in html and "Mi atención" in html and "Hola, Ada Lovelace" in html
        # The cookie follows, so the site stays Spanish after signing out.
        assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"

    def test_a_language_that_is_not_offered_is_not_saved_and_not_used(self, ada, as_user):
        # Django's view sets any language it has a catalogue for (it has German); Knotwork offers three.
        c = as_user(ada)
        c.post(SETLANG, {"language": "de", "next": "/"})
        ada.refresh_from_db()
        assert ada.language == ""
        assert '<html lang="en">' in page(c.get(reverse("home")))

    def test_a_cross_site_post_changes_nothing(self, ada):
        c = HttpClient(enforce_csrf_checks=True)
        c.force_login(ada)
        response = c.post(SETLANG, {"language": "fr", "next": "/"})
        ada.refresh_from_db()
        assert response.status_code == 403 and ada.language == ""

    def test_choosing_english_again_is_saved_too(self, ada, as_user):
        ada.language = "fr"
        ada.save()
        c = as_user(ada)
        c.post(SETLANG, {"language": "en", "next": "/"})
        ada.refresh_from_db()
        assert ada.language == "en"
        assert '<html lang="en">' in page(c.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="fr"))


class FrenchIntakeTests:
    @pytest.fixture
    def draft(self, world, ada, as_user):
        ada.language = "fr"
        ada.save()
        c = as_user(ada)
        c.post(reverse("portal_intake_start", args=[world.client_a.pk]))
        return c

    def test_a_step_left_empty_shows_french_errors(self, world, draft):
        response = draft.post(reverse("portal_intake_step", args=[world.client_a.pk, "about"]), {"action": "next"})
        html = page(response)
        assert '<html lang="fr">' in html
        assert "Veuillez corriger" in html and "Ce champ est obligatoire." in html
        assert "Tout ce que vous avez saisi a été conservé." in html and "Enregistrer et continuer" in html
        assert "This field is required" not in html

    def test_the_signature_step_explains_a_half_name_in_french(self, world, draft):
        url = reverse("portal_intake_step", args=[world.client_a.pk, "consent"])
        html = page(draft.post(url, {"action": "submit", "typed_name": "Ada", "signature": "", "agree_privacy": "on"}))
        assert "Saisissez votre nom complet : prénom et nom." in html
        assert "Signer et envoyer mon questionnaire" in html and "Effacer la signature" in html

    def test_a_spanish_pain_drawing_error(self, world, ada, as_user):
        ada.language = "es"
        ada.save()
        html = page(as_user(ada).post(reverse("portal_drawing_new", args=[world.client_a.pk]), {"drawing": "", "note": ""}))
        assert "Marque al menos una zona donde sienta dolor" in html and "¿Dónde le duele hoy?" in html


class DeployCheckTests:
    def test_a_catalogue_without_its_compiled_file_is_flagged(self, settings, tmp_path):
        from knotwork.accounts.checks import knotwork_deploy_checks

        po = tmp_path / "es" / "LC_MESSAGES" / "django.po"
        po.parent.mkdir(parents=True)
        po.write_text('msgid ""\nmsgstr ""\n', encoding="utf-8")
        settings.LOCALE_PATHS = [tmp_path]
        assert "knotwork.W005" in [p.id for p in knotwork_deploy_checks(None)]
        tool("compile_messages").compile_all(tmp_path)
        assert "knotwork.W005" not in [p.id for p in knotwork_deploy_checks(None)]

    def test_the_tree_s_catalogues_are_compiled(self):
        from knotwork.accounts.checks import knotwork_deploy_checks

        assert "knotwork.W005" not in [p.id for p in knotwork_deploy_checks(None)]


class TranslationCheckTests:
    def test_the_check_passes_on_the_tree(self, capsys):
        assert tool("check_translations").main([]) == 0
        assert "all in es, fr" in capsys.readouterr().out

    def test_the_check_fails_on_a_template_with_untranslated_text(self, tmp_path, capsys):
        fixture = tmp_path / "untranslated.html"
        fixture.write_text(
            '{% extends "base.html" %}{% load i18n %}{% block content %}\n'
            '<h1>{% translate "Find a therapist" %}</h1>\n'
            '<p>Book your first visit</p>\n<img src="x.png" alt="A calm treatment room">\n'
            '<p>{% translate "A sentence nobody has translated" %}</p>\n'
            "<p>{{ profile.display_name }} · 5 km · PDF</p>{% endblock %}\n",
            encoding="utf-8",
        )
        assert tool("check_translations").main(["--template", str(fixture)]) == 1
        out = capsys.readouterr().out
        assert "English outside a translate tag: 'Book your first visit'" in out
        assert "English outside a translate tag: 'A calm treatment room'" in out
        assert "es: 'A sentence nobody has translated' is not in the catalogue" in out
        assert "fr: 'A sentence nobody has translated' is not in the catalogue" in out
        assert "Find a therapist" not in out and "display_name" not in out


class ChoiceLabelTests:
    def test_appointment_and_waitlist_statuses_and_day_names_follow_the_language(self):

        from knotwork.bookings.models import AppointmentStatus, WaitlistStatus, Weekday

        with translation.override("es"):
            assert (str(AppointmentStatus.CONFIRMED.label), str(WaitlistStatus.ACTIVE.label), str(Weekday(0).label)) == (
                "Confirmada",
                "En espera",
                "lunes",
            )
        with translation.override("fr"):
            assert str(WaitlistStatus.OFFERED.label) == "Offre envoyée" and str(Weekday(6).label) == "dimanche"
        with translation.override("en"):
            assert str(AppointmentStatus.NO_SHOW.label) == "Did not attend"


class DateInputTests:
    def test_date_boxes_keep_their_iso_value_in_every_language(self):
        # A browser's date box only shows an ISO value: "31/01/1990" would leave it empty, and a
        # Spanish or French client sent back to a form with an error would lose the date typed.
        from datetime import date

        from knotwork.bookings.forms import DeskClientForm
        from knotwork.outcomes.forms import NprsForm
        from knotwork.outcomes.scoring import measures

        for language in ("en", "es", "fr"):
            with translation.override(language):
                born = str(DeskClientForm(initial={"date_of_birth": date(1990, 1, 31)})["date_of_birth"])
                taken = str(NprsForm(initial={"taken_on": date(2026, 12, 24)}, measure=measures()["nprs"])["taken_on"])
            assert 'value="1990-01-31"' in born, (language, born)
            assert 'value="2026-12-24"' in taken, (language, taken)
