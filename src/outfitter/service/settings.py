"""The service's settings: one frozen record built by the app factory and read by the routes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Pixels an upload may decode to: a 34 KB all-black 6000x6000 PNG (36 MP) once took 461 MiB; a large phone JPEG
# still passes, as it decodes at reduced scale (images._open counts the pixels actually decoded).
UPLOAD_MAX_PIXELS = 25_000_000


@dataclass(frozen=True)
class ServiceSettings:
    """Where the catalogue is, which model ranks complements, and the limits every request is held to.

    The store's files are re-hashed in the background every `verify_interval_s` (only new or changed files after
    the first pass). `model` None is the shipped default; `slots` maps the shop's categories to outfit slots (a JSON/CSV file or a
    dict; None: the store's own slots.json, then the category names, then the categories' photos).
    """

    store_dir: Path
    model: Path | None = None
    slots: Path | Mapping[str, str] | None = None
    weights: Path | None = None
    api_key: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    body_timeout_s: float = 30.0
    max_pixels: int = UPLOAD_MAX_PIXELS
    max_images: int = 8
    max_items: int = 20
    embed_workers: int = max(1, os.cpu_count() or 1)
    verify_interval_s: float = 60.0
