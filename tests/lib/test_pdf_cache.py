"""The house fonts are parsed once per process, and no document sees another's glyphs or state.

fpdf2 subsets each embedded font to the glyphs its document used and keeps that record in the
font object, so what knotwork.lib.pdf shares between documents must stay read-only. These tests
read the PDFs back: the text through each font's ToUnicode map (tests/lib/pdf_text.py), and the
embedded font programs with fontTools, checking that every code a page uses draws the glyph of
its own character and that a font carries the glyphs of its own document only.
"""

from __future__ import annotations

import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from fontTools.ttLib import TTFont

from knotwork.lib import pdf
from knotwork.lib.pdf import FONT_DIR, Document
from tests.lib.pdf_text import _objects, pdf_text

CREATED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

# Texts with no letter in common outside ASCII, so a glyph leaking from one document into
# another shows up as a character the other never printed.
GREEK = "Ελένη Παπαδοπούλου: ώμος, αυχένας"
CYRILLIC = "Пётр Иванович: плечо, шея"
ACCENTED = "Zoë Ó Briain-Łukasiewicz – Ærøskøbing"
SCRIPTS = {"greek": GREEK, "cyrillic": CYRILLIC, "accented": ACCENTED}


def build(text: str, *, pages: int = 1) -> bytes:
    """A document exercising every part of the house style, with a fixed creation date."""
    doc = Document(title=f"Visit note – {text[:12]}", subtitle=text, footer=f"Footer {text[:8]}")
    doc.pdf.set_creation_date(CREATED)
    for n in range(pages):
        doc.section(f"Section {n} {text}")
        doc.paragraph(f"{text} " * 12)
    doc.facts([("Client", text), ("When", "3 May 2026 10:04")])
    doc.table(["Area", "Note"], [[text, "7/10"], ["Right temple", text]])
    return doc.output()


@dataclass
class EmbeddedFont:
    name: str
    to_unicode: dict[int, str]  # code in the page content -> character
    cid_to_gid: bytes  # the CIDToGIDMap stream: 2 bytes a code
    program: TTFont  # the embedded (subset) font file


def embedded_fonts(data: bytes) -> list[EmbeddedFont]:
    objects = _objects(data)

    def ref(head: bytes, key: bytes) -> int:
        found = re.search(rb"/" + key + rb" \[?(\d+) 0 R", head)
        assert found, (key, head)
        return int(found.group(1))

    fonts = []
    for head, _ in objects.values():
        if b"/Subtype /Type0" not in head:
            continue
        cid_font = objects[ref(head, b"DescendantFonts")][0]
        descriptor = objects[ref(cid_font, b"FontDescriptor")][0]
        to_unicode_stream = objects[ref(head, b"ToUnicode")][1]
        to_unicode = {}
        for code, uni in re.findall(rb"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>", to_unicode_stream):
            to_unicode[int(code, 16)] = bytes.fromhex(uni.decode()).decode("utf-16-be")
        name = re.search(rb"/BaseFont /(\S+)", head)
        assert name
        fonts.append(
            EmbeddedFont(
                name=name.group(1).decode(),
                to_unicode=to_unicode,
                cid_to_gid=objects[ref(cid_font, b"CIDToGIDMap")][1],
                program=TTFont(io.BytesIO(objects[ref(descriptor, b"FontFile2")][1])),
            )
        )
    return fonts


def check_fonts_draw_their_own_characters(data: bytes) -> set[str]:
    """Every code of every embedded font draws the glyph its font maps its character to; the
    characters the fonts carry (beyond the space and .notdef fpdf2 always keeps) are returned."""
    carried: set[str] = set()
    fonts = embedded_fonts(data)
    assert sorted(f.name.split("+")[1] for f in fonts) == ["DejaVuSansBold", "DejaVuSansBook"]
    for font in fonts:
        cmap = font.program.getBestCmap()
        for code, char in font.to_unicode.items():
            gid = int.from_bytes(font.cid_to_gid[2 * code : 2 * code + 2], "big")
            if code == 0:  # fpdf2 reserves code 0 for .notdef
                assert gid == 0
                continue
            assert ord(char) in cmap, (font.name, char)
            assert font.program.getGlyphID(cmap[ord(char)]) == gid, (font.name, char)
        carried |= {chr(c) for c in cmap}
        # A subset (the characters used plus the parts of accented letters), not the whole font.
        assert font.program["maxp"].numGlyphs < 300 < len(pdf._house_font("").glyph_order)  # type: ignore[union-attr]
    return carried - {" "}


