"""Figure 5: the hostile file set of tests/security/payloads.py against every upload surface
(assessment photo, message attachment, article cover, directory profile photo, credential document).

knotwork/lib/uploads.py's own unit tests (tests/lib/test_uploads.py) prove the cleaning; this proves
each surface uses it: every hostile file is refused with a message naming the problem and nothing
is stored, or it is stored neutralised (a fresh JPEG under a random name, no GPS, no markup), always
inside MEDIA_ROOT; stored files are never reachable under /media/, and the views that serve them
send nosniff (and a download disposition or a sandbox for non-images)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse
from PIL import Image

from knotwork.accounts.models import Membership
from knotwork.lib.uploads import PHOTO_POLICY
from tests.security.payloads import SCRIPT_MARK, hostile_files

pytestmark = pytest.mark.django_db

REFUSALS = (
    "larger than", "too large", "This is not a", "damaged", "looks like a path", "too many pixels", "contains scripts", "not accepted",
)  # fmt: skip
MB = 1024 * 1024


@pytest.fixture
def media(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def files_under(root: Path) -> set[Path]:
    return {p for p in root.parent.rglob("*") if p.is_file()}


def signed_in(user) -> HttpClient:
    c = HttpClient()
    c.force_login(user)
    return c


def article_form(title: str, **extra: object) -> dict[str, object]:
    return {
        "title": title, "summary": "Cover test.", "body": "Body.", "tags_text": "jaw", "status": "published", "publish_at": "",
        "last_reviewed": "2025-05-01", "sources": "", "cover_alt": "A cover", **extra,
    }  # fmt: skip


def surfaces(world) -> dict[str, tuple[int, Callable[[HttpClient, SimpleUploadedFile], object], Callable[[], list[str]]]]:
    """surface -> (byte limit, upload(client, file) -> response, urls that serve what was stored).
    Only a published article's cover is public (by design, like the article); the rest need a sign-in."""
    from knotwork.assessment import services as assessment_services
    from knotwork.assessment.models import Photo
    from knotwork.directory.models import Credential, TherapistProfile
    from knotwork.learn.models import Article
    from knotwork.messaging.attachments import MAX_BYTES as ATTACHMENT_MAX
    from knotwork.messaging.models import Attachment, Thread

    membership = Membership.objects.get(user=world.alice, clinic=world.clinic_a)
    signed_in(world.alice).post(reverse("thread_new"), {"client": world.client_a.pk, "subject": "Files", "body": "Files follow."})
    thread = Thread.objects.get(clinic=world.clinic_a)
    counter = iter(range(1000))

    def photo(c, f):
        # A fresh assessment each time: an assessment holds one photo per view.
        assessment = assessment_services.assessment_create(client=world.client_a, membership=membership, data={"position": "standing"})
        return c.post(reverse("assessment_photo_upload", args=[assessment.pk]), {"photo-view": "anterior", "photo-image": f}, follow=True)

    def attachment(c, f):
        return c.post(reverse("thread_detail", args=[thread.pk]), {"body": "see file", "files": [f]}, follow=True)

    def cover(c, f):
        return c.post(reverse("learn_article_new"), {**article_form(f"Cover {next(counter)}"), "cover": f}, follow=True)

    def profile_photo(c, f):
        return c.post(reverse("directory_my_photo"), {"photo": f}, follow=True)

    def document(c, f):
        data = {
            "kind": Credential.Kind.NMT,
            "nmt_level": "1",
            "title": "Licensed massage therapist",
            "issuer": "State board",
            "document": f,
        }
        return c.post(reverse("directory_credentials"), data, follow=True)

    def photo_urls():
        return [reverse("assessment_photo_image", args=[p.pk]) for p in Photo.objects.filter(assessment__client=world.client_a)]

    def attachment_urls():
        return [reverse("message_attachment", args=[a.pk]) for a in Attachment.objects.filter(message__thread=thread)]

    def cover_urls():
        return [reverse("learn_cover", args=[a.slug, "large"]) for a in Article.objects.exclude(cover_name="")]

    def profile_photo_urls():
        has = TherapistProfile.objects.filter(user=world.alice).exclude(photo_name="").exists()
        return [reverse("directory_my_photo_preview", args=["large"])] if has else []

    def document_urls():
        return [reverse("directory_credential_document", args=[c.pk]) for c in Credential.objects.filter(profile__user=world.alice)]

    from knotwork.directory.views.staff import DOCUMENT_MAX, PHOTO_MAX
    from knotwork.learn.forms import COVER_POLICY

    return {
        "assessment photo": (PHOTO_POLICY.max_bytes, photo, photo_urls),
        "message attachment": (ATTACHMENT_MAX, attachment, attachment_urls),
        "article cover": (COVER_POLICY.max_bytes, cover, cover_urls),
        "directory profile photo": (PHOTO_MAX, profile_photo, profile_photo_urls),
        "credential document": (DOCUMENT_MAX, document, document_urls),
    }


