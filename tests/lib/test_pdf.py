"""The house-style PDF helper."""

from __future__ import annotations

from knotwork.lib.pdf import Document, pdf_safe


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
        assert b"What to do" in data
        assert b"(Page 1 of ) Tj" in data  # fpdf2 writes the page total as its own text run

    def test_long_text_flows_onto_more_pages_and_every_page_is_numbered(self):
        doc = _doc()
        for i in range(120):
            doc.paragraph(f"Paragraph {i} " + "word " * 30)
        data = doc.output()
        pages = doc.pdf.page_no()
        assert pages >= 3
        assert all(f"(Page {n} of ) Tj".encode() in data for n in range(1, pages + 1))
        assert data.count(f"({pages}) Tj".encode()) >= pages

    def test_a_very_long_word_and_unknown_characters_do_not_break_it(self):
        doc = _doc()
        doc.paragraph("x" * 2000)
        doc.paragraph("Zoë ✓ 漢字 — fine")
        doc.facts([("Label", "y" * 500)])
        doc.table(["Area", "Before", "After"], [["Right temple", "7/10", "3/10"], ["z" * 400, "1", "2"]])
        assert doc.output().startswith(b"%PDF")

    def test_pdf_safe_simplifies_punctuation_and_replaces_what_the_core_font_lacks(self):
        assert pdf_safe("“Hi” – it’s 漢") == '"Hi" - it\'s ?'
        assert pdf_safe(None) == ""
        assert pdf_safe("Zoë") == "Zoë"

    def test_an_svg_drawing_can_be_placed(self):
        doc = _doc()
        doc.svg(
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 60 20" width="60" height="20"><path d="M1 1 L50 10" stroke="#000"/></svg>'
        )
        assert doc.output().startswith(b"%PDF")
