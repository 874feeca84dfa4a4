"""Embedding throughput in images/s: the original's way, the model alone (the limit), and outfitter's pipeline.

The same photos from clothing-small are embedded three ways:
- original: the hackathon notebook's way: torchvision transforms (224x224 squash), eager torch, batches of 256,
  one process that decodes every photo first and then runs the model;
- model only: the backbone on uint8 pixels decoded beforehand, in torch and in onnxruntime (no decoding: the limit);
- pipeline: `embed_into_store` into a temporary store, as `outfitter index` runs it (decoding threads overlapped
  with the default runtime's inference).

    python benchmarks/embed_speed.py --backbone all --images 500 [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torchvision.transforms as T
from PIL import Image

from outfitter.backbones import Backbone, create_backbone
from outfitter.backbones.onnx import (
    Embedder,
    OnnxEmbedder,
    available_cores,
    make_embedder,
)
from outfitter.catalog.store import CatalogStore
from outfitter.config import DECODE_SIDE
from outfitter.pipeline import embed_into_store
from outfitter.pipeline.runner import DEFAULT_BATCH_SIZE, default_workers
from outfitter.types import Item

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "clothing-small"
BACKBONES = ("efficientnet_lite0", "resnet50")
PRETRAINED = {"efficientnet_lite0": True, "resnet50": False}
TARGETS = {"efficientnet_lite0": 4.0, "resnet50": 2.0}
MODEL_ONLY_TARGET = 0.8
ORIGINAL_BATCH = 256


def sample_items(data: Path, n: int) -> list[Item]:
    """`n` photos spread evenly over the manifest (path,label,split), so every class is represented."""
    with open(data / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    step = max(1, len(rows) // n)
    return [Item(item_id=r["path"], path=str(data / r["path"]), category=r["label"]) for r in rows[::step][:n]]


def warm_page_cache(items: list[Item]) -> None:
    """Read every photo once so that no method pays for the first read from disk."""
    for it in items:
        Path(it.path).read_bytes()


def original_way(backbone: Backbone, items: list[Item]) -> None:
    """The original: decode and transform every photo, then eager forward in batches of 256."""
    pre = backbone.preprocess
    transform = T.Compose([T.Resize((pre.image_size, pre.image_size)), T.ToTensor(), T.Normalize(pre.mean, pre.std)])
    images = torch.stack([transform(Image.open(it.path).convert("RGB")) for it in items])
    with torch.no_grad():
        for batch in images.split(ORIGINAL_BATCH):
            torch.nn.functional.normalize(backbone.model(batch), dim=1)


def decode(backbone: Backbone, items: list[Item]) -> torch.Tensor:
    """What the pipeline's decoding workers do (uint8 model inputs), in this process and like them on one thread."""
    pre, threads = backbone.preprocess, torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        read = pre.reader(max(DECODE_SIDE, pre.image_size))
        return torch.stack([read(it.path) for it in items])
    finally:
        torch.set_num_threads(threads)


def model_only(embed: Embedder, tensors: torch.Tensor, batch_size: int) -> None:
    """`embed` alone over tensors decoded beforehand."""
    for batch in tensors.split(batch_size):
        embed(batch)


def pipeline(backbone: Backbone, items: list[Item], embed: Embedder, batch_size: int) -> None:
    """outfitter's embedding job into a fresh temporary store, with the default decoding workers."""
    with tempfile.TemporaryDirectory() as tmp:
        store = CatalogStore.create(Path(tmp) / "store", backbone=backbone.name, dim=backbone.dim)
        report = embed_into_store(items, store, backbone, batch_size=batch_size, workers=default_workers(),
                                  progress=False, embed=embed)
    if report.embedded != len(items):
        raise RuntimeError(f"pipeline embedded {report.embedded} of {len(items)} photos: {report.failed[:3]}")


def measure(n: int, run: Callable[[], object], repeats: int = 1) -> tuple[float, float]:
    """Images/s of the fastest of `repeats` runs (the least disturbed by other processes) and its CPU ms an image.

    CPU time counts every thread of this process and the decoding workers it reaped; it depends much less than
    images/s on how busy the machine is (torch's waiting threads aside), so it shows the work each way costs.
    """
    runs = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), cpu_seconds()
        run()
        runs.append((time.perf_counter() - wall, cpu_seconds() - cpu))
    wall, cpu = min(runs)
    return n / wall, cpu / n * 1e3


