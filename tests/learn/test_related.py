from __future__ import annotations

import pytest
from django.utils import timezone

from knotwork.learn import related
from knotwork.learn.models import Article, RelatedArticle
from knotwork.learn.selectors import related_reading
from knotwork.learn.services import article_save, related_rebuild

# The subjects each shipped article is about. An article's top related article must share one.
SUBJECTS = {
    "what-is-neuromuscular-therapy": {"about-nmt", "what-to-expect"},
    "what-nmt-can-and-cannot-do": {"about-nmt", "evidence-and-progress"},
    "who-nmt-may-help-and-who-should-see-a-doctor-first": {"about-nmt", "safety", "headaches"},
    "trigger-points-and-referred-pain": {"trigger-points"},
    "headaches-and-neck-muscles": {"trigger-points", "headaches", "safety"},
    "your-first-session": {"what-to-expect", "sessions"},
    "aftercare-and-soreness": {"sessions"},
    "choosing-a-qualified-therapist": {"choosing"},
    "questions-to-ask-at-a-free-consultation": {"choosing", "what-to-expect"},
    "posture-and-everyday-habits": {"habits"},
    "desk-work-and-screen-habits": {"habits"},
    "how-progress-is-measured": {"evidence-and-progress"},
    "keeping-a-pain-diary": {"evidence-and-progress"},
}


class SimilarityTests:
    def test_word_forms_share_a_stem(self):
        assert related.stem("headaches") == related.stem("headache")
        assert related.stem("sessions") == related.stem("session") == "session"
        assert related.stem("stretching") == related.stem("stretched") == "stretch"
        assert related.terms("The muscles and THE muscle") == ["muscle", "muscle"]

    def test_identical_documents_score_one_and_unrelated_ones_zero(self):
        docs = [
            related.Document(1, "Neck pain", "Neck muscles", "stiff neck trapezius"),
            related.Document(2, "Neck pain", "Neck muscles", "stiff neck trapezius"),
            related.Document(3, "Budget", "Money", "invoice currency"),
        ]
        v = related.vectors(docs)
        assert related.cosine(v[1], v[2]) == pytest.approx(1.0)
        assert related.cosine(v[1], v[3]) == 0.0
        assert related.top_related(1, v, [1, 2, 3]) == [(2, pytest.approx(1.0))]

    def test_title_words_weigh_more_than_body_words(self):
        docs = [
            related.Document(1, "Jaw pain", "", "general words here"),
            related.Document(2, "Jaw clenching", "", "general words here"),
            related.Document(3, "Sleep", "", "jaw general words here"),
        ]
        v = related.vectors(docs)
        assert related.top_related(1, v, [2, 3])[0][0] == 2


@pytest.mark.django_db
class ShippedRelatednessTests:
    def test_every_shipped_article_has_a_subject(self, shipped):
        assert set(Article.objects.platform().values_list("slug", flat=True)) == set(SUBJECTS)

    @pytest.mark.parametrize("slug", sorted(SUBJECTS))
    def test_the_top_related_article_shares_the_subject(self, shipped, slug):
        article = Article.objects.get(slug=slug)
        top = related_reading(article)[0]
        assert SUBJECTS[slug] & SUBJECTS[top.slug], f"{slug} → {top.slug}"

    def test_a_view_reads_the_stored_list_and_computes_nothing(self, shipped, django_assert_num_queries):
        article = Article.objects.get(slug="aftercare-and-soreness")
        with django_assert_num_queries(1):
            assert len(related_reading(article)) == related.TOP_K


@pytest.mark.django_db
class RelatedRefreshTests:
    def _clinic_article(self, world, title, body, status=Article.Status.PUBLISHED, clinic=None):
        article = Article(clinic=clinic or world.clinic_a, title=title, summary=title, body=body, status=status)
        return article_save(article=article, tags=[], actor=world.alice, role="therapist")

    def test_publishing_a_clinic_article_gives_it_related_reading_at_once(self, world, shipped):
        body = "Soreness after a session: warmth, gentle movement, soreness settles."
        a = self._clinic_article(world, "Aftercare after your session", body)
        assert related_reading(a)[0].slug == "aftercare-and-soreness"

    def test_a_new_article_enters_an_existing_articles_list_when_it_is_closer(self, world):
        first = self._clinic_article(world, "Jaw clenching and the masseter", "Clenching jaw masseter teeth grinding night guard.")
        self._clinic_article(world, "Running shoes", "Choosing running shoes for distance.")
        close = self._clinic_article(world, "Jaw clenching at night", "Masseter jaw clenching teeth grinding while asleep.")
        assert related_reading(first)[0] == close

    def test_another_clinics_articles_are_never_suggested(self, world):
        mine = self._clinic_article(world, "Jaw clenching and the masseter", "Clenching jaw masseter teeth grinding.")
        theirs = self._clinic_article(
            world, "Jaw clenching and the masseter", "Clenching jaw masseter teeth grinding.", clinic=world.clinic_b
        )
        assert theirs not in related_reading(mine) and mine not in related_reading(theirs)

    def test_a_draft_is_not_suggested_and_unpublishing_removes_an_article_from_lists(self, world):
        a = self._clinic_article(world, "Jaw clenching and the masseter", "Clenching jaw masseter teeth grinding.")
        b = self._clinic_article(world, "Jaw clenching at night", "Masseter jaw clenching teeth grinding.", status=Article.Status.DRAFT)
        assert related_reading(a) == []
        b.status = Article.Status.PUBLISHED
        article_save(article=b, tags=[], actor=world.alice, role="therapist")
        assert related_reading(a) == [b]
        b.status = Article.Status.DRAFT
        article_save(article=b, tags=[], actor=world.alice, role="therapist")
        assert related_reading(a) == [] and not RelatedArticle.objects.filter(related=b).exists()

    def test_a_scheduled_article_is_hidden_from_related_reading_until_its_time(self, world):
        a = self._clinic_article(world, "Jaw clenching and the masseter", "Clenching jaw masseter teeth grinding.")
        b = self._clinic_article(world, "Jaw clenching at night", "Masseter jaw clenching teeth grinding.")
        Article.objects.filter(pk=b.pk).update(status=Article.Status.SCHEDULED, publish_at=timezone.now() + timezone.timedelta(days=1))
        assert related_reading(a) == []

    def test_the_full_rebuild_matches_the_incremental_lists_on_the_shipped_articles(self, shipped):
        before = list(RelatedArticle.objects.order_by("article_id", "rank").values_list("article_id", "related_id"))
        related_rebuild()
        after = list(RelatedArticle.objects.order_by("article_id", "rank").values_list("article_id", "related_id"))
        assert before == after and len(after) == len(SUBJECTS) * related.TOP_K
