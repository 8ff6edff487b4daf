"""Hardened image uploads: check, decode safely, re-encode, store under a random name, serve privately.

Every uploaded image goes through :func:`clean_image` before anything is stored:

1. size: empty files and files over the policy's byte limit are refused (and
   :func:`limit_upload_size` stops reading a request's file once it passes the limit);
2. name: a client file name that looks like a path or carries control characters is refused;
   the name is never used for storage, only kept (cleaned) as a label;
3. format: decided by the file's first bytes, not its extension; only JPEG, PNG, WebP and
   (when pi_heif is installed) HEIC/HEIF, and Pillow is told to try only that decoder;
4. pixels: the header's width × height is checked before any pixel is decoded, so a
   decompression bomb (a small file that expands to gigabytes) never reaches memory;
5. decode: a truncated or damaged file is refused;
6. re-encode: the decoded pixels are written as a fresh JPEG after applying the EXIF orientation,
   so no metadata (EXIF, GPS, XMP, ICC comments) and no polyglot payload survives.

Stored files are never served from MEDIA_URL: :func:`private_image_response` is for views that
have already checked access, and sets nosniff, a sandbox CSP and no-store.
"""

from __future__ import annotations

import io
import re
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import IO, Any

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import FileResponse, HttpRequest
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from PIL import Image, ImageOps

try:  # HEIC from phones; optional so a minimal install still accepts JPEG/PNG/WebP.
    import pi_heif

    pi_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - depends on the installation
    HEIF_AVAILABLE = False


