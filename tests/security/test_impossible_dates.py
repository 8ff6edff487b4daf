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

A view that reads none of the dates would answer the other values exactly as it answered the
first, so those repeats are left out (the PDF and FHIR pages cost up to a second each): while the
view runs, the test watches what it takes from the request (see Watch). Every route whose view
reads a date, or writes anything, still gets every value.
"""

from __future__ import annotations

import copy
import importlib
import pickle
import pkgutil
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django import forms
from django.apps import apps
from django.core.handlers.base import BaseHandler
from django.db import connection
from django.http import HttpRequest, QueryDict
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
ROUTES_BY_NAME = dict(ROUTE_ITEMS)


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    sub: type
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
    offered = Service.objects.active().filter(clinic=seeded.clinic_a).for_therapist(therapist.pk)
    service = offered.exclude(online_booking=Service.OnlineBooking.STAFF).first()
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


class Watch:
    """What one request's view took from the request, while it ran and while its response was
    rendered: which of the parameters carrying an impossible value it read, whether it read the
    raw query string or body, and whether it changed anything the next request would see (a
    database row other than the audit log, the session, a cookie).

    A request the view answered without reading any impossible value and without changing
    anything is answered the same way for every other value: repeating it repeats the same work.
    Middleware runs before the view and is not watched; it is route-independent, and every value
    still passes through it on each route that reads a date. Counters in the cache (rate limits)
    are not watched either: a repeat that differs from the first only by a counter tests no date.
    """

    def __init__(self, bad_keys: frozenset[str]) -> None:
        self.bad_keys = bad_keys
        self.view_ran = False
        # The bad keys read, "*" for a read of every parameter, "query" or "body" for a raw read.
        self.read: set[str] = set()
        self.writes: list[str] = []

    @property
    def same_for_every_value(self) -> bool:
        return self.view_ran and not self.read and not self.writes

    def key(self, key: object) -> None:
        if key in self.bad_keys:
            self.read.add(str(key))


class WatchedQuery(QueryDict):
    """A QueryDict that reports to its Watch each value a view reads from it. A copy the view
    makes (request.GET.copy()) is an ordinary QueryDict: making it read every value already."""

    watch: Watch | None = None

    @classmethod
    def of(cls, original: QueryDict, watch: Watch) -> WatchedQuery:
        watched = cls(mutable=True, encoding=original.encoding)
        for key, values in original.lists():
            watched.setlist(key, values)
        watched._mutable = original._mutable
        watched.watch = watch
        return watched

    def __copy__(self) -> Any:
        self._every()
        plain = QueryDict(mutable=True, encoding=self.encoding)
        for key, values in super().lists():
            plain.setlist(key, values)
        return plain

    def __getitem__(self, key: str) -> Any:
        if self.watch:
            self.watch.key(key)
        return super().__getitem__(key)

    def _getlist(self, key: str, *args: Any, **kwargs: Any) -> Any:
        if self.watch:
            self.watch.key(key)
        return super()._getlist(key, *args, **kwargs)  # type: ignore[misc]

    def pop(self, key: str, *args: Any) -> Any:  # type: ignore[override]
        if self.watch:
            self.watch.key(key)
        return super().pop(key, *args)

    def __iter__(self) -> Iterator[str]:
        # Defined here so that dict(query) and {**query} go through __getitem__ (CPython copies a
        # dict subclass's storage directly only while it keeps dict's own __iter__).
        return super().__iter__()

    def _every(self) -> None:
        if self.watch:
            self.watch.read.add("*")

    def lists(self) -> Any:  # urlencode, copy and the like go through here
        self._every()
        return super().lists()

    def popitem(self) -> Any:
        self._every()
        return super().popitem()

    def __deepcopy__(self, memo: Any) -> Any:
        return self.__copy__()  # the values are strings: a copy of the lists is a deep copy

    def __getstate__(self) -> Any:
        self._every()
        return super().__getstate__()


class WatchedMeta(dict):
    """request.META (the WSGI environ) reporting any read of the raw query string."""

    watch: Watch

    def _check(self, key: object) -> None:
        if key == "QUERY_STRING":
            self.watch.read.add("query")

    def __getitem__(self, key: str) -> Any:
        self._check(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._check(key)
        return super().get(key, default)

    def __iter__(self) -> Iterator[str]:  # as in WatchedQuery: dict(meta) then goes through __getitem__
        return super().__iter__()

    def items(self) -> Any:
        self._check("QUERY_STRING")
        return super().items()

    def values(self) -> Any:
        self._check("QUERY_STRING")
        return super().values()

    def copy(self) -> dict[str, Any]:
        self._check("QUERY_STRING")
        return dict(super().items())


@pytest.fixture
def watching(monkeypatch: pytest.MonkeyPatch) -> Callable[[frozenset[str]], Any]:
    """Run requests under a Watch: ``with watching(bad_keys) as watch: http.get(...)``."""
    current: list[Watch] = []
    audit_tables = {m._meta.db_table for m in apps.get_app_config("audit").get_models()}
    make_view_atomic = BaseHandler.make_view_atomic

    parsing: list[bool] = []  # set while Django itself parses a form body (not a raw read by the view)

    def watched_view(handler: BaseHandler, view: Callable[..., Any]) -> Callable[..., Any]:
        atomic_view = make_view_atomic(handler, view)

        def run(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not current:
                return atomic_view(request, *args, **kwargs)
            watch = current[-1]
            request.GET = WatchedQuery.of(request.GET, watch)  # type: ignore[assignment]
            if hasattr(request, "_post"):  # parsed by a middleware; otherwise see load_post below
                request._post = WatchedQuery.of(request._post, watch)  # type: ignore[attr-defined]
            # request.headers copies the HTTP_* entries of every META item; built here, before
            # the watch, it takes nothing from the query string.
            request.headers  # noqa: B018
            meta = WatchedMeta(request.META)
            meta.watch = watch
            request.META = request.environ = meta  # type: ignore[attr-defined]
            watch.view_ran = True
            return atomic_view(request, *args, **kwargs)

        return run

    load_post_and_files = HttpRequest._load_post_and_files  # type: ignore[attr-defined]

    def load_post(request: HttpRequest) -> None:
        # Parsed when the view first asks for request.POST (after it may have set upload handlers).
        parsing.append(True)
        try:
            load_post_and_files(request)
        finally:
            parsing.pop()
        if current and current[-1].view_ran:
            request._post = WatchedQuery.of(request._post, current[-1])  # type: ignore[attr-defined]

    def raw(original: Callable[..., Any]) -> Callable[..., Any]:
        def read(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            # An empty body (every GET here) carries no value; a form's body carries them all.
            if current and current[-1].view_ran and not parsing and request.META.get("CONTENT_LENGTH") not in (None, "", "0"):
                current[-1].read.add("body")
            return original(request, *args, **kwargs)

        return read

    monkeypatch.setattr(BaseHandler, "make_view_atomic", watched_view)
    monkeypatch.setattr(HttpRequest, "_load_post_and_files", load_post)
    monkeypatch.setattr(HttpRequest, "body", property(raw(HttpRequest.body.fget)))  # type: ignore[attr-defined]
    for method in ("read", "readline", "readlines", "__iter__"):
        monkeypatch.setattr(HttpRequest, method, raw(getattr(HttpRequest, method)))

    def record_writes(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if current and current[-1].view_ran:
            statement = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
            if statement in ("INSERT", "UPDATE", "DELETE", "REPLACE") and not any(t in sql for t in audit_tables):
                current[-1].writes.append(sql[:80])
        return execute(sql, params, many, context)

    @contextmanager
    def watch(bad_keys: frozenset[str]) -> Iterator[Watch]:
        w = Watch(bad_keys)
        current.append(w)
        try:
            with connection.execute_wrapper(record_writes):
                yield w
        finally:
            current.pop()

    return watch


def _request(watching, bad_keys, http: HttpClient, method: str, url: str, data: dict[str, object]) -> tuple[int, bool]:
    """(status, whether every other value would get the same answer) of one request."""
    with watching(bad_keys) as watch:
        response = getattr(http, method)(url, data)
    request = response.wsgi_request
    session = getattr(request, "session", None)
    if response.cookies or (session is not None and session.modified):
        watch.writes.append("session or cookie")
    return response.status_code, watch.same_for_every_value


@pytest.mark.parametrize(("name", "pattern"), ROUTE_ITEMS, ids=[n for n, _ in ROUTE_ITEMS])
def test_impossible_dates_never_answer_500(seeded, db, watching, name, pattern):
    names = date_names()
    bad_keys = names | form_time_fields()
    # Computed once: a POST below may delete the object (and the next pick would find none).
    values = _path_values(seeded, name)
    real = _real_values(seeded)
    # Beside the dates, the slot API needs a real therapist and service to get as far as reading them.
    other = {"therapist": real["therapist_id"], "service": real["service_id"]}
    # API bodies are JSON, fuzzed from their schemas by test_api_fuzz.py; forms take the dates as POST fields.
    methods = ("get",) if pattern.startswith("api/") else ("get", "post")
    # A date in the path makes each value a different request, whatever the view reads.
    date_in_path = len({_url(pattern, values, bad) for bad, _ in BAD_VALUES}) > 1
    failures = []
    for who, http in _callers(seeded, name, values):
        for bad, bad_time in BAD_VALUES:
            url = _url(pattern, values, bad)
            data = {**other, **dict.fromkeys(names, bad), **dict.fromkeys(form_time_fields(), bad_time)}
            unread = True
            for method in methods:
                status, same = _request(watching, bad_keys, http, method, url, data)
                unread &= same
                if status >= 500:
                    failures.append(f"{who} {method.upper()} {url} {bad!r} → {status}")
            if unread and not date_in_path:
                break  # neither method read a date or changed anything: the other values would repeat this
    assert failures == [], "\n".join(failures)


def test_the_watch_tells_a_view_that_reads_a_date_from_one_that_does_not(seeded, db, watching):
    # A guard on the shortcut above: were the watch blind, every route would get one value only.
    bad_keys = date_names() | form_time_fields()
    http = _signed_in(seeded.owner_a)
    http.get("/")  # the first request of a session may store to it: not what is looked at here
    data = dict.fromkeys(bad_keys, "2026-02-30")
    schedule = concrete(ROUTES_BY_NAME["schedule"])
    visit_note = _url(ROUTES_BY_NAME["visit_pdf"], _path_values(seeded, "visit_pdf"), "2026-02-30")
    with watching(bad_keys) as reads_date:
        assert http.get(schedule, data).status_code == 200
    with watching(bad_keys) as reads_nothing:
        response = http.get(visit_note, data)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "date" in reads_date.read and not reads_date.same_for_every_value  # the day shown
    assert reads_nothing.view_ran and reads_nothing.read == set() and reads_nothing.same_for_every_value


def test_every_way_of_reading_a_parameter_reaches_the_watch():
    reads: list[Callable[[QueryDict], object]] = [
        lambda q: q["date"],
        lambda q: q.get("date"),
        lambda q: q.getlist("date"),
        lambda q: q.pop("date"),
        lambda q: q.dict(),
        lambda q: dict(q),
        lambda q: {**q},
        lambda q: list(q.items()),
        lambda q: list(q.values()),
        lambda q: list(q.lists()),
        lambda q: q.urlencode(),
        lambda q: q.copy(),
        lambda q: copy.deepcopy(q),
        lambda q: pickle.dumps(q),
    ]
    for n, read in enumerate(reads):
        watch = Watch(frozenset({"date"}))
        read(WatchedQuery.of(QueryDict("date=2026-02-30&page=2", mutable=True), watch))
        assert watch.read, n
    watch = Watch(frozenset({"date"}))
    query = WatchedQuery.of(QueryDict("date=2026-02-30&page=2"), watch)
    assert query.get("page") == "2" and "date" in query and list(query) == ["date", "page"]
    assert watch.read == set()
