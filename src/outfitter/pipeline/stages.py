"""The embedding job's stages: a reader that decodes photos, a mapper that embeds them, a writer that stores them.

Each stage knows nothing of the others; `runner.py` connects them. The reader is a torch Dataset so that
decoding and resizing run in DataLoader worker processes, overlapped with inference in the main process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from outfitter.catalog.store import CatalogStore
from outfitter.errors import ImageError
from outfitter.images import load_image
from outfitter.types import Item


@dataclass(frozen=True)
class Decoded:
    """One reader output: the item's position in the job and its tensor, or the reason it failed."""

    index: int
    tensor: torch.Tensor | None
    error: str | None = None


class ImageReader(Dataset):
    """Decodes and preprocesses item photos; a bad photo becomes an error record, never an exception."""

    def __init__(self, items: Sequence[Item], preprocess: Callable[[Image.Image], torch.Tensor]) -> None:
        self.items = items
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Decoded:
        item = self.items[index]
        try:
            if item.path is None:
                raise ImageError("item has no image path", field=item.item_id)
            return Decoded(index, self.preprocess(load_image(item.path)))
        except ImageError as exc:
            return Decoded(index, None, str(exc))


def collate(records: list[Decoded]) -> tuple[list[int], torch.Tensor | None, list[tuple[int, str]]]:
    """Stack the decoded tensors of a batch; keep the failures aside."""
    good = [r for r in records if r.tensor is not None]
    failed = [(r.index, r.error or "unreadable") for r in records if r.tensor is None]
    batch = torch.stack([r.tensor for r in good]) if good else None
    return [r.index for r in good], batch, failed


class EmbedMapper:
    """Loads a model once and maps preprocessed batches to unit-norm float32 vectors."""

    def __init__(self, embed: Callable[[torch.Tensor], np.ndarray]) -> None:
        self.embed = embed

    def __call__(self, batch: torch.Tensor) -> np.ndarray:
        return self.embed(batch)


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
