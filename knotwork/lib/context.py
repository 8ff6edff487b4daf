"""Who is acting, from where, in which request: set once per request, read by the audit log."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip: str | None = None
    user: Any = None  # the acting user, or None for the system and anonymous visitors


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("knotwork_request", default=RequestContext())


def current() -> RequestContext:
    return _current.get()


def set_current(ctx: RequestContext) -> contextvars.Token[RequestContext]:
    return _current.set(ctx)


def reset(token: contextvars.Token[RequestContext]) -> None:
    _current.reset(token)
