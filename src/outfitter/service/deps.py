"""Dependencies the routes share: the catalogue and settings in app.state, the API key check, CPU work off the loop."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import unquote
from collections.abc import Callable, Iterable
from typing import Annotated, TypeVar

import anyio.to_thread
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from outfitter.errors import OutfitterError
from outfitter.recommend import Catalog
from outfitter.service.settings import ServiceSettings

T = TypeVar("T")
log = logging.getLogger(__name__)
KEY_COOKIE = "outfitter_key"
KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="Needed when the server has an API key.")


def get_settings(request: Request) -> ServiceSettings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_catalog(request: Request) -> Catalog:
    """The catalogue on the store's newest snapshot: appends, deletes and compactions by other processes show
    from the next request on, while requests already running finish on the snapshot they started with. A 503
    while the background check finds damaged files: better no answer than a wrong one."""
    state = request.app.state
    if getattr(state, "watch", None) and state.watch.problems:
        raise HTTPException(503, f"the catalogue store is damaged ({state.watch.problems[0]}); the operator should "
                                 f"run `outfitter check --store {state.settings.store_dir}`")
    if not state.catalog.store.is_current():
        with state.refresh_lock:
            state.catalog = _refreshed(state.catalog)
    return state.catalog


def _refreshed(catalog: Catalog) -> Catalog:
    """The newest snapshot, or the one being served if the store cannot be opened right now (logged)."""
    try:
        return catalog.refreshed()
    except OutfitterError as error:
        log.warning("keeping the current snapshot of %s: %s", catalog.store.root, error)
        return catalog


Settings = Annotated[ServiceSettings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]


def require_api_key(request: Request, settings: Settings, header: Annotated[str | None, Security(KEY_HEADER)]) -> None:
    """With an API key set, accept it from `X-API-Key`, `Authorization: Bearer` or the page's cookie; else 401."""
    if not key_accepted(request, settings, header):
        raise HTTPException(401, "missing or wrong API key (send X-API-Key or Authorization: Bearer)",
                            headers={"WWW-Authenticate": "Bearer"})


def key_accepted(request: Request, settings: ServiceSettings, header: str | None) -> bool:
    """True without an API key, or when the request carries it (the page's cookie holds it URI-encoded)."""
    if settings.api_key is None:
        return True
    cookie = request.cookies.get(KEY_COOKIE)
    given = header or _bearer(request) or (unquote(cookie) if cookie else "")
    return secrets.compare_digest(given.encode(), settings.api_key.encode())


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def run_cpu(request: Request, fn: Callable[[], T], *, embeds: bool) -> T:
    """Run `fn` off the event loop; photo work waits for one of `embed_workers` slots, catalogue-only work does not."""
    return await anyio.to_thread.run_sync(fn, limiter=request.app.state.embed_limiter if embeds else None)


def require_items(catalog: Catalog, item_ids: Iterable[str]) -> None:
    """404 naming the first id the catalogue does not hold."""
    for item_id in item_ids:
        if item_id not in catalog.store:
            raise HTTPException(404, f"unknown item id {item_id!r}")


def require_categories(catalog: Catalog, categories: Iterable[str | None]) -> None:
    """422 naming the first category the catalogue does not have, and the ones it has."""
    known = catalog.store.category_names
    for name in categories:
        if name is not None and catalog.store.category_name(name) is None:
            raise HTTPException(422, f"unknown category {name!r} (this catalogue has: {', '.join(known) or 'none'})")
