"""Live pressure feedback: the therapist opens a link (QR code) on the visit screen; the client's
phone shows four big buttons; presses show on the visit screen within a second (htmx polling).

The client's page needs no login: the token in its URL is the credential. It is random, stored
only as a hash, bound to one visit, valid for two hours and revoked when the note is signed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from knotwork.care import selectors, services
from knotwork.care.forms import FeedbackPressForm
from knotwork.care.models import FeedbackKind, FeedbackToken, hash_token
from knotwork.care.views.common import locked_response
from knotwork.care.views.visits import FEEDBACK_SESSION_KEY

PRESSES_PER_MINUTE = 40


@require_POST
@login_required
def feedback_start(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, write=True)
    try:
        raw = services.feedback_link_issue(membership=membership, visit=visit)
    except services.VisitLocked as exc:
        return locked_response(request, visit, exc)
    links = request.session.get(FEEDBACK_SESSION_KEY, {})
    links[str(visit.pk)] = raw
    request.session[FEEDBACK_SESSION_KEY] = links
    return redirect(reverse("visit_detail", args=[visit.pk]) + "#live-feedback")


@require_POST
@login_required
def feedback_revoke(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit, membership = selectors.get_visit_for_user(request.user, visit_id, write=True)
    services.feedback_link_revoke(membership=membership, visit=visit)
    request.session.get(FEEDBACK_SESSION_KEY, {}).pop(str(visit.pk), None)
    request.session.modified = True
    messages.success(request, "The feedback link no longer works.")
    return redirect(reverse("visit_detail", args=[visit.pk]) + "#live-feedback")


@require_GET
@login_required
@never_cache
def feedback_feed(request: HttpRequest, visit_id: int) -> HttpResponse:
    # Polled every second while the visit screen is open: access is checked each time, but the
    # audit trail records opening the visit, not each poll (that would be 3,600 rows an hour).
    visit, _ = selectors.get_visit_for_user(request.user, visit_id, audit=False)
    return render(request, "care/_feedback_feed.html", {"visit": visit, "feedback": selectors.feedback_since(visit)})


def _token_or_gone(request: HttpRequest, raw: str) -> FeedbackToken | HttpResponse:
    token = services.feedback_token_find(raw)
    if token is not None:
        return token
    known = len(raw) <= 100 and FeedbackToken.objects.filter(token_hash=hash_token(raw)).exists()
    return render(request, "care/feedback_gone.html", {"known": known}, status=410 if known else 404)


def _too_many(token: FeedbackToken) -> bool:
    key = f"care:feedback:{token.pk}"
    cache.add(key, 0, timeout=60)
    try:
        return cache.incr(key) > PRESSES_PER_MINUTE
    except ValueError:  # the counter expired between add and incr
        return False


@require_GET
@never_cache
@ensure_csrf_cookie
def feedback_page(request: HttpRequest, token: str) -> HttpResponse:
    found = _token_or_gone(request, token)
    if isinstance(found, HttpResponse):
        return found
    return render(request, "care/feedback_page.html", {"token": token, "kinds": FeedbackKind, "clinic": found.visit.clinic,
                                                       "sent": request.GET.get("sent", "")[:10]})  # fmt: skip


@require_POST
@never_cache
def feedback_press(request: HttpRequest, token: str) -> HttpResponse:
    found = _token_or_gone(request, token)
    if isinstance(found, HttpResponse):
        return found
    form = FeedbackPressForm(request.POST)
    if not form.is_valid():
        return render(request, "care/_feedback_ack.html", {"error": "That button was not recognised; try again."}, status=400)
    if _too_many(found):
        return render(request, "care/_feedback_ack.html", {"error": "Too many presses; wait a moment."}, status=429)
    press = services.feedback_press(token=found, kind=form.cleaned_data["kind"])
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect(reverse("feedback_page", args=[token]) + f"?sent={press.kind}")
    return render(request, "care/_feedback_ack.html", {"press": press})
