"""The catalogue store: vectors and metadata on disk, written atomically."""

from outfitter.catalog.store import CatalogStore

__all__ = ["CatalogStore"]
