"""Learn pages. Articles, tags, search and the self-check are public; the editor is for writers.

Public pages read no client data and write nothing but an anonymous view count.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from knotwork.accounts.models import Membership
from knotwork.atlas.bodymap import render_bodymap
from knotwork.atlas.region_words import map_words, quality_labels
from knotwork.clients.language import active_language
from knotwork.learn import selectors
from knotwork.learn.access import WRITE_CAPABILITY, get_article_for_user, is_editor, role_label
from knotwork.learn.forms import COVER_POLICY, ArticleForm, SelfCheckForm
from knotwork.learn.markup import MAX_BODY_CHARS, render_body
from knotwork.learn.models import Article
from knotwork.learn.search import search_articles
from knotwork.learn.selfcheck import CONSULTATION_QUESTIONS, drawing_words, run_self_check
from knotwork.learn.services import article_delete, article_save, article_view_record
from knotwork.lib import context as request_context
from knotwork.lib.uploads import limit_upload_size, private_image_response, too_large_message
from knotwork.lib.views import paginate

CONSULTATION_ARTICLE = "questions-to-ask-at-a-free-consultation"


# -- public ------------------------------------------------------------------------------------


def learn_index(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.live_articles(), per_page=12)
    return render(request, "learn/index.html", {"page": page, "tags": selectors.popular_tags()})


def learn_tag(request: HttpRequest, tag: str) -> HttpResponse:
    tag_obj, articles = selectors.articles_with_tag(tag)
    page = paginate(request, articles, per_page=12)
    return render(request, "learn/index.html", {"page": page, "tag": tag_obj, "tags": selectors.popular_tags()})


def learn_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    results = search_articles(query) if query else []
    return render(request, "learn/search.html", {"query": query, "results": results, "tags": selectors.popular_tags()})


def learn_article(request: HttpRequest, slug: str) -> HttpResponse:
    article = selectors.article_for_viewer(request.user, slug)
    ua = request.headers.get("user-agent", "")
    if article_view_record(article=article, ip=request_context.current().ip or request.META.get("REMOTE_ADDR"), user_agent=ua):
        article.view_count += 1
    context = {"article": article, "related": selectors.related_reading(article), "body": mark_safe(article.html_sanitised)}  # noqa: S308  (sanitised by nh3 at save time)
    return render(request, "learn/article.html", context)


def learn_cover(request: HttpRequest, slug: str, size: str) -> HttpResponseBase:
    article = selectors.article_for_viewer(request.user, slug)
    name = {"large": article.cover_name, "small": article.cover_thumb_name}.get(size)
    if not name:
        raise Http404("No cover image")
    response = private_image_response(name)
    if article.is_live:
        response["Cache-Control"] = "public, max-age=86400"
    return response


def self_check(request: HttpRequest) -> HttpResponse:
    """Answers are read once to build the result and never saved: no rows, no session data.

    Worded in the request's language; the engine reads the same ids in every language."""
    language = active_language()
    form = SelfCheckForm(request.POST if request.method == "POST" else None, language=language)
    result = None
    if form.is_valid():
        result = run_self_check(
            marks=form.cleaned_data["drawing"],
            duration=form.cleaned_data["duration"],
            hopes=form.cleaned_data["hopes"],
            red_flags=form.red_flag_answers(),
            language=language,
        )
    context = {"form": form, "result": result, **_self_check_drawing(form, language), "questions": CONSULTATION_QUESTIONS}
    context["consultation_article"] = Article.objects.live().filter(slug=CONSULTATION_ARTICLE).first()
    return render(request, "learn/self_check.html", context)


def _self_check_drawing(form: SelfCheckForm, language: str) -> dict[str, Any]:
    """The body map, its summary and the pain qualities in ``language`` (the atlas's words)."""
    marks = form.cleaned_data.get("drawing", []) if form.is_bound and hasattr(form, "cleaned_data") else []
    bodymap = render_bodymap(
        values={m["cell"]: m["intensity"] for m in marks},
        categories={m["cell"]: m["quality"] for m in marks if m.get("quality")},
        mode="input",
        id_prefix="selfcheck-map",
        title=gettext("Where it hurts"),
        words=map_words(language),
    )
    return {
        "bodymap": mark_safe(bodymap),  # noqa: S308  (render_bodymap escapes every piece of text itself)
        "drawing_json": json.dumps({"marks": marks}, separators=(",", ":")),
        "drawing_summary": drawing_words(marks, language),
        "qualities": quality_labels(language),
    }