def cpu_seconds() -> float:
    """User and system CPU seconds of this process and its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def bench(name: str, items: list[Item], args: argparse.Namespace) -> dict[str, float | str]:
    """Every rate and ratio for one backbone; 'model only' runs the pipeline's own embedder, so the ratio is its overhead."""
    backbone = create_backbone(name, pretrained=PRETRAINED[name])
    n, bs, repeats = len(items), args.batch_size, args.repeats
    embed = make_embedder(backbone, "auto", cache_dir=args.cache_dir)
    onnx = embed if isinstance(embed, OnnxEmbedder) else OnnxEmbedder(backbone, cache_dir=args.cache_dir)
    tensors = decode(backbone, items[:bs])
    for warm in (backbone.embed_pixels, onnx):
        warm(tensors)
    _, decode_ms = measure(n, lambda: decode(backbone, items))
    tensors = decode(backbone, items)
    original, original_ms = measure(n, lambda: original_way(backbone, items), repeats)
    torch_only, torch_ms = measure(n, lambda: model_only(backbone.embed_pixels, tensors, bs), repeats)
    onnx_only, onnx_ms = measure(n, lambda: model_only(onnx, tensors, bs), repeats)
    piped, piped_ms = measure(n, lambda: pipeline(backbone, items, embed, bs), repeats)
    runtime = getattr(embed, "runtime", "torch")
    limit = onnx_only if runtime == "onnx" else torch_only
    return {
        "weights": "imagenet" if PRETRAINED[name] else "random", "runtime": runtime,
        "original_ips": round(original, 2), "model_only_torch_ips": round(torch_only, 2),
        "model_only_onnx_ips": round(onnx_only, 2), "model_only_ips": round(limit, 2), "pipeline_ips": round(piped, 2),
        "speedup_vs_original": round(piped / original, 3), "fraction_of_model_only": round(piped / limit, 3),
        "cpu_ms": {"decode": round(decode_ms, 2), "original": round(original_ms, 2), "torch_only": round(torch_ms, 2),
                   "onnx_only": round(onnx_ms, 2), "pipeline": round(piped_ms, 2)},
        "cpu_work_ratio_vs_original": round(original_ms / piped_ms, 3),
        "cpu_bound_ceiling": round(onnx_ms / (onnx_ms + decode_ms), 3),
    }


def print_table(results: dict[str, dict], args: argparse.Namespace, n: int) -> None:
    """The rates, ratios and targets as a table, with the conditions they were measured under."""
    print(f"{n} photos from {args.data}; {available_cores()} cores, torch threads {torch.get_num_threads()}, "
          f"{default_workers()} decoding worker(s), pipeline batch {args.batch_size}, best of {args.repeats}; "
          f"load average {os.getloadavg()[0]:.1f} (other processes share these cores)")
    header = ("backbone", "weights", "original", "torch only", "onnx only", "pipeline", "vs original", "of limit")
    print("{:<19}{:<10}{:>10}{:>12}{:>11}{:>10}{:>13}{:>10}".format(*header))
    for name, r in results.items():
        print(f"{name:<19}{r['weights']:<10}{r['original_ips']:>10.1f}{r['model_only_torch_ips']:>12.1f}"
              f"{r['model_only_onnx_ips']:>11.1f}{r['pipeline_ips']:>10.1f}{r['speedup_vs_original']:>12.2f}x"
              f"{r['fraction_of_model_only']:>9.0%}")
    print("(images/s; 'of limit' is pipeline / model only in the pipeline's runtime)")
    for name, r in results.items():
        cpu = r["cpu_ms"]
        print(f"{name}: CPU ms an image: original {cpu['original']:.1f}, torch only {cpu['torch_only']:.1f}, "
              f"onnx only {cpu['onnx_only']:.1f}, decode+resize {cpu['decode']:.1f}, pipeline {cpu['pipeline']:.1f} "
              f"(workers included): {r['cpu_work_ratio_vs_original']:.2f}x less work than the original; with every "
              f"core busy the pipeline reaches at most {r['cpu_bound_ceiling']:.0%} of onnx only")
    for name, r in results.items():
        speed_ok = "met" if r["speedup_vs_original"] >= TARGETS[name] else "MISSED"
        frac_ok = "met" if r["fraction_of_model_only"] >= MODEL_ONLY_TARGET else "MISSED"
        print(f"{name}: runtime {r['runtime']}; target >= {TARGETS[name]:g}x original {speed_ok}, "
              f">= {MODEL_ONLY_TARGET:.0%} of model only {frac_ok}")
    if any(r["weights"] == "random" for r in results.values()):
        print("random weights: no ImageNet weights for them offline; speed does not depend on weight values")


def parse_args() -> argparse.Namespace:
    """The command line: which backbones, how many photos, batch size, repeats, where data and cache are."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", choices=[*BACKBONES, "all"], default="all")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help="the pipeline's and the model-only batch size")
    parser.add_argument("--repeats", type=int, default=1, help="runs per method; the fastest counts")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--cache-dir", type=Path, default=_env_cache_dir(), help="where exported ONNX models are kept")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the results")
    return parser.parse_args()


def _env_cache_dir() -> Path | None:
    """OUTFITTER_CACHE/onnx when the variable is set (the script is an edge: it may read the environment)."""
    root = os.environ.get("OUTFITTER_CACHE")
    return Path(root) / "onnx" if root else None


def main() -> None:
    """Benchmark the chosen backbones on the same photos and print the table (and the JSON line)."""
    args = parse_args()
    items = sample_items(args.data, args.images)
    warm_page_cache(items)
    names = BACKBONES if args.backbone == "all" else (args.backbone,)
    results = {name: bench(name, items, args) for name in names}
    print_table(results, args, len(items))
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
