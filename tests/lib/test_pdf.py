"""The house-style PDF helper."""

from __future__ import annotations

from knotwork.lib.pdf import Document, pdf_safe
from tests.lib.pdf_text import pdf_runs, pdf_text


def _doc() -> Document:
    doc = Document(title="Aftercare – “today”", subtitle="Harbour Street", footer="Harbour Street clinic")
    doc.pdf.set_compression(False)
    return doc


class PdfTests:
    def test_it_produces_a_pdf_with_title_sections_and_page_numbers(self):
        doc = _doc()
        doc.section("What to do")
        doc.paragraph("Drink water and walk gently this evening.")
        data = doc.output()
        assert data.startswith(b"%PDF")
        lines = pdf_text(data).splitlines()
        assert "What to do" in lines and "Aftercare – “today”" in lines
        assert "Page 1 of 1" in lines

    def test_long_text_flows_onto_more_pages_and_every_page_is_numbered(self):
        doc = _doc()
        for i in range(120):
            doc.paragraph(f"Paragraph {i} " + "word " * 30)
        runs = pdf_runs(doc.output())
        pages = doc.pdf.page_no()
        assert pages >= 3
        assert [r.text for r in runs if r.text.startswith("Page ")] == [f"Page {n} of {pages}" for n in range(1, pages + 1)]

    def test_a_very_long_word_and_unknown_characters_do_not_break_it(self):
        doc = _doc()
        doc.paragraph("x" * 2000)
        doc.paragraph("Zoë ✓ 漢字 — fine")
        doc.facts([("Label", "y" * 500)])
        doc.table(["Area", "Before", "After"], [["Right temple", "7/10", "3/10"], ["z" * 400, "1", "2"]])
        assert doc.output().startswith(b"%PDF")

    def test_pdf_safe_leaves_characters_as_typed_for_the_embedded_font(self):
        assert pdf_safe("“Hi” – it’s Zoë") == "“Hi” – it’s Zoë"
        assert pdf_safe(None) == ""

    def test_an_svg_drawing_can_be_placed(self):
        doc = _doc()
        doc.svg(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 60 20" width="60" height="20"><path d="M1 1 L50 10" stroke="#000"/></svg>'
        )
        assert doc.output().startswith(b"%PDF")