def assert_neutralised(path: Path) -> None:
    data = path.read_bytes()
    assert SCRIPT_MARK not in data and b"<html" not in data.lower(), f"{path.name} kept markup"
    assert "passwd" not in path.name and ".." not in str(path)
    if data[:3] == b"\xff\xd8\xff":
        img = Image.open(io.BytesIO(data))
        assert not dict(img.getexif().get_ifd(0x8825)), f"{path.name} kept GPS"
        assert not img.getexif().get(0x010F), f"{path.name} kept camera EXIF"


SURFACES = ["assessment photo", "message attachment", "article cover", "directory profile photo", "credential document"]


@pytest.mark.parametrize("surface", SURFACES)
def test_every_hostile_file_is_refused_or_neutralised_and_never_served_from_media(world, media, surface):
    limit, upload, served = surfaces(world)[surface]
    c = signed_in(world.alice)
    refused, accepted = [], []
    for kind, (name, data, may_accept) in hostile_files(limit).items():
        before = files_under(media)
        response = upload(c, SimpleUploadedFile(name, data, content_type="image/jpeg"))
        assert response.status_code < 500, f"{surface} / {kind}: {response.status_code}"
        new = files_under(media) - before
        assert all(media in p.parents for p in new), f"{surface} / {kind}: stored outside MEDIA_ROOT: {new}"
        if new:
            assert may_accept, f"{surface} / {kind} was stored: {[p.name for p in new]}"
            for p in new:
                assert_neutralised(p)
            accepted.append(kind)
        else:
            text = response.content.decode(errors="replace")
            shown = re.findall(r'class="[^"]*(?:error|message)[^"]*"[^>]*>\s*([^<]{3,300})', text)
            assert any(r in text for r in REFUSALS), f"{surface} / {kind}: refused without a clear message: {shown}"
            refused.append(kind)
    must_refuse = {
        "png_decompression_bomb",
        "truncated_jpeg",
        "html_named_jpg",
        "huge",
        "svg_script",
        "gif_js_polyglot",
        "pdf_with_javascript",
    }
    assert must_refuse <= set(refused)
    assert accepted, f"{surface}: not even a neutralisable photo was accepted"

    anonymous = HttpClient()
    for p in files_under(media):
        relative = p.relative_to(media).as_posix()
        for who in (anonymous, c):
            assert who.get(f"/media/{relative}").status_code == 404, f"/media/{relative} is reachable"
    urls = served()
    assert urls, f"{surface}: nothing serves the stored file"
    for url in urls:
        response = c.get(url)
        assert response.status_code == 200, url
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["Content-Type"] in ("image/jpeg", "application/pdf"), f"{url}: {response['Content-Type']}"
        assert response.get("Content-Disposition") or response.get("Content-Security-Policy", "").startswith("sandbox"), url
        if surface != "article cover":
            assert anonymous.get(url).status_code in (302, 403, 404), f"{url} reachable without signing in"
