"""Exact fast complementary ranking: the first layer of both models is linear in each item, so it is split.

MLP: W1 @ cat(q, c) = W1a @ q + W1b @ c; the candidate half (plus bias) is computed once per catalogue item.
PolaniaNet: fc1(e_q * e_c) = (W1 * e_q) @ e_c, with BatchNorm folded into fc1 and fc2 (eval mode).
Each query item then costs one pass over the catalogue, block by block, and the scores equal pairwise
scoring (query item as the first item, candidate as the second: the MLP is order-sensitive).
"""

from __future__ import annotations

import numpy as np
import torch

from outfitter.compat.base import CompatModel

BLOCK_SIZE = 512  # rows a block: a [512, 512] float32 block stays in the CPU cache (measured 4x faster than 4096)


class ComplementaryRanker:
    """Scores every catalogue item against a query outfit: mean pairwise probability over the query items.

    Puts the model in eval mode (BatchNorm folding needs its running statistics).
    """

    def __init__(self, model: CompatModel, embeddings: np.ndarray, *, block_size: int = BLOCK_SIZE) -> None:
        self.model = model.eval()
        self.block_size = block_size
        self.size = len(embeddings)
        with torch.no_grad():
            blocks = [
                model.project_candidates(torch.from_numpy(np.asarray(embeddings[s : s + block_size], dtype=np.float32)))
                for s in range(0, self.size, block_size)
            ]
        self.projections = torch.cat(blocks) if blocks else torch.zeros(0)

    @torch.no_grad()
    def scores(self, query_embeddings: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Mean probability [len(rows)] of each candidate row (default: all) with the query items [Q, E]."""
        rows = np.arange(self.size) if rows is None else np.asarray(rows, dtype=np.int64)
        queries = self.model.project_query(torch.from_numpy(np.asarray(query_embeddings, dtype=np.float32)))
        out = np.empty(len(rows), dtype=np.float32)
        for start in range(0, len(rows), self.block_size):
            block = rows[start : start + self.block_size]
            contiguous = len(block) and block[-1] - block[0] == len(block) - 1
            candidates = self.projections[block[0] : block[-1] + 1] if contiguous else self.projections[torch.from_numpy(block)]
            logits = self.model.projected_logits(candidates, queries)
            out[start : start + len(block)] = torch.sigmoid(logits).mean(0).numpy()
        return out

    def topk(
        self, query_embeddings: np.ndarray, k: int, candidate_mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k best candidate rows (within the mask) and their scores, best first; ties go to the lower row."""
        rows = np.arange(self.size) if candidate_mask is None else np.flatnonzero(candidate_mask)
        scores = self.scores(query_embeddings, rows)
        order = np.lexsort((rows, -scores))[:k]
        return rows[order], scores[order]
