"""Embedding throughput of the local and Ray runners, with 1 and 2 workers, on the same real photos.

    python benchmarks/embed_scaling.py [--photos 400] [--runtime auto|torch|onnx] [--ray-address ADDR]

A worker is one CPU's worth: for the local runner, N decoding threads and N inference threads; for the Ray
runner, N embedding actors (each decoding and embedding on one thread). Each run embeds into a fresh store and
prints photos/s; ratios: 2 workers against 1 (expect about 1.8x on 2 cores) and Ray against local at the same
worker count (target: Ray within 85%). Photos: ../shared/data/clothing-small (CC0). Without --ray-address a
local Ray instance is started (its start-up is timed apart, not counted).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import torch

from outfitter.backbones import create_backbone
from outfitter.backbones.onnx import make_embedder
from outfitter.catalog import CatalogStore
from outfitter.config import DEFAULT_BACKBONE
from outfitter.pipeline import embed_into_store
from outfitter.pipeline.runners import BackboneEmbedder, LocalRunner
from outfitter.types import Item

DATA = Path(__file__).resolve().parents[2] / "shared/data/clothing-small"


def photos(n: int) -> list[Item]:
    rows = list(csv.DictReader(open(DATA / "manifest.csv")))[:n]
    return [Item(r["path"], str(DATA / r["path"]), r["label"]) for r in rows]


def run(items: list[Item], runner, embedder, workers: int) -> float:
    """Photos per second of one job into a fresh store (the embedder built before the clock starts, locally)."""
    backbone = create_backbone(DEFAULT_BACKBONE)
    with tempfile.TemporaryDirectory() as folder:
        store = CatalogStore.create(Path(folder) / "store", backbone=backbone.name, dim=backbone.dim)
        torch.set_num_threads(workers)
        start = time.perf_counter()
        report = embed_into_store(items, store, backbone, runner=runner, embedder=embedder, progress=False)
        seconds = time.perf_counter() - start
    return report.embedded / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=400)
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--ray-address")
    args = parser.parse_args()
    items = photos(args.photos)
    backbone = create_backbone(DEFAULT_BACKBONE)
    rates: dict[tuple[str, int], float] = {}
    for workers in (1, 2):
        embed = make_embedder(backbone, args.runtime, threads=workers)
        rates["local", workers] = run(items, LocalRunner(workers), lambda e=embed: e, workers)
        print(f"local, {workers} worker(s): {rates['local', workers]:.1f} photos/s", flush=True)
    try:
        import ray

        from outfitter.pipeline.ray_runner import RayRunner
    except ImportError:
        print("ray is not installed (pip install 'outfitter[ray]'): Ray runner not measured")
        return
    start = time.perf_counter()
    ray.init(address=args.ray_address, include_dashboard=False, log_to_driver=False)
    print(f"ray start-up: {time.perf_counter() - start:.1f} s (not counted)")
    recipe = BackboneEmbedder(DEFAULT_BACKBONE, runtime=args.runtime, threads=1)
    run(items[:16], RayRunner(workers=2), recipe, 1)  # warm: actors' first model build and export
    for workers in (1, 2):
        rates["ray", workers] = run(items, RayRunner(workers=workers), recipe, 1)
        print(f"ray, {workers} worker(s): {rates['ray', workers]:.1f} photos/s", flush=True)
    for runner in ("local", "ray"):
        print(f"{runner}: 2 workers / 1 worker = {rates[runner, 2] / rates[runner, 1]:.2f}x")
    for workers in (1, 2):
        print(f"{workers} worker(s): ray / local = {rates['ray', workers] / rates['local', workers]:.2f}")
    ray.shutdown()


if __name__ == "__main__":
    main()
