"""Drive the embedding job: skip what is stored, let a runner read and embed in batches (here or on a cluster),
commit in chunks, show progress.

Each item's stored features (`features.FEATURES`) are computed in the same pass, from the same decoded pixels.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from outfitter.backbones import Backbone
from outfitter.catalog.store import CatalogStore
from outfitter.config import DEFAULT_BATCH_SIZE
from outfitter.pipeline.features import FEATURES
from outfitter.pipeline.runners import LocalRunner, Runner
from outfitter.pipeline.stages import StoreWriter
from outfitter.types import Item

log = logging.getLogger(__name__)


@dataclass
class EmbedReport:
    """What one run of the job did."""

    embedded: int = 0
    already_stored: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def default_workers() -> int:
    """Decoding threads: one per core (they mostly wait in C with the GIL released), at least two, at most eight."""
    return max(2, min(8, os.cpu_count() or 2))


def embed_into_store(
    items: Sequence[Item],
    store: CatalogStore,
    backbone: Backbone,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int | None = None,
    chunk: int = 512,
    progress: bool = True,
    embed: Callable | None = None,
    features: Sequence[str] = tuple(FEATURES),
    runner: Runner | None = None,
    embedder: Callable[[], Callable] | None = None,
) -> EmbedReport:
    """Embed the items not yet in `store` and append them with their `features`; safe to interrupt and run again.

    `embed` (uint8 pixels -> vectors) replaces the backbone's torch forward (e.g. an onnxruntime session)
    without changing the rest. `runner` decides where decoding and embedding run (default: this machine with
    `workers` decoding threads); a runner elsewhere builds its embedders with `embedder` (e.g. a
    `BackboneEmbedder`). Whatever the runner, this process alone writes the store, in chunks of `chunk` items
    (growing to a sixteenth of what the job has written, see `StoreWriter`), each one atomic commit: a killed job
    loses at most the chunk in progress, and a rerun skips what is stored.
    """
    store.check_backbone(backbone.name)
    unique = _unique(items)
    todo = [it for it in unique if it.item_id not in store]  # skipped before anything is sent to a worker
    report = EmbedReport(already_stored=len(unique) - len(todo))
    if not todo:
        return report
    runner = runner or LocalRunner(default_workers() if workers is None else workers)
    embedder = embedder or (lambda: embed or backbone.embed_pixels)
    writer = StoreWriter(store, chunk=chunk)
    with progress_bar(progress) as bar:
        task = bar.add_task("embedding", total=len(todo))
        for batch in runner.batches(todo, backbone.preprocess, embedder, features=features, batch_size=batch_size):
            for i, reason in batch.failed:
                log.info("skipped %s: %s", todo[i].path, reason)  # reported once, by the caller, from the report
                report.failed.append((todo[i].item_id, reason))
            if batch.indices:
                writer.add([todo[i] for i in batch.indices], batch.vectors, batch.features)
            bar.advance(task, len(batch.indices) + len(batch.failed))
    writer.flush()
    report.embedded = writer.written
    return report


def _unique(items: Sequence[Item]) -> list[Item]:
    """Items with duplicate ids removed, first kept (a manifest may list a photo twice)."""
    first: dict[str, Item] = {}
    for it in items:
        first.setdefault(it.item_id, it)
    return list(first.values())


class RateColumn(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:.1f} items/s", style="cyan")


def progress_bar(enabled: bool) -> Progress:
    """The pipeline's progress bar: count, rate, elapsed and remaining time."""
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), disable=not enabled, transient=False,
    )
