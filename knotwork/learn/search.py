"""Article search behind one interface, :func:`search_articles`, on either database.

- SQLite: an FTS5 table (``learn_article_fts``, Porter stemming) kept in step with
  ``learn_article`` by triggers (migration 0002), ranked by BM25 with the title weighing most.
- PostgreSQL: ``SearchVector``/``SearchQuery`` over title (A), summary (B) and body (C) with the
  English configuration, served by a GIN index on that same expression (migration 0002).
- SQLite built without FTS5: every word must appear (``icontains``), title matches first.

Every word of the query must match, and the last may be the start of a word ("trig" finds
"trigger"). Only letters and digits reach the database, so no query syntax can be injected.
"""

from __future__ import annotations

import re
from functools import cache

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import CombinedExpression

from knotwork.learn.models import Article

FTS_TABLE = "learn_article_fts"
MAX_TERMS = 8
MAX_RESULTS = 50
_TERM = re.compile(r"[^\W_]+")


def query_terms(query: str) -> list[str]:
    return [t for t in _TERM.findall(query.lower()) if len(t) <= 40][:MAX_TERMS]


def search_vector() -> SearchVector | CombinedExpression:
    """The one PostgreSQL document expression: the GIN index is built on exactly this."""
    return (
        SearchVector("title", weight="A", config="english")
        + SearchVector("summary", weight="B", config="english")
        + SearchVector("body", weight="C", config="english")
    )


@cache
def _has_fts5(alias: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", [FTS_TABLE])
        return cursor.fetchone() is not None


def backend() -> str:
    """``postgres``, ``fts5`` or ``contains``: which implementation this database gets."""
    if connection.vendor == "postgresql":
        return "postgres"
    if connection.vendor == "sqlite" and _has_fts5(connection.alias):
        return "fts5"
    return "contains"


def _ordered(ids: list[int], qs: QuerySet[Article]) -> list[Article]:
    found = {a.pk: a for a in qs.filter(pk__in=ids)}
    return [found[i] for i in ids if i in found]


def _fts5(words: list[str], qs: QuerySet[Article]) -> list[Article]:
    match = " ".join(f'"{w}"' for w in words[:-1]) + f' "{words[-1]}"*'
    sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s ORDER BY bm25({FTS_TABLE}, 10.0, 4.0, 1.0), rowid LIMIT 500"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [match.strip()])
        ids = [row[0] for row in cursor.fetchall()]
    return _ordered(ids, qs)[:MAX_RESULTS]


def _postgres(words: list[str], qs: QuerySet[Article]) -> list[Article]:
    raw = " & ".join([*words[:-1], f"{words[-1]}:*"])
    query = SearchQuery(raw, search_type="raw", config="english")
    vector = search_vector()
    return list(
        qs.annotate(search=vector, rank=SearchRank(vector, query)).filter(search=query).order_by("-rank", "-publish_at", "pk")[:MAX_RESULTS]
    )


def _contains(words: list[str], qs: QuerySet[Article]) -> list[Article]:
    for w in words:
        qs = qs.filter(Q(title__icontains=w) | Q(summary__icontains=w) | Q(body__icontains=w))
    in_title = Q()
    for w in words:
        in_title &= Q(title__icontains=w)
    order = Case(When(in_title, then=Value(0)), default=Value(1), output_field=IntegerField())
    return list(qs.annotate(_in_title=order).order_by("_in_title", "-publish_at", "pk")[:MAX_RESULTS])


def search_articles(query: str, *, qs: QuerySet[Article] | None = None, using: str | None = None) -> list[Article]:
    """Live articles matching every word of ``query``, most relevant first (at most 50).

    ``qs`` narrows the candidates (default: every live article); ``using`` forces a backend
    (``contains`` works everywhere; the others only on their own database).
    """
    words = query_terms(query)
    if not words:
        return []
    qs = (qs if qs is not None else Article.objects.live()).select_related("clinic", "author").prefetch_related("tags")
    impl = {"postgres": _postgres, "fts5": _fts5, "contains": _contains}[using or backend()]
    return impl(words, qs)
