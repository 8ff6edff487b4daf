"""Read back the text of a PDF made by knotwork.lib.pdf, for tests, with no PDF library.

fpdf2 writes each line of a multi_cell or table cell as one text object (``BT x y Td (..) Tj ET``)
in the embedded font's own 2-byte codes; the font's ToUnicode map turns them back into
characters. That is all this reads: enough to see which words landed on which line.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

_OBJ_START = re.compile(rb"(?m)^(\d+) 0 obj\s*")
_STREAM_START = re.compile(rb"stream\r?\n")
_REF = re.compile(rb"/(\w+)\s+(\d+) 0 R")
_TOKEN = re.compile(rb"\((?:\\.|[^\\)])*\)|\[|\]|/\w+|[-+]?\d*\.?\d+|[A-Za-z'\"*]+", re.S)


@dataclass(frozen=True)
class Run:
    page: int
    x: float
    y: float
    text: str


def _objects(data: bytes) -> dict[int, tuple[bytes, bytes]]:
    """Object number -> (dictionary, decoded stream). Streams are cut by their /Length, not by
    searching for "endstream", which binary font data may contain."""
    out: dict[int, tuple[bytes, bytes]] = {}
    pos = 0
    while m := _OBJ_START.search(data, pos):
        start = m.end()
        stream = _STREAM_START.search(data, start)
        end = data.find(b"endobj", start)
        if stream and stream.start() < end:
            head = data[start : stream.start()]
            length = re.search(rb"/Length (\d+)", head)
            assert length, head
            raw = data[stream.end() : stream.end() + int(length.group(1))]
            if b"/FlateDecode" in head:
                raw = zlib.decompress(raw)
            end = data.find(b"endobj", stream.end() + int(length.group(1)))
            out[int(m.group(1))] = (head, raw)
        else:
            out[int(m.group(1))] = (data[start:end], b"")
        pos = end + len(b"endobj")
    return out


def _cmap(raw: bytes) -> dict[bytes, str]:
    out: dict[bytes, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", raw, re.S):
        for code, uni in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[bytes.fromhex(code.decode())] = bytes.fromhex(uni.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", raw, re.S):
        for lo, hi, start in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            first = int(start, 16)
            for i, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[code.to_bytes(len(lo) // 2, "big")] = chr(first + i)
    return out


def _literal(token: bytes) -> bytes:
    """The bytes of a PDF literal string token ``(...)``."""
    out = bytearray()
    body, i = token[1:-1], 0
    escapes = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
    while i < len(body):
        c = body[i]
        if c == 0x5C and i + 1 < len(body):  # backslash
            nxt = body[i + 1]
            octal = re.match(rb"[0-7]{1,3}", body[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(0), 8) & 0xFF)
                i += 1 + len(octal.group(0))
                continue
            out.append(escapes.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def pdf_runs(data: bytes) -> list[Run]:
    """Every text object in page order, decoded to Unicode (``?`` only where the PDF has one)."""
    objects = _objects(data)
    fonts: dict[str, dict[bytes, str]] = {}
    for head, _raw in objects.values():
        for name, num in _REF.findall(head):
            target = objects.get(int(num))
            if target and b"/Type /Font" in target[0] and b"/ToUnicode" in target[0]:
                to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", target[0])
                assert to_unicode
                fonts[name.decode()] = _cmap(objects[int(to_unicode.group(1))][1])
    runs: list[Run] = []
    pages = [raw for head, raw in (objects[int(n)] for n in re.findall(rb"/Contents (\d+) 0 R", data))]
    for page_no, content in enumerate(pages, 1):
        font: dict[bytes, str] = {}
        stack: list[bytes] = []
        x = y = 0.0
        parts: list[str] = []
        for tok in _TOKEN.findall(content):
            if tok == b"Tf":
                font = fonts.get(stack[-2].lstrip(b"/").decode(), {})
            elif tok == b"Td":
                x, y = float(stack[-2]), float(stack[-1])
            elif tok in (b"Tj", b"TJ"):
                for s in (t for t in stack if t.startswith(b"(")):
                    raw = _literal(s)
                    parts.append("".join(font.get(raw[i : i + 2], "\ufffd") for i in range(0, len(raw) - 1, 2)))
            elif tok == b"ET":
                if parts:
                    runs.append(Run(page_no, x, y, "".join(parts)))
                parts = []
            if tok in (b"Tf", b"Td", b"Tj", b"TJ", b"BT", b"ET") or tok.isalpha():
                stack = []
            else:
                stack.append(tok)
    return runs


def pdf_text(data: bytes) -> str:
    return "\n".join(r.text for r in pdf_runs(data))
