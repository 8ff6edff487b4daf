from __future__ import annotations

import random
import re
from io import StringIO

import pytest
from django.core.management import call_command

from knotwork.learn.content import CONTENT_DIR, ContentError, content_load, parse_file, shipped_articles
from knotwork.learn.demo import DEMO_TITLE, seed_demo
from knotwork.learn.models import Article

REQUIRED_TOPICS = [
    "what-is-neuromuscular-therapy", "trigger-points-and-referred-pain", "your-first-session", "aftercare-and-soreness",
    "who-nmt-may-help-and-who-should-see-a-doctor-first", "choosing-a-qualified-therapist", "posture-and-everyday-habits",
    "how-progress-is-measured",
]
# Claims no article may make ("promises a cure" is fine: the articles warn against it).
MIRACLE_CLAIMS = re.compile(r"\b(will cure|cures|miracle|guaranteed?|100 ?%|permanent(ly)? fix|releases? toxins)\b", re.I)


class ShippedContentTests:
    def test_at_least_eight_articles_cover_the_required_topics(self):
        keys = [a.key for a in shipped_articles()]
        assert len(keys) >= 8 and set(REQUIRED_TOPICS) <= set(keys)

    @pytest.mark.parametrize("article", shipped_articles(), ids=lambda a: a.key)
    def test_each_article_is_reviewed_sourced_and_makes_no_miracle_claims(self, article):
        assert article.last_reviewed >= article.published
        assert article.sources and all(len(s) > 20 for s in article.sources)
        assert not MIRACLE_CLAIMS.search(article.body + article.summary + article.title)

    @pytest.mark.parametrize("article", shipped_articles(), ids=lambda a: a.key)
    def test_every_atlas_reference_names_a_real_muscle(self, article):
        from knotwork.atlas.loader import atlas

        for muscle in re.findall(r"\[\[muscle:([a-z0-9-]+)\]\]", article.body):
            assert muscle in atlas().muscle_by_id, f"{article.key}: {muscle}"

    def test_a_malformed_file_names_itself(self, tmp_path):
        bad = tmp_path / "broken.md"
        bad.write_text("---\ntitle: x\n---\nbody")
        with pytest.raises(ContentError, match="broken.md: missing"):
            parse_file(bad)
        bad.write_text("no front matter")
        with pytest.raises(ContentError, match="broken.md"):
            parse_file(bad)


@pytest.mark.django_db
class ContentLoadTests:
    def test_loading_is_idempotent_and_keeps_view_counts(self):
        first = content_load()
        assert first.created == len(list(CONTENT_DIR.glob("*.md"))) and first.updated == 0
        Article.objects.filter(slug="your-first-session").update(view_count=7)
        again = content_load()
        assert (again.created, again.updated, again.unchanged) == (0, 0, first.created)
        assert Article.objects.get(slug="your-first-session").view_count == 7

    def test_a_changed_file_updates_its_article(self, tmp_path):
        src = CONTENT_DIR / "aftercare-and-soreness.md"
        (tmp_path / src.name).write_text(src.read_text())
        content_load(tmp_path)
        (tmp_path / src.name).write_text(src.read_text().replace("Mild soreness", "Light soreness"))
        report = content_load(tmp_path)
        assert report.updated == 1 and Article.objects.get(slug="aftercare-and-soreness").summary.startswith("Light soreness")

    def test_shipped_articles_are_platform_wide_and_published(self, shipped):
        assert Article.objects.platform().live().count() == Article.objects.count() >= 8

    def test_the_command_loads_and_rebuilds(self):
        out = StringIO()
        call_command("learn", "load", stdout=out)
        call_command("learn", "related", stdout=out)
        call_command("learn", "rerender", stdout=out)
        text = out.getvalue()
        assert "created" in text and "related reading recomputed" in text and "re-rendered" in text


@pytest.mark.django_db
class DemoTests:
    def test_the_demo_publishes_one_clinic_article_once(self, world):
        seed_demo(clinic=world.clinic_a, rng=random.Random(1))
        seed_demo(clinic=world.clinic_a, rng=random.Random(1))
        article = Article.objects.get(title=DEMO_TITLE)
        assert article.clinic == world.clinic_a and article.is_live and article.author == world.alice
        assert 'href="/atlas/muscles/rhomboids/"' in article.html_sanitised
