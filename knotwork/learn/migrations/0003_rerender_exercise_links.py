"""Render every article's HTML again so ``[[exercise:…]]`` short codes link to the new exercise
library (they rendered as plain words before it existed). Idempotent; nothing to undo."""

from django.db import migrations


def rerender(apps, schema_editor):
    from knotwork.learn.markup import render_body

    Article = apps.get_model("learn", "Article")
    for article in Article.objects.only("pk", "body").iterator():
        Article.objects.filter(pk=article.pk).update(html_sanitised=render_body(article.body).html)


class Migration(migrations.Migration):
    dependencies = [("learn", "0002_article_search")]

    operations = [migrations.RunPython(rerender, migrations.RunPython.noop)]
