"""Counting article views once per visitor per day without knowing who the visitor is.

The visitor key is ``SHA-256(day salt + day + IP + user agent)``. The day salt is an HMAC of the
date under SECRET_KEY: it changes every day and is never stored, so yesterday's hashes cannot be
linked to today's, and a stored hash alone cannot be reversed into an address. No cookie is set.
Anyone holding both SECRET_KEY and the database could still try every IPv4 address for one day's
hashes, which is why rows older than yesterday are deleted as new ones arrive.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

# Self-declared robots, link previewers and scripted clients. A simple rule by design: the goal is
# counts people can trust roughly, not a fight with bots that pretend to be browsers.
BOT_RE = re.compile(
    r"bot|crawl|spider|slurp|archiver|preview|fetch|monitor|scan|curl|wget|python|java/|go-http|okhttp|headless|"
    r"lighthouse|pingdom|uptime|facebookexternalhit|embedly|httpclient|libwww|axios|node-fetch|phantomjs",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    """An empty user agent counts as a bot: every real browser sends one."""
    return not user_agent.strip() or bool(BOT_RE.search(user_agent))


def day_salt(secret: str, day: date) -> bytes:
    return hmac.new(secret.encode(), f"knotwork.learn.view-salt:{day.isoformat()}".encode(), hashlib.sha256).digest()


def visitor_hash(*, secret: str, day: date, ip: str, user_agent: str) -> str:
    h = hashlib.sha256(day_salt(secret, day))
    h.update(f"|{day.isoformat()}|{ip}|{user_agent[:512]}".encode())
    return h.hexdigest()
