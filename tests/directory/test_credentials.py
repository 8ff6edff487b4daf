from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from knotwork.audit.models import AuditEvent
from knotwork.directory.models import Credential, CredentialReminder, CredentialStatus
from knotwork.directory.services import DirectoryError, credential_decide, refresh_listing
from knotwork.directory.tasks import due_credential_reminders, due_offset
from knotwork.lib.testing import make_user
from tests.directory.conftest import PDF, make_credential

pytestmark = pytest.mark.django_db


@pytest.fixture
def verifier(db):
    user = make_user("vera@platform.example")
    user.is_verifier = True
    user.save()
    return user


def upload(name: str, data: bytes) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


class VerificationTests:
    def test_a_verifier_verifies_and_the_step_is_audited(self, directory, verifier):
        credential = make_credential(directory.profile, verified=False)
        credential_decide(credential=credential, decision="verify", reason="", actor=verifier)
        credential.refresh_from_db()
        assert credential.status == CredentialStatus.VERIFIED and credential.reviewed_by == verifier
        event = AuditEvent.objects.filter(object_type="directory.credential", object_id=str(credential.pk), actor=verifier).get()
        assert event.detail == {"step": "verify", "from": "pending", "to": "verified"}
        directory.profile.refresh_from_db()
        assert directory.profile.licence_verified()

    def test_rejecting_or_asking_for_more_needs_a_reason(self, directory, verifier):
        credential = make_credential(directory.profile, verified=False)
        with pytest.raises(DirectoryError):
            credential_decide(credential=credential, decision="reject", reason=" ", actor=verifier)
        credential_decide(credential=credential, decision="needs_info", reason="The number is unreadable.", actor=verifier)
        credential.refresh_from_db()
        assert credential.status == CredentialStatus.NEEDS_INFO
        assert credential.status_reason == "The number is unreadable."

    def test_an_expired_licence_cannot_be_verified(self, directory, verifier):
        credential = make_credential(directory.profile, verified=False, expires_on=timezone.localdate())
        with pytest.raises(DirectoryError):
            credential_decide(credential=credential, decision="verify", reason="", actor=verifier)

    def test_the_badge_disappears_on_the_day_the_licence_expires(self, directory):
        today = timezone.localdate()
        credential = make_credential(directory.profile, expires_on=today + timedelta(days=1))
        profile = directory.profile
        profile.refresh_from_db()
        assert profile.licence_verified(today) and credential.is_valid_on(today)
        tomorrow = today + timedelta(days=1)
        assert not profile.licence_verified(tomorrow)
        assert not credential.is_valid_on(tomorrow)

    def test_rejecting_a_verified_licence_takes_the_badge_away(self, directory, verifier):
        credential = make_credential(directory.profile)
        credential_decide(credential=credential, decision="reject", reason="Board says it was revoked.", actor=verifier)
        directory.profile.refresh_from_db()
        assert not directory.profile.licence_verified()


