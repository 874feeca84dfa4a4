"""Back-fill stored features: give the segments of a store made before a feature existed their rows of it.

Photos are read again from the paths in the store's metadata and decoded with the store's backbone
preprocessing (its registry entry only; no model is built), so the rows equal what indexing computes. One
commit per segment: an interrupted back-fill keeps the segments it finished and the next run does the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rich.progress import Progress, TaskID

from outfitter.backbones import Preprocess, get_spec
from outfitter.catalog.store import CatalogStore, Segment
from outfitter.config import DEFAULT_BATCH_SIZE
from outfitter.pipeline.features import FEATURES, check_names
from outfitter.pipeline.runner import default_workers, progress_bar
from outfitter.pipeline.runners import photo_reader
from outfitter.pipeline.stages import FeatureCollate, read_batches
from outfitter.types import Item

log = logging.getLogger(__name__)


@dataclass
class FeatureReport:
    """What one back-fill did: items given features, and (id, reason) of those whose photo could not be read."""

    filled: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def ensure_features(
    store: CatalogStore,
    names: Sequence[str] = tuple(FEATURES),
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    progress: bool = True,
) -> FeatureReport:
    """Compute the named features for every segment that lacks them, one commit per segment; safe to interrupt.

    A live item whose photo is now missing or unreadable gets a row of zeros, which no garment histogram is
    (its squares sum to one), so it reads as "not measured" and any dot product with it is 0; it is logged
    and listed in the report's `failed`. Deleted rows, kept until the next compaction, get zeros unread.
    """
    names = check_names(names)
    todo = [(seg, missing) for seg in store.segments if (missing := [n for n in names if not seg.has_feature(n)])]
    report = FeatureReport()
    if not todo:
        return report
    workers = default_workers() if workers is None else workers
    with progress_bar(progress) as bar:
        filler = _Filler(store, get_spec(store.backbone).preprocess, batch_size, workers, report, bar,
                         bar.add_task("features", total=sum(len(seg) for seg, _ in todo)))
        for seg, missing in todo:
            for name, array in filler.segment(seg, missing).items():
                store.add_segment_features(seg.name, name, array)
    return report


@dataclass
class _Filler:
    """Computes one segment's features at a time, reporting progress and unreadable photos."""

    store: CatalogStore
    preprocess: Preprocess
    batch_size: int
    workers: int
    report: FeatureReport
    bar: Progress
    task: TaskID

    def segment(self, seg: Segment, names: Sequence[str]) -> dict[str, np.ndarray]:
        """The named features of the segment's rows, zeros where a photo failed or the row is deleted."""
        items = seg.items()
        rows = [r for r, it in enumerate(items) if it.item_id in self.store]
        arrays = {name: np.zeros((len(items), FEATURES[name].width), np.float32) for name in names}
        self.bar.advance(self.task, len(items) - len(rows))
        reader = photo_reader([items[r] for r in rows], self.preprocess)
        for batch in read_batches(reader, self.batch_size, self.workers, collate_fn=FeatureCollate(names)):
            for name, values in batch.features.items():
                arrays[name][[rows[i] for i in batch.indices]] = values
            for i, reason in batch.failed:
                self._failed(items[rows[i]], reason)
            self.report.filled += len(batch.indices)
            self.bar.advance(self.task, len(batch.indices) + len(batch.failed))
        return arrays

    def _failed(self, item: Item, reason: str) -> None:
        log.warning("no features for %s: %s", item.path, reason)
        self.report.failed.append((item.item_id, reason))
