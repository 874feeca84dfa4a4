"""Similar search at scale: a FAISS index against exact search on N synthetic clustered 1280-d vectors.

The catalogue is written through the public store API (one segment per chunk) into a temporary folder.
Vectors are clustered the way image embeddings are, not uniform noise: 10 categories of unequal size
(20% down to 4%), each with 200 styles of log-normal popularity; styles share 20 "looks" across
categories (a red dress and red shoes lie closer than a red dress and grey shoes), and items spread
around their style along a 16-d subspace shared by all categories plus a 16-d one per category, with
a little isotropic noise. Queries are fresh draws of the same process, not catalogue items.

Measured in one run, against a baseline measured in the same run: store write and open time, bytes per
item, index build time, single-query p50/p99 latency of exact search and of the index (and the ratio),
recall@10 of the index against exact search, unfiltered and with a category filter drawn at random per
query (mostly another category than the query's own: the hard case), and the recall cost of the store's
dtype against float32 exact search computed while generating.

    python benchmarks/search_speed.py --items 1000000 [--dtype float16] [--sweep 8,16,32,64] [--json]

With --json the last line is {"p50_ms", "p99_ms", "recall_at_10", "filtered_recall_at_10", "build_s", ...}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from outfitter.catalog.store import CatalogStore
from outfitter.search import ExactIndex, ExpandedIndex, FaissIndex
from outfitter.search.exact import topk_rows
from outfitter.types import Item

CATEGORY_SHARES = np.array([20, 15, 13, 11, 10, 9, 7, 6, 5, 4]) / 100
CATEGORIES = [f"cat{i}" for i in range(len(CATEGORY_SHARES))]
CHUNK = 100_000
K = 10
TARGETS = {"p50_ms": 5.0, "recall_at_10": 0.95, "filtered_recall_at_10": 0.95}


class Clusters:
    """The fixed structure of the synthetic catalogue: centres, styles, looks and spread subspaces (seeded)."""

    def __init__(self, dim: int, seed: int, *, styles: int = 200, looks: int = 20, spread: int = 16) -> None:
        rng = np.random.default_rng(seed)
        n_cat = len(CATEGORIES)
        self.dim, self.seed, self.spread = dim, seed, spread
        self.common = _unit(rng.standard_normal(dim))
        self.centres = _unit(rng.standard_normal((n_cat, dim)))
        look = _unit(rng.standard_normal((looks, dim)))[rng.integers(looks, size=(n_cat, styles))]
        self.style = _unit(0.6 * look + 0.8 * _unit(rng.standard_normal((n_cat, styles, dim))))
        self.shared = _unit(rng.standard_normal((spread, dim)))
        self.own = _unit(rng.standard_normal((n_cat, spread, dim)))
        weights = rng.lognormal(0.0, 1.0, (n_cat, styles))
        self.popularity = np.cumsum(weights / weights.sum(1, keepdims=True), 1)

    def draw(self, n: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
        """`n` unit vectors and their category codes; the same (seed, stream) always draws the same."""
        rng = np.random.default_rng([self.seed, stream])
        cats = rng.choice(len(CATEGORIES), size=n, p=CATEGORY_SHARES)
        styles = (self.popularity[cats] > rng.random((n, 1))).argmax(1)
        x = 0.6 * self.style[cats, styles] + 0.6 * self.centres[cats] + 0.5 * self.common
        x += (0.6 / np.sqrt(2 * self.spread)) * (rng.standard_normal((n, self.spread), np.float32) @ self.shared)
        own = rng.standard_normal((n, self.spread), np.float32)
        for c in range(len(CATEGORIES)):
            x[cats == c] += (0.6 / np.sqrt(2 * self.spread)) * (own[cats == c] @ self.own[c])
        x += (0.35 * np.sqrt(3 / self.dim)) * (2 * rng.random((n, self.dim), np.float32) - 1)
        return _unit(x), cats


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


class Truth:
    """Exact float32 top-k of the queries, unfiltered and filtered, kept while the catalogue is generated."""

    def __init__(self, queries: np.ndarray, filters: np.ndarray) -> None:
        self.queries, self.filters = queries, filters
        self.rows = {f: np.zeros((len(queries), 0), np.int64) for f in (False, True)}
        self.scores = {f: np.zeros((len(queries), 0), np.float32) for f in (False, True)}

    def update(self, start: int, vectors: np.ndarray, cats: np.ndarray) -> None:
        scores = self.queries @ vectors.T
        self._merge(False, start, scores)
        scores[self.filters[:, None] != cats[None, :]] = -np.inf
        self._merge(True, start, scores)

    def _merge(self, filtered: bool, start: int, scores: np.ndarray) -> None:
        rows = np.broadcast_to(np.arange(start, start + scores.shape[1]), scores.shape)
        s = np.concatenate([self.scores[filtered], scores], 1)
        r = np.concatenate([self.rows[filtered], rows], 1)
        keep = topk_rows(s, K)
        self.scores[filtered], self.rows[filtered] = np.take_along_axis(s, keep, 1), np.take_along_axis(r, keep, 1)

    def ids(self, filtered: bool) -> list[list[str]]:
        return [[item_id(r) for r in row] for row in self.rows[filtered].tolist()]


def item_id(row: int) -> str:
    return f"item{row:08d}"


def fill(stores: list[CatalogStore], clusters: Clusters, n: int, truth: Truth | None) -> None:
    """Generate `n` items chunk by chunk into every store (one segment a chunk), feeding the exact top-k."""
    for start in range(0, n, CHUNK):
        vectors, cats = clusters.draw(min(CHUNK, n - start), stream=1 + start // CHUNK)
        items = [Item(item_id(start + i), None, CATEGORIES[c]) for i, c in enumerate(cats.tolist())]
        for store in stores:
            store.append(items, vectors)
        if truth is not None:
            truth.update(start, vectors, cats)


def write_catalogue(root: Path, clusters: Clusters, n: int, dtype: str, truth: Truth | None) -> CatalogStore:
    """A new store of `n` synthetic items."""
    store = CatalogStore.create(root, backbone="synthetic", dim=clusters.dim, dtype=dtype)
    fill([store], clusters, n, truth)
    return store


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def latencies(search: Callable[[np.ndarray, str | None], list], queries: np.ndarray,
              filters: list[str | None]) -> tuple[np.ndarray, list[list[str]]]:
    """Milliseconds per single-query search, and each query's result ids."""
    times, ids = [], []
    for q, f in zip(queries, filters):
        seconds, hits = timed(lambda: search(q[None], f))
        times.append(seconds * 1e3)
        ids.append([i for i, _ in hits[0]])
    return np.array(times), ids


