"""The contract every similar-item index keeps (exact search, the FAISS indexes): what the catalogue facade, the
match scale and the benchmarks program against, so a new index kind is one new class."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from outfitter.catalog.store import CatalogStore

Hits = list[list[tuple[str, float]]]
"""Per query row, its (item id, cosine) pairs, best first."""


@runtime_checkable
class Index(Protocol):
    """Top-k cosine search over one store's live items."""

    store: CatalogStore

    def search(self, queries: np.ndarray, k: int, *, category: str | None = None,
               exclude: Sequence[set[str]] | None = None) -> Hits:
        """Top-k (id, cosine) per query row [n, dim]; only items of `category` if given; `exclude[q]` ids skipped
        for query q; deleted items never."""
        ...
