"""A compatibility model bound to a catalogue: item embeddings cached in the store, photo queries, a fast ranker."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from outfitter.backbones import Backbone, create_backbone
from outfitter.catalog.store import CatalogStore
from outfitter.compat import ComplementaryRanker, embed_table, item_inputs, load_model
from outfitter.compat.base import CompatModel
from outfitter.compat.features import photo_inputs
from outfitter.compat.projections import ProjectionTable
from outfitter.digest import module_digest
from outfitter.errors import InputError

CACHE_DIR = "compat-cache"
PROJECTIONS_DIR = "projections"


@dataclass(frozen=True)
class OutfitScore:
    """How well a set of items goes together: the mean pairwise probability and each pair's probability."""

    score: float
    pairs: list[tuple[str, str, float]]

    def to_dict(self) -> dict:
        return {"score": self.score, "pairs": [{"a": a, "b": b, "score": s} for a, b, s in self.pairs]}


class Complements:
    """Complementary ranking and outfit scoring over one store with one compatibility model.

    Ranker rows are the store's rows when the model takes the store's vectors (its projections then live in the
    store, one table per segment, built once per model), else the rows of the model's own item embeddings.
    """

    def __init__(self, store: CatalogStore, model: CompatModel, meta: dict, *, backbone: Backbone | None = None) -> None:
        self.store = store
        self.model = model.eval()
        self.meta = meta
        self._backbone = backbone
        if self._uses_store_vectors():
            self._bind_store_rows()
        else:
            self._bind_embedded_rows()

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
                and spec.get("image_size") in (None, own) and self.model.embeds_inputs_unchanged)

    def _bind_store_rows(self) -> None:
        """Rank the store's rows directly: projections cached per segment (a ReLU-readout model) or the vectors."""
        store = self.store
        self.ids, self.categories, self.candidates = store.all_ids(), store.all_categories(), store.live_mask()
        self._embeddings, self._rows = None, None  # ids are found through the store's own index
        if self.model.relu_readout() is None:
            self.ranker = ComplementaryRanker(self.model, store.vectors())
            return
        cache = store.root / PROJECTIONS_DIR / module_digest(self.model, self.model.kind)
        tables = [ProjectionTable.load_or_build(self.model, seg.vectors, cache / seg.name) for seg in store.segments]
        _remove_stale(cache, {seg.name for seg in store.segments})
        self.ranker = ComplementaryRanker(self.model, tables=tables)

    def _bind_embedded_rows(self) -> None:
        """Rank the model's embeddings of the live items whose inputs it could compute (cached in the store)."""
        items = [self.store.get(i) for i in self.store.ids()]
        inputs = item_inputs(self.model, items, self.store.root / CACHE_DIR, progress=False,
                             backbone=self.model_backbone)
        table = embed_table(self.model, inputs)
        codes = self.store.all_categories()
        row_of = {item_id: r for r, item_id in enumerate(self.store.all_ids().tolist())}
        self.ids = np.asarray(table.ids)
        self.categories = np.array([codes[row_of[i]] for i in table.ids], dtype=np.int32)
        self.candidates = np.ones(len(table.ids), dtype=bool)
        self._embeddings, self._rows = table.vectors, table.index
        self.ranker = ComplementaryRanker(self.model, table.vectors)

    def embeddings_of(self, item_ids: Sequence[str]) -> np.ndarray:
        """Model embeddings [len(ids), E] of catalogue items (InputError for an id that cannot be ranked)."""
        unknown = [i for i in item_ids if self._row_of(i) is None]
        if unknown:
            raise InputError(f"unknown item id {unknown[0]!r}", field="item_ids")
        if self._embeddings is None:
            return np.stack([self.store.vector(i) for i in item_ids]).astype(np.float32)
        return np.asarray(self._embeddings[[self._rows[i] for i in item_ids]], dtype=np.float32)

    def _row_of(self, item_id: str) -> int | None:
        """The ranker row of a rankable item, None for any other id."""
        if self._rows is None:
            return self.store.row(item_id) if item_id in self.store else None
        return self._rows.get(item_id)

    # ---- queries

    def query_embeddings(self, item_ids: Sequence[str] = (), images: Sequence[Image.Image] = ()) -> np.ndarray:
        """Model embeddings [Q, E] of catalogue items and photos making up a (partial) outfit."""
        parts = [self.embeddings_of(list(item_ids))] if item_ids else []
        if images:
            with torch.no_grad():
                inputs = photo_inputs(self.model, list(images), backbone=self.model_backbone)
                parts.append(self.model.embed(*inputs).numpy())
        if not parts:
            raise InputError("give at least one item id or image")
        return np.concatenate(parts).astype(np.float32)

    def rank(
        self, query: np.ndarray, *, exclude: Sequence[str], categories: Sequence[str], k: int
    ) -> dict[str, list[tuple[str, float]]]:
        """Top-k catalogue items per category by mean compatibility with the query items (exact top-k per category)."""
        allowed = self.candidates.copy()
        allowed[[row for row in map(self._row_of, exclude) if row is not None]] = False
        out = {}
        for name in categories:
            code = self.store.category_code(name)
            rows = np.flatnonzero(allowed & (self.categories == code)) if code is not None else np.zeros(0, np.int64)
            best, scores = self.ranker.topk(query, k, rows)
            out[name] = [(str(self.ids[r]), float(score)) for r, score in zip(best, scores)]
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


def _remove_stale(cache: Path, live: set[str]) -> None:
    """Delete the projection tables of segments that compaction removed from the store."""
    for path in cache.iterdir() if cache.is_dir() else ():
        if path.is_dir() and path.name not in live and not path.name.startswith("."):
            shutil.rmtree(path, ignore_errors=True)
