"""The US superbill: CPT codes on services, ICD-10 codes on episodes, the NPI on the therapist's
profile, the clinic's place of service and tax id — checked where typed, printed on the PDF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from knotwork.audit.models import AuditEvent
from knotwork.billing import services
from knotwork.billing.receipts import payment_receipt_pdf, receipt_pdf
from knotwork.billing.statements import client_statement, statement_pdf
from knotwork.bookings.reports import Period
from knotwork.bookings.setup_forms import ServiceForm
from knotwork.care.models import Episode, Visit
from knotwork.directory.models import TherapistProfile
from knotwork.lib import claim_codes as codes
from tests.billing import test_receipts, test_views
from tests.lib.pdf_text import pdf_text

pytestmark = pytest.mark.django_db

licensed = test_receipts.licensed  # a fixture: alice's verified licence
portal = test_views.portal  # a fixture: client_a's portal login
NPI = "1234567893"  # CMS's own example: check digit 3 over 80840123456789


class CodeFormatTests:
    def test_an_npi_needs_ten_digits_and_the_luhn_check_digit_over_80840(self):
        assert codes.normalise_npi(" 1234-567893 ") == NPI and codes.normalise_npi("") == ""
        assert codes.npi_check_digit("123456789") == "3"
        for bad, words in (("1234567890", "check digit"), ("123456789", "ten digits"), ("12345678a3", "ten digits"),
                           ("3234567893", "starts with 1 or 2"), ("１２３４５６７８９３", "ten digits")):  # fmt: skip
            with pytest.raises(ValidationError, match=words):
                codes.normalise_npi(bad)

    def test_cpt_codes_and_modifiers(self):
        assert [codes.normalise_cpt(c) for c in ("97140", " 97124", "0001f", "0042T", "")] == ["97140", "97124", "0001F", "0042T", ""]
        for bad in ("9714", "971400", "9714X", "ABCDE"):
            with pytest.raises(ValidationError, match="five characters"):
                codes.normalise_cpt(bad)
        assert codes.normalise_modifier("gp") == "GP" and codes.normalise_modifier("59") == "59"
        with pytest.raises(ValidationError, match="two letters or digits"):
            codes.normalise_modifier("G")

    def test_icd10_codes_are_checked_for_shape_and_given_their_dot(self):
        assert [codes.normalise_icd10(c) for c in ("M79.1", "m62.830", "M6283", "S13.4XXA", "G44")] == [
            "M79.1", "M62.830", "M62.83", "S13.4XXA", "G44"
        ]  # fmt: skip
        for bad in ("79.1", "M7", "MM9.1", "M79.12345", "M79."):
            with pytest.raises(ValidationError, match="is not an ICD-10 code"):
                codes.normalise_icd10(bad)

    def test_a_list_of_diagnoses_names_every_line_at_fault(self):
        parsed = codes.parse_diagnoses("M79.1 Myalgia\n\nm62830 - Muscle spasm of back\n")
        assert parsed == [{"code": "M79.1", "description": "Myalgia"}, {"code": "M62.830", "description": "Muscle spasm of back"}]
        assert codes.diagnoses_text(parsed) == "M79.1 Myalgia\nM62.830 Muscle spasm of back"
        with pytest.raises(ValidationError) as caught:
            codes.parse_diagnoses("M79.1 Myalgia\nheadache\nM79.1 again")
        assert caught.value.messages == [
            "Line 2: “headache” is not an ICD-10 code: a letter, two characters, then optionally a dot and up to four more "
            "(e.g. M79.1 or M62.830).",
            "Line 3: M79.1 is listed twice.",
        ]
        with pytest.raises(ValidationError, match="at most 12"):
            codes.parse_diagnoses("\n".join(f"M79.{n}" for n in range(13)))


class FormTests:
    def test_the_service_form_keeps_a_cpt_code_and_refuses_a_bad_one(self, licensed):
        data = {"name": "NMT", "kind": "session", "mode": "in_person", "duration_minutes": 60, "buffer_before_minutes": 0,
                "buffer_after_minutes": 0, "price": "60.00", "currency": "USD", "online_booking": "anyone", "position": 0}  # fmt: skip
        good = ServiceForm({**data, "cpt_code": "97140", "cpt_modifier": "gp"}, clinic=licensed.clinic_a)
        assert good.is_valid(), good.errors
        assert (good.cleaned_data["cpt_code"], good.cleaned_data["cpt_modifier"]) == ("97140", "GP")
        bad = ServiceForm({**data, "cpt_code": "9714", "cpt_modifier": "G"}, clinic=licensed.clinic_a)
        assert not bad.is_valid()
        assert "four digits" in bad.errors["cpt_code"][0] and "two letters or digits" in bad.errors["cpt_modifier"][0]
        alone = ServiceForm({**data, "cpt_modifier": "GP"}, clinic=licensed.clinic_a)
        assert not alone.is_valid() and "goes with a CPT code" in alone.errors["cpt_modifier"][0]

    def test_the_owner_edits_a_services_code_on_its_page(self, licensed, as_user):
        r = as_user(licensed.olivia).get(reverse("service_edit", args=[licensed.session.pk]))
        assert r.status_code == 200 and b"CPT code" in r.content

    def test_a_therapist_saves_an_npi_and_a_mistyped_one_is_a_form_error(self, licensed, as_user):
        url = reverse("directory_my_profile")
        profile = TherapistProfile.objects.get(user=licensed.alice)
        data = {"display_name": "Alice Example", "nmt_level": 0, "accepting_new_clients": "on"}
        bad = as_user(licensed.alice).post(url, {**data, "npi": "1234567890"})
        assert bad.status_code == 400 and "check digit does not match" in bad.content.decode()
        profile.refresh_from_db()
        assert profile.npi == ""
        assert as_user(licensed.alice).post(url, {**data, "npi": NPI}).status_code == 302
        profile.refresh_from_db()
        assert profile.npi == NPI

    def test_the_therapist_gives_an_episode_its_icd10_codes(self, licensed, as_user):
        episode = Episode.objects.create(clinic=licensed.clinic_a, client=licensed.client_a, complaint="Neck pain",
                                          started_on=licensed.appointment.local_start.date())  # fmt: skip
        url = reverse("episode_diagnoses", args=[licensed.client_a.pk, episode.pk])
        r = as_user(licensed.alice).post(url, {"diagnosis_codes": "M79.1 Myalgia\nneck"}, follow=True)
        assert "Line 2: “neck” is not an ICD-10 code" in r.content.decode()
        episode.refresh_from_db()
        assert episode.diagnosis_codes == []
        as_user(licensed.alice).post(url, {"diagnosis_codes": "m791 Myalgia"})
        episode.refresh_from_db()
        assert episode.diagnosis_codes == [{"code": "M79.1", "description": "Myalgia"}]
        assert as_user(licensed.bob).post(url, {"diagnosis_codes": "M79.1"}).status_code == 403  # the desk writes no clinical data
        assert as_user(licensed.charlie).post(url, {"diagnosis_codes": "M79.1"}).status_code == 404
        assert as_user(licensed.alice).get(reverse("episode_detail", args=[licensed.client_a.pk, episode.pk])).content.count(b"M79.1") >= 1

    def test_the_owner_turns_superbills_on_and_a_bad_place_of_service_is_refused(self, licensed, as_user):
        url = reverse("superbill_settings")
        bad = as_user(licensed.olivia).post(url, {"us_superbill": "on", "place_of_service": "1"})
        assert bad.status_code == 400 and b"two digits" in bad.content
        assert as_user(licensed.olivia).post(url, {"us_superbill": "on", "place_of_service": "11"}).status_code == 302
        licensed.clinic_a.refresh_from_db()
        assert licensed.clinic_a.us_superbill and licensed.clinic_a.place_of_service == "11"
        assert as_user(licensed.bob).get(url).status_code == 403


@pytest.fixture
def claim(licensed):
    """Alice (NPI set) treated client_a for neck pain (charted: M79.1, M62.830); another episode
    (S13.4XXA) is open too but was not this visit's. The service bills 97140-GP."""
    w = licensed
    TherapistProfile.objects.filter(user=w.alice).update(npi=NPI)
    w.session.cpt_code, w.session.cpt_modifier = "97140", "GP"
    w.session.save(update_fields=["cpt_code", "cpt_modifier"])
    day = w.appointment.local_start.date()
    neck = Episode.objects.create(
        clinic=w.clinic_a, client=w.client_a, complaint="Neck pain", started_on=day - timedelta(days=10),
        diagnosis_codes=[{"code": "M79.1", "description": "Myalgia"}, {"code": "M62.830", "description": "Muscle spasm of back"}],
    )  # fmt: skip
    Episode.objects.create(clinic=w.clinic_a, client=w.client_a, complaint="Whiplash", started_on=day - timedelta(days=30),
                           diagnosis_codes=[{"code": "S13.4XXA", "description": "Sprain of cervical spine"}])  # fmt: skip
    Visit.objects.create(clinic=w.clinic_a, client=w.client_a, episode=neck, therapist=w.alice, appointment=w.appointment)
    invoice = services.invoice_from_appointment(appointment=w.appointment, actor=w.bob)
    w.invoice, w.payment = services.checkout_issue_and_pay(invoice=invoice, actor=w.bob, method="card_terminal", amount="60")
    return w


