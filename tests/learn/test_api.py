from __future__ import annotations

import pytest

from knotwork.learn.models import Article

pytestmark = pytest.mark.django_db


class ArticleApiTests:
    def test_anyone_lists_published_articles_with_capped_pages(self, client, shipped):
        body = client.get("/api/learn/articles", {"page_size": 5}).json()
        assert body["count"] == Article.objects.count() and len(body["results"]) == 5
        assert {"slug", "title", "summary", "tags", "author", "published", "views"} <= set(body["results"][0])
        assert client.get("/api/learn/articles", {"page_size": 1000}).status_code == 400

    def test_search_and_tag_filters(self, client, shipped):
        assert client.get("/api/learn/articles", {"q": "aftercare"}).json()["results"][0]["slug"] == "aftercare-and-soreness"
        slugs = {r["slug"] for r in client.get("/api/learn/articles", {"tag": "sessions"}).json()["results"]}
        assert slugs == {"your-first-session", "aftercare-and-soreness"}

    def test_one_article_with_html_sources_and_related(self, client, shipped):
        body = client.get("/api/learn/articles/trigger-points-and-referred-pain").json()
        assert body["related"][0] == "headaches-and-neck-muscles" and body["sources"] and "<p>" in body["html"]

    def test_drafts_and_unknown_articles_are_404_in_the_error_shape(self, client, world):
        Article.objects.create(clinic=world.clinic_a, slug="secret", title="Secret", summary="s", body="b")
        for slug in ("secret", "nope"):
            response = client.get(f"/api/learn/articles/{slug}")
            assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"

    def test_charlie_sees_only_what_the_public_sees(self, as_user, world):
        Article.objects.create(clinic=world.clinic_a, slug="secret", title="Secret", summary="s", body="b")
        client = as_user(world.charlie)
        assert client.get("/api/learn/articles/secret").status_code == 404
        assert client.get("/api/learn/articles").json()["count"] == 0
