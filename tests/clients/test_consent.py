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
