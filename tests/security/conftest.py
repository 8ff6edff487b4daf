from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.db.models import Max
from django.urls import URLPattern, URLResolver, get_resolver

from tests.security.objects import Seeded, seed
from tests.security.routes import PUBLIC_PREFIXES


def walk(patterns=None, prefix="", namespace=""):
    """(route pattern, name) for every URL, API operations included."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{namespace}{p.name}" if p.name else None


def all_routes() -> dict[str, str]:
    """Route name -> pattern, for every named route outside allauth's public pages."""
    return {name: route for route, name in walk() if name and not route.startswith(PUBLIC_PREFIXES)}


def concrete(route: str, values: dict[str, object] | None = None) -> str:
    """A request path for a pattern: named parameters from ``values``, the rest filled with dummies."""
    values = values or {}

    def fill(m: re.Match[str]) -> str:
        conv, name = m.group(1), m.group(2)
        if name in values:
            return str(values[name])
        return "1" if conv == "int" else "abc"

    route = route.lstrip("^").rstrip("$").replace("\\Z", "")
    route = re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)
    return "/" + route.replace("\\", "")


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker) -> Seeded:
    """The demo clinic (clinic A, every app's demo rows) and clinic B with charlie, built once per
    module inside a transaction that is rolled back at the end; each test runs in a savepoint."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield seed()
        transaction.set_rollback(True)


SKIP_SNAPSHOT = {"audit", "sessions", "contenttypes", "django_tasks_database", "django_tasks_db"}


def snapshot() -> dict[str, object]:
    """Row counts of every table, plus the latest update time where a model keeps one."""
    out: dict[str, object] = {}
    tables = set(connection.introspection.table_names())
    for model in apps.get_models():
        if model._meta.app_label in SKIP_SNAPSHOT or not model._meta.managed or model._meta.db_table not in tables:
            continue
        qs = model._base_manager.all()
        out[model._meta.label] = qs.count()
        if any(f.name == "updated_at" for f in model._meta.concrete_fields):
            out[model._meta.label + ".updated_at"] = qs.aggregate(m=Max("updated_at"))["m"]
    return out
