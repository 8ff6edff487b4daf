"""Figure 1: the route inventory is complete, and anonymous visitors are refused off the public list.

Supersedes the former tests/test_routes.py (its PUBLIC allow-list now lives in routes.py as the
``public`` and ``public-token`` roles)."""

from __future__ import annotations

import pytest

from tests.security.conftest import all_routes, concrete, walk
from tests.security.objects import TYPES
from tests.security.routes import PUBLIC_PREFIXES, PUBLIC_ROLES, ROUTES

ROLE_PREFIXES = ("public", "public-token", "authenticated", "client", "platform", "writer", "staff:", "staff-or-client:")
CAPABILITIES = {
    "view_demographics",
    "edit_demographics",
    "view_clinical",
    "edit_clinical",
    "manage_staff",
    "view_audit",
    "manage_clinic",
    "take_payments",
}
ROUTE_ITEMS = sorted(all_routes().items())


class RouteInventoryTests:
    def test_every_route_has_an_entry_with_its_required_role(self):
        missing = sorted(set(all_routes()) - set(ROUTES))
        assert missing == [], f"add these routes to tests/security/routes.py with their required role: {missing}"

    def test_every_entry_names_a_route_that_exists(self):
        stale = sorted(set(ROUTES) - set(all_routes()))
        assert stale == [], f"these inventory entries name routes that no longer exist: {stale}"

    def test_every_route_outside_allauth_has_a_name(self):
        unnamed = [route for route, name in walk() if name is None and not route.startswith(PUBLIC_PREFIXES)]
        assert unnamed == []

    def test_roles_and_object_types_come_from_the_known_vocabulary(self):
        from knotwork.accounts.models import Capability

        assert set(Capability.values) | CAPABILITIES == CAPABILITIES and set(Capability.values) >= CAPABILITIES
        for name, route in ROUTES.items():
            assert route.role in ROLE_PREFIXES or route.role.startswith(("staff:", "staff-or-client:")), name
            if ":" in route.role and route.role.split(":", 1)[0] in ("staff", "staff-or-client"):
                assert route.role.split(":", 1)[1] in CAPABILITIES, name
            assert set(route.ids.values()) <= set(TYPES), name
            pattern = all_routes().get(name, "")
            for param in route.ids:
                assert f"{param}>" in pattern or f"{{{param}}}" in pattern, f"{name}: no parameter {param} in {pattern}"


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "route"), ROUTE_ITEMS, ids=[n for n, _ in ROUTE_ITEMS])
def test_anonymous_visitors_are_refused_off_the_public_list(client, name, route):
    entry = ROUTES.get(name)
    if entry is not None and entry.role in PUBLIC_ROLES:
        return
    url = concrete(route)
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert response.status_code in (302, 401, 403, 404, 405), f"{method.upper()} {url} → {response.status_code}"
        if response.status_code == 302:
            assert "/accounts/login/" in response["Location"], f"{url} redirects elsewhere: {response['Location']}"
