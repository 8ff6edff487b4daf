"""Page-level promises: error pages in the app's style, constant query counts on list pages."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from knotwork.audit.services import audit_record
from knotwork.lib.testing import make_client

pytestmark = pytest.mark.django_db


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


class ErrorPageTests:
    def test_a_missing_page_is_a_404_in_the_apps_style(self, client):
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        assert b"Page not found" in response.content and b"Knotwork" in response.content

    def test_a_forbidden_page_explains_itself(self, world, as_user):
        response = as_user(world.bob).get(reverse("audit_log"))
        assert response.status_code == 403
        assert b"You do not have access to this" in response.content


class QueryCountTests:
    @pytest.mark.parametrize("name", ["client_index", "audit_log", "home"])
    def test_list_pages_cost_the_same_number_of_queries_for_3_or_30_rows(self, world, as_user, name):
        c = as_user(world.olivia)
        url = reverse(name)
        for _ in range(2):
            make_client(world.clinic_a)
            audit_record(action="view", obj=world.client_a, actor=world.alice)
        c.get(url)  # warm the session
        few = _queries(c, url)
        for _ in range(27):
            make_client(world.clinic_a)
            audit_record(action="view", obj=world.client_a, actor=world.alice)
        assert _queries(c, url) == few
