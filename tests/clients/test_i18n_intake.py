"""The intake, consent and what is sent to a client, in the client's language (docs/i18n.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from knotwork.bookings.models import Appointment, AppointmentStatus, Service
from knotwork.bookings.tasks import send_booking_confirmation
from knotwork.care.aftercare import Aftercare
from knotwork.care.documents import aftercare_pdf
from knotwork.clients import consent as consent_module
from knotwork.clients.consent import current_documents, document
from knotwork.clients.intake import definition as intake_form
from knotwork.clients.intake.definition import build_form, standard_form, translate_form
from knotwork.clients.intake.selectors import intake_form_for
from knotwork.clients.intake.services import intake_request_info, intake_save_answers, intake_start
from knotwork.clients.language import client_language
from knotwork.clients.models import ConsentSignature, IntakeStatus, IntakeSubmission
from knotwork.engine import red_flag_questions
from knotwork.lib.testing import make_user
from tests.bookings.conftest import booking  # noqa: F401  (fixture)
from tests.bookings.test_sms_http import gateway, texting  # noqa: F401  (fixtures: the loopback SMS gateway)
from tests.clients.test_intake import SIGNATURE, complete_answers
from tests.lib.pdf_text import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def spanish(world):
    """Ada (client_a) with a portal login that chose Spanish."""
    user = make_user("ada@mail.example", mfa=False)
    user.language = "es"
    user.save(update_fields=["language"])
    world.client_a.portal_user = user
    world.client_a.save()
    world.ada = user
    return world


def fill(world, language: str) -> IntakeSubmission:
    intake = intake_start(client=world.client_a, actor=world.ada)
    form = intake_form_for(world.clinic_a, language)
    answers = {k: v for k, v in complete_answers().items() if k in form.by_id}
    return intake_save_answers(intake=intake, form=form, answers=answers, actor=world.ada)


def submit(c, world):
    data = {"action": "submit", "typed_name": "Ada Lovelace", "signature": SIGNATURE, "agree_consent": "on", "agree_privacy": "on"}
    return c.post(reverse("portal_intake_step", args=[world.client_a.pk, "consent"]), data)


class TranslatedFormTests:
    def test_every_standard_question_and_red_flag_has_a_spanish_and_a_french_version(self):
        english = build_form()
        for language in ("es", "fr"):
            form = translate_form(english, language)
            assert form.language == language and form.untranslated == []
            assert [q.id for s in form.sections for q in s.questions] == [q.id for s in english.sections for q in s.questions]
            for q in form.by_id.values():
                source = english.by_id[q.id]
                # Same values in every language: only the words change.
                assert [v for v, _ in q.choices] == [v for v, _ in source.choices]
                assert q.required == source.required and q.required_if == source.required_if
                assert q.text != source.text, (language, q.id)

    def test_the_translation_files_name_the_form_version_they_were_checked_against(self):
        version, _ = standard_form()
        for language in ("es", "fr"):
            assert intake_form._translation(language)["form_version"] == version

    def test_a_spanish_question_reads_in_spanish_with_spanish_choices(self):
        form = translate_form(build_form(), "es")
        assert form.by_id["pain_since"].text == "¿Desde cuándo tiene este dolor?"
        assert dict(form.by_id["pain_since"].choices)["weeks"] == "Menos de 6 semanas"
        assert dict(form.by_id["diabetes"].choices) == {"yes": "Sí", "no": "No"}
        assert dict(form.by_id["surgery_where"].choices)["calf:left"] == "Pantorrilla izquierda"
        assert dict(form.by_id["symptoms"].choices)["headache"] == "Dolor de cabeza"
        assert form.section("pain").title == "Su dolor"

    def test_a_red_flag_question_whose_english_changed_is_asked_in_english(self, monkeypatch):
        flag = red_flag_questions()[0]
        original = intake_form._translation("es")
        stale = {**original, "red_flags": {**original["red_flags"], flag.id: {"en": "An older wording", "text": "Una redacción antigua"}}}
        monkeypatch.setattr(intake_form, "_translation", lambda language: stale if language == "es" else original)
        form = translate_form(build_form(), "es")
        question = form.by_id[intake_form.RED_FLAG_PREFIX + flag.id]
        assert question.text == flag.question and not question.translated
        assert dict(question.choices) == {"yes": "Sí", "no": "No"}
        assert form.untranslated == [question]

    def test_a_clinics_own_question_keeps_the_clinics_wording(self):
        custom = intake_form.CustomQuestion(key="custom-1", kind="yesno", text="Do you use the car park?")
        form = translate_form(build_form([custom]), "fr")
        assert form.by_id["custom-1"].text == "Do you use the car park?" and not form.by_id["custom-1"].translated
        assert dict(form.by_id["custom-1"].choices) == {"yes": "Oui", "no": "Non"}
        assert form.section("clinic").title == "Quelques questions de votre cabinet"

    def test_a_language_without_a_translation_gets_the_english_form(self):
        english = build_form()
        assert translate_form(english, "de") is english and translate_form(english, "../es") is english


class ConsentDocumentTests:
    def test_each_document_is_published_in_spanish_and_french_as_the_same_version(self):
        for language, title in (
            ("es", "Consentimiento para la terapia neuromuscular"),
            ("fr", "Consentement à la thérapie neuromusculaire"),
        ):
            docs = {d.id: d for d in current_documents(language)}
            english = {d.id: d for d in current_documents()}
            assert set(docs) == set(english)
            assert docs["nmt-consent"].title == title and docs["nmt-consent"].language == language
            for doc_id, doc in docs.items():
                assert doc.version == english[doc_id].version
                assert doc.sha256 != english[doc_id].sha256
                assert len(doc.paragraphs) == len(english[doc_id].paragraphs)

    def test_a_version_not_translated_into_a_language_is_the_english_text(self):
        doc = document("nmt-consent", 1, language="de")
        assert doc.language == "en" and doc.title == "Consent to neuromuscular therapy"


class SpanishIntakeTests:
    def test_the_steps_are_shown_in_spanish_and_the_language_is_recorded_with_the_answers(self, spanish, as_user):
        c = as_user(spanish.ada)
        c.post(reverse("portal_intake_start", args=[spanish.client_a.pk]))
        page = c.get(reverse("portal_intake_step", args=[spanish.client_a.pk, "pain"])).content.decode()
        assert "¿Desde cuándo tiene este dolor?" in page and "Menos de 6 semanas" in page
        assert "Since when have you had this pain?" not in page and "intake-language" not in page
        c.post(reverse("portal_intake_step", args=[spanish.client_a.pk, "about"]), {"action": "save", "phone": "+34 600 000 000"})
        intake = IntakeSubmission.objects.get(client=spanish.client_a)
        assert intake.language == "es"
        assert intake.answers["phone"] == {"q": "Número de teléfono", "a": "+34 600 000 000"}

    def test_signing_in_spanish_records_the_spanish_text_and_the_language(self, spanish, as_user):
        fill(spanish, "es")
        c = as_user(spanish.ada)
        page = c.get(reverse("portal_intake_step", args=[spanish.client_a.pk, "consent"])).content.decode()
        assert "Consentimiento para la terapia neuromuscular" in page and 'lang="es"' in page
        assert submit(c, spanish).status_code == 302
        intake = IntakeSubmission.objects.get(client=spanish.client_a)
        assert intake.status == IntakeStatus.SUBMITTED and intake.language == "es"
        sigs = {s.document: s for s in ConsentSignature.objects.filter(client=spanish.client_a)}
        assert {s.language for s in sigs.values()} == {"es"}
        spanish_consent = document("nmt-consent", 1, language="es")
        assert sigs["nmt-consent"].text == spanish_consent.text and sigs["nmt-consent"].text_sha256 == spanish_consent.sha256
        assert sigs["nmt-consent"].title == "Consentimiento para la terapia neuromuscular"

    def test_the_signed_pdf_says_which_language_and_version_was_signed(self, spanish, as_user):
        fill(spanish, "es")
        c = as_user(spanish.ada)
        submit(c, spanish)
        sig = ConsentSignature.objects.get(client=spanish.client_a, document="nmt-consent")
        mine = pdf_text(c.get(reverse("portal_consent_pdf", args=[sig.pk])).content)
        # The client's copy in Spanish; the clinic's copy in English; both name the language signed.
        assert "Firmado en" in mine and "Español (versión 1)" in mine and "Su derecho a interrumpir" in mine
        clinics = pdf_text(as_user(spanish.alice).get(reverse("consent_pdf", args=[spanish.client_a.pk, sig.pk])).content)
        assert "Signed in" in clinics and "Español (version 1)" in clinics and "Su derecho a interrumpir" in clinics

    def test_the_therapist_reads_the_answers_in_the_clinics_language_with_the_clients_noted(self, spanish, as_user):
        fill(spanish, "es")
        submit(as_user(spanish.ada), spanish)
        page = as_user(spanish.alice).get(reverse("intake_review", args=[spanish.client_a.pk])).content.decode()
        assert "Answered in Español" in page
        assert "Since when have you had this pain?" in page and "Less than 6 weeks" in page
        assert "¿Desde cuándo tiene este dolor?" in page  # the wording the client read, beside it
        assert "(Español)" in page  # beside each consent signed in Spanish
        body = as_user(spanish.alice).get(f"/api/clients/{spanish.client_a.pk}/intake").json()
        assert body["language"] == "es"
        assert {"question_id": "pain_since", "question": "¿Desde cuándo tiene este dolor?", "answer": "weeks"} in body["answers"]

    def test_an_english_intake_records_english_and_shows_no_language_note(self, spanish, as_user):
        spanish.ada.language = "en"
        spanish.ada.save(update_fields=["language"])
        fill(spanish, "en")
        c = as_user(spanish.ada)
        submit(c, spanish)
        assert IntakeSubmission.objects.get(client=spanish.client_a).language == "en"
        assert set(ConsentSignature.objects.filter(client=spanish.client_a).values_list("language", flat=True)) == {"en"}
        page = as_user(spanish.alice).get(reverse("intake_review", args=[spanish.client_a.pk])).content.decode()
        assert "Answered in" not in page


class FallbackTests:
    def test_without_a_translation_the_form_is_english_and_the_page_says_so(self, spanish, as_user, monkeypatch):
        monkeypatch.setattr(intake_form, "_translation", lambda language: None)
        c = as_user(spanish.ada)
        c.post(reverse("portal_intake_start", args=[spanish.client_a.pk]))
        page = c.get(reverse("portal_intake_step", args=[spanish.client_a.pk, "pain"])).content.decode()
        assert "Since when have you had this pain?" in page
        assert "Este formulario todavía no está disponible en Español, así que se muestra en inglés." in page
        c.post(reverse("portal_intake_step", args=[spanish.client_a.pk, "about"]), {"action": "save", "phone": "+34 600 000 000"})
        assert IntakeSubmission.objects.get(client=spanish.client_a).language == "en"

    def test_a_clinic_question_in_english_is_marked_and_announced(self, spanish, as_user):
        from knotwork.clients.models import IntakeQuestion

        IntakeQuestion.objects.create(clinic=spanish.clinic_a, kind="text", text="How did you hear about us?")
        c = as_user(spanish.ada)
        c.post(reverse("portal_intake_start", args=[spanish.client_a.pk]))
        page = c.get(reverse("portal_intake_step", args=[spanish.client_a.pk, "clinic"])).content.decode()
        assert "How did you hear about us?" in page and 'lang="en"' in page
        assert "Una pregunta de esta página todavía no tiene versión en Español y se muestra en inglés." in page

    def test_an_untranslated_consent_is_signed_in_english_and_recorded_as_english(self, spanish, as_user, monkeypatch):
        english_only = {k: {key: v for key, v in d.items() if key != "translations"} for k, d in consent_module._index().items()}
        monkeypatch.setattr(consent_module, "_index", lambda: english_only)
        consent_module.current_documents.cache_clear()
        consent_module.document.cache_clear()
        try:
            fill(spanish, "es")
            c = as_user(spanish.ada)
            page = c.get(reverse("portal_intake_step", args=[spanish.client_a.pk, "consent"])).content.decode()
            assert "todavía no está disponible en Español" in page and "Consent to neuromuscular therapy" in page
            submit(c, spanish)
            assert set(ConsentSignature.objects.filter(client=spanish.client_a).values_list("language", flat=True)) == {"en"}
            assert IntakeSubmission.objects.get(client=spanish.client_a).language == "es"
        finally:
            consent_module.current_documents.cache_clear()
            consent_module.document.cache_clear()


class ClientLanguageTests:
    def test_the_portal_choice_first_then_the_recorded_language_then_english(self, spanish):
        assert client_language(spanish.client_a) == "es"
        spanish.ada.language = ""
        spanish.ada.save(update_fields=["language"])
        assert client_language(spanish.client_a) == "en"
        fill(spanish, "fr")
        IntakeSubmission.objects.filter(client=spanish.client_a).update(status=IntakeStatus.SUBMITTED, submitted_at=timezone.now())
        assert client_language(spanish.client_a) == "fr"
        assert client_language(spanish.client_b) == "en"


def _appointment(world) -> Appointment:
    service = Service.objects.create(clinic=world.clinic_a, name="NMT session", duration_minutes=60, price=Decimal("65.00"), currency="GBP")
    start = datetime(timezone.now().year + 1, 12, 7, 14, 30, tzinfo=world.clinic_a.tz)
    return Appointment.objects.create(
        clinic=world.clinic_a, therapist=world.alice, client=world.client_a, service=service, starts_at=start,
        ends_at=start + timedelta(hours=1), block_start=start, block_end=start + timedelta(hours=1),
        status=AppointmentStatus.CONFIRMED, confirmed_at=timezone.now(),
    )  # fmt: skip


class MessagesInTheClientsLanguageTests:
    def test_a_spanish_client_gets_the_booking_confirmation_in_spanish_and_the_therapist_in_english(self, spanish):
        appointment = _appointment(spanish)
        send_booking_confirmation.call(appointment.pk)
        to_client = next(m for m in mail.outbox if m.to == [spanish.ada.email])
        to_therapist = next(m for m in mail.outbox if m.to == [spanish.alice.email])
        local = timezone.localtime(appointment.starts_at, spanish.clinic_a.tz)
        assert to_client.subject.startswith("Cita confirmada: ")
        assert "Su cita está reservada." in to_client.body and "Europe/London" in to_client.body
        assert f"{local.day} de diciembre de {local.year}, {local:%H:%M}" in to_client.body  # the clinic's time, Spanish usage
        html = to_client.alternatives[0][0]
        assert '<html lang="es">' in html and "hora de Europe/London" in html
        assert to_therapist.subject.startswith("New booking: ") and "December" in to_therapist.body

    def test_a_client_with_no_language_gets_english(self, world):
        world.client_a.email = "ada@mail.example"
        world.client_a.save(update_fields=["email"])
        send_booking_confirmation.call(_appointment(world).pk)
        to_client = next(m for m in mail.outbox if m.to == ["ada@mail.example"])
        assert to_client.subject.startswith("Booking confirmed: ") and "Your appointment is booked." in to_client.body
        assert '<html lang="en">' in to_client.alternatives[0][0]

    def test_the_intake_question_email_follows_the_client_not_the_therapist(self, spanish, as_user, django_capture_on_commit_callbacks):
        fill(spanish, "fr")
        submit(as_user(spanish.ada), spanish)
        spanish.ada.language = "fr"
        spanish.ada.save(update_fields=["language"])
        mail.outbox.clear()
        from knotwork.accounts.models import Membership

        membership = Membership.objects.get(user=spanish.alice, clinic=spanish.clinic_a)
        with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
            intake_request_info(intake=IntakeSubmission.objects.get(client=spanish.client_a), membership=membership, note="Which knee?")
        (message,) = mail.outbox
        assert message.subject == "Clinic A : une question sur votre questionnaire d'accueil"
        assert message.body.startswith("Bonjour Ada,") and "Which knee" not in message.body

    def test_the_aftercare_pdf_is_written_in_the_active_language(self):
        sheet = Aftercare(
            clinic_name="Clinic A", clinic_phone="+44 20 0000 0000", client_name="Ada", date_text="7/12/2026",
            what_we_did=["x"], soreness="s", hydration="h", heat_ice="i", call_us=["c"], program=[],
        )  # fmt: skip
        with translation.override("es"):
            text = pdf_text(aftercare_pdf(sheet, visit_id=1).content)
        assert "Lo que hicimos" in text and "Llame a Clinic A al +44 20 0000 0000 si tiene:" in text


class SpanishReminderTests:
    """The reminder e-mail and text of a Spanish client, the text through a real HTTP gateway on loopback."""

    def test_the_reminder_email_and_text_are_in_spanish_with_the_clinics_time_zone(self, gateway, texting):  # noqa: F811
        from urllib.parse import parse_qs

        from knotwork.bookings.tasks import due_reminders
        from tests.bookings.helpers import confirmed_appointment

        user = make_user("ada@mail.example", mfa=False)
        user.language = "es"
        user.save(update_fields=["language"])
        texting.client_a.portal_user = user
        texting.client_a.save(update_fields=["portal_user"])
        start = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=5)
        confirmed_appointment(texting, start, confirmed_at=start - timedelta(days=7))
        assert due_reminders(now=timezone.now()) == 1
        local = timezone.localtime(start, texting.clinic_a.tz)
        (message,) = mail.outbox
        assert message.subject.startswith("Recordatorio: su cita del ") and f"{local:%H:%M}" in message.subject
        assert "Le recordamos su cita en Clinic A." in message.body and "(hora de Europe/London)" in message.body
        text = parse_qs(gateway.requests[0]["body"].decode())["Body"][0]
        assert text.startswith("Recordatorio: Clinic A, ") and "Detalles: " in text and f"{local:%H:%M}" in text


class PortalPagesTests:
    def test_the_home_program_and_its_offline_messages_are_served_in_spanish(self, spanish, as_user):
        page = as_user(spanish.ada).get(reverse("portal_program", args=[spanish.client_a.pk])).content.decode()
        assert "Mi programa en casa" in page and "Su terapeuta todavía no le ha dado ejercicios para casa." in page
        # static/pwa/offline.js reads its words from this tag; {count} stays for the script to fill in.
        assert 'name="knotwork-offline-text"' in page
        assert 'data-queued-many="Hay {count} registros guardados en este dispositivo' in page
        assert "No tiene conexión." in page
