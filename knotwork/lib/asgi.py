"""The ASGI side of the request-size limit.

Django's ASGI handler reads a request's whole body before any middleware runs, so
``EdgeMiddleware``'s check of the declared length comes too late to save the server from reading
(and spooling to disk) an oversized body. :class:`BodyLimit` wraps the application: a declared
length over ``MAX_REQUEST_BYTES`` is answered 413 before a byte is read, and a body without a
declared length is counted as it arrives and cut off with the same 413 once it passes the limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

from knotwork.lib.middleware import too_large_answer

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Any, Any, Any], Awaitable[None]]


class BodyLimit:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.MAX_REQUEST_BYTES
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _reject(scope, send, limit)
            return
        received = 0
        over = False
        started = False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True  # Django stops reading on a disconnect and answers nothing
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted, watched)
        if over and not started:
            await _reject(scope, send, limit)


async def _reject(scope: MutableMapping[str, Any], send: Send, limit: int) -> None:
    content_type, body = too_large_answer(str(scope.get("path", "")), limit)
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
