"""Per-item model inputs computed once and cached on disk: backbone vectors (MLP) or stem features + histograms.

The frozen part of each model runs once per image here, never once per pair. A cache folder is keyed by the
backbone, the input settings, a fingerprint of the frozen weights and a hash of the item ids and paths, and
is written atomically (temporary folder, then rename). Stem features are stored as float16 and read back
memory-mapped, so a large training set does not have to fit in memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.lib.format import open_memmap
from PIL import Image
from rich.progress import track
from torch import nn
from torch.utils.data import DataLoader

from outfitter.backbones import Backbone, Preprocess, create_backbone, get_spec
from outfitter.compat.base import CompatModel, ItemTable
from outfitter.config import DECODE_SIDE, DEFAULT_BACKBONE
from outfitter.errors import InputError
from outfitter.images import color_histograms
from outfitter.pipeline.features import FEATURES, compute_features
from outfitter.pipeline.stages import ImageReader, collate
from outfitter.types import Item

log = logging.getLogger(__name__)

Compute = Callable[[torch.Tensor], tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class InputKind:
    """How one kind of model input is computed (STYLE habit 14): for catalogue items, cached on disk, and for query
    photos in memory, the same way. A model names its kind in `input_spec()["inputs"]`."""

    items: Callable[..., ItemTable]
    photos: Callable[..., tuple[torch.Tensor, ...]]


INPUT_KINDS: dict[str, InputKind] = {}


def register_input_kind(name: str, kind: InputKind) -> InputKind:
    """Make an input kind available to every model that names it."""
    INPUT_KINDS[name] = kind
    return kind


def input_kind(model: CompatModel) -> InputKind:
    """The input kind the model names, or an InputError listing the known ones."""
    name = model.input_spec()["inputs"]
    if name not in INPUT_KINDS:
        raise InputError(f"unknown model input kind {name!r}; known: {', '.join(sorted(INPUT_KINDS))}", field="inputs")
    return INPUT_KINDS[name]


def item_inputs(
    model: CompatModel,
    items: Sequence[Item],
    cache_dir: str | Path | None = None,
    *,
    backbone: Backbone | None = None,
    weights: str | Path | None = None,
    batch_size: int = 64,
    num_workers: int = 0,
    progress: bool = True,
) -> ItemTable:
    """The inputs `model.embed` takes for each item (unreadable images are reported and left out)."""
    options = {"batch_size": batch_size, "num_workers": num_workers, "progress": progress}
    return input_kind(model).items(model, items, cache_dir, backbone=backbone, weights=weights, **options)


def photo_inputs(
    model: CompatModel, images: Sequence[Image.Image], *, backbone: Backbone | None = None,
    weights: str | Path | None = None, store_preprocess: Preprocess | None = None,
) -> tuple[torch.Tensor, ...]:
    """The inputs `model.embed` takes for in-memory RGB photos (queries), computed exactly as the cached ones.

    A stored per-item feature (GarmentNet) is computed as `outfitter index` did for the catalogue, on the pixels
    of `store_preprocess` (the catalogue's backbone's; default: the default backbone's).
    """
    return input_kind(model).photos(model, images, backbone=backbone, weights=weights, store_preprocess=store_preprocess)


def _vector_items(model: CompatModel, items: Sequence[Item], cache_dir: str | Path | None, *,
                  backbone: Backbone | None, weights: str | Path | None, **options: Any) -> ItemTable:
    spec = model.input_spec()
    backbone = _backbone_for(spec, backbone, weights)
    return backbone_vectors(items, backbone, cache_dir, normalize=spec["normalize"], image_size=spec["image_size"],
                            **options)


def _vector_photos(model: CompatModel, images: Sequence[Image.Image], *, backbone: Backbone | None,
                   weights: str | Path | None, store_preprocess: Preprocess | None) -> tuple[torch.Tensor, ...]:
    spec = model.input_spec()
    backbone = _backbone_for(spec, backbone, weights)
    preprocess = _sized(backbone.preprocess, spec["image_size"])
    return _computed(_vector_fn(backbone, preprocess, spec["normalize"]), preprocess, images)


def _stem_items(model: CompatModel, items: Sequence[Item], cache_dir: str | Path | None, *,
                backbone: Backbone | None, weights: str | Path | None, **options: Any) -> ItemTable:
    return stem_features(items, model, cache_dir, **options)


def _stem_photos(model: CompatModel, images: Sequence[Image.Image], *, backbone: Backbone | None,
                 weights: str | Path | None, store_preprocess: Preprocess | None) -> tuple[torch.Tensor, ...]:
    return _computed(_stem_fn(model), model.preprocess, images)


def _garment_items(model: CompatModel, items: Sequence[Item], cache_dir: str | Path | None, *,
                   backbone: Backbone | None, weights: str | Path | None, **options: Any) -> ItemTable:
    return garment_inputs(items, model, cache_dir, **options)


def _garment_photos(model: CompatModel, images: Sequence[Image.Image], *, backbone: Backbone | None,
                    weights: str | Path | None, store_preprocess: Preprocess | None) -> tuple[torch.Tensor, ...]:
    feature = model.input_spec()["feature"]
    preprocess = store_preprocess or get_spec(DEFAULT_BACKBONE).preprocess
    pixels = torch.stack([preprocess.pixels(img) for img in images])
    return (torch.from_numpy(compute_features(pixels, [feature])[feature]),)


def _computed(compute: Compute, preprocess: Preprocess, images: Sequence[Image.Image]) -> tuple[torch.Tensor, ...]:
    """`compute` run on the photos' tensors, as float32 tensors."""
    pixels = torch.stack([preprocess.to_tensor(img) for img in images])
    return tuple(torch.from_numpy(np.asarray(a, dtype=np.float32)) for a in compute(pixels))


register_input_kind("vectors", InputKind(_vector_items, _vector_photos))
register_input_kind("stem", InputKind(_stem_items, _stem_photos))
register_input_kind("garment", InputKind(_garment_items, _garment_photos))


def backbone_vectors(
    items: Sequence[Item],
    backbone: Backbone,
    cache_dir: str | Path | None = None,
    *,
    normalize: bool = True,
    image_size: int | None = None,
    **options: Any,
) -> ItemTable:
    """Pooled backbone vectors [N, dim] (unit-norm unless normalize=False), float32."""
    preprocess = _sized(backbone.preprocess, image_size)
    key = _key(f"vectors-{backbone.name}-{preprocess.image_size}", items, normalize, _fingerprint(backbone.model))
    return _extract(items, preprocess, _vector_fn(backbone, preprocess, normalize), cache_dir, key, **options)


def stem_features(items: Sequence[Item], model: CompatModel, cache_dir: str | Path | None = None, **options: Any) -> ItemTable:
    """PolaniaNet inputs: frozen-stem features (float16) and colour histograms of the resized, unnormalised image."""
    spec = model.input_spec()
    name = f"stem-{spec['backbone']}-{spec['image_size']}"
    key = _key(name, items, (spec["normalize"], spec["bins"]), _fingerprint(model.stem))
    return _extract(items, model.preprocess, _stem_fn(model), cache_dir, key, **options)


def garment_inputs(items: Sequence[Item], model: CompatModel, cache_dir: str | Path | None = None, **options: Any) -> ItemTable:
    """GarmentNet inputs: the model's stored per-item feature, computed as `outfitter index` computes it, on the
    default backbone's pixels."""
    name = model.input_spec()["feature"]
    preprocess = get_spec(DEFAULT_BACKBONE).preprocess
    key = _key(f"{name}-{preprocess.image_size}-{preprocess.resize_mode}", items, FEATURES[name].width, "feature")
    return _extract(items, preprocess, partial(_feature_fn, name), cache_dir, key, **options)


def _feature_fn(name: str, pixels: torch.Tensor) -> tuple[np.ndarray, ...]:
    """[0,1] pixels (from uint8) -> (the named stored feature,)."""
    return (compute_features(pixels.mul(255.0).round_().to(torch.uint8), [name])[name],)


def _backbone_for(spec: dict[str, Any], backbone: Backbone | None, weights: str | Path | None) -> Backbone:
    """The given backbone if it is the one the model expects, else that one built."""
    return backbone if backbone is not None and backbone.name == spec["backbone"] else create_backbone(spec["backbone"], weights=weights)


def _vector_fn(backbone: Backbone, preprocess: Preprocess, normalize: bool) -> Compute:
    """[0,1] pixels -> (pooled vectors,), unit-norm if asked."""

    @torch.inference_mode()
    def compute(pixels: torch.Tensor) -> tuple[np.ndarray, ...]:
        vectors = backbone.model(preprocess.normalize(pixels)).float()
        return ((nn.functional.normalize(vectors, dim=1) if normalize else vectors).numpy(),)

    return compute


def _stem_fn(model: CompatModel) -> Compute:
    """[0,1] pixels -> (float16 stem features, colour histograms)."""
    bins = model.input_spec()["bins"]

    @torch.inference_mode()
    def compute(pixels: torch.Tensor) -> tuple[np.ndarray, ...]:
        return model.stem_features(pixels).to(torch.float16).numpy(), color_histograms(pixels, bins=bins).numpy()

    return compute


def _sized(preprocess: Preprocess, image_size: int | None) -> Preprocess:
    """The backbone's preprocessing at another input size (small sizes make tests and demos fast)."""
    return replace(preprocess, image_size=image_size) if image_size else preprocess


def _fingerprint(module: nn.Module) -> str:
    """A hash of a module's weights, so a cache never serves features of other weights."""
    digest = hashlib.sha1()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def _key(name: str, items: Sequence[Item], settings: object, fingerprint: str) -> str:
    """Cache folder name: what is computed, plus a hash of the settings, weights and item ids and paths."""
    digest = hashlib.sha1(f"{settings!r}|{fingerprint}".encode())
    for item in items:
        digest.update(f"\n{item.item_id}\t{item.path}".encode())
    return f"{name}-{digest.hexdigest()[:16]}"


def _extract(
    items: Sequence[Item],
    preprocess: Preprocess,
    compute: Compute,
    cache_dir: str | Path | None,
    key: str,
    *,
    batch_size: int = 64,
    num_workers: int = 0,
    progress: bool = True,
) -> ItemTable:
    """Cached table if present; else run compute over the photos in batches (into the cache when given)."""
    final = Path(cache_dir) / key if cache_dir is not None else None
    if final is not None and (final / "ids.json").is_file():
        return _read_cache(final)
    if final is not None:
        final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=final.parent)) if final else None
    try:
        table = _run(items, preprocess, compute, work, batch_size, num_workers, progress)
        if final is None:
            return table
        _write_ids(work, table)
        _publish(work, final)
    finally:
        if work is not None and work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return _read_cache(final)


