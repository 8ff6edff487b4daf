"""Knotwork's house-style PDF documents (signed consents, visit notes, aftercare sheets, receipts,
progress reports).

Built on fpdf2 with DejaVu Sans embedded (knotwork/lib/fonts/), so every character a client or
therapist types prints as itself: accented names, "–", "’", "×", "°", "≥", Greek and Cyrillic.
fpdf2's built-in Helvetica only knows Latin-1, which forced everything else into "?".

Why the fonts are shipped in the repository: a PDF must come out the same on every install with no
system package (DESIGN.md: the PDF stack needs none) and nothing fetched at run time (a clinic may
be offline). No package on PyPI ships DejaVu on its own as a small, maintained dependency, and
DejaVu's licence (fonts/LICENSE.txt) allows the files to travel with Knotwork. fpdf2 embeds only
the glyphs a document uses, so a one-page PDF stays small (about 25 kB).

Each process reads the two font files once (_house_font): what every document can share is kept,
and each new document gets its own font objects built from it (see _ParsedFont for which is which).

    doc = Document(title="Consent to neuromuscular therapy", subtitle="Harbour Street Clinic")
    doc.section("What it is")
    doc.paragraph(text)
    doc.facts([("Signed by", "Ada Lovelace"), ("Signed at", "3 May 2025 10:04 UTC")])
    doc.table(["Area", "Before", "After"], [["Right temple", "7/10", "3/10"]])
    data = doc.output()   # bytes
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, WrapMode, XPos, YPos
from fpdf.fonts import SubsetMap, TTFFont

INK = (27, 36, 40)
SOFT = (74, 90, 97)
BRAND = (15, 82, 87)
LINE = (217, 222, 223)
ZEBRA = (243, 247, 246)

FACT_LINE, FACT_GAP = 4.8, 0.6  # mm: a label/value row's line height and the space after it
PARAGRAPH_GAP = 1.2  # mm after a paragraph

FONT = "DejaVuSans"
FONT_DIR = Path(__file__).resolve().parent / "fonts"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

# fontTools reports every table it prunes while fpdf2 subsets the font: a dozen INFO lines a PDF.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

# Control characters and zero-width marks have no glyph: drop them rather than print a box.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]")


@cache
def _printable() -> frozenset[int]:
    """The code points both house fonts have a glyph for."""
    from fontTools.ttLib import TTFont  # fpdf2's own dependency

    maps = [TTFont(FONT_DIR / name, lazy=True)["cmap"].getBestCmap() for name in _FONT_FILES.values()]
    return frozenset(maps[0]).intersection(*maps[1:])


def pdf_safe(text: object) -> str:
    """Text as the house font prints it: tabs as spaces, invisible control characters dropped.

    Everything DejaVu Sans can draw is kept as typed. The rare character it lacks (Chinese,
    Japanese, emoji) becomes "\ufffd", the replacement mark, where fpdf2 would silently leave it
    out: a name must not lose a letter without a trace.
    """
    s = _INVISIBLE.sub("", str(text if text is not None else "").replace("\r\n", "\n").replace("\t", "    "))
    printable = _printable()
    return "".join(ch if ch == "\n" or ord(ch) in printable else "\ufffd" for ch in s)


# Reading the fonts is about half the CPU time of a one-page PDF: fpdf2's add_font() parses the
# whole TTF (character map, glyph table, advance widths) for every document. Here each house font
# is parsed once per process and every document gets its own font objects built from that
# (_font_for).
#
# What may be shared is what fpdf2 itself shares between a font and its copies
# (TTFFont.__deepcopy__ in fpdf/fonts.py): the file's metrics, its character map and its font
# descriptor, which nothing changes after parsing. What must not be shared:
#   - the fontTools TTFont: output() subsets it *in place* to the glyphs the document used
#     (fontTools.subset.Subsetter.subset(font.ttfont)) and then closes it;
#   - the subset map and the list of missing glyphs: they record which glyphs this document used;
#   - the width table: a defaultdict, so looking up a character the font lacks adds a key.
# So each document gets a fresh TTFont read from the bytes kept here, a fresh SubsetMap and
# missing-glyph list, and its own copy of the widths; the shared maps are read-only.
SHARE_PARSED_FONTS = True

# Tables that fpdf2 drops from every embedded subset (the drop_tables list in fpdf/output.py) but
# that fontTools' subsetter still parses before dropping them, plus "kern", which the subsetter
# drops whenever GPOS is present (Options.legacy_kern is off). They are removed once from the bytes
# kept here, which saves that parse in every document. Likewise the glyph names of the "post"
# table: the embedded subset carries none (the subsetter writes a format 3 "post"), so the kept
# bytes have none either and each document's TTFont is handed the names, parsed once. The
# embedded subset comes out byte for byte the same (tests/lib/test_pdf_cache.py).
_UNUSED_TABLES = ("GDEF", "GPOS", "GSUB", "MATH", "FFTM", "kern")

# The attributes fpdf2's TTFFont constructor sets (the class uses __slots__), split into those a
# document may share and those it must own. If an fpdf2 upgrade sets one more, or renames one, the
# split no longer matches and documents fall back to fpdf2's own add_font() (correct, just slower);
# tests/lib/test_pdf_cache.py then fails so that someone looks.
_SHARED = (
    "type", "ttffile", "fontkey", "emphasis", "name", "desc", "cmap", "scale", "up", "ut", "sp", "ss",
    "is_compressed", "is_cff", "is_cid_keyed", "is_symbol", "cff_ros", "collection_font_number", "palette_index",
)  # fmt: skip
_OWN = ("i", "ttfont", "cw", "glyph_ids", "missing_glyphs", "subset", "biggest_size_pt", "_hbfont", "color_font")


@dataclass(frozen=True)
class _ParsedFont:
    """One house font as parsed once per process; never handed to a document as it is."""

    data: bytes  # the TTF without _UNUSED_TABLES: each document's TTFont is read from it
    shared: Mapping[str, object]  # the _SHARED attributes
    widths: dict[int, float]  # character -> advance width (a defaultdict); copied for each document
    glyph_ids: Mapping[int, int]  # character -> glyph id; copied for each document
    glyph_order: tuple[str, ...]  # glyph names by id, as the file's "post" table gives them


_parsed: dict[str, _ParsedFont | None] = {}
_parse_lock = threading.Lock()


def _house_font(style: str) -> _ParsedFont | None:
    """The house font of ``style``, parsed once per process; None if it cannot be shared safely
    (then each document parses it through fpdf2's add_font, as without this cache)."""
    with _parse_lock:  # threads starting at once parse the file once between them
        if style not in _parsed:
            _parsed[style] = _parse(style)
        return _parsed[style]


def _parse(style: str) -> _ParsedFont | None:
    path = FONT_DIR / _FONT_FILES[style]
    holder = FPDF()
    holder.add_font(FONT, style, path)
    font = holder.fonts[f"{FONT.lower()}{style}"]
    assert isinstance(font, TTFFont)
    font.close()
    set_by_fpdf2 = {name for name in TTFFont.__slots__ if hasattr(font, name)}
    # Some fonts need more than their file: fpdf2 draws a .notdef glyph into a TTFont that lacks
    # one, builds a colour-font object, or handles CFF outlines and compressed files specially.
    # A TTFont freshly read for each document would miss that, so such a font is not shared.
    with ttLib.TTFont(path, recalcTimestamp=False, lazy=True) as original:
        glyph_order = tuple(original.getGlyphOrder())
        has_notdef = "glyf" in original and ".notdef" in glyph_order
    if set_by_fpdf2 != {*_SHARED, *_OWN} or not has_notdef or font.is_compressed or font.is_cff or font.is_symbol or font.color_font:
        return None
    with ttLib.TTFont(path, recalcTimestamp=False, lazy=True) as slim:
        for tag in _UNUSED_TABLES:
            if tag in slim:
                del slim[tag]
        slim["post"].formatType = 3.0  # no glyph names: each document's TTFont is given glyph_order
        buffer = io.BytesIO()
        slim.save(buffer)
    return _ParsedFont(
        data=buffer.getvalue(),
        shared={name: getattr(font, name) for name in _SHARED},
        widths=font.cw,
        glyph_ids=dict(font.glyph_ids),
        glyph_order=glyph_order,
    )


def shares_parsed_fonts() -> bool:
    """Whether documents get the house fonts from the per-process parse (False: each parses them)."""
    return SHARE_PARSED_FONTS and all(_house_font(style) is not None for style in _FONT_FILES)


def _font_for(pdf: FPDF, style: str) -> None:
    """Give ``pdf`` its own house font of ``style`` (what fpdf2's add_font does, without the parse)."""
    parsed = _house_font(style) if SHARE_PARSED_FONTS else None
    if parsed is None:
        pdf.add_font(FONT, style, FONT_DIR / _FONT_FILES[style])
        return
    font = TTFFont.__new__(TTFFont)
    for name, value in parsed.shared.items():
        setattr(font, name, value)
    font.i = len(pdf.fonts) + 1
    font.ttfont = ttLib.TTFont(io.BytesIO(parsed.data), recalcTimestamp=False, lazy=True)
    font.ttfont.setGlyphOrder(list(parsed.glyph_order))
    font.cw = parsed.widths.copy()  # a defaultdict's copy keeps its default (the .notdef width)
    font.glyph_ids = dict(parsed.glyph_ids)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    font.color_font = None
    font.subset = SubsetMap(font)
    pdf.fonts[font.fontkey] = font


class _PDF(FPDF):
    footer_text = ""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for style in _FONT_FILES:
            _font_for(self, style)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_draw_color(*LINE)
        self.line(self.l_margin, self.get_y() - 2, self.w - self.r_margin, self.get_y() - 2)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*SOFT)
        self.cell(0, 6, pdf_safe(self.footer_text), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="R")