class SuperbillPdfTests:
    def test_the_receipt_as_a_superbill_carries_every_code(self, claim):
        text = pdf_text(receipt_pdf(claim.invoice, superbill=True))
        for expected in ("Superbill - Receipt INV-000001", "Tax ID (EIN)", "GB123456789", "11 (Office)", f"NPI {NPI}",
                         "LMT-778899", "Diagnoses (ICD-10)", "M79.1", "Myalgia", "M62.830", "97140-GP", "AB", "NMT session",
                         "60 min", "GBP 60.00"):  # fmt: skip
            assert expected in text, expected
        assert "S13.4XXA" not in text  # the other episode was not this visit's

    def test_the_plain_receipt_prints_no_codes(self, claim):
        text = pdf_text(receipt_pdf(claim.invoice))
        assert "97140" not in text and "M79.1" not in text and NPI not in text and "Tax number" in text

    def test_a_line_without_a_charted_visit_takes_the_episodes_open_on_its_date(self, claim):
        from knotwork.care.models import Visit

        Visit.objects.all().delete()
        text = pdf_text(payment_receipt_pdf(claim.payment, superbill=True))
        assert "Superbill - payment receipt" in text and "M79.1" in text and "S13.4XXA" in text and "ABC" in text

    def test_the_statement_as_a_superbill(self, claim):
        day = claim.appointment.local_start.date()
        text = pdf_text(statement_pdf(client_statement(claim.client_a, Period(day, day)), superbill=True))
        for expected in ("Superbill - statement", "11 (Office)", f"NPI {NPI}", "M62.830", "97140-GP", "Closing balance"):
            assert expected in text, expected

    def test_the_clinic_setting_makes_the_superbill_the_statements_default(self, claim, as_user):
        url = reverse("client_statement", args=[claim.client_a.pk])
        assert b"kind=statement" in as_user(claim.bob).get(url).content
        claim.clinic_a.us_superbill = True
        claim.clinic_a.save(update_fields=["us_superbill"])
        assert b"kind=superbill" in as_user(claim.bob).get(url).content
        plain = as_user(claim.bob).get(url, {"kind": "statement", "format": "pdf"})
        assert "97140" not in pdf_text(plain.content)

    def test_who_may_download_an_invoices_superbill(self, claim, portal, as_user):
        url = reverse("invoice_superbill", args=[claim.invoice.pk])
        for user, status in ((claim.bob, 200), (claim.alice, 200), (portal, 200), (claim.charlie, 404)):
            assert as_user(user).get(url).status_code == status, user
        r = as_user(portal).get(url)
        assert 'filename="superbill-INV-000001.pdf"' in r["Content-Disposition"] and "97140-GP" in pdf_text(r.content)
        assert AuditEvent.objects.filter(object_type="billing.invoice", action="export", detail__superbill=True, role="client").exists()
        pay = reverse("payment_superbill", args=[claim.payment.pk])
        assert as_user(claim.bob).get(pay).status_code == 200
        assert as_user(claim.charlie).get(pay).status_code == 404 and as_user(claim.alice).get(pay).status_code == 403
