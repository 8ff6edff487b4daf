"""Every URL and API route refuses anonymous visitors unless it is on the public allow-list."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Route name (or path prefix for included apps) → why it is public.
PUBLIC = {
    "home": "landing page",
    "healthz": "load-balancer health check",
    "invitation_accept": "the invitation link itself, before sign-in",
    "api:health": "API liveness",
    "api:openapi-json": "API description",
    "api:openapi-view": "API documentation page",
    "atlas_index": "atlas: reference material without client data",
    "muscle_detail": "atlas",
    "atlas_refers": "atlas",
    "api:atlas_regions": "atlas API",
    "api:atlas_muscles": "atlas API",
    "api:atlas_muscle": "atlas API",
    "api:atlas_region_referrers": "atlas API",
    "learn_index": "education articles",
    "learn_tag": "education articles",
    "learn_search": "education articles",
    "learn_article": "education articles",
    "learn_cover": "article cover images (published articles only)",
    "self_check": "public self-check; stores nothing",
    "api:learn_articles": "published articles",
    "api:learn_article": "published articles",
    "book_clinic": "public booking: services and therapists of a clinic",
    "book_slots": "public booking: free slots only, no names",
    "book_hold": "public booking: a short hold while the visitor signs in (rate limited)",
    "book_confirm": "public booking: asks the visitor to sign in before confirming",
    "api:booking_slots": "free slots only, no names",
    "calendar_feed": "a therapist's private feed, authenticated by the secret token in its URL",
}
# allauth's sign-in, sign-up, reset and confirmation pages are public by nature.
PUBLIC_PREFIXES = ("accounts/",)


def _walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{namespace}{p.name}" if p.name else None


def _concrete(route: str) -> str:
    route = route.lstrip("^").rstrip("$").replace("\\Z", "")
    route = re.sub(r"<int:\w+>", "1", route)
    route = re.sub(r"<(?:str|slug|path):\w+>", "abc", route)
    route = re.sub(r"<\w+>", "abc", route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "abc", route)
    return "/" + route.replace("\\", "")


ROUTES = sorted(set(_walk(get_resolver().url_patterns)), key=lambda r: r[0])


def test_the_inventory_is_not_empty_and_every_route_has_a_name():
    assert len(ROUTES) > 20
    unnamed = [r for r, name in ROUTES if name is None and not r.startswith(PUBLIC_PREFIXES)]
    assert unnamed == []


@pytest.mark.parametrize(("route", "name"), ROUTES, ids=[r for r, _ in ROUTES])
def test_anonymous_visitors_are_refused_off_the_allow_list(client, route, name, db):
    if name in PUBLIC or route.startswith(PUBLIC_PREFIXES):
        return
    url = _concrete(route)
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert response.status_code in (302, 401, 403, 404, 405), f"{method.upper()} {url} → {response.status_code}"
        if response.status_code == 302:
            assert "/accounts/login/" in response["Location"], f"{url} redirects elsewhere: {response['Location']}"
        if response.status_code == 200:
            pytest.fail(f"{url} answered an anonymous visitor")