class Document:
    """One A4 document in Knotwork's house style: title block, sections, facts, tables, footer."""

    LINE_MM_PER_PT = 0.5  # line height for running text: 10 pt type on 5 mm lines

    def __init__(self, *, title: str, subtitle: str = "", footer: str = "Knotwork") -> None:
        self.pdf = _PDF(format="A4", unit="mm")
        self.pdf.footer_text = footer
        self.pdf.set_title(pdf_safe(title))
        self.pdf.set_creator("Knotwork")
        self.pdf.set_auto_page_break(auto=True, margin=20)
        self.pdf.set_margins(18, 18, 18)
        self.pdf.add_page()
        self.pdf.set_text_color(*BRAND)
        self.pdf.set_font(FONT, "B", 17)
        self._write(title, 8)
        if subtitle:
            self.pdf.set_text_color(*SOFT)
            self.pdf.set_font(FONT, "", 10.5)
            self._write(subtitle, 6)
        self.pdf.set_draw_color(*BRAND)
        self.pdf.set_line_width(0.6)
        y = self.pdf.get_y() + 2
        self.pdf.line(self.pdf.l_margin, y, self.pdf.w - self.pdf.r_margin, y)
        self.pdf.set_line_width(0.2)
        self.pdf.ln(4)

    @property
    def width(self) -> float:
        return float(self.pdf.w - self.pdf.l_margin - self.pdf.r_margin)

    def _write(self, text: str, height: float) -> None:
        # WORD wraps at spaces; only a "word" longer than the whole line (a URL, a hash) is split.
        # Ragged right, not justified: justified lines open wide gaps that make text harder to read.
        self.pdf.multi_cell(self.width, height, pdf_safe(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.WORD, align="L")

    def _height(self, text: str, width: float, line: float, *, style: str = "", size: float = 10) -> float:
        """How tall ``text`` comes out at this width and type, without drawing it."""
        self.pdf.set_font(FONT, style, size)
        height = self.pdf.multi_cell(width, line, pdf_safe(text), dry_run=True, output=MethodReturnValue.HEIGHT, wrapmode=WrapMode.WORD)
        return float(height)  # type: ignore[arg-type]

    def keep_together(self, height: float) -> None:
        """Start a new page unless the next ``height`` mm still fit on this one."""
        if self.pdf.get_y() + height > self.pdf.page_break_trigger:
            self.pdf.add_page()

    def section(self, heading: str, *, keep: float = 16) -> None:
        """A heading, kept on one page with at least ``keep`` mm of what follows it."""
        self.keep_together(2.5 + self._height(heading, self.width, 6, style="B", size=11.5) + keep)
        self.pdf.ln(2)
        self.pdf.set_text_color(*BRAND)
        self.pdf.set_font(FONT, "B", 11.5)
        self._write(heading, 6)
        self.pdf.ln(0.5)

    def paragraph(self, text: str, *, muted: bool = False, size: float = 10) -> None:
        self.pdf.set_text_color(*(SOFT if muted else INK))
        self.pdf.set_font(FONT, "", size)
        self._write(text, size * self.LINE_MM_PER_PT)
        self.pdf.ln(PARAGRAPH_GAP)

    def paragraph_height(self, text: str, *, size: float = 10) -> float:
        return self._height(text, self.width, size * self.LINE_MM_PER_PT, size=size) + PARAGRAPH_GAP

    def _label_width(self) -> float:
        return min(52.0, self.width * 0.35)

    def _fact_height(self, label: str, value: str, size: float) -> float:
        label_w = self._label_width()
        return max(
            self._height(label, label_w, FACT_LINE, style="B", size=9), self._height(value, self.width - label_w, FACT_LINE, size=size)
        )

    def facts(self, rows: Sequence[tuple[str, str]], *, size: float = 9.5) -> None:
        """Label/value pairs, labels in a narrow muted column. A row never straddles two pages
        (a row that did used to push each following row onto a page of its own)."""
        label_w = self._label_width()
        for label, value in rows:
            row_h = self._fact_height(label, value, size)
            self.keep_together(row_h)
            page, y = self.pdf.page, self.pdf.get_y()
            self.pdf.set_font(FONT, "B", 9)
            self.pdf.set_text_color(*SOFT)
            self.pdf.multi_cell(label_w, FACT_LINE, pdf_safe(label), new_x=XPos.RIGHT, new_y=YPos.TOP, align="L")
            self.pdf.set_font(FONT, "", size)
            self.pdf.set_text_color(*INK)
            self.pdf.multi_cell(self.width - label_w, FACT_LINE, pdf_safe(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
            bottom = y + row_h if self.pdf.page == page else self.pdf.get_y()  # a row taller than a page flowed on
            self.pdf.set_y(max(self.pdf.get_y(), bottom) + FACT_GAP)

    def facts_height(self, rows: Sequence[tuple[str, str]], *, size: float = 9.5) -> float:
        return sum(self._fact_height(label, value, size) + FACT_GAP for label, value in rows)

    def table(self, headings: Sequence[str], rows: Sequence[Sequence[object]], *, widths: Sequence[float] | None = None) -> None:
        """A table with a header row repeated on each page and zebra rows; cells wrap at spaces."""
        self.pdf.set_font(FONT, "", 9)
        self.pdf.set_text_color(*INK)
        self.pdf.set_draw_color(*LINE)
        with self.pdf.table(
            col_widths=tuple(widths) if widths else None,
            width=self.width,
            headings_style=_heading_style(),
            cell_fill_color=ZEBRA,
            cell_fill_mode="ROWS",
            line_height=5,
            text_align="LEFT",
            # WORD, not CHAR: CHAR cut ordinary words anywhere ("sacroili / ac"). A single word
            # wider than its column is still split, so nothing runs past the cell.
            wrapmode=WrapMode.WORD,
        ) as table:
            head = table.row()
            for h in headings:
                head.cell(pdf_safe(h))
            for r in rows:
                row = table.row()
                for value in r:
                    row.cell(pdf_safe(value))
        self.pdf.ln(3)

    @staticmethod
    def svg_height(svg: str, *, width: float = 70) -> float:
        """The height an SVG with a viewBox takes at ``width`` mm (plus the gap after it)."""
        box = re.search(r'viewBox="\s*[-\d.]+[\s,]+[-\d.]+[\s,]+([\d.]+)[\s,]+([\d.]+)', svg)
        return (width * float(box.group(2)) / float(box.group(1)) if box and float(box.group(1)) else width) + 2

    def svg(self, svg: str, *, width: float = 70) -> None:
        """An SVG drawing (a signature, a small chart) at ``width`` mm, keeping its proportions."""
        self.keep_together(self.svg_height(svg, width=width))
        self.pdf.image(io.BytesIO(svg.encode("utf-8")), x=self.pdf.l_margin, w=width)
        self.pdf.ln(2)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _heading_style() -> object:
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=BRAND)
