"""Request body limits, enforced while the body streams in: a declared or actual size over the cap is a 413, and a
client that stops sending before its body is complete gets a 408 instead of holding a worker forever."""

from __future__ import annotations

import anyio
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large(limit: int) -> HTTPException:
    """The 413 raised for a body over `limit` bytes."""
    return HTTPException(413, f"request body too large (limit {limit:,} bytes)")


class BodyLimit:
    """ASGI middleware: refuse a Content-Length over the limit at once, stop reading a body that grows past it,
    and give up on a body whose next part takes longer than `timeout_s` to arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.max_bytes:
            error = too_large(self.max_bytes)
            response = JSONResponse({"detail": error.detail}, error.status_code, {"Connection": "close"})
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            with anyio.move_on_after(self.timeout_s) as waited:
                message = await receive()
            if waited.cancelled_caught:
                raise HTTPException(408, f"the request body stopped arriving (nothing for {self.timeout_s:g} s)")
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise too_large(self.max_bytes)
            return message

        await self.app(scope, counted, send)


def _declared_length(scope: Scope) -> int:
    """The request's Content-Length, 0 when absent or malformed (the streaming count still applies)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0