def own_characters(text: str) -> set[str]:
    return {ch for ch in text if not ch.isascii()}


class SharedFontTests:
    def test_both_house_fonts_are_parsed_once_with_the_installed_fpdf2(self):
        # False would mean an fpdf2 upgrade changed TTFFont's attributes: every document would
        # parse the fonts again (correct but slow) until knotwork/lib/pdf.py's split is updated.
        assert pdf.shares_parsed_fonts()

    def test_output_is_byte_for_byte_what_fpdf2_makes_on_its_own(self, monkeypatch):
        shared = build(ACCENTED + GREEK, pages=4)
        assert build(ACCENTED + GREEK, pages=4) == shared  # fpdf2's output is deterministic
        monkeypatch.setattr(pdf, "SHARE_PARSED_FONTS", False)
        assert build(ACCENTED + GREEK, pages=4) == shared
        assert b"/FontFile2" in shared

    def test_documents_built_one_after_another_each_hold_only_their_own_text_and_glyphs(self):
        outputs = {name: build(text) for name, text in SCRIPTS.items()}
        for name, data in outputs.items():
            text = pdf_text(data)
            carried = check_fonts_draw_their_own_characters(data)
            assert SCRIPTS[name] in text.splitlines()
            assert own_characters(SCRIPTS[name]) <= carried
            for other, other_text in SCRIPTS.items():
                if other != name:
                    assert other_text not in text
                    assert not (own_characters(other_text) - own_characters(SCRIPTS[name] + "–")) & carried, (name, other)

    def test_documents_built_at_once_in_threads_match_the_same_documents_built_alone(self, monkeypatch):
        texts = [f"{text} {n}" for n in range(3) for text in SCRIPTS.values()]
        start = threading.Barrier(len(texts))

        def at_once(text: str) -> bytes:
            start.wait(timeout=60)
            return build(text, pages=2)

        with ThreadPoolExecutor(max_workers=len(texts)) as pool:
            threaded = list(pool.map(at_once, texts))
        monkeypatch.setattr(pdf, "SHARE_PARSED_FONTS", False)
        alone = [build(text, pages=2) for text in texts]
        for text, data, reference in zip(texts, threaded, alone, strict=True):
            assert data == reference, text
            assert text in pdf_text(data).splitlines()

    def test_a_character_the_font_lacks_leaves_no_trace_in_the_next_document(self):
        # Drawn straight through fpdf2 (Document.paragraph would turn it into "\ufffd"), an unknown
        # character is looked up in the width table (a defaultdict: the lookup adds the key) and
        # listed as missing; neither may reach the parsed font or the next document.
        parsed = pdf._house_font("")
        assert parsed is not None
        widths, glyph_ids = dict(parsed.widths), dict(parsed.glyph_ids)
        first = Document(title="First")
        first.pdf.set_font(pdf.FONT, "", 10)
        first.pdf.cell(text="漢字")
        font = first.pdf.fonts["dejavusans"]
        assert ord("漢") in font.cw and font.missing_glyphs  # type: ignore[union-attr]
        first.output()
        second = Document(title="Second")
        assert second.pdf.fonts["dejavusans"].missing_glyphs == []  # type: ignore[union-attr]
        assert ord("漢") not in second.pdf.fonts["dejavusans"].cw
        assert dict(parsed.widths) == widths and dict(parsed.glyph_ids) == glyph_ids

    def test_the_kept_font_is_the_house_font_minus_tables_no_pdf_embeds(self):
        parsed = pdf._house_font("B")
        assert parsed is not None
        kept = TTFont(io.BytesIO(parsed.data))
        original = TTFont(FONT_DIR / "DejaVuSans-Bold.ttf")
        assert set(original.keys()) - set(kept.keys()) == {t for t in pdf._UNUSED_TABLES if t in original}
        assert kept["maxp"].numGlyphs == original["maxp"].numGlyphs == len(parsed.glyph_order)
        assert list(parsed.glyph_order) == original.getGlyphOrder()
