"""A compatibility model bound to a catalogue: item embeddings cached in the store, photo queries, a fast ranker."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from outfitter.backbones import Backbone, create_backbone
from outfitter.catalog.store import CatalogStore
from outfitter.compat import ComplementaryRanker, ItemTable, embed_table, item_inputs, load_model
from outfitter.compat.base import CompatModel
from outfitter.compat.features import photo_inputs
from outfitter.errors import InputError

CACHE_DIR = "compat-cache"


@dataclass(frozen=True)
class OutfitScore:
    """How well a set of items goes together: the mean pairwise probability and each pair's probability."""

    score: float
    pairs: list[tuple[str, str, float]]

    def to_dict(self) -> dict:
        return {"score": self.score, "pairs": [{"a": a, "b": b, "score": s} for a, b, s in self.pairs]}


class Complements:
    """Complementary ranking and outfit scoring over one store with one compatibility model."""

    def __init__(self, store: CatalogStore, model: CompatModel, meta: dict, *, backbone: Backbone | None = None) -> None:
        self.store = store
        self.model = model.eval()
        self.meta = meta
        self._backbone = backbone
        self.table = self._catalogue_embeddings()
        self.ranker = ComplementaryRanker(self.model, self.table.vectors)
        codes = store.all_categories()
        row_of = {item_id: r for r, item_id in enumerate(store.all_ids().tolist())}
        self.categories = np.array([codes[row_of[i]] for i in self.table.ids], dtype=np.int32)

    @classmethod
    def load(cls, store: CatalogStore, path: str | Path, *, backbone: Backbone | None = None) -> "Complements":
        """Load a checkpoint written by `outfitter train` and bind it to `store`."""
        model, meta = load_model(path)
        return cls(store, model, meta, backbone=backbone)

    @cached_property
    def model_backbone(self) -> Backbone | None:
        """The backbone whose vectors the model takes (the catalogue's own when it is that one), built once."""
        spec = self.model.input_spec()
        if spec["inputs"] != "vectors":
            return None
        if self._backbone is not None and self._backbone.name == spec["backbone"]:
            return self._backbone
        return create_backbone(spec["backbone"])

    def _uses_store_vectors(self) -> bool:
        """True when the model's item inputs are exactly the store's vectors (same backbone and preprocessing)."""
        spec = self.model.input_spec()
        own = self._backbone.preprocess.image_size if self._backbone else None
        return (spec["inputs"] == "vectors" and spec["backbone"] == self.store.backbone and spec["normalize"]
                and spec.get("image_size") in (None, own))

    def _catalogue_embeddings(self) -> ItemTable:
        """Model embeddings of every live catalogue item; inputs other than store vectors are cached in the store."""
        if self._uses_store_vectors():
            live = self.store.live_mask()
            inputs = ItemTable(self.store.all_ids()[live].tolist(), (self.store.vectors(),), np.flatnonzero(live))
        else:
            items = [self.store.get(i) for i in self.store.ids()]
            inputs = item_inputs(self.model, items, self.store.root / CACHE_DIR, progress=False,
                                 backbone=self.model_backbone)
        return embed_table(self.model, inputs)

    # ---- queries

    def query_embeddings(self, item_ids: Sequence[str] = (), images: Sequence[Image.Image] = ()) -> np.ndarray:
        """Model embeddings [Q, E] of catalogue items and photos making up a (partial) outfit."""
        unknown = [i for i in item_ids if i not in self.table]
        if unknown:
            raise InputError(f"unknown item id {unknown[0]!r}", field="item_ids")
        parts = [self.table.vectors[self.table.rows_of(list(item_ids))]] if item_ids else []
        if images:
            with torch.no_grad():
                inputs = photo_inputs(self.model, list(images), backbone=self.model_backbone)
                parts.append(self.model.embed(*inputs).numpy())
        if not parts:
            raise InputError("give at least one item id or image")
        return np.concatenate(parts).astype(np.float32)

    def rank(self, query: np.ndarray, *, exclude: Sequence[str], categories: Sequence[str], k: int) -> dict[str, list[tuple[str, float]]]:
        """Top-k catalogue items per category by mean compatibility with the query items; one catalogue pass."""
        scores = self.ranker.scores(query)
        banned = np.isin(np.asarray(self.table.ids), list(exclude)) if exclude else np.zeros(len(scores), bool)
        out = {}
        for name in categories:
            code = self.store.category_code(name)
            rows = np.flatnonzero((self.categories == code) & ~banned) if code is not None else np.zeros(0, np.int64)
            best = rows[np.lexsort((rows, -scores[rows]))[:k]]
            out[name] = [(self.table.ids[r], float(scores[r])) for r in best]
        return out

    def score(self, query: np.ndarray, labels: Sequence[str]) -> OutfitScore:
        """Mean pairwise probability of the query items (pairs in the given order, earlier item first)."""
        if len(query) < 2:
            raise InputError("an outfit needs at least two items to score", field="item_ids")
        i, j = np.triu_indices(len(query), k=1)
        with torch.no_grad():
            q = torch.from_numpy(query)
            probs = self.model.score(q[i], q[j]).numpy()
        pairs = [(labels[a], labels[b], round(float(p), 6)) for a, b, p in zip(i, j, probs)]
        return OutfitScore(round(float(probs.mean()), 6), pairs)
