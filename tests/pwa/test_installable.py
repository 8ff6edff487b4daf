"""The installable portal: manifest, service worker, offline page, and the device's offline copies
cleared at sign-in and sign-out."""

from __future__ import annotations

import json

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from knotwork.lib.testing import make_user

pytestmark = pytest.mark.django_db


def test_the_manifest_describes_an_installable_app_with_icons_that_exist(client):
    response = client.get(reverse("pwa_manifest"))
    assert response.status_code == 200 and response["Content-Type"] == "application/manifest+json"
    data = json.loads(response.content)
    assert data["display"] == "standalone" and data["start_url"].startswith("/") and data["scope"] == "/"
    sizes = {(i["sizes"], i["purpose"]) for i in data["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in data["icons"]:
        assert finders.find(icon["src"].removeprefix("/static/")), icon["src"]


def test_every_page_links_the_manifest(client):
    html = client.get(reverse("pwa_offline")).content.decode()
    assert f'rel="manifest" href="{reverse("pwa_manifest")}"' in html


def test_the_worker_is_served_from_the_root_uncached_and_versioned(client):
    response = client.get(reverse("pwa_service_worker"))
    body = response.content.decode()
    assert reverse("pwa_service_worker") == "/sw.js"
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"]
    assert 'const VERSION = "' in body and 'const VERSION = ""' not in body
    assert reverse("pwa_offline") in body and "/static/pwa/offline.js" in body
    assert "{%" not in body and "{{" not in body


def test_the_offline_page_explains_itself(client):
    response = client.get(reverse("pwa_offline"))
    assert response.status_code == 200 and "You are offline" in response.content.decode()


def test_signing_out_and_in_tells_the_browser_to_clear_what_was_stored_for_offline(client):
    user = make_user("ada@portal.example", mfa=False)
    user.set_password("a long enough passphrase 42")
    user.save()
    signed_in = client.post(reverse("account_login"), {"login": "ada@portal.example", "password": "a long enough passphrase 42"})
    assert signed_in.status_code == 302 and signed_in["Clear-Site-Data"] == '"cache", "storage"'
    assert "Clear-Site-Data" not in client.get(reverse("pwa_offline"))
    signed_out = client.post(reverse("account_logout"))
    assert signed_out.status_code == 302 and signed_out["Clear-Site-Data"] == '"cache", "storage"'
