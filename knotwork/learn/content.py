"""The articles Knotwork ships: ``knotwork/learn/content/*.md``, Markdown with YAML front matter.

Front matter keys: ``title``, ``summary``, ``tags`` (list), ``published`` (date), ``last_reviewed``
(date), ``sources`` (list of strings), optional ``byline``. The file name (without ``.md``) is the
article's slug and its stable key. :func:`content_load` is idempotent: an article whose file has
not changed is left alone, so view counts and an editor's later fixes survive a reload until the
file itself changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils import timezone

from knotwork.learn.markup import render_body
from knotwork.learn.models import Article
from knotwork.learn.services import related_rebuild, tag_objects

CONTENT_DIR = Path(__file__).resolve().parent / "content"
REQUIRED = ("title", "summary", "tags", "published", "last_reviewed", "sources")


class ContentError(ValueError):
    """A shipped article file is malformed; the message names the file."""


@dataclass(frozen=True)
class ShippedArticle:
    key: str
    title: str
    summary: str
    body: str
    tags: tuple[str, ...]
    published: date
    last_reviewed: date
    sources: tuple[str, ...]
    byline: str
    hash: str


@dataclass(frozen=True)
class LoadReport:
    created: int
    updated: int
    unchanged: int


def parse_file(path: Path) -> ShippedArticle:
    raw = path.read_text(encoding="utf-8")
    if not raw.startswith("---\n") or "\n---\n" not in raw[4:]:
        raise ContentError(f"{path.name}: must start with front matter between '---' lines")
    head, body = raw[4:].split("\n---\n", 1)
    try:
        meta: Any = yaml.safe_load(head)
    except yaml.YAMLError as exc:
        raise ContentError(f"{path.name}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise ContentError(f"{path.name}: front matter must be a mapping")
    missing = [k for k in REQUIRED if not meta.get(k)]
    if missing:
        raise ContentError(f"{path.name}: missing {', '.join(missing)}")
    for key in ("published", "last_reviewed"):
        if not isinstance(meta[key], date):
            raise ContentError(f"{path.name}: {key} must be a date (YYYY-MM-DD)")
    if len(meta["summary"]) > 300 or len(meta["title"]) > 160:
        raise ContentError(f"{path.name}: title (160) or summary (300) too long")
    return ShippedArticle(
        key=path.stem,
        title=str(meta["title"]),
        summary=str(meta["summary"]),
        body=body.strip() + "\n",
        tags=tuple(str(t) for t in meta["tags"]),
        published=meta["published"],
        last_reviewed=meta["last_reviewed"],
        sources=tuple(str(s) for s in meta["sources"]),
        byline=str(meta.get("byline") or "Knotwork editorial team"),
        hash=hashlib.sha256(raw.encode()).hexdigest(),
    )


def shipped_articles(content_dir: Path = CONTENT_DIR) -> list[ShippedArticle]:
    return [parse_file(p) for p in sorted(content_dir.glob("*.md"))]


@transaction.atomic
def content_load(content_dir: Path = CONTENT_DIR) -> LoadReport:
    """Create or update the shipped platform articles, then recompute related reading if any changed."""
    created = updated = unchanged = 0
    for item in shipped_articles(content_dir):
        article = Article.objects.filter(content_key=item.key).first()
        if article is not None and article.content_hash == item.hash:
            unchanged += 1
            continue
        if article is None:
            if Article.objects.filter(slug=item.key).exists():
                raise ContentError(f"{item.key}.md: the slug is already used by another article")
            article = Article(content_key=item.key, slug=item.key, clinic=None)
            created += 1
        else:
            updated += 1
        article.title, article.summary, article.body = item.title, item.summary, item.body
        article.byline = item.byline
        article.status = Article.Status.PUBLISHED
        article.publish_at = timezone.make_aware(datetime.combine(item.published, time(9, 0)))
        article.last_reviewed = item.last_reviewed
        article.sources = "\n".join(item.sources)
        article.content_hash = item.hash
        article.html_sanitised = render_body(item.body).html
        article.save()
        article.tags.set(tag_objects(item.tags))
    if created or updated:
        related_rebuild()
    return LoadReport(created=created, updated=updated, unchanged=unchanged)


@transaction.atomic
def articles_rerender() -> int:
    """Render every article's HTML again (after an atlas update, or once the exercise library exists)."""
    n = 0
    for article in Article.objects.only("id", "body"):
        Article.objects.filter(pk=article.pk).update(html_sanitised=render_body(article.body).html)
        n += 1
    return n
