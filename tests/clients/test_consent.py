"""Consent documents and drawn signatures."""

from __future__ import annotations

import hashlib

import pytest

from knotwork.clients.consent import SignatureError, clean_signature, current_documents, signature_svg

GOOD = "M10 10 L20 20 L30 25 L40 30 L50 35 L60 40 L70 45 L80 50"


class ConsentDocumentTests:
    def test_the_consent_and_the_privacy_notice_are_current(self):
        assert {d.id for d in current_documents()} == {"nmt-consent", "privacy-notice"}

    def test_the_hash_is_the_sha256_of_the_exact_text(self):
        doc = current_documents()[0]
        assert doc.sha256 == hashlib.sha256(doc.text.encode()).hexdigest()

    def test_the_consent_says_pressure_is_the_clients_to_stop_and_consent_can_be_withdrawn(self):
        text = next(d for d in current_documents() if d.id == "nmt-consent").text.lower()
        assert "stop" in text and "withdraw" in text
        assert "cure" not in text and "guarantee" not in text


class SignatureTests:
    def test_a_plain_path_is_kept_in_canonical_form(self):
        assert clean_signature("M10.4,10 L20 20 L30 25 L40 30 L50 35 L60 40 L70 45 L80 50") == GOOD.replace("M10 ", "M10 ")

    @pytest.mark.parametrize(
        "raw",
        [
            "",
            "M1 1 L2 2",  # too short
            GOOD + ' "/><script>alert(1)</script>',
            GOOD.replace("L80 50", "C1 2 3 4 5 6"),
            GOOD.replace("L80 50", "L9999 50"),  # outside the pad
            "M1 1 " + "L2 2 " * 5000,  # too long
            "l1 1 " * 10,
        ],
    )
    def test_anything_but_path_commands_and_numbers_is_refused(self, raw):
        with pytest.raises(SignatureError):
            clean_signature(raw)

    def test_the_svg_carries_only_the_cleaned_path(self):
        svg = signature_svg(GOOD)
        assert svg.startswith("<svg") and f'd="{GOOD}"' in svg


@pytest.fixture
def signed_v1(world):
    """Ada (client_a, with a portal login) signed the current version of both documents at her intake."""
    from knotwork.clients.intake.services import SignatureInput, consent_sign
    from knotwork.lib.testing import make_user

    world.ada = make_user("ada@mail.example", mfa=False)
    world.client_a.portal_user = world.ada
    world.client_a.save()
    signed = SignatureInput(typed_name="Ada Lovelace", signature=GOOD, ip=None, user_agent="")
    for doc in current_documents():
        consent_sign(client=world.client_a, document=doc, signed=signed, actor=world.ada)
    return world


@pytest.fixture
def consent_v2(monkeypatch):
    """The clinic publishes version 2 of the NMT consent (the privacy notice stays at its version)."""
    from knotwork.clients.consent import ConsentDocument
    from knotwork.clients.intake import selectors as intake_selectors

    text = "What changed\nPressure is yours to set."
    v2 = ConsentDocument(id="nmt-consent", title="Consent to neuromuscular therapy", version=2, text=text)
    documents = tuple(v2 if d.id == "nmt-consent" else d for d in current_documents())
    monkeypatch.setattr(intake_selectors, "current_documents", lambda language="en": documents)
    return v2


@pytest.mark.django_db
class ResignTests:
    def test_nothing_is_due_before_a_first_signature_or_while_every_version_is_current(self, world, signed_v1):
        from knotwork.clients.intake.selectors import consents_due

        assert consents_due(world.client_b) == []
        assert consents_due(world.client_a) == []

    def test_a_new_version_is_due_until_signed_and_only_that_document_is_signed_again(self, signed_v1, consent_v2, as_user):
        from django.urls import reverse

        from knotwork.audit.models import Action, AuditEvent
        from knotwork.clients.intake.selectors import consents_due
        from knotwork.clients.models import ConsentSignature

        assert consents_due(signed_v1.client_a) == [consent_v2]
        portal = as_user(signed_v1.ada)
        home = portal.get(reverse("portal_intake", args=[signed_v1.client_a.pk])).content.decode()
        assert "Updated document to sign" in home and reverse("portal_consents_sign", args=[signed_v1.client_a.pk]) in home
        url = reverse("portal_consents_sign", args=[signed_v1.client_a.pk])
        page = portal.get(url).content.decode()
        assert "Pressure is yours to set." in page and "Privacy notice" not in page

        refused = portal.post(url, {"typed_name": "Ada Lovelace", "signature": "", "agree": "on"})
        assert refused.status_code == 400 and ConsentSignature.objects.filter(client=signed_v1.client_a).count() == 2
        assert "Ada Lovelace" in refused.content.decode()  # what was typed is kept

        done = portal.post(url, {"typed_name": "Ada Lovelace", "signature": GOOD, "agree": "on"})
        assert done.status_code == 302
        new = ConsentSignature.objects.get(client=signed_v1.client_a, version=2)
        assert (new.document, new.text_sha256) == ("nmt-consent", consent_v2.sha256)
        assert ConsentSignature.objects.filter(client=signed_v1.client_a).count() == 3
        assert AuditEvent.objects.filter(action=Action.SIGN, object_id=str(new.pk)).exists()
        assert consents_due(signed_v1.client_a) == []
        assert "Updated document to sign" not in portal.get(reverse("portal_intake", args=[signed_v1.client_a.pk])).content.decode()
        assert portal.get(url)["Location"] == reverse("portal_intake", args=[signed_v1.client_a.pk])  # nothing left to sign

    def test_staff_see_the_out_of_date_consent_on_the_client_page_and_the_summary(self, signed_v1, consent_v2, as_user):
        from django.urls import reverse

        web = as_user(signed_v1.alice)
        for name in ("client_detail", "previsit_summary"):
            page = web.get(reverse(name, args=[signed_v1.client_a.pk])).content.decode()
            assert "Consent out of date" in page and "Consent to neuromuscular therapy (v2)" in page, name

    def test_another_clients_login_cannot_open_the_page(self, signed_v1, consent_v2, as_user):
        from django.urls import reverse

        from knotwork.lib.testing import make_user

        stranger = make_user("eve@mail.example", mfa=False)
        assert as_user(stranger).get(reverse("portal_consents_sign", args=[signed_v1.client_a.pk])).status_code == 404


@pytest.mark.django_db
def test_a_client_who_has_signed_nothing_is_sent_to_the_intake_to_sign_there(world, as_user):
    from django.contrib.messages import get_messages
    from django.urls import reverse

    from knotwork.lib.testing import make_user

    world.client_a.portal_user = make_user("ada@mail.example", mfa=False)
    world.client_a.save()
    response = as_user(world.client_a.portal_user).get(reverse("portal_consents_sign", args=[world.client_a.pk]))
    assert response["Location"] == reverse("portal_intake", args=[world.client_a.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["You sign the consent with your intake."]
