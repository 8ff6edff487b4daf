"""Public directory pages: search, place suggestions, profiles, photos, the sitemap, recommending.

Nothing here shows a client's name: reviews carry the reviewer's chosen label (first name and
last initial, frozen when written, or "Anonymous client") and availability is a time, not a diary.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from knotwork.directory import selectors
from knotwork.directory.forms import RecommendForm, ReportForm, SearchForm, language_label
from knotwork.directory.models import Referral
from knotwork.directory.places import suggest
from knotwork.directory.reviews import reviewable_appointments
from knotwork.directory.search import SearchError, search
from knotwork.directory.services import referral_send
from knotwork.directory.views._common import me, rate_limited
from knotwork.lib.uploads import private_image_response
from knotwork.lib.views import paginate

SEARCHES_PER_MINUTE = 60


def directory_search(request: HttpRequest) -> HttpResponse:
    if rate_limited(request, "search", SEARCHES_PER_MINUTE):
        return render(request, "directory/search.html", {"form": SearchForm(), "limited": True}, status=429)
    form = SearchForm(request.GET or None)
    result, error = None, None
    if form.is_bound and form.is_valid():
        page = int(request.GET["page"]) if request.GET.get("page", "").isdigit() else 1
        try:
            result = search(form.params(page))
        except SearchError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            error = exc.message
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "result": result, "error": error, "query": query.urlencode(), "searched": form.is_bound}
    return render(request, "directory/search.html", context)


def directory_places(request: HttpRequest) -> JsonResponse:
    """City suggestions for the search box, from the offline list."""
    if rate_limited(request, "places", 240):
        return JsonResponse({"error": {"code": "rate_limited", "message": "Too many requests.", "fields": {}}}, status=429)
    places = suggest(request.GET.get("q", "")[:60])
    response = JsonResponse({"places": [{"label": p.label, "latitude": p.latitude, "longitude": p.longitude} for p in places]})
    response["Cache-Control"] = "public, max-age=86400"
    return response


def directory_profile(request: HttpRequest, pk: int, slug: str) -> HttpResponseBase:
    profile, preview = selectors.profile_for_visitor(request.user, pk)
    if slug != profile.slug:
        return redirect("directory_profile", pk, profile.slug, permanent=True)
    _count_referral(request, profile.pk)
    selectors.ensure_fresh_availability(profile)
    ratings = selectors.rating_summary(profile)
    credentials = selectors.valid_credentials(profile)
    services = selectors.bookable_services(profile)
    url = request.build_absolute_uri(selectors.profile_url(profile))
    context = {
        "profile": profile,
        "preview": preview,
        "ratings": ratings,
        "credentials": credentials,
        "services": services,
        "languages": [language_label(c) for c in profile.language_list],
        "reviews": paginate(request, selectors.published_reviews(profile).select_related("replied_by"), per_page=10),
        "reviewable": list(reviewable_appointments(request.user).filter(therapist_id=profile.user_id, clinic_id=profile.clinic_id)[:5]),
        "is_therapist": request.user.is_authenticated and request.user.pk == profile.user_id,
        "json_ld": mark_safe(selectors.json_ld(profile, url=url, ratings=ratings, credentials=credentials, services=services)),  # noqa: S308  (escaped in json_ld)
        "reply_draft": _reply_draft(request),
        "report_form": ReportForm(),
        "recommend_form": RecommendForm(),
        "canonical": url,
    }
    return render(request, "directory/profile.html", context)


def _reply_draft(request: HttpRequest) -> dict[str, object]:
    """What a therapist typed in a reply that was refused, so nothing is lost."""
    draft = request.session.pop("directory_reply_draft", None) if hasattr(request, "session") else None
    return draft if isinstance(draft, dict) else {}


def _count_referral(request: HttpRequest, profile_id: int) -> None:
    raw = request.GET.get("ref", "")[:40]
    if raw and not rate_limited(request, "ref", 30):
        Referral.objects.filter(profile_id=profile_id, token_hash=Referral.hash_token(raw)).update(opened_count=F("opened_count") + 1)


def directory_photo(request: HttpRequest, pk: int, size: str) -> HttpResponseBase:
    profile, preview = selectors.profile_for_visitor(request.user, pk)
    name = {"large": profile.photo_name, "small": profile.photo_thumb_name}.get(size)
    if not name:
        raise Http404("No photo")
    response = private_image_response(name)
    if not preview:
        response["Cache-Control"] = "public, max-age=3600"
    return response


def directory_sitemap(request: HttpRequest) -> HttpResponse:
    """Listed profiles for search engines (the sitemap protocol allows 50,000 addresses per file)."""
    from knotwork.directory.models import TherapistProfile

    rows = TherapistProfile.objects.listed().only("id", "display_name", "updated_at").order_by("id")[:49_999]
    base = request.build_absolute_uri("/")[:-1]
    return render(request, "directory/sitemap.xml", {"rows": rows, "base": base}, content_type="application/xml")


@login_required
@require_POST
def directory_recommend(request: HttpRequest, pk: int) -> HttpResponse:
    profile, _ = selectors.profile_for_visitor(request.user, pk)
    form = RecommendForm(request.POST)
    if rate_limited(request, f"recommend:{request.user.pk}", 10, window=86400):
        messages.error(request, "You have sent many recommendations today. Please try again tomorrow.")
    elif not form.is_valid():
        messages.error(request, "Enter your friend's e-mail address to send the recommendation.")
    else:
        referral_send(profile=profile, sender=me(request), to=form.cleaned_data["email"])
        messages.success(request, "Thank you. We sent your friend a link to this page; we do not keep their address.")
    return redirect(f"{selectors.profile_url(profile)}?{urlencode({'sent': 1})}#recommend")
