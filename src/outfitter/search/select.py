"""Choose the search index for a store: exact below a size threshold, else its saved FAISS index if usable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from outfitter.catalog.store import CatalogStore
from outfitter.search.base import Index
from outfitter.search.exact import ExactIndex
from outfitter.search.faiss_index import FLAT_BELOW, FaissIndex

EXACT_BELOW = FLAT_BELOW


@dataclass(frozen=True)
class BuiltIndex:
    """What `build_index` made: where it is saved, its kind and parameters, the rows it covers, time and size."""

    path: Path
    kind: str
    rows: int
    params: dict
    build_s: float
    bytes: int

    def __str__(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return (f"{self.kind} index over {self.rows:,} items ({params}) built in {self.build_s:.1f} s, "
                f"{self.bytes / 2**20:.1f} MiB at {self.path}")


def open_index(store: CatalogStore, *, threshold: int = EXACT_BELOW) -> Index:
    """Exact search for stores under `threshold` items; otherwise the saved FAISS index, or exact if none loads.

    Any index that loads is used, however many items were appended since it was built: those are searched
    exactly and merged, so it is never slower than exact search. Rebuild when that tail grows large.
    """
    if len(store) < threshold:
        return ExactIndex(store)
    return FaissIndex.load(store) or ExactIndex(store)


def build_index(store: CatalogStore, kind: str = "auto", **params) -> BuiltIndex:
    """Build and save the store's FAISS index (what `outfitter build-index` runs)."""
    index = FaissIndex.build(store, kind, **params)
    path = index.save()
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return BuiltIndex(path, index.meta.kind, index.meta.rows, index.meta.params, index.meta.build_s, size)
