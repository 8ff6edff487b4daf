"""PDFs print every character as typed, wrap at spaces, and keep a signature block together."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from django.utils import timezone

from knotwork.accounts.models import Membership
from knotwork.atlas.models import Muscle, TriggerPoint
from knotwork.atlas.services import atlas_load
from knotwork.care import services as care
from knotwork.care.documents import note_pdf
from knotwork.care.selectors import visit_full
from knotwork.clients.consent import current_documents
from knotwork.clients.documents import consent_pdf
from knotwork.clients.intake.services import SignatureInput, consent_sign
from knotwork.lib.pdf import FONT_DIR, Document, pdf_safe
from tests.lib.pdf_text import Run, pdf_runs, pdf_text

ROOT = Path(__file__).resolve().parents[2]
TYPOGRAPHY = "Zoë Ó Briain-Łukasiewicz – it’s 3 × 30 s at 40 °C, pain ≥ 7 “on and off”; Ærøskøbing, Ελένη, Пётр"
SIGNATURE = "M10 10 L20 20 L30 25 L40 30 L50 35 L60 40 L70 45 L80 50"
PHONE_BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


def words(text: str) -> set[str]:
    """The ordinary words of ``text``: letters only, short enough to fit any column."""
    return {w for w in re.findall(r"[^\W\d_]+", text) if 2 < len(w) <= 12}


def split_words(runs: list[Run], text: str) -> set[str]:
    """Words of ``text`` that no single line holds whole: they were cut across lines."""
    lines = [r.text for r in runs]
    return {w for w in words(text) if not any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", line) for line in lines)}


def body(runs: list[Run]) -> list[Run]:
    """Runs above the footer band (the footer sits 14 mm from the bottom: y < 60 pt)."""
    return [r for r in runs if r.y > 60]


class FontFilesTests:
    def test_the_fonts_and_their_licence_are_in_the_package(self):
        assert {p.name for p in FONT_DIR.iterdir()} >= {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE.txt"}
        assert "Bitstream Vera" in (FONT_DIR / "LICENSE.txt").read_text(encoding="utf-8")
        data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]["*"]
        assert "*.ttf" in data and "*.txt" in data


class DocumentTextTests:
    def test_typographic_and_accented_characters_print_as_themselves(self):
        doc = Document(title=f"Visit note – {TYPOGRAPHY[:26]}", footer="Harbour – note")
        doc.paragraph(TYPOGRAPHY)
        doc.facts([("Client", "Zoë Ó Briain-Łukasiewicz")])
        doc.table(["Hold × reps", "Temp."], [["30 s × 3", "40 °C"]])
        text = pdf_text(doc.output())
        assert "?" not in text and "\ufffd" not in text
        for piece in ("Visit note – Zoë", "it’s 3 × 30 s at 40 °C, pain ≥ 7 “on and off”", "Ærøskøbing", "Ελένη", "Пётр", "30 s × 3"):
            assert piece in text
        assert "Zoë Ó Briain-Łukasiewicz" in text.splitlines()

    def test_pdf_safe_keeps_every_printable_character_and_drops_invisible_ones(self):
        assert pdf_safe("“Hi” – it’s Zoë\u200b\x07") == "“Hi” – it’s Zoë"
        assert pdf_safe("a\tb\r\nc") == "a    b\nc"
        assert pdf_safe(None) == ""

    def test_a_character_the_font_lacks_leaves_a_visible_mark_not_a_gap_or_a_question_mark(self):
        assert pdf_safe("Zoë 漢 Lovelace") == "Zoë \ufffd Lovelace"
        doc = Document(title="Names")
        doc.paragraph("Zoë 漢 Lovelace")
        assert "Zoë \ufffd Lovelace" in pdf_text(doc.output()).splitlines()

    def test_long_paragraphs_and_narrow_table_columns_wrap_between_words(self):
        text = "Gluteus medius – posterior fibres near the sacroiliac joint, quadratus lumborum superficial fibres. " * 3
        doc = Document(title="Wrapping")
        doc.paragraph(text)
        doc.table(["Technique", "Target", "Pressure"], [["Trigger-point pressure release", text[:90], "6/10"]], widths=[30, 42, 20])
        runs = pdf_runs(doc.output())
        assert split_words(runs, text) == set()
        assert {"sacroiliac", "superficial", "Pressure", "release"} <= {w for r in runs for w in r.text.split()}

    def test_a_word_wider_than_the_line_is_still_split_rather_than_lost(self):
        doc = Document(title="Hash")
        doc.paragraph("x" * 400)
        text = "".join(r.text for r in body(pdf_runs(doc.output())) if set(r.text) == {"x"})
        assert text == "x" * 400

    def test_facts_near_the_foot_of_a_page_move_whole_rows_instead_of_a_row_a_page(self):
        doc = Document(title="Facts")
        while doc.pdf.get_y() < doc.pdf.page_break_trigger - 12:
            doc.paragraph("A line of text to fill the page.")
        doc.facts([(f"Label {i}", f"Value {i}") for i in range(8)])
        runs = pdf_runs(doc.output())
        assert doc.pdf.page_no() == 2  # not one page per row, as before
        for i in range(8):  # each row whole on one page
            assert {r.page for r in runs if r.text in (f"Label {i}", f"Value {i}")} in ({1}, {2})
        page_two = [r.text for r in body(runs) if r.page == 2]
        assert page_two == [t for i in range(8 - len(page_two) // 2, 8) for t in (f"Label {i}", f"Value {i}")]


@pytest.fixture
def note_visit(world):
    atlas_load()
    membership = Membership.objects.select_related("clinic", "user").get(user=world.alice, clinic=world.clinic_a)
    world.client_a.first_name, world.client_a.last_name = "Zoë", "Ó Briain-Łukasiewicz"
    world.client_a.save()
    episode = care.episode_create(
        membership=membership, client=world.client_a, complaint="Headaches – right temple", started_on=timezone.localdate()
    )
    visit = care.visit_start(membership=membership, episode=episode)
    care.visit_update_notes(
        membership=membership,
        visit=visit,
        data={
            "subjective": "Pain ≥ 7/10 on waking; she’s had it “on and off” since a fall at −5 °C. " * 2,
            "objective": "Rotation 60° left × 70° right; tenderness over the sternocleidomastoid and suboccipital muscles.",
            "assessment": "Findings fit referred pain from the upper trapezius – see the table.",
            "plan": "Review in 1–2 weeks.",
        },
    )
    tps = list(TriggerPoint.objects.select_related("muscle").order_by("pk")[:6])
    for tp in tps:
        care.finding_add(membership=membership, visit=visit, trigger_point=tp,
                         data={"side": "right", "status": "active", "taut_band": True, "twitch_response": True, "referral_reproduced": True,
                               "familiar_pain": True, "tenderness": 6, "ppt_kg_cm2": None, "released": True})  # fmt: skip
    care.technique_log(membership=membership, visit=visit, technique="stretching", muscle=Muscle.objects.get(pk="levator-scapulae"),
                       trigger_point=None, side="right", hold_s=30, reps=3, pressure=4, response="eased")  # fmt: skip
    return visit_full(visit.pk)


class NotePdfTests:
    def test_the_note_prints_every_character_and_breaks_lines_between_words(self, note_visit):
        runs = pdf_runs(note_pdf(note_visit).content)
        text = "\n".join(r.text for r in runs)
        assert "?" not in text and "\ufffd" not in text
        for piece in (
            "Visit note – Zoë Ó Briain-Łukasiewicz",
            "≥ 7/10",
            "she’s",
            "“on and off”",
            "60° left × 70° right",
            "1–2 weeks",
            "kg/cm²",
        ):
            assert piece in text
        everything = " ".join(
            [
                note_visit.subjective,
                note_visit.objective,
                note_visit.assessment,
                "Trigger point Side Status Signs Tender Technique Target Pressure",
            ]
            + [
                f"{f.trigger_point.muscle.name} {f.trigger_point.name} taut band twitch referral familiar pain released"
                for f in note_visit.findings.all()
            ]
            + ["Hold reps Pain before after Response"]
        )
        assert split_words(runs, everything) == set()


@pytest.fixture
def signatures(world):
    signed = SignatureInput(typed_name="Zoë Ó Briain-Łukasiewicz", signature=SIGNATURE, ip="203.0.113.77", user_agent=PHONE_BROWSER)
    return [consent_sign(client=world.client_a, document=d, signed=signed, actor=None) for d in current_documents()]


class ConsentPdfTests:
    def test_each_standard_document_fits_one_page_with_its_signature_block(self, signatures):
        for sig in signatures:
            runs = pdf_runs(consent_pdf(sig))
            assert {r.page for r in runs} == {1}, sig.document
            text = "\n".join(r.text for r in runs)
            assert "Zoë Ó Briain-Łukasiewicz" in text and sig.text_sha256 in text.splitlines()
            assert "?" not in text.replace(PHONE_BROWSER, "")

    def test_an_overflowing_signature_block_moves_whole_and_no_page_holds_a_single_line(self, signatures):
        sig = signatures[0]
        sig.text = sig.text + "\n\nOne more section\n" + "This paragraph pushes the signature block past the foot of the first page. " * 6
        runs = pdf_runs(consent_pdf(sig))
        pages = sorted({r.page for r in runs})
        assert pages == [1, 2]
        for page in pages:
            assert len(body([r for r in runs if r.page == page])) > 3, f"page {page} is nearly empty"
        page_two = [r.text for r in body(runs) if r.page == 2]
        assert page_two[0] == "Signature" and sig.text_sha256 in page_two and "Zoë Ó Briain-Łukasiewicz" in page_two
