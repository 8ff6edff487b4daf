"""Client education articles: platform-wide (``clinic`` empty) or written by one clinic's staff.

An article is public once it is *live*: published, or scheduled with its ``publish_at`` in the
past. ``html_sanitised`` is rendered from ``body`` (Markdown) when the article is saved, never
on a view. View counts are de-duplicated per visitor and day through ``ArticleView`` rows that
hold only a salted hash (see ``knotwork.learn.views_count``).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Tag(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ArticleQuerySet(models.QuerySet["Article"]):
    def live(self, now: datetime | None = None) -> ArticleQuerySet:
        now = now or timezone.now()
        return self.filter(status__in=(Article.Status.PUBLISHED, Article.Status.SCHEDULED), publish_at__lte=now)

    def platform(self) -> ArticleQuerySet:
        return self.filter(clinic__isnull=True)

    def for_clinic(self, clinic_id: int) -> ArticleQuerySet:
        return self.filter(clinic_id=clinic_id)

    def related_candidates(self, clinic_id: int | None) -> ArticleQuerySet:
        """Articles that may be suggested beside one of ``clinic_id`` (None: a platform article).

        A clinic's article is suggested beside its own clinic's articles and platform ones, never
        beside another clinic's: related reading must not advertise a competitor.
        """
        if clinic_id is None:
            return self.filter(clinic__isnull=True)
        return self.filter(Q(clinic__isnull=True) | Q(clinic_id=clinic_id))


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        SCHEDULED = "scheduled", "Scheduled"

    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.CASCADE, null=True, blank=True, related_name="articles")
    slug = models.SlugField(max_length=90, unique=True)
    title = models.CharField(max_length=160)
    summary = models.CharField(max_length=300)
    body = models.TextField(help_text="Markdown")
    html_sanitised = models.TextField(editable=False, default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="articles")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    byline = models.CharField(max_length=120, blank=True, help_text="Shown instead of the author's name when set.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    publish_at = models.DateTimeField(null=True, blank=True)
    last_reviewed = models.DateField(null=True, blank=True)
    sources = models.TextField(blank=True, help_text="One source per line.")
    cover_name = models.CharField(max_length=200, blank=True, editable=False)
    cover_thumb_name = models.CharField(max_length=200, blank=True, editable=False)
    cover_alt = models.CharField(max_length=200, blank=True)
    # Shipped articles (knotwork/learn/content/*.md) carry their file's key and content hash so a
    # reload only touches what changed.
    content_key = models.CharField(max_length=90, blank=True, editable=False)
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    view_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-publish_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(publish_at__isnull=False),
                name="learn_article_live_has_publish_at",
            ),
            models.UniqueConstraint(fields=["content_key"], condition=~Q(content_key=""), name="learn_article_content_key_unique"),
        ]
        indexes = [models.Index(fields=["status", "publish_at"], name="learn_article_live_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_live(self) -> bool:
        return self.status != self.Status.DRAFT and self.publish_at is not None and self.publish_at <= timezone.now()

    @property
    def author_label(self) -> str:
        if self.byline:
            return self.byline
        if self.author_id and self.author:
            return str(self.author)
        return "Knotwork editorial team" if self.clinic_id is None else "Clinic team"

    def source_lines(self) -> list[str]:
        return [line.strip() for line in self.sources.splitlines() if line.strip()]


class ArticleView(models.Model):
    """One visitor's first view of an article on one day. ``visitor_hash`` cannot be turned back
    into an IP address or browser without the day's salt, which is never stored."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    visitor_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["article", "day", "visitor_hash"], name="learn_view_once_per_day")]
        indexes = [models.Index(fields=["day"], name="learn_view_day_idx")]

    def __str__(self) -> str:
        return f"view of {self.article_id} on {self.day}"


class RelatedArticle(models.Model):
    """Precomputed "related reading": the most similar articles by text, best first."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="related_links")
    related = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    rank = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["article", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["article", "related"], name="learn_related_pair_unique"),
            models.CheckConstraint(condition=~Q(article=models.F("related")), name="learn_related_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} → {self.related_id} ({self.score:.3f})"
