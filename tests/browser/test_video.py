"""A video consultation end to end in two real browsers: the therapist and the client open the same
room on the live server, the client waits, the therapist admits them, and both peer connections
reach "connected" with chromium's fake camera and microphone. A third signed-in user is refused."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from knotwork.lib.testing import make_user, make_world
from tests.browser.conftest import CHROMIUM_ARGS
from tests.browser.session import sign_in
from tests.video.conftest import make_video_appointment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",  # a generated test pattern and tone instead of a camera and microphone
    "--use-fake-ui-for-media-stream",  # grants the camera and microphone prompt
    "--allow-loopback-in-peer-connection",  # 127.0.0.1 host candidates, so the call stays on loopback
    "--disable-features=WebRtcHideLocalIpsWithMdns",  # no multicast DNS names for host candidates
]
# Only loopback candidates are handed to the peer connection, so its connectivity checks never
# leave this machine's loopback interface (the test host may have other interfaces).
LOOPBACK_ONLY = """
(() => {
  const add = RTCPeerConnection.prototype.addIceCandidate;
  RTCPeerConnection.prototype.addIceCandidate = function (candidate, ...rest) {
    const text = candidate && candidate.candidate;
    if (text && !/ (127\\.0\\.0\\.1|::1) /.test(text)) return Promise.resolve();
    return add.call(this, candidate, ...rest);
  };
})();
"""
CONNECTED = "() => window.knotworkVideo && window.knotworkVideo.connectionState === 'connected'"


@pytest.fixture
def media_browser(browser):
    """A second chromium from the same Playwright, started with the fake media devices."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    launched = browser.browser_type.launch(executable_path=executable, args=CHROMIUM_ARGS + MEDIA_ARGS, headless=True)
    yield launched
    launched.close()


def _page(media_browser, live_server, user):
    context = media_browser.new_context(base_url=live_server.url, viewport={"width": 1024, "height": 800})
    context.add_init_script(LOOPBACK_ONLY)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.console_errors = errors  # type: ignore[attr-defined]
    sign_in(page, live_server, user)
    return page


def test_the_therapist_admits_the_client_and_both_browsers_connect(media_browser, live_server, settings):
    settings.SITE_URL = live_server.url
    world = make_world()
    ada = make_user("ada@mail.example", mfa=False, full_name="Ada Lovelace")
    world.client_a.portal_user = ada
    world.client_a.save(update_fields=["portal_user"])
    appointment = make_video_appointment(world.clinic_a, world.alice, world.client_a)
    room = f"/appointments/{appointment.pk}/video/"

    therapist = _page(media_browser, live_server, world.alice)
    therapist.goto(f"/appointments/{appointment.pk}/")
    therapist.get_by_role("link", name="Join video call").click()
    expect(therapist.get_by_role("status")).to_have_text("Waiting for Ada Lovelace to join.")

    client = _page(media_browser, live_server, ada)
    client.goto(room)
    expect(client.get_by_text("This call is not recorded.")).to_be_visible()
    expect(client.get_by_role("status")).to_have_text("Waiting for Alice to let you in.")
    expect(therapist.get_by_role("status")).to_have_text("Ada Lovelace is waiting to be let in.")
    assert client.evaluate("() => window.knotworkVideo.pc") is None  # no offer before the admit

    therapist.get_by_role("button", name="Admit Ada Lovelace").click()
    client.wait_for_function(CONNECTED, timeout=30_000)
    therapist.wait_for_function(CONNECTED, timeout=30_000)
    expect(client.locator("#video-room")).to_have_attribute("data-connection", "connected")
    expect(therapist.locator("#video-room")).to_have_attribute("data-connection", "connected")
    expect(therapist.get_by_role("status")).to_have_text("Connected to Ada Lovelace.")
    # The fake camera's picture arrives on the other side.
    therapist.wait_for_function("() => document.querySelector('[data-remote]').videoWidth > 0", timeout=30_000)

    client.get_by_role("button", name="Turn camera off").click()
    expect(client.get_by_role("button", name="Turn camera on")).to_be_visible()
    client.get_by_role("button", name="Hang up").click()
    expect(client.get_by_role("status")).to_have_text("You left the call.")
    expect(therapist.get_by_role("status")).to_have_text("Ada Lovelace left the call.")

    intruder = _page(media_browser, live_server, world.bob)
    assert intruder.goto(room).status == 404
    for page in (therapist, client):
        assert page.console_errors == [], page.console_errors  # type: ignore[attr-defined]
    for page in (therapist, client, intruder):
        page.context.close()
