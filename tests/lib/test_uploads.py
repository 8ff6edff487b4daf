"""Hostile and ordinary image uploads through knotwork.lib.uploads."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import RequestFactory
from PIL import Image

from knotwork.lib.uploads import (
    ImagePolicy,
    UploadRejected,
    clean_image,
    limit_upload_size,
    private_image_response,
    safe_display_name,
    sniff_format,
    store_image,
)


def jpeg(size=(120, 80), color=(30, 120, 200), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG", **save)
    return out.getvalue()


def png_header_bomb(width: int, height: int) -> bytes:
    """A real, valid 1-bit PNG of width × height: tiny on disk, enormous once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def gps_jpeg() -> bytes:
    img = Image.new("RGB", (200, 100), (10, 200, 10))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (51.0, 27.0, 0.0)
    gps[3] = "W"
    gps[4] = (2.0, 35.0, 0.0)
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def reject(data: bytes, name: str = "photo.jpg", policy: ImagePolicy | None = None) -> UploadRejected:
    with pytest.raises(UploadRejected) as info:
        clean_image(io.BytesIO(data), name=name, **({"policy": policy} if policy else {}))
    return info.value


class HostileUploadTests:
    def test_html_named_jpg_is_not_an_image(self):
        exc = reject(b"<html><script>alert(1)</script></html>", "x.php.jpg")
        assert exc.code == "not_an_image"
        assert "not a JPEG, PNG" in str(exc)

    def test_an_svg_with_script_is_not_an_accepted_image(self):
        assert reject(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.svg").code == "not_an_image"

    @pytest.mark.parametrize("fmt", ["GIF", "TIFF", "BMP"])
    def test_other_decoders_are_never_tried(self, fmt):
        out = io.BytesIO()
        Image.new("RGB", (10, 10)).save(out, format=fmt)
        assert reject(out.getvalue(), f"a.{fmt.lower()}").code == "not_an_image"

    def test_a_jpeg_html_polyglot_is_refused_as_damaged(self):
        assert reject(b"\xff\xd8\xff\xe0" + b"<html><script>alert(1)</script></html>" * 20).code == "damaged"

    def test_a_20000_by_20000_png_bomb_is_refused_before_decoding(self):
        bomb = png_header_bomb(20_000, 20_000)
        assert len(bomb) < 200_000
        exc = reject(bomb, "bomb.png")
        assert exc.code == "too_many_pixels"

    @pytest.mark.parametrize(("w", "h"), [(10_000, 5_000), (12_000, 12_000)])
    def test_images_over_the_pixel_limit_are_refused_with_the_limit_in_the_message(self, w, h):
        exc = reject(png_header_bomb(w, h), "big.png")
        assert exc.code == "too_many_pixels"
        assert "megapixels" in str(exc) or "too large" in str(exc)

    def test_a_file_over_the_byte_limit_is_refused_without_reading_it_all(self):
        big = io.BytesIO(b"\xff\xd8\xff" + b"\x00" * (21 * 1024 * 1024))
        with pytest.raises(UploadRejected) as info:
            clean_image(big, name="huge.jpg")
        assert info.value.code == "too_large"
        assert big.tell() == 20 * 1024 * 1024 + 1
        assert "larger than 20 MB" in str(info.value)

    def test_a_truncated_jpeg_is_refused_as_damaged(self):
        data = jpeg((400, 300), quality=95)
        assert reject(data[: len(data) // 2]).code == "damaged"

    def test_an_empty_file_is_refused(self):
        assert reject(b"").code == "empty"

    @pytest.mark.parametrize("name", ["../../etc/passwd", "..\\..\\boot.ini", "/etc/shadow.jpg", "photo\r\n.jpg", "a\x00.jpg", ".."])
    def test_path_like_or_control_character_names_are_refused(self, name):
        exc = reject(jpeg(), name)
        assert exc.code == "bad_name"
        assert "looks like a path" in str(exc)

    def test_gps_and_other_exif_are_removed_and_orientation_is_applied(self):
        source = Image.open(io.BytesIO(gps_jpeg()))
        assert source.getexif().get_ifd(0x8825)  # the fixture really carries GPS
        clean = clean_image(io.BytesIO(gps_jpeg()), name="IMG_0001.JPG")
        stored = Image.open(io.BytesIO(clean.data))
        assert dict(stored.getexif()) == {}
        assert b"Exif" not in clean.data[:200]
        assert b"PhoneMaker" not in clean.data
        assert (clean.width, clean.height) == (100, 200)  # turned upright, then written without the tag
        assert Image.open(io.BytesIO(clean.thumbnail)).getexif() == {}


class OrdinaryUploadTests:
    @pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
    def test_common_formats_are_re_encoded_as_jpeg(self, fmt):
        out = io.BytesIO()
        Image.new("RGB", (64, 32), (1, 2, 3)).save(out, format=fmt)
        clean = clean_image(io.BytesIO(out.getvalue()), name=f"a.{fmt.lower()}")
        assert clean.source_format == fmt
        assert clean.data[:3] == b"\xff\xd8\xff"
        assert (clean.width, clean.height) == (64, 32)

    def test_a_transparent_png_is_flattened_onto_white(self):
        out = io.BytesIO()
        Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(out, format="PNG")
        clean = clean_image(io.BytesIO(out.getvalue()), name="t.png")
        assert Image.open(io.BytesIO(clean.data)).getpixel((5, 5)) > (240, 240, 240)

    def test_format_comes_from_the_bytes_not_the_name(self):
        assert clean_image(io.BytesIO(jpeg()), name="holiday.png").source_format == "JPEG"

    def test_heic_is_recognised_by_its_brand_and_handed_to_the_heif_decoder(self):
        fake = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
        assert sniff_format(fake[:32]) == "HEIF"
        assert reject(fake, "IMG.HEIC").code == "damaged"  # routed to pi_heif, which finds no image

    def test_large_photos_are_scaled_down_for_storage_and_get_a_thumbnail(self):
        clean = clean_image(io.BytesIO(jpeg((5000, 2500))), name="a.jpg")
        assert (clean.width, clean.height) == (4000, 2000)
        assert max(Image.open(io.BytesIO(clean.thumbnail)).size) == 480

    def test_the_display_name_keeps_no_path_or_control_characters(self):
        assert safe_display_name("C:\\Users\\x\\IMG 1.jpg") == "IMG 1.jpg"
        assert safe_display_name("a\tb.jpg") == "ab.jpg"
        assert safe_display_name("") == "upload"


class StorageAndServingTests:
    def test_files_are_stored_under_random_names_in_the_folder(self, tmp_path):
        storage = FileSystemStorage(location=tmp_path)
        clean = clean_image(io.BytesIO(jpeg()), name="secret-client-name.jpg")
        one = store_image(clean, folder="assessment/1", storage=storage)
        two = store_image(clean, folder="assessment/1", storage=storage)
        assert one.name != two.name
        assert one.name.startswith("assessment/1/") and one.name.endswith(".jpg")
        assert "secret" not in one.name and "secret" not in one.thumbnail_name
        assert storage.exists(one.name) and storage.exists(one.thumbnail_name)

    def test_the_private_response_is_nosniff_sandboxed_and_not_cached(self, tmp_path):
        storage = FileSystemStorage(location=tmp_path)
        stored = store_image(clean_image(io.BytesIO(jpeg()), name="a.jpg"), folder="x", storage=storage)
        response = private_image_response(stored.name, storage=storage)
        assert response["Content-Type"] == "image/jpeg"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert response["Cache-Control"] == "private, no-store"
        assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
        response.file_to_stream.close()  # not response.close(): that signals the end of a request


class SizeCapTests:
    def _view(self):
        seen = {}

        @limit_upload_size(1024)
        def view(request):
            seen["too_large"] = request.upload_too_large
            seen["files"] = list(request.FILES)
            seen["post"] = dict(request.POST)
            return HttpResponse("ok")

        return view, seen

    def test_a_file_over_the_cap_is_dropped_and_flagged_while_fields_before_it_survive(self):
        view, seen = self._view()
        request = RequestFactory().post("/", {"view": "anterior", "image": SimpleUploadedFile("a.jpg", b"x" * 5000)})
        request._dont_enforce_csrf_checks = True
        assert view(request).status_code == 200
        assert seen["too_large"] is True
        assert seen["files"] == []
        assert seen["post"]["view"] == ["anterior"]

    def test_a_file_under_the_cap_arrives(self):
        view, seen = self._view()
        request = RequestFactory().post("/", {"image": SimpleUploadedFile("a.jpg", b"x" * 500)})
        request._dont_enforce_csrf_checks = True
        view(request)
        assert seen == {"too_large": False, "files": ["image"], "post": {}}

    def test_the_csrf_check_still_applies(self):
        view, seen = self._view()
        request = RequestFactory().post("/", {"image": SimpleUploadedFile("a.jpg", b"x" * 500)})
        assert view(request).status_code == 403
        assert seen == {}
