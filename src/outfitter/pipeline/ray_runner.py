"""The embedding job on a Ray cluster, with Ray Data: the items to embed become a dataset of (index, path) rows, a
pool of actors that each build their embedder once (an onnxruntime session per actor) reads, decodes and embeds
them, and the results stream back to the driver, which alone writes the store (`runner.embed_into_store`).

Each worker is one CPU: an actor reads, decodes and embeds its batches, two at a time, so one decodes (in C, the
GIL released) while the other is embedded, as the local runner's threads overlap. Decoding in the actor rather
than in separate tasks keeps pixels out of the object store and leaves no task waiting for a CPU that the actors
hold. Photos are read by the workers: local paths must be reachable from every node (a shared file system), or
the manifest names them by URI (`s3://`, `gs://`, `hdfs://`, `file://`: whatever pyarrow's file systems read,
with the cloud credentials of the nodes). outfitter must be installed on every node.
Ray restarts a lost actor and retries its batches; a row that reaches the driver twice is written once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from outfitter.backbones import Preprocess
from outfitter.errors import InputError
from outfitter.pipeline.runners import BackboneEmbedder, EmbeddedBatch, Embedder, photo_reader
from outfitter.pipeline.stages import FeatureCollate
from outfitter.types import Item

SLOT_CPUS = 1.0  # one actor per CPU
BATCHES_IN_FLIGHT = 2  # per actor: one batch decodes (in C, the GIL released) while another is embedded
FEATURE = "feature:"


def ray_available() -> bool:
    """Whether Ray Data can be imported (the `ray` extra)."""
    try:
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class RayRunner:
    """Runs the job on the Ray cluster at `address` (None: the one this process is connected to, or a local one
    started with `ray.init()`), with `workers` embedding actors."""

    workers: int = 2
    address: str | None = None

    def batches(self, todo: Sequence[Item], preprocess: Preprocess, embedder: Callable[[], Embedder], *,
                features: Sequence[str], batch_size: int) -> Iterator[EmbeddedBatch]:
        if not isinstance(embedder, BackboneEmbedder):
            raise InputError("the Ray runner needs a BackboneEmbedder (a recipe each worker can build), not a "
                             "built embedder", field="runner")
        ray = _connect(self.address)
        rows = [{"index": i, "path": item.path or ""} for i, item in enumerate(todo)]
        blocks = min(len(rows), max(self.workers * BATCHES_IN_FLIGHT, min(len(rows) // batch_size, 200)))
        dataset = ray.data.from_items(rows, override_num_blocks=blocks)  # a small job still reaches every actor
        embedded = dataset.map_batches(
            EmbedActor, fn_constructor_kwargs={"embedder": embedder, "preprocess": preprocess,
                                               "features": list(features)},
            batch_size=batch_size, batch_format="numpy", num_cpus=SLOT_CPUS,
            compute=ray.data.ActorPoolStrategy(size=self.workers, max_concurrent_calls_per_actor=BATCHES_IN_FLIGHT,
                                               enable_true_multi_threading=True))
        seen: set[int] = set()
        for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
            result = _embedded(batch, seen)
            if result.indices or result.failed:
                yield result


def _connect(address: str | None) -> Any:
    """The `ray` module, connected to the cluster at `address` (or a local one) unless it already is."""
    if not ray_available():
        raise InputError("the Ray runner needs Ray Data: pip install 'outfitter[ray]'", field="runner")
    import ray

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    ray.data.DataContext.get_current().enable_progress_bars = False  # the driver shows outfitter's own bar
    return ray


class EmbedActor:
    """One worker: builds its embedder once, then turns batches of (index, path) into vectors and features; it
    decodes in the same process (no pixels cross the object store), two batches at a time, with the local job's
    own reader and `FeatureCollate`, so pixels and stored features are computed exactly as a local run does."""

    def __init__(self, embedder: BackboneEmbedder, preprocess: Preprocess, features: list[str]) -> None:
        torch.set_num_threads(1)
        self.embed = embedder()
        self.preprocess = preprocess
        self.collate = FeatureCollate(features)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        paths = [str(p) for p in batch["path"]]
        reader = photo_reader([Item(str(i), p or None) for i, p in zip(batch["index"], paths)], self.preprocess)
        decoded = self.collate([reader[row] for row in range(len(paths))])
        errors = np.array([""] * len(paths), dtype=object)
        for row, reason in decoded.failed:
            errors[row] = reason
        out = {"index": np.asarray(batch["index"], np.int64), "error": errors}
        vectors = self.embed(decoded.pixels) if decoded.pixels is not None else np.zeros((0, 1), np.float32)
        features = ((FEATURE + n, decoded.features.get(n, np.zeros((0, 0), np.float32))) for n in self.collate.names)
        for key, values in (("vector", vectors), *features):
            out[key] = _rows_of(values, decoded.indices, len(paths))  # Ray Data needs a value for every row
        return out


def _rows_of(values: np.ndarray, rows: list[int], count: int) -> np.ndarray:
    """`values` of the decoded `rows` placed in a float32 [count, width] array, zeros for the rows that failed."""
    out = np.zeros((count, values.shape[1]), np.float32)
    out[rows] = values
    return out


def _embedded(batch: dict[str, np.ndarray], seen: set[int]) -> EmbeddedBatch:
    """A result batch as the driver's EmbeddedBatch, leaving out rows already received (a retried task)."""
    fresh = np.array([int(i) not in seen for i in batch["index"]], bool)
    seen.update(int(i) for i in batch["index"])
    good = fresh & (batch["error"] == "")
    failed = [(int(i), str(e)) for i, e, f in zip(batch["index"], batch["error"], fresh) if f and e]
    features = {key[len(FEATURE):]: np.asarray(value[good], np.float32) for key, value in batch.items()
                if key.startswith(FEATURE)}
    return EmbeddedBatch([int(i) for i in batch["index"][good]], np.asarray(batch["vector"][good], np.float32),
                         features, failed)