# -- writing -----------------------------------------------------------------------------------


def writer_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed-in clinic writers (owners, therapists) and platform editors; ``membership`` is None for an editor without one."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        membership: Membership | None = getattr(request, "membership", None)
        if membership is not None and membership.can(WRITE_CAPABILITY):
            return view(request, *args, membership=membership, **kwargs)
        if is_editor(request.user):
            return view(request, *args, membership=None, **kwargs)
        raise PermissionDenied("Only clinic owners and therapists write articles.")

    return wrapper


@writer_view
def learn_manage(request: HttpRequest, *, membership: Membership | None) -> HttpResponse:
    articles = selectors.articles_for_writer(clinic_id=membership.clinic_id if membership else None, editor=is_editor(request.user))
    return render(request, "learn/manage.html", {"page": paginate(request, articles), "membership": membership})


def _save_form(request: HttpRequest, form: ArticleForm, membership: Membership | None) -> Article | None:
    if getattr(request, "upload_too_large", False):
        form.add_error("cover", too_large_message(COVER_POLICY.max_bytes))
    if not form.is_valid():
        return None
    article = form.save(commit=False)
    if article.pk is None:
        article.clinic = None if (membership is None or form.cleaned_data.get("platform")) else membership.clinic
    return article_save(
        article=article,
        tags=form.cleaned_data["tags_text"],
        actor=request.user,
        role=role_label(membership),
        cover=form.cleaned_data.get("cover"),
        remove_cover=form.cleaned_data.get("remove_cover", False),
    )


@limit_upload_size(COVER_POLICY.max_bytes)
@writer_view
def learn_article_new(request: HttpRequest, *, membership: Membership | None) -> HttpResponse:
    with timezone.override(membership.clinic.tz if membership else timezone.get_current_timezone()):
        form = ArticleForm(request.POST or None, request.FILES or None, can_publish_platform=is_editor(request.user))
        if request.method == "POST" and (article := _save_form(request, form, membership)):
            messages.success(request, f"“{article.title}” saved ({article.get_status_display().lower()}).")
            return redirect("learn_article_edit", pk=article.pk)
        return render(request, "learn/form.html", {"form": form, "article": None, "membership": membership})


@limit_upload_size(COVER_POLICY.max_bytes)
@writer_view
def learn_article_edit(request: HttpRequest, pk: int, *, membership: Membership | None) -> HttpResponse:
    article, owner = get_article_for_user(request.user, pk)
    with timezone.override(article.clinic.tz if article.clinic else timezone.get_current_timezone()):
        form = ArticleForm(request.POST or None, request.FILES or None, instance=article)
        if request.method == "POST" and (saved := _save_form(request, form, owner)):
            messages.success(request, f"“{saved.title}” saved ({saved.get_status_display().lower()}).")
            return redirect("learn_article_edit", pk=saved.pk)
        preview = render_body(form["body"].value() or "").html if article.body else ""
        context = {"form": form, "article": article, "preview": mark_safe(preview), "membership": owner}  # noqa: S308  (sanitised)
        return render(request, "learn/form.html", context)


@require_POST
@writer_view
def learn_article_delete(request: HttpRequest, pk: int, *, membership: Membership | None) -> HttpResponse:
    article, owner = get_article_for_user(request.user, pk)
    title = article.title
    article_delete(article=article, role=role_label(owner))
    messages.success(request, f"“{title}” deleted.")
    return redirect("learn_manage")


@require_POST
@writer_view
def learn_preview(request: HttpRequest, *, membership: Membership | None) -> HttpResponse:
    body = request.POST.get("body", "")[:MAX_BODY_CHARS]
    return render(request, "learn/_preview.html", {"preview": mark_safe(render_body(body).html)})  # noqa: S308  (sanitised by nh3)
