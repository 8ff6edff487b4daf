"""Figure 3: Schemathesis fuzzes every operation of /api/openapi.json in-process (WSGI), signed in
with an API token of clinic A's owner holding every scope: 0 server errors, 0 responses that break
the documented schema. Examples per operation: SCHEMATHESIS_EXAMPLES (default 25 in CI; the
figure in docs/security.md comes from a run with 100)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))
app = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@pytest.fixture(scope="module")
def token(seeded, django_db_blocker):
    from knotwork.accounts.models import ApiToken
    from knotwork.accounts.services import api_token_create

    with django_db_blocker.unblock():
        issued = api_token_create(user=seeded.owner_a, clinic=seeded.clinic_a, name="fuzz", scopes=list(ApiToken.Scope.values))
    return issued.secret


@pytest.fixture(autouse=True)
def _in_process(monkeypatch):
    """The API's rate limits would turn a fuzzing run into a stream of 429s; and, as Django's own
    test client does, keep the test's database connection open across WSGI requests."""
    from django.core import signals
    from django.db import close_old_connections
    from ninja.throttling import BaseThrottle

    monkeypatch.setattr(BaseThrottle, "allow_request", lambda self, request: True)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_survives_fuzzing(case, token, db):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"},
        checks=CHECKS,
    )


def test_no_two_api_schemas_share_a_name_with_different_fields():
    """OpenAPI names components by class name: two different schemas with one name make the
    description of one operation silently show the other's fields."""
    from collections import defaultdict

    from ninja import Schema

    import config.api  # noqa: F401  (every router's schemas are defined by importing it)

    fields: dict[str, set[tuple[str, ...]]] = defaultdict(set)

    def walk(cls):
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("knotwork"):
                fields[sub.__name__].add(tuple(sorted(sub.model_fields)))
            walk(sub)

    walk(Schema)
    assert {name: shapes for name, shapes in fields.items() if len(shapes) > 1} == {}