def recall(got: list[list[str]], want: list[list[str]]) -> float:
    return float(np.mean([len(set(g) & set(w)) / max(len(w), 1) for g, w in zip(got, want)]))


def exact_filtered(exact: ExactIndex, queries: np.ndarray, filters: list[str]) -> list[list[str]]:
    """Exact filtered top-k, one batched scan per category."""
    out: list[list[str]] = [[] for _ in queries]
    for cat in sorted(set(filters)):
        rows = [i for i, f in enumerate(filters) if f == cat]
        for r, hits in zip(rows, exact.search(queries[rows], K, category=cat)):
            out[r] = [i for i, _ in hits]
    return out


def store_sizes(store: CatalogStore) -> dict[str, float]:
    """Bytes per item on disk: the vectors alone, and the whole store (ids, categories, metadata)."""
    n = len(store)
    vectors = sum(seg.path("vectors.npy").stat().st_size for seg in store.segments)
    total = sum(p.stat().st_size for p in store.root.glob("*") if p.is_file())
    return {"vector_bytes_per_item": vectors / n, "store_bytes_per_item": total / n}


def open_store(root: Path) -> float:
    """Seconds to open the store and memory-map every segment's vectors (what a server pays at start-up)."""
    seconds, _ = timed(lambda: [seg.vectors.shape for seg in CatalogStore.open(root).segments])
    return seconds


def sweep(index: FaissIndex, values: list[int], load: "Workload", want: list[list[str]],
          want_f: list[list[str]]) -> Iterator[str]:
    """Recall and p50 latency, unfiltered and filtered, at other nprobe (IVF) or efSearch (HNSW) values."""
    key = {"ivf": "nprobe", "ivfpq": "nprobe", "hnsw": "efSearch"}.get(index.meta.kind)
    if key is None:
        return
    default = index.params[key]
    for value in values:
        index.params[key] = value
        ms, got = latencies(lambda q, f: index.search(q, K, category=f), load.queries, [None] * len(load.queries))
        ms_f, got_f = latencies(lambda q, f: index.search(q, K, category=f), load.queries, load.filters)
        yield (f"  {key}={value:<5} p50 {np.median(ms):6.2f} ms  p99 {np.percentile(ms, 99):6.2f} ms  "
               f"recall@10 {recall(got, want):.3f}; filtered p50 {np.median(ms_f):6.2f} ms  "
               f"recall@10 {recall(got_f, want_f):.3f}")
    index.params[key] = default


