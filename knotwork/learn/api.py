"""Public, read-only article API: the same live articles and search as the Learn pages."""

from __future__ import annotations

from datetime import date, datetime

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema

from knotwork.learn import selectors
from knotwork.learn.models import Article
from knotwork.learn.search import search_articles
from knotwork.lib.api import PageParams, page_of

router = Router(tags=["learn"])


class ArticleFilters(PageParams):
    q: str = ""
    tag: str = ""


class ArticleOut(Schema):
    slug: str
    title: str
    summary: str
    tags: list[str]
    author: str
    clinic: str | None
    published: datetime
    last_reviewed: date | None
    views: int


class ArticleDetailOut(ArticleOut):
    html: str
    sources: list[str]
    related: list[str]


class ArticlePage(Schema):
    count: int
    page: int
    page_size: int
    results: list[ArticleOut]


def _out(a: Article) -> dict[str, object]:
    return {
        "slug": a.slug,
        "title": a.title,
        "summary": a.summary,
        "tags": [t.slug for t in a.tags.all()],
        "author": a.author_label,
        "clinic": a.clinic.name if a.clinic_id and a.clinic else None,
        "published": a.publish_at,
        "last_reviewed": a.last_reviewed,
        "views": a.view_count,
    }


@router.get("/learn/articles", response=ArticlePage, auth=None, url_name="learn_articles", summary="List or search published articles")
def list_articles(request: HttpRequest, filters: Query[ArticleFilters]) -> dict[str, object]:
    qs = selectors.live_articles()
    if filters.tag:
        qs = qs.filter(tags__slug=filters.tag)
    if filters.q.strip():
        found = search_articles(filters.q[:100], qs=qs)
        start = (filters.page - 1) * filters.page_size
        rows, meta = found[start : start + filters.page_size], {"count": len(found), "page": filters.page, "page_size": filters.page_size}
    else:
        rows, meta = page_of(qs, filters)
    return {**meta, "results": [_out(a) for a in rows]}


@router.get("/learn/articles/{slug}", response=ArticleDetailOut, auth=None, url_name="learn_article", summary="One published article")
def get_article(request: HttpRequest, slug: str) -> dict[str, object]:
    article = selectors.live_articles().filter(slug=slug[:90]).first()
    if article is None:
        raise Http404("No such article")
    related = [a.slug for a in selectors.related_reading(article)]
    return {**_out(article), "html": article.html_sanitised, "sources": article.source_lines(), "related": related}
