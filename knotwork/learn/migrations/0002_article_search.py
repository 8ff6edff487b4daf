"""Full-text search for articles, one implementation per database (see knotwork/learn/search.py).

SQLite: an FTS5 table with Porter stemming, filled from the existing rows and kept in step by
triggers. SQLite builds without FTS5 skip it and search falls back to ``icontains``.
PostgreSQL: a GIN index on the exact expression ``search.search_vector()`` queries.
"""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations
from django.db.utils import OperationalError

INDEX_NAME = "learn_article_search_gin"

SQLITE_CREATE = [
    "CREATE VIRTUAL TABLE learn_article_fts USING fts5(title, summary, body, tokenize = 'porter unicode61')",
    "INSERT INTO learn_article_fts(rowid, title, summary, body) SELECT id, title, summary, body FROM learn_article",
    """CREATE TRIGGER learn_article_fts_insert AFTER INSERT ON learn_article BEGIN
         INSERT INTO learn_article_fts(rowid, title, summary, body) VALUES (new.id, new.title, new.summary, new.body);
       END""",
    """CREATE TRIGGER learn_article_fts_update AFTER UPDATE OF title, summary, body ON learn_article BEGIN
         DELETE FROM learn_article_fts WHERE rowid = old.id;
         INSERT INTO learn_article_fts(rowid, title, summary, body) VALUES (new.id, new.title, new.summary, new.body);
       END""",
    """CREATE TRIGGER learn_article_fts_delete AFTER DELETE ON learn_article BEGIN
         DELETE FROM learn_article_fts WHERE rowid = old.id;
       END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS learn_article_fts_insert",
    "DROP TRIGGER IF EXISTS learn_article_fts_update",
    "DROP TRIGGER IF EXISTS learn_article_fts_delete",
    "DROP TABLE IF EXISTS learn_article_fts",
]


def _gin_index():
    from knotwork.learn.search import search_vector

    return GinIndex(search_vector(), name=INDEX_NAME)


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.add_index(apps.get_model("learn", "Article"), _gin_index())
    elif vendor == "sqlite":
        try:
            schema_editor.execute(SQLITE_CREATE[0])
        except OperationalError:  # SQLite built without FTS5: search uses icontains instead
            return
        for sql in SQLITE_CREATE[1:]:
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("learn", "Article"), _gin_index())
    elif vendor == "sqlite":
        for sql in SQLITE_DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("learn", "0001_articles_tags_views_related")]
    operations = [migrations.RunPython(forwards, backwards)]
