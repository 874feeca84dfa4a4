"""The REST API and web page: `create_app(store_dir, ...)` builds the app, `serve(app)` runs it."""

from outfitter.service.app import create_app
from outfitter.service.server import running, serve
from outfitter.service.settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app", "running", "serve"]
