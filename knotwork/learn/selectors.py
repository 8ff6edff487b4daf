from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from knotwork.learn.access import can_preview
from knotwork.learn.models import Article, RelatedArticle, Tag


def live_articles() -> QuerySet[Article]:
    return Article.objects.live().select_related("clinic", "author").prefetch_related("tags")


def articles_with_tag(slug: str) -> tuple[Tag, QuerySet[Article]]:
    tag = Tag.objects.filter(slug=slug).first()
    if tag is None:
        raise Http404("No such tag")
    return tag, live_articles().filter(tags=tag)


def popular_tags(limit: int = 20) -> list[Tag]:
    live = Article.objects.live().values("pk")
    return list(
        Tag.objects.annotate(n=Count("articles", filter=Q(articles__in=live))).filter(n__gt=0).order_by("-n", "name")[:limit]
    )


def article_for_viewer(user: Any, slug: str) -> Article:
    """A live article for anyone; a draft or scheduled one only for the people who may write it."""
    article = Article.objects.select_related("clinic", "author").prefetch_related("tags").filter(slug=slug).first()
    if article is None or not (article.is_live or can_preview(user, article)):
        raise Http404("No such article")
    return article


def related_reading(article: Article) -> list[Article]:
    """The stored related articles that are (still) live, best first."""
    links = (
        RelatedArticle.objects.filter(article=article, related__in=Article.objects.live())
        .select_related("related", "related__clinic")
        .order_by("rank")
    )
    return [link.related for link in links]


def articles_for_writer(*, clinic_id: int | None, editor: bool) -> QuerySet[Article]:
    q = Q(clinic_id=clinic_id) if clinic_id is not None else Q(pk__in=[])
    if editor:
        q |= Q(clinic__isnull=True)
    return (
        Article.objects.filter(q)
        .select_related("clinic", "author")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .order_by("-updated_at")
    )