class UploadRejected(ValueError):
    """The upload was refused; ``str(exc)`` is a message to show the person who sent it."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ImagePolicy:
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_output_side: int = 4000
    thumbnail_side: int = 480
    quality: int = 88
    allow_heif: bool = True

    @property
    def accepted(self) -> str:
        return "JPEG, PNG, WebP or HEIC" if self.allow_heif and HEIF_AVAILABLE else "JPEG, PNG or WebP"


PHOTO_POLICY = ImagePolicy()


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    thumbnail: bytes
    width: int
    height: int
    source_format: str
    display_name: str
    content_type: str = "image/jpeg"
    extension: str = "jpg"


@dataclass(frozen=True)
class StoredImage:
    name: str
    thumbnail_name: str


_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif")
_BAD_NAME = re.compile(r"[/\\\x00-\x1f\x7f]|^\.{1,2}$|(^|[/\\])\.\.([/\\]|$)")


def sniff_format(head: bytes) -> str | None:
    """The image format from the first bytes of the file, whatever its name says."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def safe_display_name(name: str) -> str:
    """A label for the upload: no path, no control characters, at most 100 characters."""
    name = re.split(r"[/\\]", name or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[-100:] or "upload"


def check_file_name(name: str) -> None:
    if _BAD_NAME.search(name or ""):
        raise UploadRejected("The file name looks like a path or contains control characters. Rename the file and try again.", "bad_name")


def _read_capped(fileobj: IO[bytes], limit: int) -> bytes:
    if hasattr(fileobj, "seek"):
        fileobj.seek(0)
    data = fileobj.read(limit + 1)
    if len(data) > limit:
        raise UploadRejected(f"The file is larger than {limit // (1024 * 1024)} MB. Export a smaller photo and try again.", "too_large")
    return data


def _rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # No exif=, no icc_profile=, no comment: the new file carries pixels only.
    img.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def clean_image(fileobj: IO[bytes], *, name: str, policy: ImagePolicy = PHOTO_POLICY) -> CleanImage:
    """Check and re-encode one uploaded image, or raise :class:`UploadRejected` with a clear message."""
    check_file_name(name)
    data = _read_capped(fileobj, policy.max_bytes)
    if not data:
        raise UploadRejected("The file is empty.", "empty")
    fmt = sniff_format(data[:32])
    if fmt is None or (fmt == "HEIF" and not (policy.allow_heif and HEIF_AVAILABLE)):
        raise UploadRejected(f"This is not a {policy.accepted} image.", "not_an_image")
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice that; here every bomb is an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img: Image.Image = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = img.size
            if width * height > policy.max_pixels:
                raise UploadRejected(
                    f"The image has too many pixels ({width} × {height}); the limit is {policy.max_pixels // 1_000_000} megapixels.",
                    "too_many_pixels",
                )
            img.load()
            img = ImageOps.exif_transpose(img)
            img = _rgb(img)
        except UploadRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise UploadRejected("The image is too large to open safely.", "too_many_pixels") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise UploadRejected("The image is damaged or incomplete. Take or export it again.", "damaged") from exc
    if max(img.size) > policy.max_output_side:
        img.thumbnail((policy.max_output_side, policy.max_output_side), Image.Resampling.LANCZOS)
    thumb = img.copy()
    thumb.thumbnail((policy.thumbnail_side, policy.thumbnail_side), Image.Resampling.LANCZOS)
    return CleanImage(
        data=_jpeg(img, policy.quality),
        thumbnail=_jpeg(thumb, 80),
        width=img.width,
        height=img.height,
        source_format=fmt,
        display_name=safe_display_name(name),
    )


def random_name(folder: str, extension: str, suffix: str = "") -> str:
    return f"{folder.strip('/')}/{uuid.uuid4().hex}{suffix}.{extension}"


def store_image(image: CleanImage, *, folder: str, storage: Storage | None = None) -> StoredImage:
    """Save a cleaned image and its thumbnail under fresh random names. Delete them if the caller's
    transaction fails (see :func:`delete_stored`)."""
    storage = storage or default_storage
    base = random_name(folder, image.extension)
    name = storage.save(base, ContentFile(image.data))
    try:
        thumb = storage.save(base.replace(f".{image.extension}", f"_thumb.{image.extension}"), ContentFile(image.thumbnail))
    except Exception:
        storage.delete(name)
        raise
    return StoredImage(name=name, thumbnail_name=thumb)


def delete_stored(*names: str, storage: Storage | None = None) -> None:
    storage = storage or default_storage
    for name in names:
        if name:
            storage.delete(name)


def private_image_response(name: str, *, content_type: str = "image/jpeg", storage: Storage | None = None) -> FileResponse:
    """Stream a stored image to a caller the view has already authorised.

    The type is the one we encoded, never the upload's; nosniff and a sandbox CSP stop a browser
    treating it as anything else; no-store keeps clinical photos out of shared caches.
    """
    storage = storage or default_storage
    response = FileResponse(storage.open(name, "rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = "inline"
    return response


# --- request size cap -----------------------------------------------------------------------


class SizeCapUploadHandler(FileUploadHandler):
    """Stops reading a file once it passes ``max_bytes``: Django itself has no total upload cap and
    would otherwise spool any size to disk. Sets ``request.upload_too_large``."""

    def __init__(self, request: HttpRequest, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.seen = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        self.seen = 0
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.seen += len(raw_data)
        if self.seen > self.max_bytes:
            self.request.upload_too_large = True  # type: ignore[union-attr]
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def limit_upload_size(max_bytes: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate an upload view so no file above ``max_bytes`` is read to the end.

    The handler must be installed before the body is parsed, and the CSRF check parses it; so the
    view is CSRF-exempt on the outside and CSRF-protected again inside (Django's documented pattern).
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        protected = csrf_protect(view)

        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            request.upload_too_large = False  # type: ignore[attr-defined]
            request.upload_handlers.insert(0, SizeCapUploadHandler(request, max_bytes))  # type: ignore[union-attr]
            if request.method == "POST":
                # Parse now, under the cap, so ``upload_too_large`` is known before the view runs.
                request.POST  # noqa: B018
            return protected(request, *args, **kwargs)

        return wrapper

    return decorator


def too_large_message(max_bytes: int) -> str:
    return f"The file is larger than {max_bytes // (1024 * 1024)} MB. Export a smaller photo and try again."
