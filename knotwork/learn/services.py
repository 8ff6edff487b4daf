"""Writes for the learn app: saving and deleting articles, related reading, view counts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from knotwork.audit.models import Action
from knotwork.audit.services import audit_record
from knotwork.learn import related
from knotwork.learn.markup import plain_text, render_body
from knotwork.learn.models import Article, ArticleView, RelatedArticle, Tag
from knotwork.learn.visitors import is_bot, visitor_hash
from knotwork.lib.uploads import CleanImage, delete_stored, store_image

RESERVED_SLUGS = frozenset({"manage", "search", "tags", "new", "preview", "api", "exercises"})
COVER_FOLDER = "learn/covers"


def unique_slug(title: str, *, exclude_pk: int | None = None) -> str:
    base = slugify(title)[:80].strip("-") or "article"
    if base in RESERVED_SLUGS:
        base = f"{base}-article"
    slug, n = base, 1
    taken = Article.objects.exclude(pk=exclude_pk) if exclude_pk is not None else Article.objects.all()
    while taken.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def tag_objects(names: Iterable[str]) -> list[Tag]:
    out: list[Tag] = []
    for name in names:
        name = " ".join(name.split())[:50]
        slug = slugify(name)[:50]
        if slug and slug not in {t.slug for t in out}:
            tag, _ = Tag.objects.get_or_create(slug=slug, defaults={"name": name})
            out.append(tag)
    return out


def _publish_at(article: Article, was_live: bool) -> None:
    if article.status == Article.Status.DRAFT:
        article.publish_at = None
    elif article.status == Article.Status.PUBLISHED and not (was_live and article.publish_at):
        article.publish_at = timezone.now()


@transaction.atomic
def article_save(
    *,
    article: Article,
    tags: Iterable[str],
    actor: Any,
    role: str,
    cover: CleanImage | None = None,
    remove_cover: bool = False,
) -> Article:
    """Create or update an article: slug, publication date, sanitised HTML, tags, cover, related reading.

    ``article`` carries the edited fields (a form's unsaved instance). The old cover file is
    deleted only once the transaction commits; a new one is deleted again if it rolls back.
    """
    creating = article.pk is None
    was_live = False if creating else Article.objects.get(pk=article.pk).is_live
    if creating:
        article.slug = unique_slug(article.title)
        article.author = article.author or actor
    _publish_at(article, was_live)
    article.html_sanitised = render_body(article.body).html
    old_files = (article.cover_name, article.cover_thumb_name)
    stored = None
    if cover is not None:
        stored = store_image(cover, folder=COVER_FOLDER)
        article.cover_name, article.cover_thumb_name = stored.name, stored.thumbnail_name
    elif remove_cover:
        article.cover_name = article.cover_thumb_name = ""
        article.cover_alt = ""
    try:
        article.save()
        article.tags.set(tag_objects(tags))
        related_refresh(article=article)
        audit_record(
            action=Action.CREATE if creating else Action.UPDATE,
            obj=article,
            clinic=article.clinic,
            role=role,
            detail={"status": article.status, "cover": bool(article.cover_name)},
        )
    except Exception:
        if stored is not None:
            delete_stored(stored.name, stored.thumbnail_name)
        raise
    if (stored is not None or remove_cover) and old_files[0]:
        transaction.on_commit(lambda: delete_stored(*old_files))
    return article


@transaction.atomic
def article_delete(*, article: Article, role: str) -> None:
    files = (article.cover_name, article.cover_thumb_name)
    audit_record(action=Action.DELETE, obj=article, clinic=article.clinic, role=role, detail={"status": article.status})
    article_id = article.pk
    article.delete()
    related_refresh(removed_id=article_id)
    if files[0]:
        transaction.on_commit(lambda: delete_stored(*files))


# -- related reading ---------------------------------------------------------------------------


def _documents() -> list[related.Document]:
    rows = Article.objects.live().values_list("id", "clinic_id", "title", "summary", "body")
    return [related.Document(id=i, scope=c, title=t, summary=s, body=plain_text(b)) for i, c, t, s, b in rows]


def _candidates(doc: related.Document, docs: list[related.Document]) -> list[int]:
    return [d.id for d in docs if d.scope is None or (doc.scope is not None and d.scope == doc.scope)]


def _replace(rows_for: dict[int, list[tuple[int, float]]]) -> None:
    RelatedArticle.objects.filter(article_id__in=rows_for).delete()
    RelatedArticle.objects.bulk_create(
        RelatedArticle(article_id=a, related_id=r, score=round(s, 6), rank=i)
        for a, pairs in rows_for.items()
        for i, (r, s) in enumerate(pairs, 1)
    )


@transaction.atomic
def related_rebuild() -> int:
    """Recompute every live article's related reading; returns how many articles have a list."""
    docs = _documents()
    vecs = related.vectors(docs)
    RelatedArticle.objects.all().delete()
    rows = {d.id: related.top_related(d.id, vecs, _candidates(d, docs)) for d in docs}
    _replace(rows)
    return sum(1 for pairs in rows.values() if pairs)


@transaction.atomic
def related_refresh(*, article: Article | None = None, removed_id: int | None = None) -> None:
    """Bring related reading up to date after one article changed, without recomputing every list.

    The changed article gets a fresh list; another article's list is recomputed only when the
    change can alter it (the article was in it, or now scores above its weakest entry). Term
    weights drift slightly as the corpus grows; ``knotwork learn related`` recomputes everything.
    """
    changed_id = article.pk if article is not None else removed_id
    if changed_id is None:
        raise ValueError("related_refresh needs a saved article or the id of a removed one")
    docs = _documents()
    by_id = {d.id: d for d in docs}
    vecs = related.vectors(docs)
    current: dict[int, list[tuple[int, float]]] = {}
    for a, r, s in RelatedArticle.objects.values_list("article_id", "related_id", "score"):
        current.setdefault(a, []).append((r, s))
    todo: dict[int, list[tuple[int, float]]] = {}
    live = changed_id in by_id
    if live:
        todo[changed_id] = related.top_related(changed_id, vecs, _candidates(by_id[changed_id], docs))
    else:
        RelatedArticle.objects.filter(article_id=changed_id).delete()
    for d in docs:
        if d.id == changed_id:
            continue
        mine = current.get(d.id, [])
        listed = any(r == changed_id for r, _ in mine)
        could_enter = live and changed_id in _candidates(d, docs) and (
            len(mine) < related.TOP_K or related.cosine(vecs[d.id], vecs[changed_id]) > min(s for _, s in mine)
        )
        if listed or could_enter:
            todo[d.id] = related.top_related(d.id, vecs, _candidates(d, docs))
    _replace(todo)


# -- view counts -------------------------------------------------------------------------------


def article_view_record(*, article: Article, ip: str | None, user_agent: str, day: date | None = None) -> bool:
    """Count a view of a live article once per visitor per day; bots are not counted. True if counted."""
    if not article.is_live or is_bot(user_agent):
        return False
    day = day or timezone.localdate()
    key = visitor_hash(secret=settings.SECRET_KEY, day=day, ip=ip or "", user_agent=user_agent)
    with contextlib.suppress(IntegrityError), transaction.atomic():
        _, created = ArticleView.objects.get_or_create(article=article, day=day, visitor_hash=key)
        if created:
            Article.objects.filter(pk=article.pk).update(view_count=F("view_count") + 1)
            ArticleView.objects.filter(day__lt=day - timedelta(days=1)).delete()
        return created
    return False  # a concurrent request from the same visitor counted it first
