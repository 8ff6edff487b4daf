"""Impossible dates never answer 500: generated over the route inventory (routes.py).

Which parameters are dates is read from the code, not listed by hand: every date, date-time and
time field of every form in knotwork (forms are bound to GET or POST by their field names), every
date-typed query parameter of the API (OpenAPI), every date-like name a view reads from
``request.GET`` directly, and every path parameter with a date-like name. Each route of the
inventory is then called (GET, and POST for the HTML routes) with all of them set to one
impossible value at a time — a day that does not exist, a month that does not exist, garbage, a
five-digit year, and the first and last dates Python can represent (one step past them
overflows) — as clinic A's owner (staff with every capability), as anonymous on the public
routes, and, for the client's own pages, as the client. Ids in paths are clinic A's real
objects, so the view gets past its lookup and actually reads the dates.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from pathlib import Path

import pytest
from django import forms
from django.test import Client as HttpClient

import knotwork
from tests.security.conftest import all_routes, concrete
from tests.security.objects import ids_for, other_params, portal_user_of
from tests.security.routes import PUBLIC_ROLES, ROUTES

# (value for every date parameter, value for every time parameter). The extreme dates are valid
# dates that overflow on the next step; they go with a valid time, so a form that combines the
# two gets as far as the arithmetic.
BAD_VALUES = (
    ("2026-02-30", "2026-02-30"),
    ("2026-13-01", "24:60"),
    ("not-a-date", "not-a-time"),
    ("99999-01-01", "99999-01-01"),
    ("2026-02-30T25:61:00+00:00", "25:61"),
    ("9999-12-31", "23:59"),
    ("0001-01-01", "00:00"),
)
DATE_LIKE = re.compile(r"(^|_)(date|day|week|month|year|time|at|on|since|until|start|end|from|to)(_|$)")
ROUTE_ITEMS = sorted(all_routes().items())


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


@cache
def _form_fields(*kinds: type[forms.Field]) -> frozenset[str]:
    """Names of every field of these kinds in every form the project defines."""
    for info in pkgutil.walk_packages(knotwork.__path__, "knotwork."):
        if ".engine" in info.name or ".migrations" in info.name:
            continue
        importlib.import_module(info.name)
    return frozenset(
        name
        for form in _subclasses(forms.BaseForm)
        if form.__module__.startswith("knotwork.")
        for name, field in getattr(form, "base_fields", {}).items()
        if isinstance(field, kinds)
    )


def form_date_fields() -> frozenset[str]:
    return _form_fields(forms.DateField, forms.DateTimeField, forms.TimeField, forms.SplitDateTimeField)


def form_time_fields() -> frozenset[str]:
    return _form_fields(forms.TimeField)


@cache
def api_date_params() -> frozenset[str]:
    from config.api import api

    names = set()
    for operations in api.get_openapi_schema()["paths"].values():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                schema = param.get("schema", {})
                if schema.get("format") in ("date", "date-time", "time") or DATE_LIKE.search(param["name"]):
                    names.add(param["name"])
    return frozenset(names)


@cache
def view_query_names() -> frozenset[str]:
    """Date-like names a view reads from ``request.GET`` itself (no form in between)."""
    pattern = re.compile(r"""GET(?:\.get\(|\[)\s*["'](\w+)["']""")
    root = Path(knotwork.__file__).parent
    names = {n for path in root.rglob("*.py") for n in pattern.findall(path.read_text(encoding="utf-8"))}
    return frozenset(n for n in names if DATE_LIKE.search(n))


def date_names() -> frozenset[str]:
    return form_date_fields() | api_date_params() | view_query_names()


def test_the_generator_finds_the_date_parameters_it_must():
    # A guard on the discovery itself: if these go missing, the generated test tests nothing.
    names = date_names()
    assert {"at", "start_time", "end_time"} <= form_time_fields()
    assert {"week", "date", "day", "at", "start", "end", "since", "until"} <= names, sorted(names)


def _real_values(seeded) -> dict[str, object]:
    """Real values for the public booking pages' path parameters, so they render a week of slots."""
    from knotwork.bookings.models import Service
    from knotwork.bookings.selectors import bookable_therapists

    therapist = bookable_therapists(seeded.clinic_a).first()
    assert therapist is not None
    service = Service.objects.active().filter(clinic=seeded.clinic_a).for_therapist(therapist.pk)
    service = service.exclude(online_booking=Service.OnlineBooking.STAFF).first()
    assert service is not None
    return {"slug": seeded.clinic_a.slug, "therapist_id": therapist.pk, "service_id": service.pk}


def _path_values(seeded, name: str) -> dict[str, object]:
    route = ROUTES[name]
    values: dict[str, object] = {}
    if name.startswith("book_"):
        values.update(_real_values(seeded))
    if route.ids:
        ids = ids_for(route.ids, seeded.clinic_a, portal=route.role == "client")
        assert ids is not None, name
        values.update(other_params(seeded.clinic_a, ids.get("client_id")))
        values.update(ids)
    return values


def _url(pattern: str, values: dict[str, object], bad: str) -> str:
    dates = {p: bad for p in re.findall(r"<(?:\w+:)?(\w+)>", pattern) if DATE_LIKE.search(p) and p not in values}
    return concrete(pattern, {**values, **dates})


def _signed_in(user) -> HttpClient:
    http = HttpClient(raise_request_exception=False)  # a 500 is collected, not raised
    if user is not None:
        http.force_login(user)
    return http


def _callers(seeded, name: str, values: dict[str, object]) -> list[tuple[str, HttpClient]]:
    """Clinic A's owner always; anonymous on public routes (every other route turns anonymous
    visitors away before reading a parameter, which test_routes.py checks); the client on their own pages."""
    route = ROUTES[name]
    callers = [("staff", _signed_in(seeded.owner_a))]
    if route.role in PUBLIC_ROLES:
        callers.append(("anonymous", _signed_in(None)))
    if route.role == "client":
        param, kind = next(iter(route.ids.items())) if route.ids else ("", "")
        user = portal_user_of(kind, values[param]) if param else None  # type: ignore[arg-type]
        callers.append(("client", _signed_in(user or seeded.portal_a)))
    return callers


@pytest.mark.parametrize(("name", "pattern"), ROUTE_ITEMS, ids=[n for n, _ in ROUTE_ITEMS])
def test_impossible_dates_never_answer_500(seeded, db, name, pattern):
    names = date_names()
    # Computed once: a POST below may delete the object (and the next pick would find none).
    values = _path_values(seeded, name)
    real = _real_values(seeded)
    # Beside the dates, the slot API needs a real therapist and service to get as far as reading them.
    other = {"therapist": real["therapist_id"], "service": real["service_id"]}
    # API bodies are JSON, fuzzed from their schemas by test_api_fuzz.py; forms take the dates as POST fields.
    methods = ("get",) if pattern.startswith("api/") else ("get", "post")
    failures = []
    for who, http in _callers(seeded, name, values):
        for bad, bad_time in BAD_VALUES:
            url = _url(pattern, values, bad)
            data = {**other, **dict.fromkeys(names, bad), **dict.fromkeys(form_time_fields(), bad_time)}
            for method in methods:
                response = getattr(http, method)(url, data)
                if response.status_code >= 500:
                    failures.append(f"{who} {method.upper()} {url} {bad!r} → {response.status_code}")
    assert failures == [], "\n".join(failures)
