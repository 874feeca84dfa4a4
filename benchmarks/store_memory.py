"""Store memory: open time and resident memory of a memory-mapped store, bytes per item, and float16's cost.

The same N synthetic clustered items (see search_speed.py) go into a float32 and a float16 store. For each:
seconds to open it and map every segment's vectors, resident memory added by that (the vectors stay on
disk), the first lookup of an item by id (the store then builds its id table: its seconds and the resident
memory it adds, the ids' mapped pages included), bytes per item on disk,
and exact search (batched) time. float16's recall cost is exact search on
the float16 store against float32 exact search computed while generating, unfiltered and filtered.

    python benchmarks/store_memory.py --items 1000000 [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from search_speed import (CATEGORIES, K, Clusters, Truth, exact_filtered, fill, item_id, open_store, recall,
                          store_sizes, timed)

from outfitter.catalog.store import CatalogStore
from outfitter.search import ExactIndex

DTYPES = ("float32", "float16")


def resident_mib() -> float:
    """This process's resident memory (VmRSS) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def opened(root: Path) -> dict[str, float]:
    """Open time and the resident memory it adds (memory-mapping reads no vectors), then the first id lookup."""
    before = resident_mib()
    seconds = open_store(root)
    rss = resident_mib() - before
    store = CatalogStore.open(root)
    before = resident_mib()
    lookup_s, _ = timed(lambda: store.vector(item_id(len(store) - 1)))
    return {"open_s": seconds, "open_rss_mib": rss, "first_lookup_s": lookup_s,
            "id_table_rss_mib": resident_mib() - before}


def measure(store: CatalogStore, queries: np.ndarray, filters: list[str], truth: Truth) -> dict[str, float]:
    """Bytes per item, open cost, exact search time and recall against float32 exact search."""
    exact = ExactIndex(CatalogStore.open(store.root))
    seconds, hits = timed(lambda: exact.search(queries, K))
    got = [[i for i, _ in h] for h in hits]
    got_f = exact_filtered(exact, queries, filters)
    return {**store_sizes(store), **opened(store.root), "exact_batch_ms_per_query": seconds * 1e3 / len(queries),
            "recall_at_10": recall(got, truth.ids(False)), "filtered_recall_at_10": recall(got_f, truth.ids(True))}


def run(args: argparse.Namespace, work: Path) -> dict:
    clusters = Clusters(args.dim, args.seed)
    queries, _ = clusters.draw(args.queries, stream=0)
    codes = np.random.default_rng([args.seed, 1]).integers(len(CATEGORIES), size=args.queries)
    truth = Truth(queries, codes)
    stores = [CatalogStore.create(work / d, backbone="synthetic", dim=args.dim, dtype=d) for d in DTYPES]
    fill(stores, clusters, args.items, truth)
    filters = [CATEGORIES[c] for c in codes]
    result: dict = {"items": args.items, "dim": args.dim, "queries": args.queries}
    for dtype, store in zip(DTYPES, stores):
        result[dtype] = measure(store, queries, filters, truth)
    return result


def report(r: dict) -> str:
    lines = [f"{r['items']:,} items x {r['dim']}-d, {r['queries']} queries; "
             f"recall@10 of exact search against float32 exact"]
    for dtype in DTYPES:
        m = r[dtype]
        lines.append(
            f"{dtype}: opened in {m['open_s'] * 1e3:.1f} ms (+{m['open_rss_mib']:.1f} MiB resident), "
            f"first lookup by id {m['first_lookup_s'] * 1e3:.0f} ms (+{m['id_table_rss_mib']:.1f} MiB), "
            f"{m['vector_bytes_per_item']:.0f} B/item of vectors, {m['store_bytes_per_item']:.0f} B/item in all, "
            f"exact search {m['exact_batch_ms_per_query']:.1f} ms a query batched, "
            f"recall@10 {m['recall_at_10']:.4f}, filtered {m['filtered_recall_at_10']:.4f}")
    ratio = r["float32"]["exact_batch_ms_per_query"] / r["float16"]["exact_batch_ms_per_query"]
    lines.append(f"float16 halves the vectors; exact search on it runs at {ratio:.2f}x float32's speed")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=1280)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None, help="where to write the stores (default: a temp folder)")
    parser.add_argument("--json", action="store_true")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as work:
        result = run(args, Path(work))
    print(report(result))
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
