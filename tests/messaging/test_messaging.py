"""Secure messaging: who sees which thread, unread counts, attachments, notifications, audit."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from knotwork.audit.models import AuditEvent
from knotwork.lib.testing import make_user
from knotwork.messaging import services
from knotwork.messaging.models import Attachment, Message, Thread
from knotwork.messaging.selectors import threads_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(world):
    user = make_user("ada@mail.example", mfa=False)
    world.client_a.portal_user = user
    world.client_a.save()
    return user


def _thread(world, ada, body="Can I bring my MRI report?", kind="clinical"):
    return services.thread_start(client=world.client_a, user=ada, membership=None, subject="Before my visit", body=body, kind=kind)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


class LanguageTests:
    def test_a_spanish_client_reads_the_inbox_and_the_new_message_form_in_spanish(self, as_user, world, ada):
        ada.language = "es"
        ada.save(update_fields=["language"])
        web = as_user(ada)
        inbox = web.get(reverse("inbox")).content.decode()
        assert "Sus conversaciones con su clínica" in inbox and "Todavía no hay mensajes." in inbox
        form = web.get(reverse("thread_new")).content.decode()
        assert "¿Para quién es?" in form and "Para mi terapeuta (preguntas de salud)" in form
        refused = web.post(reverse("thread_new"), {"client": world.client_a.pk, "subject": "Hola", "body": "¿Aparcamiento?"})
        assert "Elija para quién es el mensaje" in refused.content.decode()


class ThreadAccessTests:
    def test_a_client_writes_before_any_visit_and_the_clinic_reads_it(self, as_user, world, ada):
        web = as_user(ada)
        response = web.post(
            reverse("thread_new"), {"client": world.client_a.pk, "kind": "admin", "subject": "Before my visit", "body": "Parking?"}
        )
        thread = Thread.objects.get()
        assert response.status_code == 302 and thread.clinic == world.clinic_a
        staff = as_user(world.bob)
        assert "Before my visit" in staff.get(reverse("inbox")).content.decode()
        assert "Parking?" in staff.get(reverse("thread_detail", args=[thread.pk])).content.decode()

    def test_a_visitor_with_no_record_can_ask_a_clinic_a_question_and_gets_a_record(self, as_user, world):
        user = make_user("newbie@mail.example", mfa=False)
        url = reverse("thread_new") + f"?clinic={world.clinic_a.slug}"
        response = as_user(user).post(
            url,
            {
                "about-first_name": "Nell",
                "about-last_name": "Park",
                "about-phone": "",
                "kind": "clinical",
                "subject": "Hello",
                "body": "Do you treat jaw pain?",
            },
        )
        assert response.status_code == 302
        thread = Thread.objects.get()
        assert thread.client.portal_user == user and thread.client.first_name == "Nell"

    def test_charlie_and_strangers_get_404_on_clinic_a_threads_and_post_nothing(self, as_user, world, ada):
        thread = _thread(world, ada)
        for user in (world.charlie, make_user("stranger@mail.example", mfa=False)):
            web = as_user(user)
            assert web.get(reverse("thread_detail", args=[thread.pk])).status_code == 404
            assert web.post(reverse("thread_detail", args=[thread.pk]), {"body": "hi"}).status_code == 404
            assert "Before my visit" not in web.get(reverse("inbox")).content.decode()
            assert web.get(f"/api/threads/{thread.pk}").status_code == 404
            assert web.post(f"/api/threads/{thread.pk}/messages", {"body": "x"}, content_type="application/json").status_code == 404
        assert Message.objects.count() == 1

    def test_unread_counts_follow_each_reader(self, as_user, world, ada):
        thread = _thread(world, ada, kind="admin")
        services.message_post(thread=thread, user=ada, membership=None, body="Also: parking?")
        assert threads_for(world.alice, world.alice.memberships.get()).get().unread == 2
        as_user(world.alice).get(reverse("thread_detail", args=[thread.pk]))
        assert threads_for(world.alice, world.alice.memberships.get()).get().unread == 0
        assert threads_for(world.bob, world.bob.memberships.get()).get().unread == 2
        assert threads_for(ada, None).get().unread == 0

    def test_reads_and_writes_are_audited_without_the_text(self, as_user, world, ada):
        thread = _thread(world, ada, body="My secret symptom")
        as_user(world.alice).get(reverse("thread_detail", args=[thread.pk]))
        events = AuditEvent.objects.filter(object_type__startswith="messaging.")
        assert {e.action for e in events} >= {"create", "view"}
        assert all("secret" not in str(e.detail) for e in events)

    def test_the_notification_says_only_that_a_message_is_waiting(self, world, ada, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            _thread(world, ada, body="My secret symptom")
        assert mail.outbox and all("secret" not in m.body and m.subject == "You have a new message" for m in mail.outbox)
        assert "olivia@a.example" in {m.to[0] for m in mail.outbox}  # no therapist yet: the owner hears


class AttachmentTests:
    def test_images_are_re_encoded_and_served_only_to_the_thread(self, as_user, world, ada):
        thread = _thread(world, ada)
        web = as_user(ada)
        upload = SimpleUploadedFile("x-ray.png", _png(), content_type="image/png")
        assert web.post(reverse("thread_detail", args=[thread.pk]), {"body": "photo", "files": [upload]}).status_code == 302
        attachment = Attachment.objects.get()
        assert attachment.content_type == "image/jpeg" and attachment.display_name == "x-ray.jpg"
        assert as_user(world.alice).get(reverse("message_attachment", args=[attachment.pk])).status_code == 200
        assert as_user(world.charlie).get(reverse("message_attachment", args=[attachment.pk])).status_code == 404

    def test_a_pdf_with_script_or_a_disguised_file_is_refused_and_the_text_is_kept(self, as_user, world, ada):
        thread = _thread(world, ada)
        web = as_user(ada)
        bad = SimpleUploadedFile(
            "report.pdf", b"%PDF-1.4\n1 0 obj << /OpenAction << /JS (app.alert(1)) >> >>\n%%EOF", content_type="application/pdf"
        )
        response = web.post(reverse("thread_detail", args=[thread.pk]), {"body": "see attached", "files": [bad]})
        assert response.status_code == 200 and "see attached" in response.content.decode()
        fake = SimpleUploadedFile("photo.jpg", b"<html><script>alert(1)</script></html>", content_type="image/jpeg")
        assert web.post(reverse("thread_detail", args=[thread.pk]), {"body": "x", "files": [fake]}).status_code == 200
        assert Message.objects.count() == 1 and not Attachment.objects.exists()

    def test_a_plain_pdf_is_accepted_and_downloaded_as_an_attachment(self, as_user, world, ada):
        thread = _thread(world, ada)
        pdf = SimpleUploadedFile(
            "letter.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n", content_type="application/pdf"
        )
        as_user(ada).post(reverse("thread_detail", args=[thread.pk]), {"body": "", "files": [pdf]})
        attachment = Attachment.objects.get()
        response = as_user(world.olivia).get(reverse("message_attachment", args=[attachment.pk]))
        assert response["Content-Disposition"].startswith("attachment") and response["X-Content-Type-Options"] == "nosniff"


class MessagingApiTests:
    def test_staff_list_read_and_reply_through_the_api(self, as_user, world, ada):
        thread = _thread(world, ada)
        api = as_user(world.alice)
        listed = api.get("/api/threads").json()
        assert listed["count"] == 1 and listed["items"][0]["unread"] == 1
        assert api.get(f"/api/threads/{thread.pk}").json()["messages"][0]["body"] == "Can I bring my MRI report?"
        reply = api.post(f"/api/threads/{thread.pk}/messages", {"body": "Yes please."}, content_type="application/json")
        assert reply.status_code == 201 and not reply.json()["from_client"]

    def test_a_client_starts_a_thread_through_the_api_and_cannot_pick_someone_else(self, as_user, world, ada):
        api = as_user(ada)
        created = api.post("/api/threads", {"subject": "Q", "body": "Hi"}, content_type="application/json")
        assert created.status_code == 201 and created.json()["kind"] == "clinical"  # without a choice: the private kind
        assert (
            api.post(
                "/api/threads", {"client": world.client_b.pk, "subject": "Q", "body": "Hi"}, content_type="application/json"
            ).status_code
            == 404
        )
        assert Thread.objects.count() == 1
