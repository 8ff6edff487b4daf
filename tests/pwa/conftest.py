from __future__ import annotations

import pytest

from knotwork.pwa.management.commands.push_keys import new_vapid_pair
from tests.pwa.push_peer import PushPeer


@pytest.fixture
def push_peer(settings):
    """Push on, with a fresh VAPID pair, delivering to a push service on loopback."""
    private, public = new_vapid_pair()
    settings.WEB_PUSH_VAPID_PRIVATE_KEY = private
    settings.WEB_PUSH_VAPID_PUBLIC_KEY = public
    settings.WEB_PUSH_SUBJECT = "mailto:ops@knotwork.example"
    settings.WEB_PUSH_ALLOW_LOOPBACK = True
    peer = PushPeer()
    peer.vapid_public = public
    yield peer
    peer.close()
