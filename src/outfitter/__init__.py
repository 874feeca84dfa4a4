"""outfitter: similar and complementary fashion items from one photo."""

from outfitter.backbones import create_backbone, list_backbones
from outfitter.catalog import CatalogStore
from outfitter.errors import (
    ImageError,
    InputError,
    OutfitterError,
    StoreError,
    WeightsNotFoundError,
)
from outfitter.recommend import Catalog
from outfitter.types import Hit, Item, Outfit

__all__ = [
    "Catalog",
    "CatalogStore",
    "Hit",
    "ImageError",
    "InputError",
    "Item",
    "Outfit",
    "OutfitterError",
    "StoreError",
    "WeightsNotFoundError",
    "create_backbone",
    "list_backbones",
]
