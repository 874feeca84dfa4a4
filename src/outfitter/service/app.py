"""The app factory: settings in, a FastAPI app out; its lifespan warms the catalogue's models before serving."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from importlib.resources import files
import threading
from pathlib import Path

import anyio
import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from PIL import Image

from outfitter.errors import InputError
from outfitter.recommend import Catalog
from outfitter.service.errors import install_error_handlers
from outfitter.service.limits import BodyLimit, return_large_frees_to_the_system
from outfitter.service.routes import catalogue, public, recommend
from outfitter.service.security import checked_key
from outfitter.service.settings import DEFAULT_MAX_UPLOAD_BYTES, ServiceSettings
from outfitter.service.watch import StoreWatch

WEB = Path(str(files("outfitter.service") / "web"))
DESCRIPTION = """Similar and complementary fashion items from one photo; the web page is at `/`.

Complements come one row per outfit slot (shoes, bags, outerwear, ...) worn with the query, most worn first;
an outfit score comes with a verdict (goes well / so-so / clashes) and the pairs that cannot be worn together.
Queries take JSON, or a multipart form with `image` files. Errors are `{"detail": "..."}`: 400 malformed form or
too many files, 401 missing API key, 404 unknown item, 408 a body that stopped arriving, 413 body over the upload
limit, 415 other body types, 422 bad input or image (an unknown category names the catalogue's categories),
503 the store's files are damaged (the server re-hashes them in the background; `/health` answers 503 too).
When the server has an API key, send it as `X-API-Key: KEY` or `Authorization: Bearer KEY`;
the page takes it from its address once (`/?key=KEY`) and keeps it in a same-site cookie.
"""


def create_app(
    store_dir: str | Path,
    *,
    model: str | Path | None = None,
    slots: str | Path | Mapping[str, str] | None = None,
    api_key: str | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    weights: str | Path | None = None,
    allowed_hosts: Sequence[str] | None = None,
    **limits: float,
) -> FastAPI:
    """The service for the store in `store_dir`; `limits` overrides ServiceSettings' caps.

    Complements use `model` (default: the shipped one) and `slots`, the shop's category -> outfit slot mapping
    (a dict or a JSON/CSV file; see Catalog.open). The store, model and mapping are checked here (StoreError or
    InputError at once); nothing heavy loads until startup. An empty `api_key` is refused; `allowed_hosts` limits
    the Host headers served (default: any; `outfitter serve` passes a safe list).
    """
    settings = ServiceSettings(Path(store_dir), model=Path(model) if model else None,
                               slots=dict(slots) if isinstance(slots, Mapping) else Path(slots) if slots else None,
                               weights=Path(weights) if weights else None, api_key=checked_key(api_key),
                               max_upload_bytes=max_upload_bytes, **limits)
    catalog = Catalog.open(settings.store_dir, model=settings.model, weights=settings.weights, slots=settings.slots)
    if not catalog.model_path.is_file():  # the shipped default is missing: a broken install, say so before serving
        raise InputError("compatibility model not found (pass a model file)", path=catalog.model_path)
    app = FastAPIOffline(title="outfitter", version="0.1.0", lifespan=lifespan, description=DESCRIPTION)
    app.state.settings = settings
    app.state.catalog = catalog
    app.state.refresh_lock = threading.Lock()
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes, timeout_s=settings.body_timeout_s)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts or ["*"]))
    install_error_handlers(app)
    for router in (public, recommend, catalogue):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB), name="static")
    app.add_api_route("/", _page, include_in_schema=False)
    return app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Warm the catalogue's backbone and compatibility model before the first request; bound concurrent model work;
    let memory freed after huge uploads go back to the system; watch the store's files for damage."""
    return_large_frees_to_the_system()
    await anyio.to_thread.run_sync(warm, app.state.catalog)
    app.state.embed_limiter = anyio.CapacityLimiter(app.state.settings.embed_workers)
    app.state.watch = StoreWatch(app.state.settings.store_dir, app.state.settings.verify_interval_s).start()
    try:
        yield
    finally:
        app.state.watch.stop()


def warm(catalog: Catalog) -> None:
    """Build the backbone and the garment parser and run them once; load the compatibility model and embed the
    catalogue for it. The first request of each kind then answers as fast as the rest."""
    catalog.embed_image(Image.new("RGB", (64, 64), "white"))
    catalog.parser.parse(Image.new("RGB", (64, 96), "white"))
    _ = catalog.complements


async def _page() -> FileResponse:
    """The web page."""
    return FileResponse(WEB / "index.html", headers={"Cache-Control": "no-cache"})