class CredentialPageTests:
    def test_a_therapist_adds_a_licence_with_a_pdf_and_it_waits_for_review(self, directory, as_user):
        response = as_user(directory.alice).post(
            reverse("directory_credentials"),
            {
                "kind": "licence", "title": "LMT", "issuer": "Board", "jurisdiction": "Oregon", "number": "123",
                "expires_on": (timezone.localdate() + timedelta(days=300)).isoformat(), "document": upload("licence.pdf", PDF),
            },
        )  # fmt: skip
        assert response.status_code == 302
        credential = Credential.objects.get(profile=directory.profile)
        assert credential.status == CredentialStatus.PENDING and credential.document_type == "application/pdf"
        assert default_storage.exists(credential.document_name)
        assert AuditEvent.objects.filter(object_type="directory.credential", action="create").exists()

    def test_a_pdf_with_script_is_refused_and_what_was_typed_stays(self, directory, as_user):
        bad = PDF.replace(b"/Type/Catalog", b"/Type/Catalog/OpenAction<</JS(app.alert(1))>>")
        response = as_user(directory.alice).post(
            reverse("directory_credentials"),
            {
                "kind": "licence",
                "title": "My typed title",
                "issuer": "Board",
                "number": "9",
                "expires_on": "2099-01-01",
                "document": upload("x.pdf", bad),
            },
        )
        assert response.status_code == 400
        assert b"My typed title" in response.content and b"scripts" in response.content
        assert not Credential.objects.exists()

    def test_a_licence_needs_an_expiry_date(self, directory, as_user):
        response = as_user(directory.alice).post(
            reverse("directory_credentials"),
            {"kind": "licence", "title": "LMT", "issuer": "B", "number": "1", "document": upload("l.pdf", PDF)},
        )
        assert response.status_code == 400
        assert b"A licence needs its expiry date." in response.content

    def test_changing_a_verified_licence_sends_it_back_to_the_verifier(self, directory, as_user):
        credential = make_credential(directory.profile, jurisdiction="Oregon")
        as_user(directory.alice).post(
            reverse("directory_credential_edit", args=[credential.pk]),
            {"kind": "licence", "title": credential.title, "issuer": credential.issuer, "jurisdiction": "Oregon", "number": "NEW-2",
             "expires_on": credential.expires_on.isoformat()},
        )  # fmt: skip
        credential.refresh_from_db()
        assert credential.number == "NEW-2" and credential.status == CredentialStatus.PENDING
        directory.profile.refresh_from_db()
        assert not directory.profile.licence_verified()

    def test_charlie_cannot_see_change_or_download_alices_credential(self, directory, as_user):
        credential = make_credential(directory.profile)
        client = as_user(directory.charlie)
        for name in ("directory_credential_edit", "directory_credential_document"):
            assert client.get(reverse(name, args=[credential.pk])).status_code == 404
        assert client.post(reverse("directory_credential_delete", args=[credential.pk])).status_code == 404
        assert Credential.objects.filter(pk=credential.pk, status=CredentialStatus.VERIFIED).exists()

    def test_the_owner_and_a_verifier_may_download_the_document_as_an_attachment(self, directory, as_user, verifier):
        name = default_storage.save("directory/credentials/t.pdf", ContentFile(PDF))
        credential = make_credential(directory.profile, document_name=name)
        for user in (directory.olivia, verifier):
            response = as_user(user).get(reverse("directory_credential_document", args=[credential.pk]))
            assert response.status_code == 200
            assert response["Content-Disposition"].startswith("attachment")
            assert response["X-Content-Type-Options"] == "nosniff"
        assert as_user(directory.bob).get(reverse("directory_credential_document", args=[credential.pk])).status_code == 404

    def test_the_verifier_queue_is_for_verifiers_only(self, directory, as_user, verifier):
        credential = make_credential(directory.profile, verified=False)
        assert as_user(directory.olivia).get(reverse("directory_verify_queue")).status_code == 403
        assert as_user(directory.charlie).get(reverse("directory_verify", args=[credential.pk])).status_code == 403
        page = as_user(verifier).get(reverse("directory_verify_queue"))
        assert page.status_code == 200 and credential.title.encode() in page.content
        response = as_user(verifier).post(reverse("directory_verify", args=[credential.pk]), {"decision": "reject", "reason": ""})
        assert response.status_code == 400
        response = as_user(verifier).post(reverse("directory_verify", args=[credential.pk]), {"decision": "verify", "reason": ""})
        assert response.status_code == 302
        credential.refresh_from_db()
        assert credential.status == CredentialStatus.VERIFIED


class ReminderTests:
    def test_the_due_offset_is_the_nearest_window(self):
        assert due_offset(61) is None
        assert due_offset(60) == 60
        assert due_offset(15) == 60
        assert due_offset(14) == 14
        assert due_offset(1) == 14
        assert due_offset(0) is None

    def test_reminders_go_at_60_and_14_days_to_therapist_and_owner_and_never_twice(self, directory):
        today = timezone.localdate()
        credential = make_credential(directory.profile, expires_on=today + timedelta(days=60))
        assert due_credential_reminders(today=today) == 1
        assert sorted(mail.outbox[0].to) == ["alice@a.example", "olivia@a.example"]
        assert "expires on" in mail.outbox[0].subject
        assert due_credential_reminders(today=today) == 0
        assert due_credential_reminders(today=today + timedelta(days=10)) == 0
        assert due_credential_reminders(today=today + timedelta(days=46)) == 1
        assert due_credential_reminders(today=today + timedelta(days=50)) == 0
        assert sorted(CredentialReminder.objects.filter(credential=credential).values_list("offset_days", flat=True)) == [14, 60]

    def test_a_renewed_credential_is_reminded_again(self, directory):
        today = timezone.localdate()
        credential = make_credential(directory.profile, expires_on=today + timedelta(days=10))
        assert due_credential_reminders(today=today) == 1
        credential.expires_on = today + timedelta(days=12)
        credential.save()
        assert due_credential_reminders(today=today) == 1

    def test_a_credential_verified_inside_14_days_gets_only_the_14_day_reminder(self, directory):
        today = timezone.localdate()
        credential = make_credential(directory.profile, expires_on=today + timedelta(days=5))
        due_credential_reminders(today=today)
        assert list(CredentialReminder.objects.filter(credential=credential).values_list("offset_days", flat=True)) == [14]

    def test_unverified_credentials_are_not_reminded(self, directory):
        make_credential(directory.profile, verified=False, expires_on=timezone.localdate() + timedelta(days=10))
        assert due_credential_reminders() == 0

    def test_the_command_sends_now_or_enqueues(self, directory):
        make_credential(directory.profile, expires_on=timezone.localdate() + timedelta(days=30))
        out = io.StringIO()
        call_command("send_credential_reminders", "--now", stdout=out)
        assert "1 credential reminder(s) sent" in out.getvalue()
        call_command("send_credential_reminders", stdout=out)
        assert "queued" in out.getvalue()
        assert len(mail.outbox) == 1

    def test_refreshing_keeps_the_search_copy_in_step_with_expiry(self, directory):
        credential = make_credential(directory.profile, expires_on=timezone.localdate() + timedelta(days=1))
        Credential.objects.filter(pk=credential.pk).update(expires_on=timezone.localdate())
        refresh_listing(directory.profile)
        assert not directory.profile.licence_verified()
