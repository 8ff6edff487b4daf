"""Hostile inputs for figure 4 (tests/security/test_injection.py): one list, grouped by kind, each
payload built so a test can tell "stored and shown as text" from "executed".

The ``kw`` markers around template payloads make an evaluation visible (``kw49kw``) without
mistaking an unrelated 49 on the page for one."""

from __future__ import annotations

SQL = [
    "' OR '1'='1' --",
    "1; DROP TABLE clients_client; --",
    '" UNION SELECT password, email FROM accounts_user --',
    "%' AND 1=CAST((SELECT version()) AS int) --",
]
HTML = [
    "<script>alert('kw-xss')</script>",
    "<img src=x onerror=alert('kw-xss')>",
    '"><svg onload=alert(1)>',
    "</textarea><script>alert(2)</script>",
    "javascript:alert('kw-xss')",
]
TEMPLATE = [
    "kw{{7*7}}kw",
    "kw{% debug %}kw",
    "kw${7*7}kw",
    "kw{{ settings.SECRET_KEY }}kw",
]
HEADER = [
    "x\r\nSet-Cookie: kwinjected=1",
    "x%0d%0aSet-Cookie:%20kwinjected=1",
    "x\r\nLocation: https://evil.example/",
]
PATH = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "....//....//etc/passwd",
]
CSV = [
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '=HYPERLINK("https://evil.example","x")',
]
ODD = [
    "\x00nul",
    "a" * 5000,
    "\u202eexe.jpg \U0001f600 é",
]

ALL: list[str] = [*SQL, *HTML, *TEMPLATE, *HEADER, *PATH, *CSV, *ODD]
# One of each kind, for surfaces where every request renders a whole page (keeps the suite fast).
CORE: list[str] = [SQL[0], HTML[0], HTML[2], TEMPLATE[0], TEMPLATE[1], HEADER[0], PATH[0], CSV[0], ODD[0]]

# What a template payload becomes when evaluated: 7*7, or an empty variable between the markers.
EVALUATED = ["kw49kw", "kwkw"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def leaks(html: str) -> list[str]:
    """What in a page shows that a payload ran instead of being shown as text."""
    lowered = html.lower()
    # Markup payloads must never appear raw; a bare javascript: URL as text is harmless (links are checked below).
    found = [p for p in HTML if p[0] in '<"' and p in html]
    found += [e for e in EVALUATED if e in html]
    found += [a for a in ('href="javascript:', 'src="javascript:', "sql_queries") if a in lowered]
    return found


# --- Figure 5: hostile files (tests/security/test_uploads_hostile.py) ---------------------------


def jpeg(size: tuple[int, int] = (16, 16), *, exif: bytes | None = None) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 120, 80)).save(buf, "JPEG", **({"exif": exif} if exif else {}))
    return buf.getvalue()


def gps_exif() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (51.0, 27.0, 16.0), 3: "W", 4: (2.0, 35.0, 10.0)})
    exif[0x010F] = "KnotworkCam"
    return exif.tobytes()


def png_bomb(side: int = 60_000) -> bytes:
    """A valid PNG header announcing side × side pixels over a few bytes of data: decoding it would
    need gigabytes, so it must be refused from the header alone."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b"")


SCRIPT_MARK = b"<script>alert('kw-upload')</script>"


def hostile_files(limit: int) -> dict[str, tuple[str, bytes, bool]]:
    """name -> (client file name, bytes, may be accepted once neutralised). ``limit`` is the
    surface's byte limit: the huge file is one byte over it."""
    good = jpeg()
    return {
        "gif_js_polyglot": ("avatar.gif", b"GIF89a/*\x00\x00\x00\x00*/=1;alert('kw-upload');//" + SCRIPT_MARK, False),
        "jpeg_html_polyglot": ("scan.jpg", good + b"<html><body>" + SCRIPT_MARK + b"</body></html>", True),
        "png_decompression_bomb": ("bomb.png", png_bomb(), False),
        "truncated_jpeg": ("cut.jpg", good[: len(good) // 2], False),
        "html_named_jpg": ("photo.jpg", b"<!doctype html><html>" + SCRIPT_MARK + b"</html>", False),
        "huge": ("huge.jpg", good[:2] + b"\x00" * (limit + 1 - 2), False),
        "path_like_name": ("../../etc/passwd.jpg", good, True),
        "svg_script": ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">' + SCRIPT_MARK + b"</svg>", False),
        "exif_gps": ("holiday.jpg", jpeg(exif=gps_exif()), True),
        "pdf_with_javascript": (
            "letter.pdf",
            b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n",
            False,
        ),
    }
