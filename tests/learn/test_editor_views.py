from __future__ import annotations

import io

import pytest
from django.utils import timezone
from PIL import Image

from knotwork.audit.models import Action, AuditEvent
from knotwork.learn.models import Article, RelatedArticle
from knotwork.lib.testing import make_user

pytestmark = pytest.mark.django_db


def _form(**extra):
    data = {
        "title": "Jaw pain and clenching",
        "summary": "Why the jaw aches after a stressful week.",
        "body": "The [[muscle:masseter]] works hard when you clench.\n\n<script>alert(1)</script>",
        "tags_text": "jaw, stress",
        "status": "published",
        "publish_at": "",
        "last_reviewed": "2025-05-01",
        "sources": "Trigger Point Manual, 3rd ed.",
        "cover_alt": "",
    }
    data.update(extra)
    return data


@pytest.fixture
def editor(db):
    user = make_user("editor@platform.example")
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def article_a(world):
    return Article.objects.create(
        clinic=world.clinic_a, slug="a-draft", title="A draft", summary="s", body="Old body", status="draft", author=world.alice
    )


class ManageListTests:
    def test_writers_see_their_clinics_articles_only(self, as_user, world, article_a):
        Article.objects.create(clinic=world.clinic_b, slug="b", title="Clinic B article", summary="s", body="b")
        html = as_user(world.alice).get("/learn/manage/").content.decode()
        assert "A draft" in html and "Clinic B article" not in html

    def test_the_list_costs_a_constant_number_of_queries(self, as_user, world, django_assert_max_num_queries):
        for i in range(6):
            Article.objects.create(clinic=world.clinic_a, slug=f"a{i}", title=f"A{i}", summary="s", body="b")
        client = as_user(world.alice)
        with django_assert_max_num_queries(14):
            client.get("/learn/manage/")

    def test_the_front_desk_is_refused(self, as_user, world):
        assert as_user(world.bob).get("/learn/manage/").status_code == 403

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, db):
        response = client.get("/learn/manage/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


class ArticleCreateTests:
    def test_a_therapist_publishes_a_sanitised_clinic_article(self, as_user, world):
        response = as_user(world.alice).post("/learn/manage/new/", _form())
        article = Article.objects.get(title="Jaw pain and clenching")
        assert response.status_code == 302 and response["Location"] == f"/learn/manage/{article.pk}/"
        assert article.clinic == world.clinic_a and article.author == world.alice and article.is_live
        assert article.slug == "jaw-pain-and-clenching"
        assert "<script>" not in article.html_sanitised and 'href="/atlas/muscles/masseter/"' in article.html_sanitised
        assert sorted(article.tags.values_list("slug", flat=True)) == ["jaw", "stress"]
        assert AuditEvent.objects.filter(action=Action.CREATE, object_type="learn.article", object_id=str(article.pk)).exists()

    def test_a_scheduled_article_needs_a_future_time(self, as_user, world):
        client = as_user(world.alice)
        response = client.post("/learn/manage/new/", _form(status="scheduled"))
        assert response.status_code == 200 and "Choose when" in response.content.decode()
        response = client.post("/learn/manage/new/", _form(status="scheduled", publish_at="2001-01-01T09:00"))
        assert "That time has passed" in response.content.decode()
        assert not Article.objects.exists()
        client.post("/learn/manage/new/", _form(status="scheduled", publish_at="2099-01-01T09:00"))
        article = Article.objects.get()
        assert article.status == "scheduled" and not article.is_live
        assert article.publish_at.astimezone(world.clinic_a.tz).hour == 9  # read in the clinic's time zone

    def test_a_failed_submit_keeps_everything_typed(self, as_user, world):
        response = as_user(world.alice).post("/learn/manage/new/", _form(title=""))
        html = response.content.decode()
        assert "Please correct" in html and "Why the jaw aches after a stressful week." in html and "jaw, stress" in html

    def test_too_many_tags_or_an_overlong_body_are_refused(self, as_user, world):
        client = as_user(world.alice)
        assert "at most 8 tags" in client.post("/learn/manage/new/", _form(tags_text=",".join("abcdefghij"))).content.decode()
        assert "longer than" in client.post("/learn/manage/new/", _form(body="x" * 60_001)).content.decode()
        assert not Article.objects.exists()

    def test_a_cover_image_is_cleaned_and_a_fake_one_refused(self, as_user, world, settings, tmp_path):
        settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                             "OPTIONS": {"location": str(tmp_path)}}}
        client = as_user(world.alice)
        fake = io.BytesIO(b"<script>alert(1)</script>")
        fake.name = "cover.png"
        response = client.post("/learn/manage/new/", {**_form(), "cover": fake})
        assert "not a JPEG" in response.content.decode() and not Article.objects.exists()
        png = io.BytesIO()
        Image.new("RGB", (64, 48), "teal").save(png, format="PNG")
        png.seek(0)
        png.name = "cover.png"
        client.post("/learn/manage/new/", {**_form(cover_alt="A teal square"), "cover": png})
        article = Article.objects.get()
        assert article.cover_name.startswith("learn/covers/") and article.cover_name.endswith(".jpg")
        assert (tmp_path / article.cover_name).exists() and (tmp_path / article.cover_thumb_name).exists()

    def test_a_clinic_writer_cannot_publish_platform_wide(self, as_user, world):
        as_user(world.alice).post("/learn/manage/new/", _form(platform="on"))
        assert Article.objects.get().clinic == world.clinic_a

    def test_a_platform_editor_publishes_platform_wide_articles(self, as_user, editor):
        response = as_user(editor).post("/learn/manage/new/", _form())
        assert response.status_code == 302
        assert Article.objects.get().clinic is None

    def test_the_front_desk_cannot_write(self, as_user, world):
        assert as_user(world.bob).post("/learn/manage/new/", _form()).status_code == 403
        assert not Article.objects.exists()


