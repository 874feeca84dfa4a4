"""One contract for every compatibility model: per-item `embed`, pairwise `score_logits`, and ranking hooks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass
class ItemTable:
    """Per-item arrays (model inputs or embeddings) and the row of each item id; skipped items are absent."""

    ids: list[str]
    arrays: tuple[np.ndarray, ...]
    rows: np.ndarray
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {item_id: int(row) for item_id, row in zip(self.ids, self.rows)}

    @classmethod
    def dense(cls, ids: Sequence[str], *arrays: np.ndarray) -> "ItemTable":
        """A table whose row i belongs to ids[i]."""
        return cls(list(ids), tuple(arrays), np.arange(len(ids)))

    def __contains__(self, item_id: str) -> bool:
        return item_id in self.index

    @property
    def vectors(self) -> np.ndarray:
        """The first array: the embedding matrix of an embeddings table."""
        return self.arrays[0]

    def rows_of(self, item_ids: Sequence[str]) -> np.ndarray:
        """Array rows of the given ids (KeyError for an unknown id)."""
        return np.fromiter((self.index[i] for i in item_ids), dtype=np.int64, count=len(item_ids))

    def subset(self, item_ids: Sequence[str]) -> "ItemTable":
        """The same arrays restricted to the given ids (unknown ids are left out)."""
        known = [i for i in dict.fromkeys(item_ids) if i in self.index]
        return ItemTable(known, self.arrays, self.rows_of(known))

    def take(self, rows: np.ndarray) -> tuple[torch.Tensor, ...]:
        """The given rows of every array as float32 tensors (works on memory-mapped arrays)."""
        rows = np.asarray(rows, dtype=np.int64)
        return tuple(torch.from_numpy(np.asarray(a[rows], dtype=np.float32)) for a in self.arrays)


class CompatModel(nn.Module):
    """Base of the pairwise compatibility models: `embed` maps item inputs to vectors, `score_logits` scores pairs.

    The ranker, trainer and evaluator only use this contract. Pair scores may be order-sensitive: `ea` is the
    query (or earlier) item and `eb` the candidate (or later) item everywhere.
    """

    kind: str = ""
    backbone_name: str = ""
    embed_dim: int = 0
    embeds_inputs_unchanged: bool = False
    """True when `embed` returns its input (the MLP): a catalogue's stored vectors are then its embeddings."""
    rank_block: int = 512
    """Candidate rows the torch ranking path scores at once (PolaniaNet: a [512, 512] block stays in the cache)."""

    def embed(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Per-item embeddings [N, E] from the model's per-item inputs."""
        raise NotImplementedError

    def score_logits(self, ea: torch.Tensor, eb: torch.Tensor) -> torch.Tensor:
        """Pairwise compatibility logits [N] of embedding rows ea[i], eb[i]."""
        raise NotImplementedError

    def score(self, ea: torch.Tensor, eb: torch.Tensor) -> torch.Tensor:
        """Pairwise compatibility probabilities [N]."""
        return torch.sigmoid(self.score_logits(ea, eb))

    def pair_logits(self, inputs_a: Sequence[torch.Tensor], inputs_b: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits of pairs given both items' raw inputs (the training step)."""
        return self.score_logits(self.embed(*inputs_a), self.embed(*inputs_b))

    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this model (stored in checkpoints)."""
        raise NotImplementedError

    def input_spec(self) -> dict[str, Any]:
        """How per-item inputs are computed from photos (features.py reads this)."""
        raise NotImplementedError

    def project_candidates(self, emb: torch.Tensor) -> torch.Tensor:
        """Per-candidate precomputation for ranking (default: the embeddings themselves)."""
        return emb

    def project_query(self, emb: torch.Tensor) -> torch.Tensor:
        """Per-query-item precomputation for ranking [Q, ...] (default: the embeddings themselves)."""
        return emb

    def relu_readout(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(w [H], b) when logits = b + w . relu(projected candidate + projected query), else None.

        Models of that shape are ranked by the compiled scans over stored projections (compat/scan.py).
        """
        return None

    def projected_logits(self, candidates: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        """Logits [Q, B] of every query item against every candidate, from the two projections."""
        q, b = queries.shape[0], candidates.shape[0]
        ea = queries.repeat_interleave(b, dim=0)
        eb = candidates.repeat(q, *([1] * (candidates.ndim - 1)))
        return self.score_logits(ea, eb).view(q, b)


@torch.no_grad()
def embed_table(model: CompatModel, inputs: ItemTable, *, batch_size: int = 512) -> ItemTable:
    """Embeddings of the table's items in eval mode, in batches: a dense table with the same ids."""
    was_training = model.training
    model.eval()
    rows = inputs.rows
    blocks = [model.embed(*inputs.take(rows[s : s + batch_size])) for s in range(0, len(rows), batch_size)]
    model.train(was_training)
    vectors = torch.cat(blocks).numpy() if blocks else np.zeros((0, model.embed_dim), dtype=np.float32)
    return ItemTable.dense(inputs.ids, vectors)
