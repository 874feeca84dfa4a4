"""Streaming and concurrency: a body is cut off as it streams past the limit; model work runs off the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from outfitter.service import create_app

CHUNK = 16 * 1024


@asynccontextmanager
async def _served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan run, behind an in-process client that streams request bodies chunk by chunk."""
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
            yield client


def test_a_streamed_body_is_refused_once_past_the_limit(store, model):
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\n'
        for _ in range(64):
            sent += 1
            yield b"\0" * CHUNK

    async def main() -> httpx.Response:
        async with _served(create_app(store, model=model, max_upload_bytes=4 * CHUNK)) as client:
            headers = {"content-type": "multipart/form-data; boundary=x"}
            return await client.post("/similar", content=body(), headers=headers)

    response = asyncio.run(main())
    assert response.status_code == 413 and "limit 65,536 bytes" in response.json()["detail"]
    assert sent <= 5


def test_model_work_leaves_the_event_loop_free(store, model):
    app = create_app(store, model=model)
    release = threading.Event()

    async def main() -> None:
        async with _served(app) as client:
            catalog = app.state.catalog
            similar = catalog.similar
            catalog.similar = lambda *args, **kwargs: release.wait(10) and similar(*args, **kwargs)
            pending = asyncio.create_task(client.post("/similar", json={"item_id": "tops/tops0"}))
            await asyncio.sleep(0.2)
            health = await asyncio.wait_for(client.get("/health"), timeout=5)
            assert health.status_code == 200 and not pending.done()
            release.set()
            assert (await pending).status_code == 200

    asyncio.run(main())
