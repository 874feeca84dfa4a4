"""Embedding throughput of the local and Ray runners, with 1 and 2 workers, on the same real photos.

    python benchmarks/embed_scaling.py [--photos 10000] [--runtime auto|torch|onnx] [--ray-address ADDR] [--no-pin]

A worker is one CPU: each run is pinned to N of this machine's cores (`os.sched_setaffinity`; the Ray runs start
their local cluster inside the pin, with N CPUs), so the 1-worker runs cannot borrow the second core: the local
runner runs N decoding threads and N inference threads, the Ray runner N embedding actors of one CPU each (two
batches in flight per actor). With --ray-address the cluster's own nodes decide and nothing is pinned (`--no-pin`
measures this machine the same way). Each run embeds into a fresh store, its embedder built inside the run by the
same recipe (`BackboneEmbedder`) for both runners, and prints photos/s twice: end to end (building the model, and
for Ray starting the actors, included) and steady (from the first embedded batch on: what a job of millions of
photos runs at, once start-up is amortised). Ratios: 2 workers against 1 (expect about 1.8x on 2 cores) and Ray
against local at the same worker count (target: Ray within 85%), and each job's start-up (end-to-end time less the
photos at the steady rate). Photos: ../shared/data/clothing-small (CC0). Without --ray-address a local Ray instance
is started for each worker count (its start-up is timed apart, not counted).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from outfitter.backbones import Backbone, create_backbone
from outfitter.catalog import CatalogStore
from outfitter.config import DEFAULT_BACKBONE
from outfitter.pipeline import embed_into_store
from outfitter.pipeline.runners import BackboneEmbedder, EmbeddedBatch, LocalRunner
from outfitter.types import Item

DATA = Path(__file__).resolve().parents[2] / "shared/data/clothing-small"


def photos(n: int) -> list[Item]:
    """`n` photos of clothing-small; past its 3,781 the same photos again under new ids (a bigger job)."""
    rows = list(csv.DictReader(open(DATA / "manifest.csv")))
    items = []
    for i in range(n):
        row, rounds = rows[i % len(rows)], i // len(rows)
        items.append(Item(f"{row['path']}#{rounds}" if rounds else row["path"], str(DATA / row["path"]), row["label"]))
    return items


@dataclass
class Clocked:
    """A runner that notes when its first embedded batch reached the driver, and how many photos it held."""

    runner: object
    first_at: float | None = None
    first_photos: int = 0

    def batches(self, *args, **kwargs) -> Iterator[EmbeddedBatch]:
        for batch in self.runner.batches(*args, **kwargs):
            if self.first_at is None:
                self.first_at, self.first_photos = time.perf_counter(), len(batch.indices)
            yield batch


@contextlib.contextmanager
def pinned(cpus: int | None) -> Iterator[None]:
    """This process (and the threads and processes it starts inside) on its first `cpus` allowed cores; None: as
    it is."""
    allowed = os.sched_getaffinity(0)
    if cpus is not None:
        os.sched_setaffinity(0, sorted(allowed)[:cpus])
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


def run(items: list[Item], backbone: Backbone, runner, embedder: BackboneEmbedder,
        workers: int) -> tuple[float, float]:
    """Photos per second of one job into a fresh store: end to end, and steady (from the first batch on)."""
    clocked = Clocked(runner)
    with tempfile.TemporaryDirectory() as folder:
        store = CatalogStore.create(Path(folder) / "store", backbone=backbone.name, dim=backbone.dim)
        torch.set_num_threads(workers)
        start = time.perf_counter()
        report = embed_into_store(items, store, backbone, runner=clocked, embedder=embedder, progress=False)
        end = time.perf_counter()
    return report.embedded / (end - start), (report.embedded - clocked.first_photos) / (end - clocked.first_at)


def measured(runner: str, workers: int, photos: int, rates: tuple[float, float]) -> tuple[float, float]:
    """Print one run's rates and its start-up (seconds beyond the photos at the steady rate), and pass them on."""
    startup = photos / rates[0] - photos / rates[1]
    print(f"{runner}, {workers} worker(s): {rates[0]:.1f} photos/s end to end, {rates[1]:.1f} steady, "
          f"start-up {startup:.1f} s", flush=True)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=10000)
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--ray-address")
    parser.add_argument("--no-pin", action="store_true", help="Let every run use all of this machine's cores.")
    args = parser.parse_args()
    items, backbone = photos(args.photos), create_backbone(DEFAULT_BACKBONE)
    pin = not (args.no_pin or args.ray_address)
    rates: dict[tuple[str, int], tuple[float, float]] = {}
    for workers in (1, 2):
        recipe = BackboneEmbedder(DEFAULT_BACKBONE, runtime=args.runtime, threads=workers)
        with pinned(workers if pin else None):
            rates["local", workers] = measured("local", workers, len(items),
                                               run(items, backbone, LocalRunner(workers), recipe, workers))
    try:
        import ray

        from outfitter.pipeline.ray_runner import RayRunner
    except ImportError:
        print("ray is not installed (pip install 'outfitter[ray]'): Ray runner not measured")
        return
    recipe = BackboneEmbedder(DEFAULT_BACKBONE, runtime=args.runtime, threads=1)
    for workers in (1, 2):
        with pinned(workers if pin else None):
            start = time.perf_counter()
            ray.init(address=args.ray_address, num_cpus=workers if pin else None, include_dashboard=False,
                     log_to_driver=False)
            print(f"ray start-up: {time.perf_counter() - start:.1f} s (not counted)")
            run(items[:16], backbone, RayRunner(workers=workers), recipe, 1)  # warm: actors build and export once
            rates["ray", workers] = measured("ray", workers, len(items),
                                             run(items, backbone, RayRunner(workers=workers), recipe, 1))
            ray.shutdown()
    for i, how in enumerate(("end to end", "steady")):
        for runner in ("local", "ray"):
            print(f"{how}, {runner}: 2 workers / 1 worker = {rates[runner, 2][i] / rates[runner, 1][i]:.2f}x")
        for workers in (1, 2):
            print(f"{how}, {workers} worker(s): ray / local = "
                  f"{rates['ray', workers][i] / rates['local', workers][i]:.2f} (target >= 0.85)")


if __name__ == "__main__":
    main()
