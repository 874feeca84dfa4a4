"""A compatibility model bound to a catalogue: item embeddings, outfit slots, photo queries, a fast ranker."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from outfitter.backbones import Backbone, create_backbone, get_spec
from outfitter.catalog.store import CatalogStore
from outfitter.compat import ComplementaryRanker, embed_table, item_inputs, load_model
from outfitter.compat.base import CompatModel
from outfitter.compat.features import photo_inputs
from outfitter.compat.projections import ProjectionTable
from outfitter.compat.slot_predictor import SlotPredictor
from outfitter.compat.slots import OutfitSlots
from outfitter.utils.digest import module_digest
from outfitter.errors import InputError, StoreError
from outfitter.images import load_image
from outfitter.compat.outfit_rules import OutfitRules, verdict
from outfitter.pipeline import ensure_features

CACHE_DIR = "compat-cache"
PROJECTIONS_DIR = "projections"
GUESS_SAMPLE = 64  # photos per unnamed category whose predicted slots vote for the category's slot
EMBED_BLOCK = 65536


@dataclass(frozen=True)
class OutfitScore:
    """How well items go together: mean pairwise probability (0 for a clashing pair), each pair, a verdict."""

    score: float
    pairs: list[tuple[str, str, float]]
    verdict: str | None = None
    clashes: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"score": self.score, "verdict": self.verdict,
                "pairs": [{"a": a, "b": b, "score": s} for a, b, s in self.pairs],
                "clashes": [{"a": a, "b": b} for a, b in self.clashes]}


class Complements:
    """Complementary ranking and outfit scoring over one store with one compatibility model.

    Ranker rows are the store's rows when the model takes the store's vectors (its projections then live in the
    store, one table per segment, built once per model), else the rows of the model's own item embeddings.
    """

    def __init__(self, store: CatalogStore, model: CompatModel, meta: dict, *, backbone: Backbone | None = None,
                 slot_mapping: dict[str, str] | None = None, progress: bool = True) -> None:
        self.store = store
        self.model = model.eval()
        self.meta = meta
        self._backbone = backbone
        extra: dict[str, Any] = meta.get("meta", {})
        self.predictor = SlotPredictor.from_dict(extra["slot_predictor"]) if "slot_predictor" in extra else None
        self.thresholds: dict[str, float] | None = extra.get("verdicts")
        slots = OutfitSlots.from_dict(extra["slots"]) if "slots" in extra else None
        self.rules = OutfitRules.for_categories(slots, store.category_names, slot_mapping)
        if self.rules.unnamed() and self.predictor is not None:
            guess = {c: self._guess_slot(c) for c in self.rules.unnamed()}
            self.rules = OutfitRules.for_categories(slots, store.category_names, slot_mapping, guess)
        if model.input_spec()["inputs"] == "garment":
            self._bind_garment_rows(progress)
        elif self._uses_store_vectors():
            self._bind_store_rows()
        else:
            self._bind_embedded_rows()

    @classmethod
    def load(cls, store: CatalogStore, path: str | Path, *, backbone: Backbone | None = None,
             slot_mapping: dict[str, str] | None = None, progress: bool = True) -> "Complements":
        """Load a checkpoint written by `outfitter train` and bind it to `store`."""
        model, meta = load_model(path)
        return cls(store, model, meta, backbone=backbone, slot_mapping=slot_mapping, progress=progress)

    @cached_property
    def slot_backbone(self) -> Backbone | None:
        """The backbone whose vectors the slot predictor reads (the catalogue's own when it is that one)."""
        if self.predictor is None:
            return None
        if self._backbone is not None and self._backbone.name == self.predictor.backbone:
            return self._backbone
        return create_backbone(self.predictor.backbone)

    def _guess_slot(self, category: str) -> str:
        """A category's slot voted by the predicted slots of up to GUESS_SAMPLE of its photos."""
        code = self.store.category_code(category)
        rows = np.flatnonzero((self.store.all_categories() == code) & self.store.live_mask())[:GUESS_SAMPLE]
        if self.predictor.backbone == self.store.backbone:
            return self.predictor.vote(np.asarray(self.store.vectors()[rows], dtype=np.float32))
        pictures = [load_image(self.store.get(i).path) for i in self.store.all_ids()[rows].tolist()]
        return self.predictor.vote(self.slot_backbone.embed_images(pictures))

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
        cache = store.sidecar(PROJECTIONS_DIR) / module_digest(self.model, self.model.kind)
        tables = [ProjectionTable.load_or_build(self.model, seg.vectors, cache / seg.name) for seg in store.segments]
        _remove_stale(cache, {seg.name for seg in store.segments})
        self.ranker = ComplementaryRanker(self.model, tables=tables)

    def _bind_garment_rows(self, progress: bool) -> None:
        """Embed every stored row from its stored per-item feature (back-filled first where a segment lacks it)."""
        store, spec = self.store, self.model.input_spec()
        if store.segments_missing(spec["feature"]):
            if not store.writable():
                raise StoreError(f"{store.root}: read-only, and indexed before {spec['feature']} features existed; "
                                 "run `outfitter index` on a writable copy once")
            ensure_features(store, [spec["feature"]], progress=progress)
        features = store.features(spec["feature"])
        with torch.no_grad():
            blocks = [self.model.embed(torch.from_numpy(np.array(features[s : s + EMBED_BLOCK], dtype=np.float32)))
                      for s in range(0, len(features), EMBED_BLOCK)]
        embeddings = torch.cat(blocks).numpy() if blocks else np.zeros((0, self.model.embed_dim), np.float32)
        self.ids, self.categories, self.candidates = store.all_ids(), store.all_categories(), store.live_mask()
        self._embeddings, self._rows = embeddings, None
        self.ranker = ComplementaryRanker(self.model, embeddings)

    def _bind_embedded_rows(self) -> None:
        """Rank the model's embeddings of the live items whose inputs it could compute (cached in the store)."""
        items = [self.store.get(i) for i in self.store.ids()]
        inputs = item_inputs(self.model, items, self.store.sidecar(CACHE_DIR), progress=False,
                             backbone=self.model_backbone)
        table = embed_table(self.model, inputs)
        codes = self.store.all_categories()
        self.ids = np.asarray(table.ids)
        self.categories = np.array([codes[self.store.row(i)] for i in table.ids], dtype=np.int32)
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
        return np.asarray(self._embeddings[[self._row_of(i) for i in item_ids]], dtype=np.float32)

    def _row_of(self, item_id: str) -> int | None:
        """The ranker row of a rankable item, None for any other id."""
        if self._rows is None:
            return self.store.row(item_id) if item_id in self.store else None
        return self._rows.get(item_id)

    # ---- queries

    def item_slots(self, item_ids: Sequence[str]) -> list[str | None]:
        """The slot of each catalogue item (its category's)."""
        return [self.rules.category_slots.get(self.store.get(i).category) for i in item_ids]

    def photo_slots(self, images: Sequence[Image.Image]) -> list[str | None]:
        """The predicted slot of each photo (None without a slot predictor)."""
        if self.predictor is None or not images:
            return [None] * len(images)
        return self.predictor.predict(self.slot_backbone.embed_images(list(images)))

    def query_embeddings(self, item_ids: Sequence[str] = (), images: Sequence[Image.Image] = ()) -> np.ndarray:
        """Model embeddings [Q, E] of catalogue items and photos making up a (partial) outfit."""
        parts = [self.embeddings_of(list(item_ids))] if item_ids else []
        if images:
            with torch.no_grad():
                inputs = photo_inputs(self.model, list(images), backbone=self.model_backbone,
                                      store_preprocess=get_spec(self.store.backbone).preprocess)
                parts.append(self.model.embed(*inputs).numpy())
        if not parts:
            raise InputError("give at least one item id or image")
        return np.concatenate(parts).astype(np.float32)

    def rank(
        self, query: np.ndarray, *, exclude: Sequence[str], targets: dict[str, list[str]], k: int
    ) -> dict[str, list[tuple[str, float]]]:
        """Top-k catalogue items per target row (its categories ranked together) by mean compatibility, exact."""
        allowed = self.candidates.copy()
        allowed[[row for row in map(self._row_of, exclude) if row is not None]] = False
        out = {}
        for name, categories in targets.items():
            codes = [code for code in map(self.store.category_code, categories) if code is not None]
            rows = np.flatnonzero(allowed & np.isin(self.categories, codes))
            best, scores = self.ranker.topk(query, k, rows)
            out[name] = [(str(self.ids[r]), float(score)) for r, score in zip(best, scores)]
        return out

    def score(self, query: np.ndarray, labels: Sequence[str], slots: Sequence[str | None] | None = None) -> OutfitScore:
        """Mean pairwise probability of the query items (earlier item first); a pair whose slots clash counts 0."""
        if len(query) < 2:
            raise InputError("an outfit needs at least two items to score", field="item_ids")
        i, j = np.triu_indices(len(query), k=1)
        with torch.no_grad():
            q = torch.from_numpy(query)
            probs = self.model.score(q[i], q[j]).numpy()
        clashing = set(self.rules.clashing_pairs(slots)) if slots is not None else set()
        probs = np.array([0.0 if (a, b) in clashing else p for a, b, p in zip(i, j, probs)])
        pairs = [(labels[a], labels[b], round(float(p), 6)) for a, b, p in zip(i, j, probs)]
        score = round(float(probs.mean()), 6)
        clashes = [(labels[a], labels[b]) for a, b in sorted(clashing)]
        return OutfitScore(score, pairs, verdict(score, self.thresholds, bool(clashes)), clashes)


def _remove_stale(cache: Path, live: set[str]) -> None:
    """Delete the projection tables of segments that compaction removed from the store."""
    for path in cache.iterdir() if cache.is_dir() else ():
        if path.is_dir() and path.name not in live and not path.name.startswith("."):
            shutil.rmtree(path, ignore_errors=True)
