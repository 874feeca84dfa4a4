"""Complementary ranking speed: naive pairwise scoring against the exact fast ranker, for every model kind.

Naive scoring runs the model on every (query item, candidate) pair, block by block, as the original did.
The fast ranker uses per-candidate projections computed once (their build time is reported apart): for the
MLP a compiled scan scores every candidate ("full"), and a top-10 query screens int8 codes and rescores only
the rows that can still make the top 10 ("top-k", what a recommendation costs). Every way gives the mean
probability per candidate; the run checks they agree (max abs difference over all candidates, same top-10
rows and scores) and prints the speed ratios measured in the same run.

    python benchmarks/complementary_speed.py --items 100000 [--query-items 3] [--no-naive] [--json]

With --json the last line is {"speedup", "max_abs_diff", "topk_equal", "naive_ms", "fast_ms", ...} for the
MLP (fast_ms: the top-10 query), and the same keys prefixed with "polania_" for PolaniaNet and "garment_" for
GarmentNet (the shipped default).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from outfitter.compat import CompatibilityMLP, ComplementaryRanker, PolaniaNet
from outfitter.compat.base import CompatModel
from outfitter.compat.garment import GarmentNet

BLOCK = 8192
K = 10


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """n random unit vectors, generated in blocks to keep memory flat."""
    out = np.empty((n, dim), dtype=np.float32)
    for lo in range(0, n, 65536):
        block = rng.standard_normal((min(65536, n - lo), dim), dtype=np.float32)
        out[lo:lo + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


@torch.no_grad()
def naive_scores(model: CompatModel, embeddings: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Mean pairwise probability per candidate by running the model on every pair (query item first)."""
    out = np.empty(len(embeddings), dtype=np.float32)
    q = torch.from_numpy(query)
    for lo in range(0, len(embeddings), BLOCK):
        cand = torch.from_numpy(embeddings[lo:lo + BLOCK])
        probs = [model.score(row.expand(len(cand), -1), cand) for row in q]
        out[lo:lo + len(cand)] = torch.stack(probs).mean(0).numpy()
    return out


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time in ms over repeats, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times)), result


def measure(name: str, model: CompatModel, embeddings: np.ndarray, queries: list[np.ndarray], naive: bool) -> dict:
    """Build the ranker, time full scoring and a top-K query on the same queries, compare them with naive scoring."""
    model.eval()
    start = time.perf_counter()
    ranker = ComplementaryRanker(model, embeddings)
    build_s = time.perf_counter() - start
    ranker.topk(queries[0], K)  # compiles the scans (cached on disk after the first run)
    full_ms = float(np.median([timed(lambda q=q: ranker.scores(q), 3)[0] for q in queries]))
    topk_ms = float(np.median([timed(lambda q=q: ranker.topk(q, K), 3)[0] for q in queries]))
    row = {"items": len(embeddings), "fast_ms": round(topk_ms, 2), "full_scores_ms": round(full_ms, 2),
           "projection_build_s": round(build_s, 2)}
    if ranker.compiled:
        row["rescored_rows"] = int(np.median([len(ranker._screen(q, np.arange(len(embeddings)), K)) for q in queries]))
    if naive:
        diffs, topk_diffs, equal, naive_times = [], [], True, []
        for q in queries:
            ms, slow = timed(lambda q=q: naive_scores(model, embeddings, q), 1)
            naive_times.append(ms)
            diffs.append(float(np.abs(slow - ranker.scores(q)).max()))
            rows, scores = ranker.topk(q, K)
            expected = np.lexsort((np.arange(len(slow)), -slow))[:K]
            equal &= bool(np.array_equal(rows, expected))
            topk_diffs.append(float(np.abs(scores - slow[rows]).max()))
        naive_ms = float(np.median(naive_times))
        row.update(naive_ms=round(naive_ms, 2), speedup=round(naive_ms / topk_ms, 1),
                   full_speedup=round(naive_ms / full_ms, 1), max_abs_diff=max(diffs),
                   topk_max_abs_diff=max(topk_diffs), topk_equal=equal)
    print(f"{name:10s} " + "  ".join(f"{k}={v}" for k, v in row.items()))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=1280, help="Backbone width (the MLP's item vectors).")
    parser.add_argument("--query-items", type=int, default=3, help="Items in each partial outfit.")
    parser.add_argument("--queries", type=int, default=3)
    parser.add_argument("--no-naive", dest="naive", action="store_false", help="Time the fast ranker only.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    mlp = CompatibilityMLP(args.dim, backbone="efficientnet_lite0")
    polania = PolaniaNet("efficientnet_lite0", pretrained=False)
    garment = GarmentNet()
    print(f"{args.items:,} candidates, {args.queries} queries of {args.query_items} items, torch threads "
          f"{torch.get_num_threads()}")
    results = {}
    for name, model, width in (("mlp", mlp, args.dim), ("polania", polania, polania.embed_dim),
                               ("garment", garment, garment.embed_dim)):
        embeddings = unit_rows(rng, args.items, width)
        queries = [unit_rows(rng, args.query_items, width) for _ in range(args.queries)]
        results[name] = measure(name, model, embeddings, queries, args.naive)
        del embeddings
    if args.json:
        line = dict(results["mlp"])
        for name in ("polania", "garment"):
            line.update({f"{name}_{k}": v for k, v in results[name].items()})
        print(json.dumps(line))


if __name__ == "__main__":
    main()
