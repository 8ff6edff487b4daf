"""Playwright driving Debian's chromium (never a downloaded browser) against a live server."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.billing import conftest as billing

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        raise RuntimeError("chromium is not installed: `apt-get install chromium` (.ci/run does this)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls in a test body are still
    # synchronous and safe. Set only while browsers run, so it never leaks into other tests.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    # The suite runs one browser per test worker on two cores beside the other workers: an htmx
    # round trip can take longer than Playwright's 5 s default, which is not what the tests judge.
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser, live_server, settings):
    # Links in e-mail are built from SITE_URL; here they must lead back to this live server.
    settings.SITE_URL = live_server.url
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.console_errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


# The loopback Stripe peer and the settings pointing at it, shared with the billing tests.
stripe_peer, stripe_on = billing.stripe_peer, billing.stripe_on


@pytest.fixture
def stripe_js(settings, stripe_on):
    """Online payments configured against the loopback Stripe peer (tests/billing/conftest.py), the
    pages loading the peer's stand-in Stripe.js; returns the peer."""
    settings.STRIPE_JS_URL = f"{stripe_on.url}/js.stripe.com/v3/"
    return stripe_on
