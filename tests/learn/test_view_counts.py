from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from knotwork.learn.models import Article, ArticleView
from knotwork.learn.services import article_view_record
from knotwork.learn.visitors import is_bot, visitor_hash

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def article(shipped):
    return Article.objects.get(slug="your-first-session")


def _count(article):
    article.refresh_from_db()
    return article.view_count


class VisitorHashTests:
    def test_the_hash_changes_with_the_day_the_address_and_the_browser(self):
        base = {"secret": "s", "day": date(2025, 6, 1), "ip": "203.0.113.5", "user_agent": FIREFOX}
        h = visitor_hash(**base)
        assert len(h) == 64 and "203.0.113.5" not in h
        assert visitor_hash(**base) == h
        for change in ({"day": date(2025, 6, 2)}, {"ip": "203.0.113.6"}, {"user_agent": SAFARI}, {"secret": "t"}):
            assert visitor_hash(**{**base, **change}) != h

    @pytest.mark.parametrize(
        "ua", ["", "Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.5.0", "python-requests/2.32", "facebookexternalhit/1.1",
               "Mozilla/5.0 (compatible; bingbot/2.0)", "Mozilla/5.0 HeadlessChrome/126.0", "Slackbot-LinkExpanding 1.0"],
    )
    def test_robots_and_scripts_are_bots(self, ua):
        assert is_bot(ua)

    @pytest.mark.parametrize("ua", [FIREFOX, SAFARI])
    def test_browsers_are_not_bots(self, ua):
        assert not is_bot(ua)


class ViewCountTests:
    def test_a_visitor_is_counted_once_per_day(self, article):
        day = date(2025, 6, 1)
        assert article_view_record(article=article, ip="203.0.113.5", user_agent=FIREFOX, day=day)
        assert not article_view_record(article=article, ip="203.0.113.5", user_agent=FIREFOX, day=day)
        assert _count(article) == 1

    def test_the_same_visitor_counts_again_the_next_day(self, article):
        article_view_record(article=article, ip="203.0.113.5", user_agent=FIREFOX, day=date(2025, 6, 1))
        assert article_view_record(article=article, ip="203.0.113.5", user_agent=FIREFOX, day=date(2025, 6, 2))
        assert _count(article) == 2

    def test_different_visitors_each_count(self, article):
        day = date(2025, 6, 1)
        article_view_record(article=article, ip="203.0.113.5", user_agent=FIREFOX, day=day)
        article_view_record(article=article, ip="203.0.113.5", user_agent=SAFARI, day=day)
        article_view_record(article=article, ip="198.51.100.7", user_agent=FIREFOX, day=day)
        assert _count(article) == 3

    def test_bots_are_not_counted(self, article):
        assert not article_view_record(article=article, ip="66.249.66.1", user_agent="Googlebot/2.1", day=date(2025, 6, 1))
        assert _count(article) == 0 and not ArticleView.objects.exists()

    def test_only_a_hash_is_stored_never_the_address_or_browser(self, article):
        article_view_record(article=article, ip="203.0.113.5", user_agent=FIREFOX, day=date(2025, 6, 1))
        row = ArticleView.objects.values().get()
        assert set(row) == {"id", "article_id", "day", "visitor_hash"}
        assert "203.0.113" not in row["visitor_hash"] and len(row["visitor_hash"]) == 64

    def test_rows_older_than_yesterday_are_deleted_as_new_ones_arrive(self, article):
        article_view_record(article=article, ip="203.0.113.5", user_agent=FIREFOX, day=date(2025, 6, 1))
        article_view_record(article=article, ip="203.0.113.5", user_agent=FIREFOX, day=date(2025, 6, 2))
        article_view_record(article=article, ip="203.0.113.5", user_agent=FIREFOX, day=date(2025, 6, 4))
        assert sorted(ArticleView.objects.values_list("day", flat=True)) == [date(2025, 6, 4)]
        assert _count(article) == 3

    def test_drafts_are_not_counted(self, world):
        draft = Article.objects.create(clinic=world.clinic_a, slug="d", title="D", summary="s", body="b")
        assert not article_view_record(article=draft, ip="203.0.113.5", user_agent=FIREFOX)


class ArticlePageCountingTests:
    def test_reloading_the_page_counts_once_without_any_cookie(self, article):
        url = f"/learn/{article.slug}/"
        # Two cookie-less clients: the de-duplication cannot rely on anything the browser keeps.
        first = Client().get(url, HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="203.0.113.5")
        Client().get(url, HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="203.0.113.5")
        assert _count(article) == 1
        assert "1 view" in first.content.decode()
        assert set(first.cookies) <= {"csrftoken"}  # the site-wide form token; nothing for counting

    def test_a_crawler_reading_the_page_is_not_counted(self, client, article):
        client.get(f"/learn/{article.slug}/", HTTP_USER_AGENT="Mozilla/5.0 (compatible; Googlebot/2.1)")
        assert _count(article) == 0
