"""Run the embedding job: skip what is stored, read and embed in batches, commit in chunks, show progress."""

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
from outfitter.config import DECODE_SIDE, DEFAULT_BATCH_SIZE
from outfitter.pipeline.stages import (
    EmbedMapper,
    ImageReader,
    StoreWriter,
    read_batches,
)
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
) -> EmbedReport:
    """Embed the items not yet in `store` and append them; safe to interrupt and run again.

    `embed` (uint8 pixels -> vectors) replaces the backbone's torch forward (e.g. an onnxruntime session)
    without changing the rest.
    """
    store.check_backbone(backbone.name)
    unique = _unique(items)
    todo = [it for it in unique if it.item_id not in store]
    report = EmbedReport(already_stored=len(unique) - len(todo))
    if not todo:
        return report
    preprocess = backbone.preprocess
    mapper = EmbedMapper(embed or backbone.embed_pixels)
    writer = StoreWriter(store, chunk=chunk)
    workers = default_workers() if workers is None else workers
    reader = ImageReader(todo, preprocess.reader(max(DECODE_SIDE, preprocess.image_size)))
    with _progress(progress) as bar:
        task = bar.add_task("embedding", total=len(todo))
        for indices, batch, failed in read_batches(reader, batch_size, workers):
            for i, reason in failed:
                log.warning("skipped %s: %s", todo[i].path, reason)
                report.failed.append((todo[i].item_id, reason))
            if batch is not None:
                writer.add([todo[i] for i in indices], mapper(batch))
            bar.advance(task, len(indices) + len(failed))
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


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), disable=not enabled, transient=False,
    )