class ArticleEditTests:
    def test_a_therapist_edits_and_publishes_their_clinics_draft(self, as_user, world, article_a):
        response = as_user(world.alice).post(f"/learn/manage/{article_a.pk}/", _form(title="Now published"))
        article_a.refresh_from_db()
        assert response.status_code == 302 and article_a.title == "Now published" and article_a.is_live
        assert article_a.slug == "a-draft"  # URLs stay stable when a title changes

    def test_the_edit_page_shows_a_preview_of_the_body(self, as_user, world, article_a):
        html = as_user(world.olivia).get(f"/learn/manage/{article_a.pk}/").content.decode()
        assert "Old body" in html and 'id="learn-preview"' in html

    def test_republishing_keeps_the_original_publication_date(self, as_user, world, article_a):
        client = as_user(world.alice)
        client.post(f"/learn/manage/{article_a.pk}/", _form())
        first = Article.objects.get(pk=article_a.pk).publish_at
        client.post(f"/learn/manage/{article_a.pk}/", _form(title="Fixed a typo"))
        assert Article.objects.get(pk=article_a.pk).publish_at == first

    def test_charlie_gets_a_404_and_nothing_changes(self, as_user, world, article_a):
        client = as_user(world.charlie)
        assert client.get(f"/learn/manage/{article_a.pk}/").status_code == 404
        assert client.post(f"/learn/manage/{article_a.pk}/", _form(title="Hijacked")).status_code == 404
        assert client.post(f"/learn/manage/{article_a.pk}/delete/").status_code == 404
        article_a.refresh_from_db()
        assert article_a.title == "A draft"

    def test_the_front_desk_gets_a_403_and_nothing_changes(self, as_user, world, article_a):
        assert as_user(world.bob).post(f"/learn/manage/{article_a.pk}/", _form(title="Changed")).status_code == 403
        article_a.refresh_from_db()
        assert article_a.title == "A draft"

    def test_only_editors_reach_platform_articles(self, as_user, world, editor, shipped):
        article = Article.objects.get(slug="aftercare-and-soreness")
        assert as_user(world.olivia).get(f"/learn/manage/{article.pk}/").status_code == 404
        assert as_user(editor).get(f"/learn/manage/{article.pk}/").status_code == 200

    def test_deleting_removes_the_article_and_its_related_links(self, as_user, world, shipped):
        client = as_user(world.alice)
        client.post("/learn/manage/new/", _form(title="Aftercare after a session", body="Soreness after a session; warmth and movement."))
        article = Article.objects.get(clinic=world.clinic_a)
        assert RelatedArticle.objects.filter(article=article).exists()
        response = client.post(f"/learn/manage/{article.pk}/delete/")
        assert response.status_code == 302 and not Article.objects.filter(pk=article.pk).exists()
        assert AuditEvent.objects.filter(action=Action.DELETE, object_id=str(article.pk)).exists()

    def test_delete_needs_a_post(self, as_user, world, article_a):
        assert as_user(world.alice).get(f"/learn/manage/{article_a.pk}/delete/").status_code == 405


class PreviewTests:
    def test_the_preview_renders_sanitised_markdown(self, as_user, world):
        response = as_user(world.alice).post("/learn/manage/preview/", {"body": "**Hi** <img src=x onerror=alert(1)> [[muscle:masseter]]"})
        html = response.content.decode()
        assert "<strong>Hi</strong>" in html and "onerror" not in html and "/atlas/muscles/masseter/" in html

    def test_the_preview_is_for_writers_only(self, client, as_user, world):
        assert client.post("/learn/manage/preview/", {"body": "x"}).status_code == 302
        assert as_user(world.bob).post("/learn/manage/preview/", {"body": "x"}).status_code == 403

    def test_charlie_can_preview_but_reaches_no_clinic_a_data(self, as_user, world, article_a):
        response = as_user(world.charlie).post("/learn/manage/preview/", {"body": "hello"})
        assert response.status_code == 200 and "Old body" not in response.content.decode()
        article_a.refresh_from_db()
        assert article_a.updated_at <= timezone.now()