def _run(
    items: Sequence[Item], preprocess: Preprocess, compute: Compute, folder: Path | None,
    batch_size: int, num_workers: int, progress: bool,
) -> ItemTable:
    """One pass over the photos: each batch computed and written into preallocated arrays."""
    loader = DataLoader(ImageReader(items, preprocess.reader(DECODE_SIDE)), batch_size=batch_size,
                        num_workers=num_workers, collate_fn=collate)
    arrays: list[np.ndarray] = []
    kept: list[int] = []
    for rows, pixels, failures in track(loader, description="Computing item features", disable=not progress, transient=True):
        for row, error in failures:
            log.warning("skipped item %s: %s", items[row].item_id, error)
        if pixels is None:
            continue
        outputs = compute(pixels.float().div_(255.0))
        arrays = arrays or _allocate(folder, len(items), outputs)
        for array, output in zip(arrays, outputs):
            array[rows] = output
        kept.extend(rows)
    if not arrays:
        arrays = [np.zeros((len(items), 0), dtype=np.float32)]
    return ItemTable([items[r].item_id for r in kept], tuple(arrays), np.asarray(kept, dtype=np.int64))


def _allocate(folder: Path | None, count: int, outputs: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """Zeroed arrays for every item, shaped like one batch's outputs (memory-mapped files when caching)."""
    shapes = [((count, *o.shape[1:]), o.dtype) for o in outputs]
    if folder is None:
        return [np.zeros(shape, dtype) for shape, dtype in shapes]
    return [open_memmap(folder / f"a{k}.npy", mode="w+", dtype=dtype, shape=shape) for k, (shape, dtype) in enumerate(shapes)]


def _write_ids(folder: Path, table: ItemTable) -> None:
    """Flush (or save) the arrays and record which rows belong to which item id."""
    for k, array in enumerate(table.arrays):
        if isinstance(array, np.memmap):
            array.flush()
        else:
            np.save(folder / f"a{k}.npy", array)
    with open(folder / "ids.json", "w", encoding="utf-8") as handle:
        json.dump({"ids": table.ids, "rows": table.rows.tolist(), "arrays": len(table.arrays)}, handle)


def _publish(work: Path, final: Path) -> None:
    """Move the finished folder into place; if another process got there first, keep theirs."""
    try:
        os.replace(work, final)
    except OSError:
        if not (final / "ids.json").is_file():
            raise


def _read_cache(folder: Path) -> ItemTable:
    """A cached table, its arrays memory-mapped read-only."""
    with open(folder / "ids.json", encoding="utf-8") as handle:
        meta = json.load(handle)
    arrays = tuple(np.load(folder / f"a{k}.npy", mmap_mode="r") for k in range(meta["arrays"]))
    return ItemTable(meta["ids"], arrays, np.asarray(meta["rows"], dtype=np.int64))
