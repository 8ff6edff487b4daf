"""The API's statuses match its description for every caller, not only the owner (test_api_fuzz.py):
anonymous, and a token of the therapist and of the front desk. Fewer examples per operation than
the owner's run (SCHEMATHESIS_ROLE_EXAMPLES, default 5): what differs by caller is mostly the
401 / 403 / 404 a role meets, which the first examples already reach."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.security.test_api_fuzz import CHECKS, schema
from tests.security.test_api_fuzz import _in_process as _in_process  # noqa: F401  (the same fixture, autouse)

EXAMPLES = int(os.environ.get("SCHEMATHESIS_ROLE_EXAMPLES", "5"))


@pytest.fixture(scope="module")
def tokens(seeded, django_db_blocker) -> dict[str, str | None]:
    from knotwork.accounts.models import ApiToken
    from knotwork.accounts.services import api_token_create

    scopes = list(ApiToken.Scope.values)
    with django_db_blocker.unblock():
        return {
            "anonymous": None,
            "therapist": api_token_create(user=seeded.therapist_a, clinic=seeded.clinic_a, name="fuzz", scopes=scopes).secret,
            "front desk": api_token_create(user=seeded.front_desk_a, clinic=seeded.clinic_a, name="fuzz", scopes=scopes).secret,
        }


@pytest.mark.parametrize("role", ["anonymous", "therapist", "front desk"])
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_only_documented_statuses(case, role, tokens, db):
    headers = {"Accept-Encoding": "identity"}
    if tokens[role]:
        headers["Authorization"] = f"Bearer {tokens[role]}"
    case.call_and_validate(headers=headers, checks=CHECKS)
