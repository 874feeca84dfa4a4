"""Index a source of photos into a store: pick the reader, build the backbone, run the embedding job, and
back-fill the stored features of items indexed before those features existed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from outfitter.backbones import DEFAULT_BACKBONE, create_backbone, get_spec
from outfitter.backbones.onnx import make_embedder
from outfitter.catalog.store import MANIFEST, CatalogStore
from outfitter.config import DEFAULT_BATCH_SIZE
from outfitter.datasets import PolyvoreOutfits, read_source
from outfitter.errors import InputError
from outfitter.pipeline import EmbedReport, embed_into_store, ensure_features
from outfitter.search.select import EXACT_BELOW, build_index
from outfitter.types import Item

# Merge the store's segments once an incremental job leaves more than this many.
COMPACT_AFTER_SEGMENTS = 16


def load_items(source: Path | None, *, polyvore: Path | None = None, version: str = "nondisjoint",
               warn: Callable[[str], None] | None = None) -> list[Item]:
    """Items from a photo folder, a CSV manifest, or a Polyvore Outfits root (exactly one)."""
    if (source is None) == (polyvore is None):
        raise InputError("give either SOURCE (a folder or CSV manifest) or --polyvore ROOT")
    if polyvore is not None:
        return PolyvoreOutfits(polyvore, version, on_missing=warn).items()
    return read_source(source, on_missing=warn)


def index_items(items: Sequence[Item], store_dir: Path, *, backbone: str = DEFAULT_BACKBONE,
                weights: Path | None = None, batch_size: int = DEFAULT_BATCH_SIZE, workers: int | None = None,
                progress: bool = True, runtime: str = "auto", cache_dir: Path | None = None,
                dtype: str = "float32", ann_threshold: int = EXACT_BELOW) -> EmbedReport:
    """Embed `items` into the store at `store_dir` (created if needed), skipping those already there, with their
    stored features; items stored before get the features they lack (before any compaction, which keeps only
    features every segment has).

    `runtime` "auto" embeds in onnxruntime when it works (exported once into `cache_dir`), else torch;
    "torch" or "onnx" forces one. `dtype` float16 halves a new store's vectors. A store of `ann_threshold`
    items or more gets its approximate-nearest-neighbour index (re)built when new items arrive.
    """
    if not items:
        raise InputError("no items to index")
    if (store_dir / MANIFEST).exists():
        CatalogStore.open(store_dir).check_backbone(get_spec(backbone).name)
    model = create_backbone(backbone, weights=weights)
    store = CatalogStore.open_or_create(store_dir, backbone=model.name, dim=model.dim, dtype=dtype)
    embed = make_embedder(model, runtime, cache_dir=cache_dir)
    report = embed_into_store(items, store, model, batch_size=batch_size, workers=workers, progress=progress,
                              embed=embed)
    ensure_features(store, batch_size=batch_size, workers=workers, progress=progress)
    if len(store.segments) > COMPACT_AFTER_SEGMENTS:
        store.compact()
    if report.embedded and len(store) >= ann_threshold:
        build_index(store)
    return report
