"""The embedding job's stages: a reader that decodes photos, a mapper that embeds them, a writer that stores them.

Each stage knows nothing of the others; `runner.py` connects them. The reader decodes in threads
(`read_batches`), overlapped with inference in the calling thread; it is also a torch Dataset, so training
jobs can read through a DataLoader.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from outfitter.catalog.store import CatalogStore
from outfitter.errors import ImageError
from outfitter.types import Item


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


def read_batches(reader: ImageReader, batch_size: int, threads: int, *, ahead: int = 4) -> Iterator[Batch]:
    """The reader's items in batches, in order, decoded by `threads` threads up to `ahead` batches in advance.

    Threads rather than processes: decoding and resizing run in C with the GIL released, so they overlap
    inference without copying pixels between processes (on 2 cores: 67% of the model-only rate against 54%
    with a DataLoader worker process). threads=0 decodes in the calling thread.
    """
    def load(start: int) -> Batch:
        return collate([reader[i] for i in range(start, min(start + batch_size, len(reader)))])

    starts = range(0, len(reader), batch_size)
    if threads == 0:
        yield from map(load, starts)
        return
    pool = ThreadPoolExecutor(threads, thread_name_prefix="outfitter-decode", initializer=_one_torch_thread)
    pending: deque[Future[Batch]] = deque()
    try:
        for start in starts:
            pending.append(pool.submit(load, start))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _one_torch_thread() -> None:
    """Keep a decoding thread's torch ops (the resize) on that thread: the setting is per thread, so the main
    thread's inference keeps every core, and no idle OpenMP team spins on cores the other threads need."""
    torch.set_num_threads(1)


class EmbedMapper:
    """Maps decoded uint8 batches to unit-norm float32 vectors: `prepare` normalises, `embed` runs the model.

    Normalising here, once per batch, lets the readers send uint8 pixels (a quarter of float32's bytes).
    """

    def __init__(self, embed: Callable[[torch.Tensor], np.ndarray], prepare: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.embed = embed
        self.prepare = prepare

    def __call__(self, batch: torch.Tensor) -> np.ndarray:
        return self.embed(self.prepare(batch))


@dataclass
class StoreWriter:
    """Buffers embedded items and appends them to the store in chunks, each chunk one atomic commit."""

    store: CatalogStore
    chunk: int = 512
    items: list[Item] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)
    written: int = 0

    def add(self, items: Sequence[Item], vectors: np.ndarray) -> None:
        self.items.extend(items)
        self.vectors.append(vectors)
        if len(self.items) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        """Commit what is buffered; after this returns, an interruption loses none of it."""
        if self.items:
            self.store.append(self.items, np.concatenate(self.vectors))
            self.written += len(self.items)
            self.items, self.vectors = [], []
