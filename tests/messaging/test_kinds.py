"""Thread kinds: admin threads (booking, payment, forms) reach the front desk; clinical threads reach
only therapists and the owner, in pages, the API, unread counts and notifications."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from knotwork.audit.models import AuditEvent
from knotwork.bookings.models import Appointment, Service
from knotwork.lib.testing import make_user
from knotwork.messaging import services
from knotwork.messaging.models import Attachment, Message, Thread
from knotwork.messaging.selectors import threads_for, unread_total

pytestmark = pytest.mark.django_db

JSON = "application/json"


@pytest.fixture
def ada(world):
    user = make_user("ada@mail.example", mfa=False)
    world.client_a.portal_user = user
    world.client_a.save()
    return user


def _start(world, ada, kind, subject=None, body="Hello"):
    return services.thread_start(
        client=world.client_a, user=ada, membership=None, subject=subject or f"A {kind} question", body=body, kind=kind
    )


def _member(user):
    return user.memberships.get()


def _radio(page: str, kind: str) -> str:
    match = re.search(rf'<input type="radio" name="kind" value="{kind}"[^>]*>', page)
    assert match, f"no {kind} button"
    return match.group(0)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (10, 200, 10)).save(out, format="PNG")
    return out.getvalue()


def _appointment(world, therapist):
    service = Service.objects.create(clinic=world.clinic_a, name="NMT session", duration_minutes=60, price=Decimal("65"))
    start = timezone.now() + timedelta(days=2)
    return Appointment.objects.create(
        clinic=world.clinic_a, therapist=therapist, client=world.client_a, service=service, starts_at=start,
        ends_at=start + timedelta(hours=1), block_start=start, block_end=start + timedelta(hours=1), status="confirmed",
    )  # fmt: skip


class FrontDeskReachTests:
    def test_the_front_desk_lists_admin_threads_and_never_clinical_ones(self, as_user, world, ada):
        admin = _start(world, ada, "admin", subject="Can I pay by card?")
        clinical = _start(world, ada, "clinical", subject="My neck after the session")
        web = as_user(world.bob)
        inbox = web.get(reverse("inbox")).content.decode()
        assert "Can I pay by card?" in inbox and "My neck after the session" not in inbox
        listed = web.get("/api/threads").json()
        assert [t["id"] for t in listed["items"]] == [admin.pk] and listed["count"] == 1
        assert listed["items"][0]["kind"] == "admin"
        assert list(threads_for(world.bob, _member(world.bob))) == [admin]
        # Clinicians see both.
        for clinician in (world.alice, world.olivia):
            assert {t.pk for t in threads_for(clinician, _member(clinician))} == {admin.pk, clinical.pk}
        # The list audit names only what was shown.
        shown = AuditEvent.objects.filter(action="list", actor=world.bob)
        assert shown and all(clinical.pk not in e.detail["ids"] for e in shown)

    def test_the_front_desk_gets_403_on_a_clinical_thread_page_its_reply_form_and_its_files(self, as_user, world, ada):
        thread = _start(world, ada, "clinical", body="It still hurts when I turn my head")
        as_user(ada).post(reverse("thread_detail", args=[thread.pk]), {"body": "photo", "files": [SimpleUploadedFile("neck.png", _png())]})
        attachment = Attachment.objects.get()
        web = as_user(world.bob)
        page = web.get(reverse("thread_detail", args=[thread.pk]))
        assert page.status_code == 403 and "It still hurts" not in page.content.decode()
        assert web.post(reverse("thread_detail", args=[thread.pk]), {"body": "Hi"}).status_code == 403
        assert web.get(reverse("message_attachment", args=[attachment.pk])).status_code == 403
        assert Message.objects.count() == 2
        assert not AuditEvent.objects.filter(actor=world.bob, action="view").exists()

    def test_the_front_desk_reads_and_answers_an_admin_thread(self, as_user, world, ada):
        thread = _start(world, ada, "admin", body="Can I move Thursday?")
        web = as_user(world.bob)
        page = web.get(reverse("thread_detail", args=[thread.pk]))
        assert page.status_code == 200 and "Can I move Thursday?" in page.content.decode()
        assert web.post(reverse("thread_detail", args=[thread.pk]), {"body": "Yes, Friday works."}).status_code == 302
        # No kind-change form for the front desk.
        assert reverse("thread_kind", args=[thread.pk]) not in page.content.decode()

    def test_the_front_desk_gets_403_on_a_clinical_thread_through_the_api(self, as_user, world, ada):
        thread = _start(world, ada, "clinical")
        api = as_user(world.bob)
        got = api.get(f"/api/threads/{thread.pk}")
        assert got.status_code == 403 and got.json()["error"]["code"] == "forbidden" and "messages" not in got.json()
        reply = api.post(f"/api/threads/{thread.pk}/messages", {"body": "Hi"}, content_type=JSON)
        assert reply.status_code == 403 and Message.objects.count() == 1
        # The therapist reads it, and sees its kind.
        assert as_user(world.alice).get(f"/api/threads/{thread.pk}").json()["kind"] == "clinical"

    def test_the_front_desk_unread_count_leaves_clinical_threads_out(self, world, ada):
        _start(world, ada, "admin")
        clinical = _start(world, ada, "clinical")
        services.message_post(thread=clinical, user=ada, membership=None, body="And another thing")
        assert unread_total(world.bob, _member(world.bob)) == 1
        assert unread_total(world.alice, _member(world.alice)) == 3

    def test_charlie_gets_404_on_both_kinds_and_on_the_kind_change(self, as_user, world, ada):
        threads = [_start(world, ada, "admin"), _start(world, ada, "clinical")]
        web = as_user(world.charlie)
        for thread in threads:
            assert web.get(reverse("thread_detail", args=[thread.pk])).status_code == 404
            assert web.get(f"/api/threads/{thread.pk}").status_code == 404
            changed = web.post(reverse("thread_kind", args=[thread.pk]), {"kind": "admin", "confirm": "on"})
            assert changed.status_code == 404
        assert web.get("/api/threads").json()["count"] == 0
        assert [t.kind for t in Thread.objects.order_by("pk")] == ["admin", "clinical"]

    def test_the_inbox_labels_each_thread_with_its_kind(self, as_user, world, ada):
        _start(world, ada, "admin")
        _start(world, ada, "clinical")
        staff_inbox = as_user(world.alice).get(reverse("inbox")).content.decode()
        assert '<span class="badge">Booking and admin</span>' in staff_inbox and '<span class="badge">Clinical</span>' in staff_inbox
        own_inbox = as_user(ada).get(reverse("inbox")).content.decode()
        assert "Booking, payment or forms" in own_inbox and "For your therapist" in own_inbox


class StartingThreadTests:
    def test_the_new_message_page_asks_a_client_who_it_is_for_and_says_who_reads_each(self, as_user, world, ada):
        page = as_user(ada).get(reverse("thread_new")).content.decode()
        assert "<legend>Who is it for?" in page
        assert "About booking, payment or forms" in page and "For my therapist (health questions)" in page
        assert "The front desk reads and answers it." in page and "not the front desk" in page
        assert 'aria-describedby="id_kind_0_help"' in page and 'id="id_kind_1_help"' in page
        assert "checked" not in _radio(page, "admin") + _radio(page, "clinical")  # no choice made for them

    def test_a_client_must_choose_and_nothing_typed_is_lost(self, as_user, world, ada):
        data = {"client": world.client_a.pk, "subject": "About my shoulder", "body": "It clicks when I lift my arm"}
        response = as_user(ada).post(reverse("thread_new"), data)
        page = response.content.decode()
        assert response.status_code == 200 and not Thread.objects.exists()
        assert "Choose who the message is for" in page and 'href="#id_kind_0"' in page
        assert 'value="About my shoulder"' in page and "It clicks when I lift my arm</textarea>" in page

    @pytest.mark.parametrize("kind", ["admin", "clinical"])
    def test_a_client_chooses_the_kind(self, as_user, world, ada, kind):
        data = {"client": world.client_a.pk, "kind": kind, "subject": "Question", "body": "Hello"}
        assert as_user(ada).post(reverse("thread_new"), data).status_code == 302
        thread = Thread.objects.get()
        assert thread.kind == kind
        assert AuditEvent.objects.get(action="create", object_type="messaging.thread").detail["kind"] == kind

    def test_a_client_chooses_the_kind_through_the_api(self, as_user, world, ada):
        api = as_user(ada)
        created = api.post("/api/threads", {"subject": "Invoice", "body": "Receipt please", "kind": "admin"}, content_type=JSON)
        assert created.status_code == 201 and created.json()["kind"] == "admin"
        bad = api.post("/api/threads", {"subject": "Q", "body": "Hi", "kind": "gossip"}, content_type=JSON)
        assert bad.status_code == 400 and "kind" in bad.json()["error"]["fields"]
        assert list(Thread.objects.values_list("kind", flat=True)) == ["admin"]

    def test_the_front_desk_cannot_start_a_clinical_thread(self, as_user, world):
        web = as_user(world.bob)
        page = web.get(reverse("thread_new")).content.decode()
        assert 'value="admin"' in page and 'value="clinical"' not in page
        data = {"client": world.client_a.pk, "kind": "clinical", "subject": "Your pain", "body": "How is the pain?"}
        refused = web.post(reverse("thread_new"), data)
        assert refused.status_code == 200 and "You can start only conversations about booking, payment or forms" in refused.content.decode()
        assert 'value="Your pain"' in refused.content.decode()
        api = web.post("/api/threads", {"client": world.client_a.pk, "subject": "Q", "body": "Hi", "kind": "clinical"}, content_type=JSON)
        assert api.status_code == 403 and api.json()["error"]["code"] == "forbidden"
        with pytest.raises(PermissionDenied):
            services.thread_start(
                client=world.client_a, user=world.bob, membership=_member(world.bob), subject="Q", body="Hi", kind="clinical"
            )
        assert not Thread.objects.exists()

    def test_the_front_desk_starts_admin_threads(self, as_user, world):
        web = as_user(world.bob)
        data = {"client": world.client_a.pk, "kind": "admin", "subject": "Your invoice", "body": "Here it is."}
        assert web.post(reverse("thread_new"), data).status_code == 302
        via_api = web.post("/api/threads", {"client": world.client_a.pk, "subject": "Forms", "body": "Please fill them"}, content_type=JSON)
        assert via_api.status_code == 201 and via_api.json()["kind"] == "admin"  # without a choice: the kind it may start
        assert list(Thread.objects.values_list("kind", flat=True)) == ["admin", "admin"]

    def test_a_therapist_gets_clinical_preselected_and_may_choose_admin(self, as_user, world):
        web = as_user(world.alice)
        page = web.get(reverse("thread_new")).content.decode()
        assert "checked" in _radio(page, "clinical") and "checked" not in _radio(page, "admin")
        web.post(reverse("thread_new"), {"client": world.client_a.pk, "subject": "Aftercare", "body": "How are you?"})
        web.post(reverse("thread_new"), {"client": world.client_a.pk, "kind": "admin", "subject": "Forms", "body": "Forms?"})
        assert list(Thread.objects.order_by("pk").values_list("kind", flat=True)) == ["clinical", "admin"]


class ChangingKindTests:
    def test_a_therapist_changes_the_kind_and_it_is_audited_without_text(self, as_user, world, ada):
        thread = _start(world, ada, "clinical", body="Only a question about my invoice")
        web = as_user(world.alice)
        page = web.get(reverse("thread_detail", args=[thread.pk])).content.decode()
        assert f'action="{reverse("thread_kind", args=[thread.pk])}"' in page and "csrfmiddlewaretoken" in page
        assert "The front desk will be able to read every message" in page
        response = web.post(reverse("thread_kind", args=[thread.pk]), {"kind": "admin", "confirm": "on"})
        assert response.status_code == 302
        thread.refresh_from_db()
        assert thread.kind == "admin"
        event = AuditEvent.objects.get(action="update", object_type="messaging.thread")
        assert (event.actor, event.role, event.object_id) == (world.alice, "therapist", str(thread.pk))
        assert event.detail == {"fields": ["kind"], "from": "clinical", "to": "admin"}
        assert "invoice" not in str(event.detail)
        # Now the front desk sees it; the owner can make it clinical again.
        assert as_user(world.bob).get(reverse("thread_detail", args=[thread.pk])).status_code == 200
        as_user(world.olivia).post(reverse("thread_kind", args=[thread.pk]), {"kind": "clinical", "confirm": "on"})
        thread.refresh_from_db()
        assert thread.kind == "clinical"
        assert as_user(world.bob).get(reverse("thread_detail", args=[thread.pk])).status_code == 403

    def test_the_change_needs_a_confirmation_and_a_post(self, as_user, world, ada):
        thread = _start(world, ada, "clinical")
        web = as_user(world.alice)
        response = web.post(reverse("thread_kind", args=[thread.pk]), {"kind": "admin"})
        assert response.status_code == 200 and "Tick the box to confirm the change." in response.content.decode()
        assert web.get(reverse("thread_kind", args=[thread.pk])).status_code == 405
        thread.refresh_from_db()
        assert thread.kind == "clinical" and not AuditEvent.objects.filter(action="update").exists()

    def test_the_front_desk_and_the_client_cannot_change_the_kind(self, as_user, world, ada):
        admin, clinical = _start(world, ada, "admin"), _start(world, ada, "clinical")
        bob = as_user(world.bob)
        assert bob.post(reverse("thread_kind", args=[admin.pk]), {"kind": "clinical", "confirm": "on"}).status_code == 403
        assert bob.post(reverse("thread_kind", args=[clinical.pk]), {"kind": "admin", "confirm": "on"}).status_code == 403
        own = as_user(ada)
        assert own.post(reverse("thread_kind", args=[clinical.pk]), {"kind": "admin", "confirm": "on"}).status_code == 403
        assert reverse("thread_kind", args=[clinical.pk]) not in own.get(reverse("thread_detail", args=[clinical.pk])).content.decode()
        with pytest.raises(PermissionDenied):
            services.thread_set_kind(thread=admin, kind="clinical", user=world.bob, membership=_member(world.bob))
        assert [t.kind for t in Thread.objects.order_by("pk")] == ["admin", "clinical"]
        assert not AuditEvent.objects.filter(action="update").exists()


class NotificationTests:
    def _recipients(self, world, ada, kind, django_capture_on_commit_callbacks, thread=None):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            if thread is None:
                thread = _start(world, ada, kind, body="secret words")
            else:
                services.message_post(thread=thread, user=ada, membership=None, body="secret words")
        assert all("secret" not in m.body for m in mail.outbox)
        return thread, {to for m in mail.outbox for to in m.to}

    def test_an_admin_thread_notifies_the_owner_and_the_front_desk(self, world, ada, django_capture_on_commit_callbacks):
        _appointment(world, world.alice)  # even with a therapist of their own
        _, to = self._recipients(world, ada, "admin", django_capture_on_commit_callbacks)
        assert to == {"olivia@a.example", "bob@a.example"}

    def test_a_clinical_thread_before_any_appointment_notifies_the_owner_only(self, world, ada, django_capture_on_commit_callbacks):
        _, to = self._recipients(world, ada, "clinical", django_capture_on_commit_callbacks)
        assert to == {"olivia@a.example"}

    def test_a_clinical_thread_notifies_the_clients_therapists_and_the_kind_decides_at_sending(
        self, world, ada, django_capture_on_commit_callbacks
    ):
        _appointment(world, world.alice)
        thread, to = self._recipients(world, ada, "clinical", django_capture_on_commit_callbacks)
        assert to == {"alice@a.example"}
        services.thread_set_kind(thread=thread, kind="admin", user=world.alice, membership=_member(world.alice))
        _, to = self._recipients(world, ada, "admin", django_capture_on_commit_callbacks, thread=thread)
        assert to == {"olivia@a.example", "bob@a.example"}


class ApiDescriptionTests:
    def test_the_api_documents_kind_and_the_403s(self, client):
        spec = client.get("/api/openapi.json").json()
        schemas = spec["components"]["schemas"]
        assert schemas["ThreadOut"]["properties"]["kind"]["enum"] == ["admin", "clinical"]
        assert "kind" in schemas["ThreadIn"]["properties"]
        paths = spec["paths"]
        assert {"201", "403", "404"} <= set(paths["/api/threads"]["post"]["responses"])
        assert {"200", "403", "404"} <= set(paths["/api/threads/{thread_id}"]["get"]["responses"])
        assert {"201", "403", "404"} <= set(paths["/api/threads/{thread_id}/messages"]["post"]["responses"])
