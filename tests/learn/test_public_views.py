from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from knotwork.learn.models import Article
from knotwork.learn.services import article_save
from knotwork.lib.uploads import clean_image

pytestmark = pytest.mark.django_db


def _clinic_article(world, *, status=Article.Status.PUBLISHED, title="Our approach to jaw pain", cover=None, clinic=None):
    article = Article(
        clinic=clinic or world.clinic_a, title=title, summary="How we treat jaw pain.", body="About [[muscle:masseter]].", status=status
    )
    return article_save(article=article, tags=["jaw"], actor=world.alice, role="therapist", cover=cover)


def _png() -> io.BytesIO:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 100, 50)).save(buf, format="PNG")
    buf.seek(0)
    return buf


class LearnIndexTests:
    def test_anyone_sees_the_latest_articles_newest_first(self, client, shipped):
        response = client.get("/learn/")
        assert response.status_code == 200
        page = list(response.context["page"].object_list)
        assert page[0].slug == "keeping-a-pain-diary"  # the most recent publication date
        assert [a.publish_at for a in page] == sorted((a.publish_at for a in page), reverse=True)

    def test_the_list_costs_a_constant_number_of_queries(self, client, shipped, world, django_assert_max_num_queries):
        for i in range(5):
            _clinic_article(world, title=f"Clinic article {i}")
        with django_assert_max_num_queries(8):
            client.get("/learn/")

    def test_drafts_and_future_articles_are_not_listed(self, client, world):
        draft = _clinic_article(world, status=Article.Status.DRAFT, title="Secret draft")
        later = _clinic_article(world, title="Later article")
        Article.objects.filter(pk=later.pk).update(status=Article.Status.SCHEDULED, publish_at=timezone.now() + timedelta(days=2))
        content = client.get("/learn/").content.decode()
        assert draft.title not in content and "Later article" not in content

    def test_a_scheduled_article_appears_on_its_own_once_its_time_comes(self, client, world):
        later = _clinic_article(world, title="Later article")
        Article.objects.filter(pk=later.pk).update(status=Article.Status.SCHEDULED, publish_at=timezone.now() - timedelta(minutes=1))
        assert "Later article" in client.get("/learn/").content.decode()

    def test_a_tag_page_lists_only_that_tag(self, client, shipped):
        response = client.get("/learn/tags/sessions/")
        assert {a.slug for a in response.context["page"].object_list} == {"your-first-session", "aftercare-and-soreness"}

    def test_an_unknown_tag_is_a_404(self, client, shipped):
        assert client.get("/learn/tags/nope/").status_code == 404

    def test_search_page_finds_articles_and_escapes_the_query(self, client, shipped):
        response = client.get("/learn/search/", {"q": "aftercare <script>"})
        assert response.status_code == 200
        assert "&lt;script&gt;" in response.content.decode() and "<script>" not in response.content.decode().split("<main")[1]
        response = client.get("/learn/search/", {"q": "aftercare"})
        assert response.context["results"][0].slug == "aftercare-and-soreness"

    def test_search_survives_an_overlong_query(self, client, shipped):
        assert client.get("/learn/search/", {"q": "pain " * 500}).status_code == 200


class ArticlePageTests:
    def test_the_page_shows_author_dates_sources_related_reading_and_the_sanitised_body(self, client, shipped):
        response = client.get("/learn/trigger-points-and-referred-pain/")
        html = response.content.decode()
        assert response.status_code == 200
        assert "Knotwork editorial team" in html and "Last reviewed" in html and "Sources" in html
        assert "Trigger Point Manual" in html
        assert 'href="/atlas/muscles/upper-trapezius/"' in html and 'class="learn-muscles"' in html
        assert response.context["related"][0].slug == "headaches-and-neck-muscles"

    def test_a_clinic_article_names_its_author_and_clinic(self, client, world):
        article = _clinic_article(world)
        html = client.get(f"/learn/{article.slug}/").content.decode()
        assert world.alice.full_name in html and world.clinic_a.name in html

    def test_a_draft_is_a_404_for_visitors_and_other_clinics(self, client, as_user, world):
        draft = _clinic_article(world, status=Article.Status.DRAFT)
        assert client.get(f"/learn/{draft.slug}/").status_code == 404
        assert as_user(world.charlie).get(f"/learn/{draft.slug}/").status_code == 404

    def test_a_draft_is_visible_to_its_clinics_writers_with_a_notice(self, as_user, world):
        draft = _clinic_article(world, status=Article.Status.DRAFT)
        response = as_user(world.alice).get(f"/learn/{draft.slug}/")
        assert response.status_code == 200 and "Not public yet" in response.content.decode()

    def test_a_draft_is_hidden_from_the_front_desk(self, as_user, world):
        draft = _clinic_article(world, status=Article.Status.DRAFT)
        assert as_user(world.bob).get(f"/learn/{draft.slug}/").status_code == 404

    def test_an_unknown_article_is_a_404(self, client, db):
        assert client.get("/learn/no-such-article/").status_code == 404


class CoverImageTests:
    def test_a_live_articles_cover_is_served_as_a_cacheable_jpeg(self, client, world, settings, tmp_path):
        settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                             "OPTIONS": {"location": str(tmp_path)}}}
        article = _clinic_article(world, cover=clean_image(_png(), name="cover.png"))
        for size in ("large", "small"):
            response = client.get(f"/learn/{article.slug}/cover-{size}.jpg")
            assert response.status_code == 200
            assert response["Content-Type"] == "image/jpeg" and response["X-Content-Type-Options"] == "nosniff"
            assert response["Cache-Control"] == "public, max-age=86400"
            b"".join(response.streaming_content)

    def test_a_drafts_cover_is_hidden_and_an_unknown_size_is_a_404(self, client, world, settings, tmp_path):
        settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                             "OPTIONS": {"location": str(tmp_path)}}}
        article = _clinic_article(world, status=Article.Status.DRAFT, cover=clean_image(_png(), name="cover.png"))
        assert client.get(f"/learn/{article.slug}/cover-large.jpg").status_code == 404
        article.status = Article.Status.PUBLISHED
        article_save(article=article, tags=[], actor=world.alice, role="therapist")
        assert client.get(f"/learn/{article.slug}/cover-huge.jpg").status_code == 404

    def test_an_article_without_a_cover_has_no_cover_url(self, client, world):
        article = _clinic_article(world)
        assert client.get(f"/learn/{article.slug}/cover-large.jpg").status_code == 404
