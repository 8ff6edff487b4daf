"""Figure 4: the payload set of tests/security/payloads.py (SQL, HTML/JS, template, header/CRLF, path
traversal, CSV formula, odd text) through the text fields of the main forms and API writes, and
through every search, filter, sort and paging parameter of the list pages and list endpoints.

One test per surface loops over every payload. Each asserts: no answer is a server error; where the
text is stored, the page that shows it shows it as text (no raw markup, no evaluated template, no
``javascript:`` link); no payload reaches a response header or cookie; CSV exports neutralise
formulas."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from knotwork.lib.testing import make_staff
from tests.security.payloads import ALL, CORE, FORMULA_START, leaks

HTML_TYPES = ("text/html",)


def check(response, where: str) -> None:
    """No server error, no payload in a header or cookie, no executed payload in an HTML page."""
    assert response.status_code < 500, f"{where}: {response.status_code}"
    assert "kwinjected" not in response.cookies, where
    for header, value in response.items():
        assert "kwinjected" not in value and "evil.example" not in value, f"{where}: header {header}"
    if response.get("Content-Type", "").startswith(HTML_TYPES) and not response.streaming:
        found = leaks(response.content.decode(errors="replace"))
        assert not found, f"{where}: {found}"


def staff(user) -> HttpClient:
    c = HttpClient()
    c.force_login(user)
    return c


def api_json(c: HttpClient, method: str, url: str, data: dict) -> object:
    return getattr(c, method)(url, json.dumps(data), content_type="application/json")


class StoredTextTests:
    def test_client_create_and_edit_through_the_api_store_text_and_show_it_escaped(self, seeded, db):
        c = staff(seeded.owner_a)
        stored = 0
        for p in ALL:
            r = api_json(c, "post", "/api/clients", {"first_name": p[:80], "last_name": "Inj", "preferred_name": p[:80], "phone": p[:40]})
            check(r, f"POST /api/clients {p!r}")
            if r.status_code != 201:
                continue
            stored += 1
            pk = r.json()["id"]
            patch = api_json(c, "patch", f"/api/clients/{pk}", {"clinical_alerts": p, "last_name": p[:80]})
            check(patch, f"PATCH /api/clients {p!r}")
            if p in CORE:
                check(c.get(reverse("client_detail", args=[pk])), f"client_detail {p!r}")
        assert stored >= len(ALL) - 2  # only text the database cannot hold (NUL) may be refused, with a 4xx
        check(c.get(reverse("client_index"), {"q": "Inj"}), "client_index")  # every created client's name at once
        check(c.get("/api/clients", {"q": "Inj", "page_size": 100}), "GET /api/clients")

    def test_the_client_edit_form_keeps_hostile_text_as_text(self, seeded, db):
        from django.forms.models import model_to_dict

        from knotwork.clients.forms import ClientForm
        from knotwork.clients.models import Client

        client = Client.objects.filter(clinic=seeded.clinic_a).order_by("pk").first()
        base = {k: v for k, v in model_to_dict(client, fields=ClientForm.Meta.fields).items() if v is not None}
        text_fields = [
            n for n, f in ClientForm.base_fields.items() if f.__class__.__name__ == "CharField" and n not in ("email", "date_of_birth")
        ]
        c = staff(seeded.owner_a)
        url = reverse("client_edit", args=[client.pk])
        for p in CORE:
            response = c.post(url, {**base, **{n: p[: ClientForm.base_fields[n].max_length or 5000] for n in text_fields}})
            check(response, f"client_edit {p!r}")
            check(c.get(reverse("client_detail", args=[client.pk])), f"client_detail after edit {p!r}")

    def test_visit_notes_through_the_care_api_render_escaped(self, seeded, db):
        from knotwork.accounts.models import Membership
        from knotwork.care.models import Episode, EpisodeStatus
        from knotwork.care.services import visit_start

        episode = Episode.objects.filter(clinic=seeded.clinic_a).exclude(status=EpisodeStatus.DISCHARGED).order_by("pk").first()
        membership = Membership.objects.get(user=seeded.therapist_a, clinic=seeded.clinic_a)
        visit = visit_start(membership=membership, episode=episode)
        c = staff(seeded.therapist_a)
        url = reverse("api:care_visit_update", args=[visit.pk])
        for p in CORE:
            r = api_json(c, "patch", url, {"subjective": p, "objective": p, "assessment": p, "plan": p})
            check(r, f"visit notes {p!r}")
            assert r.status_code in (200, 400, 422), f"visit notes {p!r}: {r.status_code}"
            check(c.get(reverse("visit_detail", args=[visit.pk])), f"visit_detail {p!r}")

    def test_message_replies_render_escaped(self, seeded, db):
        from knotwork.messaging.models import Thread

        thread = Thread.objects.filter(clinic=seeded.clinic_a).order_by("pk").first()
        c = staff(seeded.therapist_a)
        for p in ALL:
            r = api_json(c, "post", reverse("api:thread_reply", args=[thread.pk]), {"body": p})
            check(r, f"thread reply {p!r}")
        for p in CORE:
            check(c.post(reverse("thread_detail", args=[thread.pk]), {"body": p}), f"thread form reply {p!r}")
        check(c.get(reverse("thread_detail", args=[thread.pk])), "thread_detail")
        check(c.get(reverse("inbox")), "inbox")

    def test_article_markdown_is_sanitised_in_preview_and_on_the_public_page(self, seeded, db):
        from knotwork.learn.models import Article

        c = staff(seeded.therapist_a)
        for i, p in enumerate(CORE):
            data = {
                "title": f"Injection {i} {p[:60]}",
                "summary": p[:200],
                "body": f'{p}\n\n[link]({p[:200]})\n\n<a href="javascript:alert(1)">x</a>\n\n{p}',
                "tags_text": "jaw",
                "status": "published",
                "publish_at": "",
                "last_reviewed": "2025-05-01",
                "sources": p[:200],
                "cover_alt": "",
            }
            check(c.post(reverse("learn_preview"), data), f"learn_preview {p!r}")
            check(c.post(reverse("learn_article_new"), data), f"learn_article_new {p!r}")
        published = Article.objects.filter(title__startswith="Injection ")
        assert published.count() >= len(CORE) - 1
        check(HttpClient().get(reverse("learn_search"), {"q": "Injection"}), "learn_search")
        for article in published:
            check(HttpClient().get(reverse("learn_article", args=[article.slug])), f"learn_article {article.title!r}")

    def test_review_replies_render_escaped_on_the_public_profile(self, seeded, db):
        from knotwork.directory.models import Review

        review = Review.objects.filter(profile__clinic=seeded.clinic_a).select_related("profile").order_by("pk").first()
        assert review is not None
        c = staff(review.profile.user)
        public = HttpClient()
        profile_url = reverse("directory_profile", args=[review.profile.pk, review.profile.slug])
        for p in CORE:
            check(c.post(reverse("directory_review_reply", args=[review.pk]), {"reply": p[:1500]}), f"review reply {p!r}")
            check(public.get(profile_url), f"directory_profile {p!r}")


# Every list page and its query parameters (read from the views: request.GET and GET forms).
LIST_PAGES: list[tuple[str, str, tuple[str, ...]]] = [
    ("owner", "client_index", ("q", "archived", "page")),
    ("anon", "atlas_index", ("q",)),
    ("anon", "atlas_refers", ("region", "side")),
    ("anon", "directory_search", ("near", "radius_km", "condition", "language", "gender", "price_min", "price_max", "sort", "page")),
    ("anon", "directory_places", ("q",)),
    ("anon", "learn_search", ("q", "page")),
    ("anon", "learn_index", ("page",)),
    ("owner", "audit_log", ("actor", "action", "object_type", "since", "until", "page")),
    ("owner", "audit_export", ("actor", "action", "object_type", "since", "until")),
    ("owner", "schedule", ("date", "view", "therapist", "week")),
    ("owner", "outcomes_analytics", ("start", "end")),
    ("owner", "outcomes_analytics_csv", ("start", "end")),
    ("owner", "inbox", ("page", "q")),
    ("owner", "thread_new", ("clinic", "client")),
    ("owner", "explain", ("q",)),
    ("owner", "assessment_norms", ("norms",)),
]


class QueryParameterTests:
    def test_every_list_page_parameter_takes_every_payload_without_an_error(self, seeded, db):
        clients = {"owner": staff(seeded.owner_a), "anon": HttpClient()}
        sent = 0
        for who, name, params in LIST_PAGES:
            url = reverse(name)
            for p in CORE:
                response = clients[who].get(url, dict.fromkeys(params, p))
                check(response, f"{name} {p!r}")
                sent += 1
        assert sent == len(LIST_PAGES) * len(CORE)

    def test_every_query_parameter_of_every_api_list_operation_takes_every_payload(self, seeded, db):
        """The parameters come from the API description, so a new filter is attacked without a change here."""
        c = staff(seeded.owner_a)
        spec = c.get("/api/openapi.json").json()
        operations = []
        for path, item in spec["paths"].items():
            get = item.get("get")
            if not get or "{" in path:
                continue
            query = [prm["name"] for prm in get.get("parameters", []) if prm.get("in") == "query"]
            if query:
                operations.append((path, query))
        assert len(operations) >= 5 and any("q" in q or "page_size" in q for _, q in operations)
        for path, query in operations:
            for p in CORE:
                check(c.get(path, dict.fromkeys(query, p)), f"GET {path} {p!r}")


class CsvExportTests:
    def test_the_audit_export_neutralises_formulas_in_every_cell(self, seeded, db):
        from tests.security.payloads import CSV

        for i, p in enumerate(CSV):
            # An actor whose email starts with a formula: the export writes actor emails as they are.
            sly = make_staff(f"{p}{i}@a.example".replace(" ", ""), seeded.clinic_a, "therapist")
            staff(sly).get(reverse("client_index"))
        response = staff(seeded.owner_a).get(reverse("audit_export"))
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.content
        rows = list(csv.reader(io.StringIO(body.decode())))
        cells = [cell for row in rows[1:] for cell in row]
        assert any(cell.startswith("'=") for cell in cells), "the formula actors are in the export"
        assert not [cell for cell in cells if cell.startswith(FORMULA_START)]

    def test_the_outcomes_analytics_csv_holds_no_formula_cells(self, seeded, db):
        response = staff(seeded.owner_a).get(reverse("outcomes_analytics_csv"))
        assert response.status_code == 200
        body = b"".join(response.streaming_content) if response.streaming else response.content
        rows = list(csv.reader(io.StringIO(body.decode())))
        assert rows
        cells = [cell for row in rows[1:] for cell in row]
        # Negative numbers are figures, not formulas; anything else starting like a formula is not.
        assert not [c for c in cells if c.startswith(FORMULA_START) and not c.lstrip("-").replace(".", "", 1).isdigit()]


@pytest.mark.parametrize("path", ["/api/clients", "/clients/"])
def test_path_traversal_in_an_id_position_is_a_404_not_a_file(seeded, db, path):
    c = staff(seeded.owner_a)
    for p in ("..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/etc/passwd", "1%00", "1;DROP"):
        response = c.get(f"{path}/{p}")
        check(response, f"{path}/{p}")
        assert response.status_code in (301, 302, 400, 404), f"{path}/{p}: {response.status_code}"
        assert b"root:x:0:0" not in response.content


class NulCharacterTests:
    """PostgreSQL cannot hold NUL in text: the request is refused with a 400 on every database."""

    def test_a_nul_in_a_search_or_an_api_body_is_a_400_with_a_message(self, seeded, db):
        c = staff(seeded.owner_a)
        page = c.get(reverse("client_index"), {"q": "a\x00b"})
        assert page.status_code == 400 and b"NUL" in page.content
        api = api_json(c, "post", "/api/clients", {"first_name": "A\x00", "last_name": "B"})
        assert api.status_code == 400 and api.json()["error"]["code"] and "NUL" in api.json()["error"]["message"]
        assert c.get("/api/clients", {"q": "\x00"}).status_code == 400
        assert api_json(c, "post", "/api/clients", {"first_name": "A\\u0000 is text", "last_name": "B"}).status_code == 201