@dataclass(frozen=True)
class Workload:
    """Held-out queries, each with its own category and a filter category drawn at random, and the exact top-k."""

    queries: np.ndarray
    own: np.ndarray
    filter_codes: np.ndarray
    truth: Truth

    @property
    def filters(self) -> list[str]:
        return [CATEGORIES[c] for c in self.filter_codes]


def make_workload(clusters: Clusters, n: int, seed: int) -> Workload:
    queries, own = clusters.draw(n, stream=0)
    codes = np.random.default_rng([seed, 1]).integers(len(CATEGORIES), size=n)
    return Workload(queries, own, codes, Truth(queries, codes))


def measure_store(args: argparse.Namespace, work: Path, clusters: Clusters,
                  load: Workload) -> tuple[CatalogStore, dict]:
    """Write the catalogue through the store API; time that and opening it; bytes per item."""
    write_s, store = timed(lambda: write_catalogue(work / "store", clusters, args.items, args.dtype, load.truth))
    return store, {"write_s": write_s, "open_s": open_store(store.root), **store_sizes(store)}


def measure_build(args: argparse.Namespace, store: CatalogStore) -> tuple[FaissIndex, dict]:
    """Build, save and reload the index (the reloaded one is what gets searched)."""
    build_s, index = timed(lambda: FaissIndex.build(store, args.kind))
    save_s, _ = timed(index.save)
    load_s, loaded = timed(lambda: FaissIndex.load(CatalogStore.open(store.root)))
    size = sum(p.stat().st_size for p in (store.root / "index").rglob("*") if p.is_file())
    return loaded, {"build_s": build_s, "save_s": save_s, "load_s": load_s, "kind": index.meta.kind,
                    "params": index.meta.params, "index_bytes_per_item": size / args.items,
                    "build_peak_mib": build_peak_mib(store.root, args.kind)}


BUILD_PEAK = """
import sys, threading, time
from outfitter.catalog import CatalogStore
from outfitter.search import FaissIndex

def status(field):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(field)) / 1024

store = CatalogStore.open(sys.argv[1])
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to what is resident now
before, anon_before, anon_peak, done = status("VmRSS:"), status("RssAnon:"), [0.0], threading.Event()

def sample():
    while not done.is_set():
        anon_peak[0] = max(anon_peak[0], status("RssAnon:"))
        time.sleep(0.01)

sampler = threading.Thread(target=sample)
sampler.start()
FaissIndex.build(store, sys.argv[2])
done.set()
sampler.join()
print(status("VmHWM:") - before, anon_peak[0] - anon_before)
"""


def build_peak_mib(root: Path, kind: str) -> tuple[float, float]:
    """How far building the index raises resident memory above what the process held just before (MiB): in all,
    and its anonymous part (what the build allocates; the rest is the store's memory-mapped vectors, pages the
    kernel can drop and read again). In a fresh process that has just opened the store (Linux)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", BUILD_PEAK, str(root), kind], capture_output=True, text=True, check=True)
    total, anonymous = out.stdout.strip().splitlines()[-1].split()
    return float(total), float(anonymous)


def measure_exact(args: argparse.Namespace, store: CatalogStore, load: Workload) -> tuple[list, list, dict]:
    """The baseline: exact search's answers (batched) and its single-query latency; its recall against float32."""
    exact = ExactIndex(store)
    batch_s, hits = timed(lambda: exact.search(load.queries, K))
    want = [[i for i, _ in h] for h in hits]
    want_f = exact_filtered(exact, load.queries, load.filters)
    n = min(args.exact_queries, args.queries)
    ms, _ = latencies(lambda q, f: exact.search(q, K), load.queries[:n], [None] * n)
    return want, want_f, {"exact_p50_ms": float(np.median(ms)),
                          "exact_batch_ms_per_query": batch_s * 1e3 / args.queries,
                          "dtype_recall_at_10": recall(want, load.truth.ids(False)),
                          "dtype_filtered_recall_at_10": recall(want_f, load.truth.ids(True))}


def measure_index(index: FaissIndex, load: Workload, want: list, want_f: list) -> dict:
    """Single-query latency and recall@10 of the index against exact search, unfiltered and filtered."""
    ms, got = latencies(lambda q, f: index.search(q, K), load.queries, [None] * len(load.queries))
    ms_f, got_f = latencies(lambda q, f: index.search(q, K, category=f), load.queries, load.filters)
    own = load.own == load.filter_codes
    expanded = ExpandedIndex(index)
    ms_x, _ = latencies(lambda q, f: expanded.search(q, K), load.queries, [None] * len(load.queries))
    return {"expanded_p50_ms": float(np.median(ms_x)), "p50_ms": float(np.median(ms)), "p99_ms": float(np.percentile(ms, 99)), "recall_at_10": recall(got, want),
            "filtered_recall_at_10": recall(got_f, want_f),
            "filtered_p50_ms": float(np.median(ms_f)), "filtered_p99_ms": float(np.percentile(ms_f, 99)),
            "filtered_recall_own_category": _recall_where(got_f, want_f, own),
            "filtered_recall_other_category": _recall_where(got_f, want_f, ~own)}


