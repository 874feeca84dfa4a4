"""outfitter: similar and complementary fashion items from one photo.

The public names are imported on first use (module `__getattr__`), so `import outfitter` and `outfitter --help`
do not load torch, faiss, numba or matplotlib.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Catalog": "outfitter.recommend",
    "CatalogStore": "outfitter.catalog",
    "Hit": "outfitter.types",
    "ImageError": "outfitter.errors",
    "InputError": "outfitter.errors",
    "Item": "outfitter.types",
    "Outfit": "outfitter.types",
    "OutfitterError": "outfitter.errors",
    "StoreError": "outfitter.errors",
    "WeightsNotFoundError": "outfitter.errors",
    "create_backbone": "outfitter.backbones",
    "list_backbones": "outfitter.backbones",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from outfitter.backbones import create_backbone, list_backbones
    from outfitter.catalog import CatalogStore
    from outfitter.errors import ImageError, InputError, OutfitterError, StoreError, WeightsNotFoundError
    from outfitter.recommend import Catalog
    from outfitter.types import Hit, Item, Outfit


def __getattr__(name: str) -> Any:
    """Import a public name's module when the name is first used."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'outfitter' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
