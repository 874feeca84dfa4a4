"""What a request may cost the server: body limits enforced while the body streams in (a declared or actual size
over the cap is a 413, a client that stops sending before its body is complete gets a 408 instead of holding a
worker forever), and memory that a burst of huge uploads used going back to the system afterwards."""

from __future__ import annotations

import ctypes
import ctypes.util

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


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD_BYTES = 1 << 20


def return_large_frees_to_the_system() -> bool:
    """With glibc, serve allocations of 1 MiB and more (decoded photos, PIL's image blocks) by mmap, so that they go
    back to the system when freed: glibc otherwise raises that threshold as large blocks are freed, and after a burst
    of huge uploads hundreds of MiB stay in its per-thread arenas. False where the C library is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False