def _recall_where(got: list, want: list, mask: np.ndarray) -> float:
    return recall([g for g, m in zip(got, mask) if m], [w for w, m in zip(want, mask) if m])


def run(args: argparse.Namespace, work: Path) -> dict:
    clusters = Clusters(args.dim, args.seed)
    load = make_workload(clusters, args.queries, args.seed)
    store, stored = measure_store(args, work, clusters, load)
    index, built = measure_build(args, store)
    want, want_f, exact = measure_exact(args, store, load)
    result = {**measure_index(index, load, want, want_f), **built, **exact, **stored,
              "items": args.items, "dim": args.dim, "queries": args.queries, "dtype": args.dtype}
    result["speedup_p50"] = result["exact_p50_ms"] / result["p50_ms"]
    if args.sweep:
        result["sweep"] = list(sweep(index, args.sweep, load, want, want_f))
    return result


def report(r: dict) -> str:
    """The human table."""
    p50_ok = _verdict(r["p50_ms"] <= TARGETS["p50_ms"])
    recall_ok = _verdict(r["recall_at_10"] >= TARGETS["recall_at_10"])
    filtered_ok = _verdict(r["filtered_recall_at_10"] >= TARGETS["filtered_recall_at_10"])
    lines = [
        f"{r['items']:,} items x {r['dim']}-d {r['dtype']}, {r['queries']} queries, index {r['kind']} {r['params']}",
        f"store: written in {r['write_s']:.1f} s, opened (memory-mapped) in {r['open_s'] * 1e3:.1f} ms, "
        f"{r['vector_bytes_per_item']:.0f} B/item of vectors, {r['store_bytes_per_item']:.0f} B/item in all",
        f"index: built in {r['build_s']:.1f} s (peak +{r['build_peak_mib'][0]:.0f} MiB resident, of which "
        f"+{r['build_peak_mib'][1]:.0f} MiB allocated, the rest mapped store pages), saved in {r['save_s']:.1f} s, "
        f"loaded in {r['load_s'] * 1e3:.0f} ms, "
        f"{r['index_bytes_per_item']:.0f} B/item",
        f"exact search (baseline): p50 {r['exact_p50_ms']:.1f} ms a query alone, "
        f"{r['exact_batch_ms_per_query']:.1f} ms a query batched",
        f"index, unfiltered:  p50 {r['p50_ms']:.2f} ms ({p50_ok} <= 5), p99 {r['p99_ms']:.2f} ms, "
        f"{r['speedup_p50']:.0f}x faster than exact; recall@10 {r['recall_at_10']:.3f} ({recall_ok} >= 0.95)",
        f"index, filtered:    p50 {r['filtered_p50_ms']:.2f} ms, p99 {r['filtered_p99_ms']:.2f} ms; "
        f"recall@10 {r['filtered_recall_at_10']:.3f} ({filtered_ok} >= 0.95): "
        f"{r['filtered_recall_own_category']:.3f} in the query's own category, "
        f"{r['filtered_recall_other_category']:.3f} in another",
        f"index + query expansion (what Catalog.similar runs: two searches): p50 {r['expanded_p50_ms']:.2f} ms",
        f"{r['dtype']} storage: exact search recall@10 against float32 exact {r['dtype_recall_at_10']:.4f} "
        f"(filtered {r['dtype_filtered_recall_at_10']:.4f})",
        *r.get("sweep", []),
    ]
    return "\n".join(lines)


def _verdict(met: bool) -> str:
    return "ok" if met else "MISSED"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--exact-queries", type=int, default=20, help="queries timed one by one on exact search")
    parser.add_argument("--kind", default="auto", choices=["auto", "flat", "hnsw", "ivf", "ivfpq"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    parser.add_argument("--sweep", type=lambda s: [int(v) for v in s.split(",")], default=None,
                        help="also time these nprobe (IVF) or efSearch (HNSW) values, e.g. 8,16,32,64")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None, help="where to write the store (default: a temp folder)")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as work:
        result = run(args, Path(work))
    print(report(result))
    if args.json:
        first = ("p50_ms", "p99_ms", "recall_at_10", "filtered_recall_at_10", "build_s")
        print(json.dumps({**{k: result[k] for k in first}, **{k: v for k, v in result.items() if k != "sweep"}}))


if __name__ == "__main__":
    main()
