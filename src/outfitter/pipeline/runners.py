"""Where the embedding job's work runs: a runner takes the items to embed and an embedder *builder*, and yields
embedded batches; the driver (`runner.embed_into_store`) alone writes them to the store.

A builder rather than a built embedder, because an onnxruntime session cannot be shipped to another process:
each worker builds its own once. `LocalRunner` is today's job (decoding threads overlapped with inference in the
calling thread); `pipeline/ray_runner.py` spreads the same stages over a Ray cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from outfitter.backbones import Preprocess, create_backbone
from outfitter.config import DECODE_SIDE
from outfitter.pipeline.stages import EmbedMapper, FeatureCollate, ImageReader, read_batches
from outfitter.types import Item

Embedder = Callable[[torch.Tensor], np.ndarray]


@dataclass(frozen=True)
class EmbeddedBatch:
    """Some of the job's items embedded: their positions in the job, vectors and features, and the positions of
    photos that could not be read, with the reason."""

    indices: list[int]
    vectors: np.ndarray
    features: dict[str, np.ndarray]
    failed: list[tuple[int, str]]


@dataclass(frozen=True)
class BackboneEmbedder:
    """A picklable recipe for an embedder: the backbone by name (a registry name or a tuned file's path, which
    workers must be able to read), its weights file and the runtime. Called once per worker."""

    backbone: str
    weights: str | None = None
    runtime: str = "auto"
    cache_dir: str | None = None
    threads: int | None = None

    def __call__(self) -> Embedder:
        """Build the uint8 pixels -> unit vectors function (an onnxruntime session where it works)."""
        from outfitter.backbones.onnx import make_embedder

        backbone = create_backbone(self.backbone, weights=self.weights)
        cache = Path(self.cache_dir) if self.cache_dir else None
        return make_embedder(backbone, self.runtime, cache_dir=cache, threads=self.threads)


class Runner(Protocol):
    """Runs the job's reader -> mapper stages somewhere and yields embedded batches to the driver, in any order."""

    def batches(self, todo: Sequence[Item], preprocess: Preprocess, embedder: Callable[[], Embedder], *,
                features: Sequence[str], batch_size: int) -> Iterator[EmbeddedBatch]:
        ...


def photo_reader(items: Sequence[Item], preprocess: Preprocess) -> ImageReader:
    """A reader decoding the items' photos as the index job does (reduced-scale JPEG decoding included), so
    anything computed from its pixels matches what indexing computes."""
    return ImageReader(items, preprocess.reader(max(DECODE_SIDE, preprocess.image_size)))


@dataclass(frozen=True)
class LocalRunner:
    """This machine: `workers` decoding threads (0: the calling thread) overlapped with inference in the calling
    thread, which builds the embedder once."""

    workers: int

    def batches(self, todo: Sequence[Item], preprocess: Preprocess, embedder: Callable[[], Embedder], *,
                features: Sequence[str], batch_size: int) -> Iterator[EmbeddedBatch]:
        mapper = EmbedMapper(embedder())
        for batch in read_batches(photo_reader(todo, preprocess), batch_size, self.workers,
                                  collate_fn=FeatureCollate(features)):
            vectors = mapper(batch.pixels) if batch.pixels is not None else np.zeros((0, 0), np.float32)
            yield EmbeddedBatch(batch.indices, vectors, batch.features, batch.failed)
