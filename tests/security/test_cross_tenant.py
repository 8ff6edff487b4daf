"""Figure 2: for every route that takes an object id, charlie (therapist, clinic B) gets 404 on
clinic A's object with every method, and nothing changes. Generated from routes.py and the
object types in objects.py; clinic A is the full demo clinic.

A 404 is required from at least one method (the one the route serves); any other answer must be
byte-for-byte what a nonexistent id gets (a 405 for a method the route does not serve, or the
API's 400 for a body that fails validation before any object is looked up), so charlie cannot
tell "exists elsewhere" from "does not exist". A positive control — the clinic's own user on the
same URL — proves the id was real."""

from __future__ import annotations

import json

import pytest
from django.forms.models import model_to_dict
from django.test import Client as HttpClient

from tests.security.conftest import all_routes, concrete, snapshot
from tests.security.objects import ids_for as find_ids
from tests.security.objects import model_of, other_params, portal_user_of
from tests.security.openapi import request_kwargs
from tests.security.routes import ROUTES

ID_ROUTES = sorted((name, r) for name, r in ROUTES.items() if r.ids and name in all_routes())
NOWHERE = 2_000_000_000
METHODS = ("get", "post", "put", "patch", "delete")


def _request(http: HttpClient, method: str, url: str, pattern: str):
    if pattern.startswith("api/") and method != "get":
        kwargs = request_kwargs(pattern, method)
        if method != "post" and "content_type" not in kwargs:
            kwargs = {"data": json.dumps({}), "content_type": "application/json"}
        return getattr(http, method)(url, **kwargs)
    return getattr(http, method)(url)


def _shape(response) -> tuple[int, bytes]:
    body = response.content if response.status_code != 404 else b""
    if response.get("Content-Type", "").startswith("text/html"):
        body = b""  # HTML error pages carry a per-request nonce
    return response.status_code, body


def _control_user(seeded, route, ids):
    role = route.role
    if "review" in route.ids.values() and role == "client":
        from knotwork.directory.models import Review

        review = Review.objects.get(pk=ids["pk"])
        if review.author is not None:
            return review.author
    if role == "client":
        param, kind = next(iter(route.ids.items()))
        return portal_user_of(kind, ids[param])
    if "credential" in route.ids.values():
        from knotwork.directory.models import Credential

        return Credential.objects.select_related("profile__user").get(pk=ids["pk"]).profile.user
    if role == "platform":
        return seeded.verifier
    return seeded.owner_a


def _objects(route, ids):
    out = {}
    from tests.security.objects import TYPES

    for param, kind in route.ids.items():
        obj = model_of(kind)._base_manager.filter(pk=ids[param]).first()
        assert obj is not None
        out[param] = model_to_dict(obj, fields=[f.name for f in obj._meta.concrete_fields])
        assert TYPES[kind]
    return out


@pytest.mark.parametrize(("name", "route"), ID_ROUTES, ids=[n for n, _ in ID_ROUTES])
def test_charlie_gets_404_on_clinic_a_objects_and_nothing_changes(seeded, db, name, route):
    pattern = all_routes()[name]
    ids = find_ids(route.ids, seeded.clinic_a, portal=route.role == "client")
    assert ids is not None, f"{name}: the demo has no {set(route.ids.values())} in clinic A — extend the demo or objects._fill_gaps"
    extra = other_params(seeded.clinic_a, ids.get("client_id"))
    url = concrete(pattern, {**extra, **ids})
    nowhere = concrete(pattern, {**extra, **dict.fromkeys(ids, NOWHERE)})

    before, objects_before = snapshot(), _objects(route, ids)
    statuses: dict[str, int] = {}
    # charlie, and clinic B's owner (who has every capability a clinic role can have).
    for attacker in (seeded.charlie, seeded.owner_b):
        http = HttpClient()
        http.force_login(attacker)
        for method in METHODS:
            theirs = _request(http, method, url, pattern)
            missing = _request(http, method, nowhere, pattern)
            assert theirs.status_code != 500, f"{method.upper()} {url} → 500"
            if theirs.status_code != 404:
                assert _shape(theirs) == _shape(missing), f"{method.upper()} {url} → {theirs.status_code}, unlike a nonexistent id"
            if attacker == seeded.owner_b or theirs.status_code == 404:
                statuses[method] = theirs.status_code
    assert 404 in statuses.values(), f"{name}: no method answered 404: {statuses}"
    assert snapshot() == before, f"{name}: the other clinic's requests changed data"
    assert _objects(route, ids) == objects_before

    # Positive control: the clinic's own user reaches the same object (never a 404).
    own = HttpClient()
    own.force_login(_control_user(seeded, route, ids))
    served = [m for m, s in statuses.items() if s == 404]
    response = _request(own, served[0], url, pattern)
    assert response.status_code != 404, f"{name}: clinic A's own user gets 404 on {served[0].upper()} {url}: the id is not real"
