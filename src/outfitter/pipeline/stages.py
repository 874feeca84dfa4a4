"""The embedding job's stages: a reader that decodes photos, a mapper that embeds them, a writer that stores them.

Each stage knows nothing of the others; `runner.py` connects them. The reader decodes in threads
(`read_batches`), overlapped with inference in the calling thread; it is also a torch Dataset, so training
jobs can read through a DataLoader. The per-item features stored beside the vectors are computed in the
decoding threads too (`FeatureCollate`), from the same pixels the backbone gets.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar

import numpy as np
import torch
from torch.utils.data import Dataset

from outfitter.catalog.store import CatalogStore
from outfitter.errors import ImageError
from outfitter.pipeline.features import check_names, compute_features
from outfitter.types import Item

LOWEST_PRIORITY = 19  # the nice value of decoding threads on Linux
CHUNK_GROWTH = 16  # a writer's chunk is at least 1/16 of what it has written...
GROWN_CHUNK = 65536  # ...up to this many items (64 MiB of 256-d float32 vectors)
B = TypeVar("B")


@dataclass(frozen=True)
class Decoded:
    """One reader output: the item's position in the job and its tensor, or the reason it failed."""

    index: int
    tensor: torch.Tensor | None
    error: str | None = None


class ImageReader(Dataset):
    """Reads item photos into model inputs with `read(path)` (`Preprocess.reader`); a bad photo becomes an error
    record, never an exception."""

    def __init__(self, items: Sequence[Item], read: Callable[[str], torch.Tensor]) -> None:
        self.items = items
        self.read = read

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Decoded:
        item = self.items[index]
        try:
            if item.path is None:
                raise ImageError("item has no image path", field=item.item_id)
            return Decoded(index, self.read(item.path))
        except ImageError as exc:
            return Decoded(index, None, str(exc))


Batch = tuple[list[int], torch.Tensor | None, list[tuple[int, str]]]
"""Positions of the decoded items, their stacked tensors (None if none decoded), and (position, reason) failures."""


def collate(records: list[Decoded]) -> Batch:
    """Stack the decoded tensors of a batch; keep the failures aside."""
    good = [r for r in records if r.tensor is not None]
    failed = [(r.index, r.error or "unreadable") for r in records if r.tensor is None]
    batch = torch.stack([r.tensor for r in good]) if good else None
    return [r.index for r in good], batch, failed


class FeaturedBatch(NamedTuple):
    """A collated batch and the named per-item features [len(indices), width] of its pixels."""

    indices: list[int]
    pixels: torch.Tensor | None
    failed: list[tuple[int, str]]
    features: dict[str, np.ndarray]


class FeatureCollate:
    """`collate`, then the named features of the batch's uint8 pixels (picklable, so a DataLoader can use it).

    Run as `read_batches`' collate_fn, the features come from the decoding threads. Garment histograms of 16
    images at 224 px take 0.4-0.6 ms an image on one thread: 3-5% of EfficientNet-Lite0 in onnxruntime on a
    busy 2-core machine (11-13 ms an image), 10-15% at its quiet rate (4-4.6 ms); on the main thread's pool of 2
    torch threads they took 1.2-28 ms. Indexing 256 photos there ran at 70-80 items/s with or without them in
    the decoding threads, and at 36-42 items/s with them on the main thread.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.names = check_names(names)

    def __call__(self, records: list[Decoded]) -> FeaturedBatch:
        indices, pixels, failed = collate(records)
        features = compute_features(pixels, self.names) if pixels is not None else {}
        return FeaturedBatch(indices, pixels, failed, features)


def read_batches(reader: ImageReader, batch_size: int, threads: int, *, ahead: int = 4,
                 collate_fn: Callable[[list[Decoded]], B] = collate) -> Iterator[B]:
    """The reader's items in batches, in order, decoded by `threads` threads up to `ahead` batches in advance.

    Threads rather than processes: decoding and resizing run in C with the GIL released, so they overlap
    inference without copying pixels between processes (on 2 cores: 67% of the model-only rate against 54%
    with a DataLoader worker process). They run at the lowest priority: the job then goes at the model's pace
    on an idle machine, and yields to other work on a busy one. threads=0 decodes in the calling thread.
    `collate_fn` runs in the decoding thread too (e.g. `FeatureCollate`).
    """
    def load(start: int) -> B:
        return collate_fn([reader[i] for i in range(start, min(start + batch_size, len(reader)))])

    starts = range(0, len(reader), batch_size)
    if threads == 0:
        yield from map(load, starts)
        return
    pool = ThreadPoolExecutor(threads, thread_name_prefix="outfitter-decode", initializer=_start_decoding_thread)
    pending: deque[Future[B]] = deque()
    try:
        for start in starts:
            pending.append(pool.submit(load, start))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_decoding_thread() -> None:
    """Set up a decoding thread: one torch thread for its resizes (a per-thread setting, so inference keeps every
    core) and, on Linux, the lowest CPU priority for this thread alone, so decoding fills the moments inference
    leaves idle instead of preempting it (EfficientNet-Lite0 on 2 cores: 72-74% -> 78-85% of the model-only rate)."""
    torch.set_num_threads(1)
    if sys.platform == "linux":
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)


class EmbedMapper:
    """Maps decoded uint8 pixel batches to unit-norm float32 vectors with one loaded embedder (model normalises)."""

    def __init__(self, embed: Callable[[torch.Tensor], np.ndarray]) -> None:
        self.embed = embed

    def __call__(self, batch: torch.Tensor) -> np.ndarray:
        return self.embed(batch)


@dataclass
class StoreWriter:
    """Buffers embedded items and their features and appends them to the store in chunks, each chunk one atomic
    commit (one segment). A chunk is `chunk` items, or a sixteenth of what this writer has written when that is
    more (at most `largest`): a job of millions makes a few hundred segments rather than tens of thousands,
    whose manifest every commit rewrites, and a killed job loses at most a sixteenth of its work."""

    store: CatalogStore
    chunk: int = 512
    largest: int = GROWN_CHUNK
    items: list[Item] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    features: dict[str, list[np.ndarray]] = field(default_factory=dict)
    written: int = 0

    def add(self, items: Sequence[Item], vectors: np.ndarray, features: Mapping[str, np.ndarray] | None = None) -> None:
        self.items.extend(items)
        self.vectors.append(vectors)
        for name, values in (features or {}).items():
            self.features.setdefault(name, []).append(values)
        if len(self.items) >= max(self.chunk, min(self.largest, self.written // CHUNK_GROWTH)):
            self.flush()

    def flush(self) -> None:
        """Commit what is buffered; after this returns, an interruption loses none of it."""
        if self.items:
            features = {name: np.concatenate(parts) for name, parts in self.features.items()}
            self.store.append(self.items, np.concatenate(self.vectors), features)
            self.written += len(self.items)
            self.items, self.vectors, self.features = [], [], {}
