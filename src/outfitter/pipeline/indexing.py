"""Index a source of photos into a store: pick the reader, build the backbone, run the embedding job, and
back-fill the stored features of items indexed before those features existed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from outfitter.backbones import DEFAULT_BACKBONE, create_backbone, get_spec
from outfitter.backbones.onnx import make_embedder
from outfitter.catalog.store import MANIFEST, CatalogStore
from outfitter.config import DEFAULT_BATCH_SIZE
from outfitter.datasets import PolyvoreOutfits, read_source
from outfitter.errors import InputError
from outfitter.pipeline import EmbedReport, embed_into_store, ensure_features
from outfitter.pipeline.runner import default_workers
from outfitter.pipeline.runners import BackboneEmbedder, LocalRunner, Runner
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
                dtype: str = "float32", ann_threshold: int = EXACT_BELOW, runner: str = "local",
                ray_address: str | None = None) -> EmbedReport:
    """Embed `items` into the store at `store_dir` (created if needed), skipping those already there, with their
    stored features; items stored before get the features they lack (before any compaction, which keeps only
    features every segment has).

    `runtime` "auto" embeds in onnxruntime when it works (exported once into `cache_dir`), else torch;
    "torch" or "onnx" forces one. `runner` "local" decodes in `workers` threads here; "ray" spreads decoding and
    embedding over the Ray cluster at `ray_address` (default: a local one) with `workers` actors (default 2). `dtype` float16 halves a new store's vectors. A store of `ann_threshold`
    items or more gets its approximate-nearest-neighbour index (re)built when new items arrive.
    """
    if not items:
        raise InputError("no items to index")
    job_runner = _runner(runner, workers, ray_address)
    if (store_dir / MANIFEST).exists():
        CatalogStore.open(store_dir).check_backbone(get_spec(backbone).name)
    model = create_backbone(backbone, weights=weights)
    store = CatalogStore.open_or_create(store_dir, backbone=model.name, dim=model.dim, dtype=dtype)
    if runner == "local":  # the backbone built here embeds here
        embedder = partial(make_embedder, model, runtime, cache_dir=cache_dir)
    else:  # each worker builds its own from this recipe
        embedder = BackboneEmbedder(backbone, str(weights) if weights else None, runtime,
                                    str(cache_dir) if cache_dir else None)
    report = embed_into_store(items, store, model, batch_size=batch_size, workers=workers, progress=progress,
                              runner=job_runner, embedder=embedder)
    ensure_features(store, batch_size=batch_size, workers=workers, progress=progress)
    if len(store.segments) > COMPACT_AFTER_SEGMENTS:
        store.compact()
    if report.embedded and len(store) >= ann_threshold:
        build_index(store)
    return report


RUNNERS = ("local", "ray")


def _runner(name: str, workers: int | None, ray_address: str | None) -> Runner:
    """The runner called `name`: this machine's threads, or a Ray cluster (Ray imported only then)."""
    if name == "local":
        return LocalRunner(default_workers() if workers is None else workers)
    if name == "ray":
        from outfitter.pipeline.ray_runner import RayRunner

        return RayRunner(workers=workers or 2, address=ray_address)
    raise InputError(f"unknown runner {name!r}; choose one of {', '.join(RUNNERS)}", field="runner")
