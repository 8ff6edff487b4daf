"""Knotwork's house-style PDF documents (signed consents, aftercare sheets, progress reports).

Built on fpdf2 with its core Helvetica font, so no font files are needed anywhere. The core
fonts only know Latin-1: :func:`pdf_safe` turns typographic punctuation into plain equivalents
and anything else unknown into "?", so no client text can make a document fail to render.

    doc = Document(title="Consent to neuromuscular therapy", subtitle="Harbour Street Clinic")
    doc.section("What it is")
    doc.paragraph(text)
    doc.facts([("Signed by", "Ada Lovelace"), ("Signed at", "3 May 2025 10:04 UTC")])
    doc.table(["Area", "Before", "After"], [["Right temple", "7/10", "3/10"]])
    data = doc.output()   # bytes
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

INK = (27, 36, 40)
SOFT = (74, 90, 97)
BRAND = (15, 82, 87)
LINE = (217, 222, 223)
ZEBRA = (243, 247, 246)

_REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2026": "...", "\u00a0": " ", "\u2022": "-",
    "\u2192": "->", "\u2264": "<=", "\u2265": ">=", "\u00b7": "-", "\u200b": "",
}  # fmt: skip


def pdf_safe(text: object) -> str:
    """Text the core fonts can print: typographic punctuation simplified, other non-Latin-1 as '?'."""
    s = str(text if text is not None else "")
    s = "".join(_REPLACEMENTS.get(ch, ch) for ch in s)
    s = "".join(ch if ch in "\n\t" or (ch.isprintable() and ord(ch) < 256) else "?" for ch in s)
    return s.replace("\t", "    ")


class _PDF(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_draw_color(*LINE)
        self.line(self.l_margin, self.get_y() - 2, self.w - self.r_margin, self.get_y() - 2)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(*SOFT)
        self.cell(0, 6, pdf_safe(self.footer_text), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="R")


class Document:
    """One A4 document in Knotwork's house style: title block, sections, facts, tables, footer."""

    def __init__(self, *, title: str, subtitle: str = "", footer: str = "Knotwork") -> None:
        self.pdf = _PDF(format="A4", unit="mm")
        self.pdf.footer_text = footer
        self.pdf.set_title(pdf_safe(title))
        self.pdf.set_creator("Knotwork")
        self.pdf.set_auto_page_break(auto=True, margin=20)
        self.pdf.set_margins(18, 18, 18)
        self.pdf.add_page()
        self.pdf.set_text_color(*BRAND)
        self.pdf.set_font("Helvetica", "B", 18)
        self._write(title, 8)
        if subtitle:
            self.pdf.set_text_color(*SOFT)
            self.pdf.set_font("Helvetica", "", 11)
            self._write(subtitle, 6)
        self.pdf.set_draw_color(*BRAND)
        self.pdf.set_line_width(0.6)
        y = self.pdf.get_y() + 2
        self.pdf.line(self.pdf.l_margin, y, self.pdf.w - self.pdf.r_margin, y)
        self.pdf.set_line_width(0.2)
        self.pdf.ln(6)

    @property
    def width(self) -> float:
        return float(self.pdf.w - self.pdf.l_margin - self.pdf.r_margin)

    def _write(self, text: str, height: float) -> None:
        # wrapmode CHAR as a fallback is what keeps a 300-character "word" (a URL, a hash) from
        # running off the page.
        self.pdf.multi_cell(self.width, height, pdf_safe(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.WORD)

    def section(self, heading: str) -> None:
        if self.pdf.get_y() > self.pdf.h - 45:
            self.pdf.add_page()
        self.pdf.ln(2)
        self.pdf.set_text_color(*BRAND)
        self.pdf.set_font("Helvetica", "B", 12.5)
        self._write(heading, 7)
        self.pdf.ln(0.5)

    def paragraph(self, text: str, *, muted: bool = False, size: float = 10.5) -> None:
        self.pdf.set_text_color(*(SOFT if muted else INK))
        self.pdf.set_font("Helvetica", "", size)
        self._write(text, size * 0.5)
        self.pdf.ln(1.5)

    def facts(self, rows: Sequence[tuple[str, str]]) -> None:
        """Label/value pairs, labels in a narrow muted column."""
        label_w = min(55.0, self.width * 0.35)
        for label, value in rows:
            y = self.pdf.get_y()
            self.pdf.set_font("Helvetica", "B", 9.5)
            self.pdf.set_text_color(*SOFT)
            self.pdf.multi_cell(label_w, 5.2, pdf_safe(label), new_x=XPos.RIGHT, new_y=YPos.TOP)
            self.pdf.set_font("Helvetica", "", 10)
            self.pdf.set_text_color(*INK)
            self.pdf.multi_cell(self.width - label_w, 5.2, pdf_safe(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.pdf.set_y(max(self.pdf.get_y(), y + 5.2) + 0.8)

    def table(self, headings: Sequence[str], rows: Sequence[Sequence[object]], *, widths: Sequence[float] | None = None) -> None:
        """A table with a header row repeated on each page and zebra rows; cells wrap."""
        self.pdf.set_font("Helvetica", "", 9.5)
        self.pdf.set_text_color(*INK)
        self.pdf.set_draw_color(*LINE)
        with self.pdf.table(
            col_widths=tuple(widths) if widths else None,
            width=self.width,
            headings_style=_heading_style(),
            cell_fill_color=ZEBRA,
            cell_fill_mode="ROWS",
            line_height=5.5,
            text_align="LEFT",
            wrapmode="CHAR",
        ) as table:
            head = table.row()
            for h in headings:
                head.cell(pdf_safe(h))
            for r in rows:
                row = table.row()
                for value in r:
                    row.cell(pdf_safe(value))
        self.pdf.ln(3)

    def svg(self, svg: str, *, width: float = 70) -> None:
        """An SVG drawing (a signature, a small chart) at ``width`` mm, keeping its proportions."""
        if self.pdf.get_y() > self.pdf.h - 50:
            self.pdf.add_page()
        self.pdf.image(io.BytesIO(svg.encode("utf-8")), x=self.pdf.l_margin, w=width)
        self.pdf.ln(2)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _heading_style() -> object:
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=BRAND)
