"""Exact cosine top-K over a store, block by block, with category filters and per-query exclusions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from outfitter.catalog.store import CatalogStore
from outfitter.search.base import Hits


def topk_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores of each row, best first (ties broken by lower index)."""
    k = min(k, scores.shape[1])
    if k <= 0:
        return np.zeros((scores.shape[0], 0), dtype=np.int64)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.lexsort((part, -np.take_along_axis(scores, part, 1)), axis=1)
    return np.take_along_axis(part, order, 1)


class ExactIndex:
    """Brute-force inner product over unit vectors (cosine), exact by construction."""

    def __init__(self, store: CatalogStore, block_rows: int = 65536) -> None:
        self.store = store
        self.block_rows = block_rows

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        category: str | None = None,
        exclude: Sequence[set[str]] | None = None,
    ) -> Hits:
        """Top-k (id, cosine) per query row; only items of `category` if given; `exclude[q]` ids skipped for query q."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        code = self.store.category_code(category) if category is not None else None
        if category is not None and code is None:
            return [[] for _ in queries]
        best_s = np.full((len(queries), 0), -np.inf, dtype=np.float32)
        best_id = np.empty((len(queries), 0), dtype=object)
        for block in self.store.blocks(self.block_rows):
            scores = self._block_scores(block, queries, code, exclude)
            cand_s = np.concatenate([best_s, scores], 1)
            cand_id = np.concatenate([best_id, np.broadcast_to(block.ids.astype(object), scores.shape)], 1)
            keep = topk_rows(cand_s, k)
            best_s, best_id = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_id, keep, 1)
        return [
            [(i, float(s)) for i, s in zip(ids, sc) if np.isfinite(s)][:k]
            for ids, sc in zip(best_id.tolist(), best_s.tolist())
        ]

    @staticmethod
    def _block_scores(block, queries: np.ndarray, code: int | None, exclude) -> np.ndarray:
        scores = queries @ np.asarray(block.vectors, dtype=np.float32).T
        mask = block.live if code is None else block.live & (block.categories == code)
        scores[:, ~mask] = -np.inf
        if exclude:
            ids = block.ids
            for q, ex in enumerate(exclude):
                if ex:
                    scores[q, np.isin(ids, list(ex))] = -np.inf
        return scores
