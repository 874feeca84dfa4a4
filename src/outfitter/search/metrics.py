"""Quality of similar-item search on data without instance labels: category precision@K, leave-one-out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from outfitter.search.exact import topk_rows


def category_precision_at_k(
    vectors: np.ndarray, labels: Sequence[str], ks: Sequence[int] = (1, 5, 10), block: int = 4096
) -> dict[int, float]:
    """Mean fraction of each item's k nearest other items (cosine) sharing its category."""
    vectors = np.asarray(vectors, dtype=np.float32)
    labels = np.asarray(labels)
    kmax = max(ks)
    hits = {k: 0.0 for k in ks}
    for lo in range(0, len(vectors), block):
        scores = vectors[lo:lo + block] @ vectors.T
        np.fill_diagonal(scores[:, lo:lo + block], -np.inf)
        same = labels[topk_rows(scores, kmax)] == labels[lo:lo + block, None]
        for k in ks:
            hits[k] += same[:, :k].mean(axis=1).sum()
    return {k: float(hits[k] / len(vectors)) for k in ks}
