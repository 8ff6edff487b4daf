"""Attachment checks: images go through the shared image cleaner (decoded and re-encoded, no
metadata); PDFs are accepted only when they look like plain documents.

A PDF is refused if it does not start with a PDF header, is over the size limit, or mentions
script, launch actions, embedded files or forms (``/JavaScript``, ``/JS``, ``/Launch``,
``/EmbeddedFile``, ``/OpenAction``, ``/AA``, ``/XFA``, ``/RichMedia``). That refuses some
harmless PDFs; a clinic can ask for a printout instead. Files are stored under random names and
only ever served through an authorising view, as downloads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO

from knotwork.lib.uploads import ImagePolicy, UploadRejected, check_file_name, clean_image, random_name, safe_display_name

MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 3
IMAGE_POLICY = ImagePolicy(max_bytes=MAX_BYTES, max_pixels=30_000_000, max_output_side=3000)
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?|OpenAction|AA|XFA|RichMedia)\b")


@dataclass(frozen=True)
class CleanFile:
    data: bytes
    display_name: str
    content_type: str
    storage_name: str


def clean_attachment(fileobj: IO[bytes], *, name: str) -> CleanFile:
    check_file_name(name)
    fileobj.seek(0)
    head = fileobj.read(8)
    fileobj.seek(0)
    if head.startswith(b"%PDF-"):
        data = fileobj.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise UploadRejected(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.", "too_large")
        if _PDF_ACTIVE.search(data):
            raise UploadRejected(
                "This PDF contains scripts, forms or embedded files, which are not accepted. Print it to PDF and try again.", "active_pdf"
            )
        if b"%%EOF" not in data[-2048:]:
            raise UploadRejected("The PDF is damaged or incomplete.", "damaged")
        display = safe_display_name(name)
        return CleanFile(
            data, display if display.lower().endswith(".pdf") else f"{display}.pdf", "application/pdf", random_name("messaging", "pdf")
        )
    image = clean_image(fileobj, name=name, policy=IMAGE_POLICY)
    display = safe_display_name(name).rsplit(".", 1)[0] + ".jpg"
    return CleanFile(image.data, display, image.content_type, random_name("messaging", image.extension))
